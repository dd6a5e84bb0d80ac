//! `pypictl upgrade`: change instance type, image tag, container memory or
//! counts; see capacity and cost before → after; deploy with the same
//! preview and live view; on success, record the new values in pypictl.toml.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use pypictl_stacks::edit::Upgrade;
use pypictl_stacks::{Config, Deployment};

use super::session;
use crate::aws::registry::HttpRegistry;
use crate::cli::{Global, UpgradeArgs};
use crate::config_file;
use crate::engine::deploy::DeployOptions;
use crate::engine::upgrade::{upgrade, warnings, Plan};
use crate::engine::watch::WatchOptions;
use crate::exit::{bad_input, exit};
use crate::ui::{self, prompt::Terminal};

/// Reads and validates both configurations. Bad flags are bad input (exit 2),
/// naming the flag as well as the key.
pub fn plan(path: &Path, upgrade: Upgrade) -> Result<Plan> {
    if upgrade.is_empty() {
        return Err(bad_input("nothing to upgrade: pass --instance-type, --image-tag, --container-memory, --task-min, --task-max, --asg-min or --asg-max"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    let before = config_file::check(path, config_file::read(path)?)?;
    let after_cfg: Config = upgrade.apply(&before.config);
    let after = Deployment::new(after_cfg).map_err(|errors| {
        let mut msg = format!("the upgrade is not valid ({} problem{}):", errors.len(), if errors.len() == 1 { "" } else { "s" });
        for e in errors {
            let flag = upgrade.keys().into_iter().find(|(t, k, _)| e.key == format!("{t}.{k}")).map(|(_, _, f)| format!("{f}: ")).unwrap_or_default();
            msg.push_str(&format!("\n  - {flag}{e}"));
        }
        bad_input(msg)
    })?;
    Ok(Plan { text, before, after, upgrade })
}

pub fn run(global: &Global, args: &UpgradeArgs) -> Result<()> {
    let up = Upgrade {
        instance_type: args.instance_type.clone(),
        image_tag: args.image_tag.clone(),
        container_memory: args.container_memory,
        task_min: args.task_min,
        task_max: args.task_max,
        asg_min: args.asg_min,
        asg_max: args.asg_max,
    };
    let path = &args.config.path;
    let plan = plan(path, up)?;
    println!("Capacity and cost ({}):", pypictl_stacks::sizing::COST_BASIS);
    print!("{}", ui::upgrade::compare(&plan.before.capacity, &plan.after.capacity));
    for w in warnings(&plan) {
        eprintln!("warning: {w}");
    }
    let registry = HttpRegistry::from_env()?;
    let rt = session::runtime()?;
    let (outcome, written) = rt.block_on(async {
        let cloud = session::connect(global, &plan.after.config.region).await?;
        let mut sink = ui::sink(args.progress);
        let mut terminal = Terminal::detect();
        let opts = DeployOptions {
            yes: global.yes,
            no_rollback: false,
            allow_replace_stateful: false,
            watch: WatchOptions { max_wait: args.max_wait, ..WatchOptions::default() },
            poll: Duration::from_secs(2),
            change_set_name: session::change_set_name(),
            on_retry: Some(ui::retry_notice),
            rollback_skip_failed: false,
            role_arn: args.role.role_arn.clone(),
        };
        upgrade(&cloud, &registry, &mut sink, &mut terminal, opts, path, &plan, session::ctrl_c()).await
    })?;
    let (message, code) = (ui::report::outcome(plan.after.config.stack_name(), &outcome), super::deploy::exit_code(&outcome));
    if written {
        print!("{message}");
        println!("Recorded in {}: {}", path.display(), plan.upgrade.keys().iter().map(|(t, k, _)| format!("{t}.{k}")).collect::<Vec<_>>().join(", "));
        Ok(())
    } else {
        eprint!("{message}");
        eprintln!("{} was not changed.", path.display());
        Err(exit(if code == 0 { 1 } else { code }))
    }
}
