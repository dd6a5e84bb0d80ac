//! `pypictl diff [--security-only] [--fail]`: what `deploy` would change,
//! from a change set that is deleted afterwards.

use std::time::Duration;

use anyhow::Result;
use pypictl_stacks::app::synthesize;

use super::session;
use crate::aws::registry::HttpRegistry;
use crate::cli::{DiffArgs, Global};
use crate::config_file;
use crate::engine::changeset::{self, Change};
use crate::engine::deploy::{DeployOptions, Deployer, Interaction, Outcome};
use crate::engine::watch::WatchOptions;
use crate::exit::exit;
use crate::ui::{self, plain::PlainRenderer};

/// Shows the preview, asks nothing.
struct Preview {
    security_only: bool,
    color: bool,
}

fn shown(changes: &[Change], security_only: bool) -> Vec<Change> {
    changes.iter().filter(|c| !security_only || changeset::is_security_relevant(&c.change.resource_type)).cloned().collect()
}

impl Interaction for Preview {
    fn interactive(&self) -> bool {
        false
    }
    fn confirm(&mut self, _question: &str) -> bool {
        false
    }
    fn show_changes(&mut self, stack: &str, changes: &[Change]) {
        print!("{}", ui::preview::render(stack, &shown(changes, self.security_only), self.color));
    }
}

pub fn run(global: &Global, args: &DiffArgs) -> Result<()> {
    let d = config_file::load(&args.config.path)?;
    config_file::print_warnings(&d);
    let assembly = synthesize(&d).map_err(|e| anyhow::anyhow!("synthesis failed: {e}"))?;
    let registry = HttpRegistry::from_env()?;
    let rt = session::runtime()?;
    let outcome = rt.block_on(async {
        let cloud = session::connect(global, &d.config.region).await?;
        // Steps go to stderr: stdout is the preview.
        let mut sink = PlainRenderer::new(std::io::stderr());
        let mut preview = Preview { security_only: args.security_only, color: std::io::IsTerminal::is_terminal(&std::io::stdout()) };
        let opts = DeployOptions {
            yes: false,
            no_rollback: false,
            allow_replace_stateful: false,
            watch: WatchOptions::default(),
            poll: Duration::from_secs(2),
            change_set_name: session::change_set_name(),
            on_retry: Some(ui::retry_notice),
            rollback_skip_failed: false,
            role_arn: args.role.role_arn.clone(),
        };
        Deployer { cloud: &cloud, registry: &registry, sink: &mut sink, interaction: &mut preview, opts }.diff(&assembly, &d.config).await
    })?;
    match outcome {
        Outcome::Previewed(changes) => {
            let relevant = shown(&changes, args.security_only);
            if args.fail && !relevant.is_empty() {
                eprintln!("{} change{} (--fail).", relevant.len(), if relevant.len() == 1 { "" } else { "s" });
                return Err(exit(1));
            }
            Ok(())
        }
        Outcome::NoChanges => {
            println!("No changes: {} already matches the configuration.", assembly.stack_name);
            Ok(())
        }
        other => {
            let (message, code) = (ui::report::outcome(&assembly.stack_name, &other), super::deploy::exit_code(&other));
            eprint!("{message}");
            Err(exit(code))
        }
    }
}
