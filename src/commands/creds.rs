//! `pypictl creds [--format ...] [--rotate]`: the username and password,
//! with ready-to-paste client configuration; `--rotate` sets a new password.

use pypictl_stacks::outputs::RootOutput;
use std::time::Duration;

use anyhow::Result;

use super::session;
use crate::aws::HttpProbe;
use crate::cli::{CredsArgs, Global};
use crate::config_file;
use crate::engine::creds::{self, Creds, RotateOptions, Rotated};
use crate::engine::deploy::Interaction;
use crate::exit::{bad_input, exit};
use crate::ui::{self, creds::Credentials, prompt::Terminal, text};

fn print_creds(c: &Creds, url: &str, name: &str, format: ui::creds::Format) {
    let credentials = Credentials { username: &c.username, password: &c.password, url, name };
    print!("{}", ui::creds::render(&credentials, format));
}

pub fn run(global: &Global, args: &CredsArgs) -> Result<()> {
    let d = config_file::load(&args.config.path)?;
    let stack_name = d.config.stack_name().to_string();
    let rt = session::runtime()?;
    rt.block_on(async {
        let cloud = session::connect(global, &d.config.region).await?;
        let Some((stack, current)) = creds::read(&cloud, &stack_name).await? else {
            eprintln!("{stack_name} does not exist in {} (deploy it with `pypictl deploy`).", d.config.region);
            return Err(exit(1));
        };
        let url = stack
            .output(RootOutput::PypiServerUrls)
            .and_then(|u| u.split(',').next())
            .map(str::to_string)
            .unwrap_or_else(|| d.config.service_urls()[0].clone());
        if !args.rotate {
            print_creds(&current, &url, &d.config.service_name, args.format);
            return Ok(());
        }

        let mut terminal = Terminal::detect();
        if !global.yes {
            if !terminal.interactive() {
                return Err(bad_input("--rotate changes the password every client uses: pass --yes to confirm without a terminal (nothing was changed)"));
            }
            if !terminal.confirm("Set a new password? Clients using the current one stop working once the service has rolled over") {
                eprintln!("Nothing was changed.");
                return Err(exit(1));
            }
        }
        let probed = session::service_url_override()?.unwrap_or_else(|| url.clone());
        let mut sink = ui::sink_beside_data(args.progress);
        let opts = RotateOptions {
            poll: Duration::from_secs(5),
            max_wait: Duration::from_secs(45 * 60),
            probe_url: Some(format!("{}/simple/", probed.trim_end_matches('/'))),
            // The target group drains the old tasks' connections first.
            refuse_wait: Duration::from_secs(5 * 60),
            on_retry: Some(ui::retry_notice),
        };
        let probe = HttpProbe::default();
        let rotated = creds::rotate(&cloud, &probe, &mut sink, &stack, &current, opts.clone(), session::ctrl_c()).await?;
        drop(sink);
        match rotated {
            Rotated::Completed { creds, at, check } => {
                eprintln!("✔ Every task runs with the new password since {} UTC.", text::clock(at));
                print_creds(&creds, &url, &d.config.service_name, args.format);
                let index = opts.probe_url.as_deref().unwrap_or_default();
                match check {
                    Some(Ok(c)) if c.old_refused() && c.new == 200 => {
                        eprintln!("✔ The old password is refused since {} UTC (HTTP {} from {index}); the new one is accepted.", text::clock(c.at), c.old);
                        Ok(())
                    }
                    Some(Ok(c)) if c.old_refused() => {
                        eprintln!("✘ {index} refuses the old password (HTTP {}) but answers HTTP {} to the new one: run `pypictl doctor`.", c.old, c.new);
                        Err(exit(1))
                    }
                    Some(Ok(c)) => {
                        eprintln!(
                            "✘ {index} still accepts the old password (HTTP {}) {} after the rollout: a task of the old deployment may still serve; run `pypictl status` and `pypictl doctor`.",
                            c.old,
                            text::duration(opts.refuse_wait.as_millis() as i64)
                        );
                        Err(exit(1))
                    }
                    Some(Err(reason)) => {
                        eprintln!("! Could not check the old password against {index}: {reason}");
                        Ok(())
                    }
                    None => Ok(()),
                }
            }
            Rotated::Failed { creds, reason, stopped } => {
                eprintln!("✘ The service did not roll over: {reason}");
                for t in stopped.iter().take(5) {
                    eprintln!("  task {}: {}", t.task_id, t.reason);
                }
                eprintln!("The secret holds the new password (printed below); tasks started from now on use it. See `pypictl doctor`.");
                print_creds(&creds, &url, &d.config.service_name, args.format);
                Err(exit(1))
            }
            Rotated::StoppedWatching { creds, interrupted } => {
                eprintln!("Stopped watching: the new deployment carries on; the new password is below. `pypictl status --watch` shows the rollout.");
                print_creds(&creds, &url, &d.config.service_name, args.format);
                Err(exit(if interrupted { 130 } else { 1 }))
            }
        }
    })
}
