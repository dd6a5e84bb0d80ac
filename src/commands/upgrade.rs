//! `pypictl upgrade`: change instance type, image tag, container memory or
//! counts; see capacity and cost before → after; deploy with the same
//! preview and live view; on success, record the new values in pypictl.toml.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use pypictl_stacks::app::{synthesize, Assembly};
use pypictl_stacks::edit::Upgrade;
use pypictl_stacks::{catalogue, CapacityPlan, Config, Deployment};

use super::session;
use crate::aws::registry::HttpRegistry;
use crate::cli::{Global, UpgradeArgs};
use crate::config_file;
use crate::engine::cloud::{Account, Clock, Registry, Service, Stacks};
use crate::engine::deploy::{DeployOptions, Deployer, Interaction, Outcome};
use crate::engine::progress::{Progress, Sink};
use crate::engine::watch::WatchOptions;
use crate::exit::{bad_input, exit};
use crate::ui::{self, prompt::Terminal};

/// The configuration before and after, both valid.
pub struct Plan {
    pub text: String,
    pub before: Deployment,
    pub after: Deployment,
    pub upgrade: Upgrade,
}

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

/// Capacity and monthly cost, before and after, side by side.
pub fn compare(before: &CapacityPlan, after: &CapacityPlan) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["", "before", "after"]);
    let rows = |p: &CapacityPlan| -> Vec<String> {
        vec![
            p.instance_type.clone(),
            format!("{} vCPU, {} MiB", p.vcpus, p.memory_mib),
            p.gunicorn_workers.to_string(),
            format!("{} units", p.container_cpu),
            format!("{} MB ({} reserved)", p.container_memory, p.container_memory_reservation),
            p.tasks_per_instance.to_string(),
            format!("{} .. {}", p.asg_min_size, p.asg_max_size),
            format!("{} .. {}", p.task_min_count, p.task_max_count),
            format!("${:.2}", p.monthly_cost_usd),
        ]
    };
    let names = ["instance type", "per instance", "gunicorn workers", "container cpu", "container memory", "tasks / instance", "instances", "tasks", "monthly cost"];
    for ((name, b), a) in names.iter().zip(rows(before)).zip(rows(after)) {
        let a = if a == b { a } else { format!("{a}  ←") };
        t.add_row(vec![name.to_string(), b, a]);
    }
    format!("{t}\n")
}

/// The sizing guide's warnings about the new configuration.
pub fn warnings(plan: &Plan) -> Vec<String> {
    let mut w: Vec<String> = plan.after.warnings.clone();
    let after = &plan.after.capacity;
    if let Some(it) = catalogue::lookup(&after.instance_type) {
        if it.burstable() && after.task_min_count >= 6 && it.vcpus >= 2 && after.tasks_per_instance >= 3 {
            w.push(format!(
                "{}: a burstable family runs on CPU credits (20-40 % baseline); for sustained or heavy load the sizing guide recommends compute-optimized c6a/c7a",
                it.name
            ));
        }
        if it.vcpus <= 2 && after.asg_min_size > 3 {
            w.push(format!(
                "{} instances of {}: the sizing guide recommends fewer, beefier instances (less load variance across targets)",
                after.asg_min_size, it.name
            ));
        }
    }
    let (b, a) = (&plan.before.config.compute, &plan.after.config.compute);
    if b.instance_type != a.instance_type && a.min_size.unwrap_or(2) >= a.max_size.unwrap_or(u32::MAX) {
        w.push("compute.max_size equals min_size: the rolling replacement has no spare slot and runs one instance short while each new instance boots".into());
    }
    w
}

/// The nested stacks whose templates change.
pub fn changed_stacks<'a>(before: &Assembly, after: &'a Assembly) -> Vec<&'a str> {
    after
        .nested
        .iter()
        .filter(|n| before.nested(n.name).map(|b| b.sha256 != n.sha256).unwrap_or(true))
        .map(|n| n.name)
        .collect()
}

/// The whole upgrade: preview, deploy, and on success write pypictl.toml.
/// Returns the outcome and whether the file was rewritten.
#[allow(clippy::too_many_arguments)]
pub async fn upgrade<C, R, S, I, F>(cloud: &C, registry: &R, sink: &mut S, interaction: &mut I, opts: DeployOptions, path: &Path, plan: &Plan, interrupt: F) -> Result<(Outcome, bool)>
where
    C: Stacks + Service + Account + Clock,
    R: Registry,
    S: Sink,
    I: Interaction,
    F: std::future::Future<Output = ()>,
{
    let before = synthesize(&plan.before).map_err(|e| anyhow::anyhow!("synthesis failed: {e}"))?;
    let after = synthesize(&plan.after).map_err(|e| anyhow::anyhow!("synthesis failed: {e}"))?;
    let changed = changed_stacks(&before, &after);
    sink.emit(Progress::Step(format!(
        "Templates that change: {}",
        if changed.is_empty() { "none".to_string() } else { changed.join(", ") }
    )));
    let outcome = Deployer { cloud, registry, sink, interaction, opts }.deploy(&after, &plan.after.config, interrupt).await?;
    let write = matches!(outcome, Outcome::Succeeded { .. } | Outcome::NoChanges);
    if write {
        let text = plan.upgrade.write_into(&plan.text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        std::fs::write(path, text)?;
    }
    Ok((outcome, write))
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
    print!("{}", compare(&plan.before.capacity, &plan.after.capacity));
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
    let (message, code) = ui::report::outcome(plan.after.config.stack_name(), &outcome);
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
