//! `pypictl upgrade`, the engine's side: the plan (the configuration before
//! and after), the sizing guide's warnings about it, the nested stacks that
//! change, and the upgrade itself — the deploy engine, then pypictl.toml
//! rewritten only on success, comments and layout kept.

use std::path::Path;

use anyhow::Result;
use pypictl_stacks::app::{synthesize, Assembly};
use pypictl_stacks::edit::Upgrade;
use pypictl_stacks::{catalogue, Deployment};

use super::cloud::{Account, Clock, Registry, Service, Stacks};
use super::deploy::{DeployOptions, Deployer, Interaction, Outcome};
use super::progress::{Progress, Sink};

/// The configuration before and after, both valid.
pub struct Plan {
    pub text: String,
    pub before: Deployment,
    pub after: Deployment,
    pub upgrade: Upgrade,
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

