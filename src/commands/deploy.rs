//! `pypictl deploy`: validate, check the account, stage, preview, confirm,
//! deploy and watch; then the URL, or the root cause.

use std::time::Duration;

use anyhow::Result;
use pypictl_stacks::app::synthesize;

use super::session;
use crate::aws::registry::HttpRegistry;
use crate::cli::{DeployArgs, Global};
use crate::config_file;
use crate::engine::deploy::{DeployOptions, Deployer, Outcome};
use crate::engine::watch::WatchOptions;
use crate::exit::exit;
use crate::ui::{self, prompt::Terminal};

pub fn run(global: &Global, args: &DeployArgs) -> Result<()> {
    let deployment = config_file::load(&args.config.path)?;
    config_file::print_warnings(&deployment);
    let assembly = synthesize(&deployment).map_err(|e| anyhow::anyhow!("synthesis failed: {e}"))?;
    let registry = HttpRegistry::from_env()?;
    let rt = session::runtime()?;
    let (message, code) = rt.block_on(async {
        let cloud = session::connect(global, &deployment.config.region).await?;
        let mut sink = ui::sink(args.progress);
        let mut terminal = Terminal::detect();
        let opts = DeployOptions {
            yes: global.yes,
            no_rollback: args.no_rollback,
            allow_replace_stateful: args.allow_replace_stateful,
            watch: WatchOptions { max_wait: args.max_wait, ..WatchOptions::default() },
            poll: Duration::from_secs(2),
            change_set_name: session::change_set_name(),
            on_retry: Some(ui::retry_notice),
            rollback_skip_failed: args.rollback_skip_failed,
            role_arn: args.role.role_arn.clone(),
        };
        let mut deployer = Deployer { cloud: &cloud, registry: &registry, sink: &mut sink, interaction: &mut terminal, opts };
        let outcome = deployer.deploy(&assembly, &deployment.config, session::ctrl_c()).await?;
        anyhow::Ok((ui::report::outcome(&assembly.stack_name, &outcome), exit_code(&outcome)))
    })?;
    if code == 0 {
        print!("{message}");
        Ok(())
    } else {
        eprint!("{message}");
        Err(exit(code))
    }
}

/// The exit code of a deploy (and of `upgrade`, `diff`'s stops): 0 done or
/// nothing to do, 1 failed in AWS or stopped watching after --max-wait, 2
/// nothing was changed because of the input or the account (bad usage), 130
/// Ctrl-C.
pub fn exit_code(outcome: &Outcome) -> i32 {
    match outcome {
        Outcome::NoChanges | Outcome::Succeeded { .. } | Outcome::Recovered { .. } | Outcome::Previewed(_) => 0,
        Outcome::Prerequisites(_) | Outcome::Stuck { .. } | Outcome::Refused(_) | Outcome::NeedsConfirmation => 2,
        Outcome::Declined | Outcome::Failed { .. } | Outcome::Unwatched { .. } => 1,
        Outcome::StoppedWatching { interrupted: true } => 130,
        Outcome::StoppedWatching { interrupted: false } => 1,
    }
}
