//! Check 3 (`target_health`): every target of the load balancer is healthy.

use pypictl_stacks::outputs::RootOutput;
use pypictl_stacks::sizing::advice::instance_fix;

use super::names::TARGET_HEALTH;
use super::{clip, Check, Context};
use crate::engine::cloud::Service;
use crate::engine::model::TargetHealth;

pub(super) async fn target_check<C: Service>(cloud: &C, ctx: &Context<'_>) -> Check {
    let Some(tg) = ctx.output(RootOutput::TargetGroupArn) else { return ctx.missing(TARGET_HEALTH, RootOutput::TargetGroupArn) };
    let targets = match cloud.target_health(tg).await {
        Ok(t) => t,
        Err(e) => return Check::unreadable(TARGET_HEALTH, "the targets' health", &e, "elasticloadbalancing:DescribeTargetHealth"),
    };
    if targets.is_empty() {
        return Check::fail(
            TARGET_HEALTH,
            "no target registered: the load balancer has nowhere to send requests",
            "no task runs behind the load balancer: see the ecs_tasks and stopped_tasks checks, and `pypictl status --watch`",
        );
    }
    let healthy = targets.iter().filter(|t| t.state == "healthy").count();
    let broken: Vec<&TargetHealth> = targets.iter().filter(|t| matches!(t.state.as_str(), "unhealthy" | "unused" | "unavailable")).collect();
    let moving: Vec<&TargetHealth> = targets.iter().filter(|t| t.state != "healthy" && !broken.iter().any(|b| b.target == t.target)).collect();
    let describe = |ts: &[&TargetHealth]| {
        ts.iter()
            .map(|t| format!("{} {}{}", t.target, t.state, t.reason.as_deref().map(|r| format!(" ({})", clip(r, 120))).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let summary = format!("{healthy} of {} targets healthy", targets.len());
    if !broken.is_empty() || healthy == 0 {
        let mut all: Vec<&TargetHealth> = broken.clone();
        all.extend(moving.iter().copied());
        let any = |needle: &str| all.iter().any(|t| t.reason.as_deref().is_some_and(|r| r.contains(needle)));
        let mut hints = Vec::new();
        if any("Timeout") {
            hints.push(format!(
                "health checks (GET /health) time out: the tasks are overloaded or the security groups block the load balancer; for CPU, {}",
                instance_fix(ctx.cfg)
            ));
        }
        if any("ResponseCodeMismatch") {
            hints.push(format!("pypiserver answers its health check with an error: read {}", ctx.log_group()));
        }
        hints.push("the stopped_tasks check says why tasks stop; `pypictl status --watch` follows the targets".into());
        Check::fail(TARGET_HEALTH, format!("{summary}: {}", describe(&all)), hints.join("; "))
    } else if !moving.is_empty() {
        Check::warn(TARGET_HEALTH, format!("{summary}: {}", describe(&moving)), "targets are being registered or drained (a deployment): follow it with `pypictl status --watch`")
    } else {
        Check::pass(TARGET_HEALTH, summary)
    }
}
