//! `pypictl creds [--publish] [--format ...] [--rotate]`: a credential (read
//! by default, publish with `--publish`) with ready-to-paste client
//! configuration; `--rotate` gives it a new password without an outage.

use pypictl_stacks::outputs::RootOutput;
use std::time::Duration;

use anyhow::Result;

use super::session;
use crate::aws::HttpProbe;
use crate::cli::{CredsArgs, Global};
use crate::config_file;
use crate::engine::creds::{self, Creds, Phase, Role, RotateOptions, Rotated};
use crate::engine::deploy::Interaction;
use crate::exit::{bad_input, exit};
use crate::ui::{self, creds::Credentials, prompt::Terminal, text};

fn print_creds(c: &Creds, url: &str, name: &str, role: Role, format: ui::creds::Format) {
    let credentials = Credentials { username: &c.username, password: &c.password, url, name, role };
    print!("{}", ui::creds::render(&credentials, format));
}

pub fn run(global: &Global, args: &CredsArgs) -> Result<()> {
    let role = if args.publish { Role::Publish } else { Role::Read };
    ui::creds::check_format(role, args.format).map_err(bad_input)?;
    let d = config_file::load(&args.config.path)?;
    let stack_name = d.config.stack_name().to_string();
    let rt = session::runtime()?;
    rt.block_on(async {
        let cloud = session::connect(global, &d.config.region).await?;
        let Some((stack, current)) = creds::read(&cloud, &stack_name, role).await? else {
            eprintln!("{stack_name} does not exist in {} (deploy it with `pypictl deploy`).", d.config.region);
            return Err(exit(1));
        };
        let url = stack
            .output(RootOutput::PypiServerUrls)
            .and_then(|u| u.split(',').next())
            .map(str::to_string)
            .unwrap_or_else(|| d.config.service_urls()[0].clone());
        let print = |c: &Creds| print_creds(c, &url, &d.config.service_name, role, args.format);
        if !args.rotate {
            print(&current);
            return Ok(());
        }

        let what = role.as_str();
        let mut terminal = Terminal::detect();
        if !global.yes {
            if !terminal.interactive() {
                return Err(bad_input(format!("--rotate changes the {what} password every {what} client uses: pass --yes to confirm without a terminal (nothing was changed)")));
            }
            if !terminal.confirm(&format!("Set a new {what} password? Both work while the service rolls over; clients must then switch to the new one")) {
                eprintln!("Nothing was changed.");
                return Err(exit(1));
            }
        }
        let probed = session::service_url_override()?.unwrap_or_else(|| url.clone());
        let mut sink = ui::sink_beside_data(args.progress);
        let opts = RotateOptions {
            poll: Duration::from_secs(5),
            max_wait: Duration::from_secs(60 * 60),
            probe_url: Some(format!("{}/simple/", probed.trim_end_matches('/'))),
            // The target group drains the old tasks' connections first.
            refuse_wait: Duration::from_secs(5 * 60),
            on_retry: Some(ui::retry_notice),
        };
        let probe = HttpProbe::default();
        let rotated = creds::rotate(&cloud, &probe, &mut sink, &stack, role, opts.clone(), session::ctrl_c()).await?;
        drop(sink);
        let index = opts.probe_url.as_deref().unwrap_or_default();
        match rotated {
            Rotated::Completed { creds, at, check } => {
                eprintln!("✔ Every task accepts only the new {what} password since {} UTC.", text::clock(at));
                print(&creds);
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
                            "✘ {index} still accepts the old password (HTTP {}) {} after the rollout: a task of an old deployment may still serve; run `pypictl status` and `pypictl doctor`.",
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
            Rotated::Abandoned { creds, reason, stopped } => {
                eprintln!("✘ The service did not roll over onto tasks that accept both passwords: {reason}");
                for t in stopped.iter().take(5) {
                    eprintln!("  task {}: {}", t.task_id, t.reason);
                }
                eprintln!("The old password still works ({what} credential, printed below): the secret holds it alone again and the new one was discarded. See `pypictl doctor`, then rotate again.");
                print(&creds);
                Err(exit(1))
            }
            Rotated::Failed { creds, reason, stopped } => {
                eprintln!("✘ The rollout retiring the old password failed: {reason}");
                for t in stopped.iter().take(5) {
                    eprintln!("  task {}: {}", t.task_id, t.reason);
                }
                eprintln!("The new {what} password (below) is current and accepted; tasks of the earlier rollout may still accept the old one until the service rolls over. See `pypictl doctor`.");
                print(&creds);
                Err(exit(1))
            }
            Rotated::StoppedWatching { creds, phase, interrupted } => {
                match phase {
                    Phase::Staged => eprintln!(
                        "Stopped watching before the new password was made current: clients keep the old one (below), which works. Run `{} --rotate` again to finish.",
                        creds::creds_command(role)
                    ),
                    Phase::Current => eprintln!("Stopped watching: the new password (below) is current and accepted; the rollout retiring the old one carries on (`pypictl status --watch`)."),
                }
                print(&creds);
                Err(exit(if interrupted { 130 } else { 1 }))
            }
        }
    })
}
