//! Checks 2 (`ecs_tasks`, `stopped_tasks`): the ECS service runs its tasks,
//! and the recently stopped ones were not killed out of memory (or stopped
//! for another reason).

use pypictl_stacks::outputs::RootOutput;
use pypictl_stacks::sizing::advice::{memory_fix, next_size_up};

use super::names::{ECS_TASKS, STOPPED_TASKS};
use super::{clip, Check, Context};
use crate::engine::cloud::Service;
use crate::engine::model::StoppedTask;

pub(super) async fn ecs_checks<C: Service>(cloud: &C, ctx: &Context<'_>) -> (Check, Check) {
    let (Some(cluster), Some(service)) = (ctx.output(RootOutput::EcsClusterName), ctx.output(RootOutput::EcsServiceName)) else {
        let both = format!("{}/{}", RootOutput::EcsClusterName, RootOutput::EcsServiceName);
        return (ctx.missing(ECS_TASKS, &both), ctx.missing(STOPPED_TASKS, &both));
    };
    let tasks = match cloud.service(cluster, service).await {
        Err(e) => Check::unreadable(ECS_TASKS, &format!("ECS service {cluster}/{service}"), &e, "ecs:DescribeServices"),
        Ok(None) => Check::fail(
            ECS_TASKS,
            format!("the ECS service {service} does not exist in cluster {cluster}"),
            "`pypictl deploy` creates it (`pypictl status` shows the stacks)",
        ),
        Ok(Some(s)) => {
            let mut detail = format!("{}/{} tasks running, {} pending", s.running, s.desired, s.pending);
            if let Some(r) = &s.rollout_state {
                detail.push_str(&format!(", rollout {r}"));
            }
            if s.failed > 0 {
                detail.push_str(&format!(", {} failed to start", s.failed));
            }
            if let Some(r) = &s.rollout_reason {
                detail.push_str(&format!(" ({r})"));
            }
            if s.desired == 0 {
                Check::warn(ECS_TASKS, detail, "the service is scaled to zero: `pypictl deploy` restores the configured count (`service.task_min_count`)")
            } else if s.running >= s.desired {
                Check::pass(ECS_TASKS, detail)
            } else {
                Check::fail(
                    ECS_TASKS,
                    detail,
                    format!(
                        "the stopped_tasks check says why tasks stop; follow the rollout with `pypictl status --watch`; tasks that stay pending need room: `compute.max_size` or a larger instance type (`pypictl upgrade --instance-type {}`)",
                        next_size_up(&ctx.cfg.compute.instance_type).unwrap_or("<larger type>")
                    ),
                )
            }
        }
    };
    let stopped = match cloud.stopped_tasks(cluster, service).await {
        Err(e) => Check::unreadable(STOPPED_TASKS, "the stopped tasks", &e, "ecs:ListTasks, ecs:DescribeTasks"),
        Ok(stopped) => stopped_check(ctx, &stopped),
    };
    (tasks, stopped)
}

/// A task killed for using more than its memory limit.
pub fn is_oom(reason: &str) -> bool {
    let lower = reason.to_ascii_lowercase();
    lower.contains("outofmemory")
        || lower.contains("out of memory")
        || reason.contains("OOM")
        || ["exit 137", "exit code 137", "exitcode 137", "exit code: 137", "exitcode: 137"].iter().any(|p| lower.contains(p))
}

/// A task stopped on purpose: replaced by a deployment, scaled in, by hand.
fn is_routine(reason: &str) -> bool {
    reason.starts_with("Scaling activity initiated by") || reason.starts_with("Task stopped by user") || reason.starts_with("ECS is performing maintenance")
}

/// `3 × reason; 1 × other reason`, the most frequent first.
fn tally(tasks: &[&StoppedTask]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for t in tasks {
        let reason = if t.reason.is_empty() { "no reason given".to_string() } else { t.reason.clone() };
        match counts.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => counts.push((reason, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let shown: Vec<String> = counts.iter().take(3).map(|(r, n)| format!("{n} × {}", clip(r, 160))).collect();
    let more = counts.len().saturating_sub(3);
    if more > 0 {
        format!("{}; and {more} other reason{}", shown.join("; "), if more == 1 { "" } else { "s" })
    } else {
        shown.join("; ")
    }
}

fn stopped_check(ctx: &Context<'_>, stopped: &[StoppedTask]) -> Check {
    let oom: Vec<&StoppedTask> = stopped.iter().filter(|t| is_oom(&t.reason)).collect();
    let other: Vec<&StoppedTask> = stopped.iter().filter(|t| !is_oom(&t.reason) && !is_routine(&t.reason)).collect();
    let routine = stopped.len() - oom.len() - other.len();
    let memory = ctx.cfg.service.container_memory;
    if !oom.is_empty() {
        let mut detail = format!(
            "{} task{} killed out of memory (limit service.container_memory = {memory} MB): {}",
            oom.len(),
            if oom.len() == 1 { " was" } else { "s were" },
            tally(&oom)
        );
        if !other.is_empty() {
            detail.push_str(&format!("; also stopped: {}", tally(&other)));
        }
        return Check::fail(STOPPED_TASKS, detail, memory_fix(ctx.cfg));
    }
    if !other.is_empty() {
        let detail = format!("{} task{} stopped recently: {}", other.len(), if other.len() == 1 { "" } else { "s" }, tally(&other));
        return Check::warn(STOPPED_TASKS, detail, stop_hints(ctx, &other));
    }
    if routine > 0 {
        Check::pass(STOPPED_TASKS, format!("no task killed or crashed ({routine} replaced by deployments or scaling)"))
    } else {
        Check::pass(STOPPED_TASKS, "no task stopped recently")
    }
}

/// What to do about tasks that stopped for reasons other than memory.
fn stop_hints(ctx: &Context<'_>, tasks: &[&StoppedTask]) -> String {
    let any = |needle: &str| tasks.iter().any(|t| t.reason.contains(needle));
    let mut hints = Vec::new();
    if any("CannotPull") {
        hints.push(format!(
            "the image could not be pulled: check `service.image_tag` (now \"{}\", a published pypiserver tag) and that the instances reach the registry",
            ctx.cfg.service.image_tag
        ));
    }
    if any("ELB health checks") {
        hints.push("tasks failed the load balancer's health checks: see the target_health check".to_string());
    }
    if any("ResourceInitializationError") {
        hints.push("a task could not start (its secret or the EFS mount): `pypictl status` shows the stacks".to_string());
    }
    hints.push(format!("read {} and follow the service with `pypictl status --watch`", ctx.log_group()));
    hints.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_reasons() {
        assert!(is_oom("Essential container in task exited; pypiserver: OutOfMemoryError: Container killed due to memory usage (exit 137)"));
        assert!(is_oom("pypiserver: (exit 137)"));
        assert!(is_oom("OOMKilled"));
        assert!(!is_oom("Task failed ELB health checks in (target-group ...)"));
        assert!(!is_oom("pypiserver: (exit 1)"));
        assert!(!is_oom("Scaling activity initiated by (deployment ecs-svc/1)"));
    }
}
