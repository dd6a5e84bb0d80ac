//! Check 6 (`alarms`): no alarm of the service
//! (`<service_name>-<environment>-*`) is in ALARM. A firing alarm is
//! recognised by its row of the core's alarm table, and each says what to
//! change.

use std::collections::BTreeMap;

use pypictl_stacks::alarms::AlarmId;
use pypictl_stacks::config::Config;
use pypictl_stacks::sizing::advice::{instance_fix, memory_fix, throughput_fix, ELASTIC_THROUGHPUT};

use super::names::ALARMS;
use super::{clip, Check, Context};
use crate::engine::cloud::Service;

pub(super) async fn alarm_check<C: Service>(cloud: &C, ctx: &Context<'_>) -> Check {
    let prefix = format!("{}-", pypictl_stacks::components::name_prefix(ctx.cfg));
    let alarms = match cloud.alarms_firing(&prefix).await {
        Ok(a) => a,
        Err(e) => return Check::unreadable(ALARMS, "the alarms", &e, "cloudwatch:DescribeAlarms"),
    };
    if alarms.is_empty() {
        return Check::pass(ALARMS, format!("no alarm {prefix}* in ALARM"));
    }
    let detail = format!(
        "{} in ALARM: {}",
        if alarms.len() == 1 { "1 alarm".to_string() } else { format!("{} alarms", alarms.len()) },
        alarms.iter().map(|a| if a.reason.is_empty() { a.name.clone() } else { format!("{} ({})", a.name, clip(&a.reason, 120)) }).collect::<Vec<_>>().join(", ")
    );
    let mut hints: BTreeMap<usize, String> = BTreeMap::new();
    for a in &alarms {
        let suffix = a.name.strip_prefix(&prefix).unwrap_or(&a.name);
        let (order, hint) = match AlarmId::from_suffix(suffix) {
            Some(id) => hint(id, ctx.cfg),
            None => (5, format!("{}: see the alarm in CloudWatch and `pypictl status`", a.name)),
        };
        hints.entry(order).or_insert(hint);
    }
    Check::fail(ALARMS, detail, hints.into_values().collect::<Vec<_>>().join("; "))
}

/// What to do about a firing alarm, and where the hint goes among the
/// others (storage first, then memory, CPU, and the health checks). No
/// wildcard: an alarm added to the table must be given its hint here.
fn hint(id: AlarmId, cfg: &Config) -> (usize, String) {
    match id {
        AlarmId::EfsBurstCredits => (0, ELASTIC_THROUGHPUT.to_string()),
        AlarmId::EfsThroughput => (1, throughput_fix(cfg)),
        AlarmId::EcsMemoryHigh => (2, memory_fix(cfg)),
        AlarmId::EcsCpuHigh | AlarmId::AlbP95Latency => (3, instance_fix(cfg)),
        AlarmId::UnhealthyHosts | AlarmId::Http5xx => (4, "see the target_health and stopped_tasks checks; `pypictl status --watch` follows the service".to_string()),
    }
}
