//! `pypictl deploy`: validate, check the account, stage, preview, confirm,
//! deploy and watch; then the URL, or the root cause.

use std::time::Duration;

use anyhow::Result;
use pypictl_stacks::app::synthesize;

use super::session;
use crate::aws::registry::HttpRegistry;
use crate::cli::{DeployArgs, Global};
use crate::config_file;
use crate::engine::deploy::{DeployOptions, Deployer};
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
        anyhow::Ok(ui::report::outcome(&assembly.stack_name, &outcome))
    })?;
    if code == 0 {
        print!("{message}");
        Ok(())
    } else {
        eprint!("{message}");
        Err(exit(code))
    }
}
