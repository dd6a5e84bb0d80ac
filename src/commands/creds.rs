//! `pypictl creds [--format ...] [--rotate]`: the username and password,
//! with ready-to-paste client configuration; `--rotate` sets a new password.

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
            .output("PypiServerUrls")
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
        let mut sink = ui::sink(args.progress);
        let opts = RotateOptions {
            poll: Duration::from_secs(5),
            max_wait: Duration::from_secs(45 * 60),
            probe_url: Some(std::env::var("PYPICTL_SERVICE_URL").unwrap_or(url.clone()) + "simple/"),
        };
        let probe = HttpProbe::default();
        let rotated = creds::rotate(&cloud, &probe, &mut sink, &stack, &current, opts, session::ctrl_c()).await?;
        drop(sink);
        match rotated {
            Rotated::Completed { creds, at, check } => {
                eprintln!("✔ New password in use by every task since {} UTC; the old one is no longer served.", text::clock(at));
                match check {
                    Some(Ok((old, new))) => eprintln!("  Checked against {url}: old password → HTTP {old}, new password → HTTP {new}."),
                    Some(Err(reason)) => eprintln!("  Could not check against {url}: {reason}"),
                    None => {}
                }
                print_creds(&creds, &url, &d.config.service_name, args.format);
                Ok(())
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
