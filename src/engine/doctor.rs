//! What `pypictl doctor` checks: the troubleshooting guide, automated. Each
//! check passes, warns or fails, and a warning or failure says how to fix it
//! in pypictl's own terms — which pypictl.toml key to set to what, or which
//! command to run.
//!
//! 1. the root stack and every nested stack are complete;
//! 2. the ECS service runs its desired tasks, and recently stopped tasks were
//!    not killed out of memory (or stopped for another reason);
//! 3. every target of the load balancer is healthy;
//! 4. EFS: `PercentIOLimit` and, in bursting mode, `BurstCreditBalance`;
//! 5. the load balancer: 5xx responses and the p95 response time;
//! 6. no alarm of the service (`<service_name>-<environment>-*`) is in ALARM;
//! 7. the service answers: 200 with the secret's credentials, 401 without;
//! 8. every container image of the task definition (pypiserver's is
//!    `service.image_tag`) exists in its registry.
//!
//! A call that fails (permissions, an API the endpoint lacks) makes its check
//! a warning and the other checks still run; a metric without data is a
//! skip. The password is never part of a check's text.

use std::collections::BTreeMap;

use pypictl_stacks::catalogue::{self, InstanceType};
use pypictl_stacks::config::{Config, ThroughputMode};
use pypictl_stacks::sizing::{self, SizingInput};
use serde_json::{json, Value};

use super::cloud::{Probe, Registry, Secrets, Service, Stacks};
use super::images;
use super::model::{status as st, CloudError, ErrorKind, MetricQuery, StackSummary, StoppedTask, TargetHealth};
use super::patient::Patient;

/// The checks, in the order they run and are reported.
pub mod names {
    pub const STACK: &str = "stack";
    pub const NESTED_STACKS: &str = "nested_stacks";
    pub const ECS_TASKS: &str = "ecs_tasks";
    pub const STOPPED_TASKS: &str = "stopped_tasks";
    pub const TARGET_HEALTH: &str = "target_health";
    pub const EFS_IO_LIMIT: &str = "efs_io_limit";
    pub const EFS_BURST_CREDITS: &str = "efs_burst_credits";
    pub const ALB_5XX: &str = "alb_5xx";
    pub const ALB_LATENCY: &str = "alb_p95_latency";
    pub const ALARMS: &str = "alarms";
    pub const HTTP_AUTHENTICATED: &str = "http_authenticated";
    pub const HTTP_UNAUTHENTICATED: &str = "http_unauthenticated";
    pub const IMAGES: &str = "images";

    pub const ALL: [&str; 13] = [
        STACK,
        NESTED_STACKS,
        ECS_TASKS,
        STOPPED_TASKS,
        TARGET_HEALTH,
        EFS_IO_LIMIT,
        EFS_BURST_CREDITS,
        ALB_5XX,
        ALB_LATENCY,
        ALARMS,
        HTTP_AUTHENTICATED,
        HTTP_UNAUTHENTICATED,
        IMAGES,
    ];
}

use names::*;

/// The window every metric is read over, and its period.
pub const WINDOW_MINUTES: u32 = 60;
const PERIOD_SECONDS: u32 = 300;
/// `PercentIOLimit` (Maximum): above this a warning (the alarm's threshold)...
pub const IO_LIMIT_WARN_PERCENT: f64 = 80.0;
/// ... and from this a failure: requests are being throttled.
pub const IO_LIMIT_FAIL_PERCENT: f64 = 95.0;
/// 5xx responses (load balancer + targets) in the window above which the check fails.
pub const MAX_5XX: f64 = 10.0;
/// TargetResponseTime p95 above which the check warns (the alarm's threshold).
pub const MAX_P95_SECONDS: f64 = 5.0;
/// The largest provisioned throughput EFS accepts (validation's bound).
const MAX_PROVISIONED_MIBPS: u32 = 3414;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Skip,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Skip => "skip",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✔",
            Status::Skip => "-",
            Status::Warn => "!",
            Status::Fail => "✘",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it (warnings and failures).
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check { name, status: Status::Pass, detail: detail.into(), fix: None }
    }
    fn skip(name: &'static str, detail: impl Into<String>) -> Check {
        Check { name, status: Status::Skip, detail: detail.into(), fix: None }
    }
    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, status: Status::Warn, detail: detail.into(), fix: Some(fix.into()) }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }

    /// A check whose AWS call failed: a warning naming the error, and the
    /// permission to grant when it was refused.
    fn unreadable(name: &'static str, what: &str, e: &CloudError, permission: &str) -> Check {
        let fix = if e.kind == ErrorKind::AccessDenied {
            format!("allow `{permission}` to the AWS identity running pypictl (or use a `--profile` that has it), then run `pypictl doctor` again")
        } else {
            format!("run `pypictl doctor` again later; `pypictl status` shows what can be read (`{permission}`)")
        };
        Check::warn(name, format!("could not read {what}: {e}"), fix)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub stack: String,
    pub region: String,
    /// The root stack's status; None when it does not exist or cannot be read.
    pub stack_status: Option<String>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// Exit code 1 when true; warnings alone are not a failure.
    pub fn failed(&self) -> bool {
        self.count(Status::Fail) > 0
    }

    /// `pypictl --output json doctor`.
    pub fn to_json(&self) -> Value {
        json!({
            "stack": self.stack,
            "region": self.region,
            "status": self.stack_status,
            "checks": self.checks.iter().map(|c| json!({
                "name": c.name,
                "status": c.status.as_str(),
                "detail": c.detail,
                "fix": c.fix,
            })).collect::<Vec<_>>(),
            "summary": {
                "pass": self.count(Status::Pass),
                "warn": self.count(Status::Warn),
                "fail": self.count(Status::Fail),
                "skip": self.count(Status::Skip),
                "ok": !self.failed(),
            },
        })
    }

    /// One line per check, the fix indented below it, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "pypictl doctor: {} in {}{}\n",
            self.stack,
            self.region,
            self.stack_status.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
        );
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &self.checks {
            out.push_str(&format!("{} {:width$}  {}\n", c.status.symbol(), c.name, c.detail));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("    fix: {fix}\n"));
            }
        }
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        out.push_str(&format!(
            "{}, {}, {}, {}\n",
            plural(self.count(Status::Fail), "failed", "failed"),
            plural(self.count(Status::Warn), "warning", "warnings"),
            plural(self.count(Status::Pass), "passed", "passed"),
            plural(self.count(Status::Skip), "skipped", "skipped"),
        ));
        out
    }
}

/// What the checks may be told besides the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Probe this URL instead of the first of the stack's PypiServerUrls
    /// (`PYPICTL_SERVICE_URL`: a test or an operator behind a tunnel).
    pub url: Option<String>,
}

/// Runs every check against the deployment of `config`, `probe` answering
/// for the container registries too (the scripted cloud answers for all).
pub async fn diagnose<C, P>(cloud: &C, probe: &P, config: &Config, options: &Options) -> Report
where
    C: Stacks + Service + Secrets,
    P: Probe + Registry,
{
    diagnose_with(cloud, probe, probe, config, options).await
}

/// Runs every check against the deployment of `config`; the images are
/// looked up in `registry`.
pub async fn diagnose_with<C, P, R>(cloud: &C, probe: &P, registry: &R, config: &Config, options: &Options) -> Report
where
    C: Stacks + Service + Secrets,
    P: Probe,
    R: Registry,
{
    let cloud = &Patient::new(cloud);
    let name = config.stack_name().to_string();
    let mut report = Report { stack: name.clone(), region: config.region.clone(), stack_status: None, checks: Vec::new() };
    let stack = match cloud.describe_stack(&name).await {
        Ok(Some(stack)) => stack,
        Ok(None) => {
            report.checks.push(Check::fail(
                STACK,
                format!("{name} does not exist in {}", config.region),
                "deploy it with `pypictl deploy` (check `stack_name` and `region` in pypictl.toml if it should exist)",
            ));
            skip_the_rest(&mut report, "the stack does not exist");
            return report;
        }
        Err(e) => {
            // Nothing else can be checked without the stack: a failure.
            let mut c = Check::unreadable(STACK, &format!("stack {name}"), &e, "cloudformation:DescribeStacks");
            c.status = Status::Fail;
            report.checks.push(c);
            skip_the_rest(&mut report, "the stack could not be read");
            return report;
        }
    };
    report.stack_status = Some(stack.status.clone());
    let ctx = Context { cfg: config, stack: &stack };

    report.checks.push(stack_check(&stack));
    report.checks.push(nested_check(cloud, &stack).await);
    let (tasks, stopped) = ecs_checks(cloud, &ctx).await;
    report.checks.push(tasks);
    report.checks.push(stopped);
    report.checks.push(target_check(cloud, &ctx).await);
    let (io, credits) = efs_checks(cloud, &ctx).await;
    report.checks.push(io);
    report.checks.push(credits);
    let (errors, latency) = alb_checks(cloud, &ctx).await;
    report.checks.push(errors);
    report.checks.push(latency);
    report.checks.push(alarm_check(cloud, &ctx).await);
    let (password, http) = http_checks(cloud, probe, &ctx, options).await;
    report.checks.extend(http);
    report.checks.push(image_check(registry, config).await);

    if let Some(p) = password.filter(|p| p.len() >= 4) {
        for c in &mut report.checks {
            c.detail = c.detail.replace(&p, "********");
            c.fix = c.fix.take().map(|f| f.replace(&p, "********"));
        }
    }
    report
}

fn skip_the_rest(report: &mut Report, why: &str) {
    let missing: Vec<&'static str> = ALL.iter().copied().filter(|n| report.get(n).is_none()).collect();
    for name in missing {
        report.checks.push(Check::skip(name, format!("skipped: {why}")));
    }
}

struct Context<'a> {
    cfg: &'a Config,
    stack: &'a StackSummary,
}

impl Context<'_> {
    fn output(&self, key: &str) -> Option<&str> {
        self.stack.output(key).filter(|v| !v.is_empty())
    }

    fn missing(&self, name: &'static str, key: &str) -> Check {
        Check::skip(name, format!("no {key} output on {} ({})", self.stack.name, self.stack.status))
    }

    fn log_group(&self) -> String {
        match self.output("LogGroupName") {
            Some(g) => format!("CloudWatch Logs group {g}"),
            None => "the container logs in CloudWatch Logs".into(),
        }
    }

    fn metric(&self, namespace: &str, metric: &str, dimension: (&str, &str), stat: &str) -> MetricQuery {
        MetricQuery {
            namespace: namespace.into(),
            metric: metric.into(),
            dimensions: vec![(dimension.0.into(), dimension.1.into())],
            stat: stat.into(),
            period_seconds: PERIOD_SECONDS,
            minutes: WINDOW_MINUTES,
        }
    }
}

/// A stack or nested-stack status that is fine: complete, not rolled back.
fn healthy_status(s: &str) -> bool {
    st::complete(s) && !s.contains("ROLLBACK") && !s.starts_with("DELETE")
}

// 1. Stacks ---------------------------------------------------------------

fn stack_check(stack: &StackSummary) -> Check {
    let status = stack.status.as_str();
    let reason = stack.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
    let detail = format!("{} is {status}{reason}", stack.name);
    if healthy_status(status) {
        return Check::pass(STACK, detail);
    }
    let fix = match status {
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" => {
            "the first deployment failed and was rolled back: find the cause with `pypictl status`, fix pypictl.toml, then `pypictl deploy` offers to delete and recreate the stack"
        }
        "UPDATE_ROLLBACK_COMPLETE" => {
            "the last update failed and was rolled back (the previous version still runs): find the cause with `pypictl status`, fix pypictl.toml and run `pypictl deploy` again"
        }
        "UPDATE_ROLLBACK_FAILED" => "`pypictl deploy` continues the rollback (ContinueUpdateRollback), then deploys again",
        "REVIEW_IN_PROGRESS" => "a first deployment was previewed but never executed: run `pypictl deploy`",
        "DELETE_FAILED" => "the deletion failed: run `pypictl destroy` again, it names what blocks the deletion",
        s if st::in_progress(s) => "an operation is in progress: follow it with `pypictl status --watch`, then run `pypictl doctor` again",
        _ => "the last deployment failed and was kept as it is: fix the cause `pypictl status` shows and run `pypictl deploy` again",
    };
    if st::in_progress(status) && !status.contains("ROLLBACK") && !status.starts_with("DELETE") && status != "REVIEW_IN_PROGRESS" {
        Check::warn(STACK, detail, fix)
    } else {
        Check::fail(STACK, detail, fix)
    }
}

async fn nested_check<C: Stacks>(cloud: &C, stack: &StackSummary) -> Check {
    let resources = match cloud.stack_resources(&stack.id).await {
        Ok(r) => r,
        Err(e) => return Check::unreadable(NESTED_STACKS, "the nested stacks", &e, "cloudformation:ListStackResources"),
    };
    let nested: Vec<_> = resources.into_iter().filter(|r| r.resource_type == "AWS::CloudFormation::Stack").collect();
    if nested.is_empty() {
        return Check::skip(NESTED_STACKS, format!("{} lists no nested stacks", stack.name));
    }
    let bad: Vec<_> = nested.iter().filter(|r| !healthy_status(&r.status)).collect();
    if bad.is_empty() {
        return Check::pass(NESTED_STACKS, format!("all {} nested stacks complete", nested.len()));
    }
    let detail = format!(
        "{} of {} nested stacks not complete: {}",
        bad.len(),
        nested.len(),
        bad.iter().map(|r| format!("{} {}", r.logical_id, r.status)).collect::<Vec<_>>().join(", ")
    );
    let only_running = bad.iter().all(|r| st::in_progress(&r.status) && !r.status.contains("ROLLBACK"));
    if only_running {
        Check::warn(NESTED_STACKS, detail, "an operation is in progress: follow it with `pypictl status --watch`")
    } else {
        Check::fail(
            NESTED_STACKS,
            detail,
            "`pypictl status` shows every stack and `pypictl deploy` names the root cause of a failed update: fix it in pypictl.toml and run `pypictl deploy` again",
        )
    }
}

// 2. ECS ------------------------------------------------------------------

async fn ecs_checks<C: Service>(cloud: &C, ctx: &Context<'_>) -> (Check, Check) {
    let (Some(cluster), Some(service)) = (ctx.output("EcsClusterName"), ctx.output("EcsServiceName")) else {
        return (ctx.missing(ECS_TASKS, "EcsClusterName/EcsServiceName"), ctx.missing(STOPPED_TASKS, "EcsClusterName/EcsServiceName"));
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

/// Double the memory limit; if that no longer fits the instance type, a
/// larger type that fits it too.
pub fn memory_fix(cfg: &Config) -> String {
    let doubled = cfg.service.container_memory.saturating_mul(2);
    let mut input = SizingInput::from_config(cfg);
    input.container_memory = doubled;
    let current = &cfg.compute.instance_type;
    let now = sizing::plan(&SizingInput::from_config(cfg)).map(|p| format!(" instead of {}", p.tasks_per_instance)).unwrap_or_default();
    match sizing::plan(&input) {
        Ok(plan) => format!(
            "set `service.container_memory = {doubled}` in pypictl.toml and run `pypictl deploy`, or run `pypictl upgrade --container-memory {doubled}` ({} tasks per {current}{now}; `pypictl size --container-memory {doubled}` shows the plan)",
            plan.tasks_per_instance
        ),
        Err(why) => match larger_fitting(&input) {
            Some(t) => format!(
                "{doubled} MB does not fit on {current} ({why}): set `service.container_memory = {doubled}` and `compute.instance_type = \"{t}\"` in pypictl.toml and run `pypictl deploy`, or run `pypictl upgrade --instance-type {t} --container-memory {doubled}`"
            ),
            None => format!(
                "{doubled} MB does not fit on {current} ({why}) nor on any catalogued instance type: lower `service.gunicorn_workers` to use less memory per task"
            ),
        },
    }
}

/// The cheapest catalogued type, the same family first, larger than the
/// input's, on which the input's plan fits.
fn larger_fitting(input: &SizingInput) -> Option<&'static str> {
    let current = catalogue::lookup(&input.instance_type)?;
    let mut candidates: Vec<&InstanceType> =
        catalogue::all().filter(|t| t.arch == current.arch && t.memory_mib > current.memory_mib && t.vcpus >= current.vcpus).collect();
    candidates.sort_by(|a, b| (a.family() != current.family()).cmp(&(b.family() != current.family())).then(a.usd_per_hour.total_cmp(&b.usd_per_hour)));
    candidates.into_iter().find(|t| sizing::plan(&SizingInput { instance_type: t.name.to_string(), ..input.clone() }).is_ok()).map(|t| t.name)
}

/// The next size up in the same family, from the catalogue.
pub fn next_size_up(instance_type: &str) -> Option<&'static str> {
    let current = catalogue::lookup(instance_type)?;
    catalogue::all()
        .filter(|t| t.family() == current.family() && (t.vcpus, t.memory_mib) > (current.vcpus, current.memory_mib))
        .min_by_key(|t| (t.vcpus, t.memory_mib))
        .map(|t| t.name)
}

fn instance_fix(cfg: &Config) -> String {
    match next_size_up(&cfg.compute.instance_type) {
        Some(t) => format!(
            "a larger instance type: set `compute.instance_type = \"{t}\"` in pypictl.toml and run `pypictl deploy`, or run `pypictl upgrade --instance-type {t}`"
        ),
        None => format!(
            "{} is the largest catalogued size of its family: add instances (`compute.min_size`, `compute.max_size`) and run `pypictl deploy`",
            cfg.compute.instance_type
        ),
    }
}

// 3. Targets --------------------------------------------------------------

async fn target_check<C: Service>(cloud: &C, ctx: &Context<'_>) -> Check {
    let Some(tg) = ctx.output("TargetGroupArn") else { return ctx.missing(TARGET_HEALTH, "TargetGroupArn") };
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

// 4. EFS ------------------------------------------------------------------

async fn efs_checks<C: Service>(cloud: &C, ctx: &Context<'_>) -> (Check, Check) {
    let Some(fs) = ctx.output("FileSystemId") else {
        return (ctx.missing(EFS_IO_LIMIT, "FileSystemId"), ctx.missing(EFS_BURST_CREDITS, "FileSystemId"));
    };
    let storage = &ctx.cfg.storage;
    let io = match cloud.metric(&ctx.metric("AWS/EFS", "PercentIOLimit", ("FileSystemId", fs), "Maximum")).await {
        Err(e) => Check::unreadable(EFS_IO_LIMIT, "PercentIOLimit", &e, "cloudwatch:GetMetricData"),
        Ok(None) => Check::skip(EFS_IO_LIMIT, format!("no PercentIOLimit data for {fs} in the last hour")),
        Ok(Some(v)) => {
            let detail = format!("{fs} peaked at {v:.1} % of its I/O limit in the last hour");
            if v >= IO_LIMIT_FAIL_PERCENT {
                Check::fail(EFS_IO_LIMIT, format!("{detail}: requests are being throttled"), throughput_fix(ctx.cfg))
            } else if v > IO_LIMIT_WARN_PERCENT {
                Check::warn(EFS_IO_LIMIT, format!("{detail} (above {IO_LIMIT_WARN_PERCENT:.0} %)"), throughput_fix(ctx.cfg))
            } else {
                Check::pass(EFS_IO_LIMIT, detail)
            }
        }
    };
    let credits = if storage.throughput_mode != ThroughputMode::Bursting {
        Check::pass(EFS_BURST_CREDITS, format!("storage.throughput_mode = \"{}\": no burst credits to run out of", storage.throughput_mode.as_str()))
    } else {
        let threshold = ctx.cfg.monitoring.efs_burst_credit_threshold;
        match cloud.metric(&ctx.metric("AWS/EFS", "BurstCreditBalance", ("FileSystemId", fs), "Minimum")).await {
            Err(e) => Check::unreadable(EFS_BURST_CREDITS, "BurstCreditBalance", &e, "cloudwatch:GetMetricData"),
            Ok(None) => Check::skip(EFS_BURST_CREDITS, format!("no BurstCreditBalance data for {fs} in the last hour")),
            Ok(Some(v)) if v < threshold as f64 => Check::fail(
                EFS_BURST_CREDITS,
                format!("{fs}'s burst credits fell to {} in the last hour, below monitoring.efs_burst_credit_threshold ({})", bytes(v), bytes(threshold as f64)),
                "set `storage.throughput_mode = \"elastic\"` in pypictl.toml and run `pypictl deploy` (elastic throughput has no credits to run out of)",
            ),
            Ok(Some(v)) => Check::pass(EFS_BURST_CREDITS, format!("{fs}'s lowest burst credit balance in the last hour: {} (threshold {})", bytes(v), bytes(threshold as f64))),
        }
    };
    (io, credits)
}

fn throughput_fix(cfg: &Config) -> String {
    match cfg.storage.throughput_mode {
        ThroughputMode::Bursting => {
            "set `storage.throughput_mode = \"elastic\"` in pypictl.toml and run `pypictl deploy`".to_string()
        }
        ThroughputMode::Elastic => "set `storage.throughput_mode = \"provisioned\"` with `storage.provisioned_throughput_mibps = 100` (or more) in pypictl.toml and run `pypictl deploy`; for 1000+ packages also `cloudfront.enabled = true`".to_string(),
        ThroughputMode::Provisioned => {
            let now = cfg.storage.provisioned_throughput_mibps.unwrap_or(0);
            if now >= MAX_PROVISIONED_MIBPS {
                "provisioned throughput is at its maximum: set `storage.throughput_mode = \"elastic\"` in pypictl.toml and run `pypictl deploy`".to_string()
            } else {
                let more = (now.max(1) * 2).min(MAX_PROVISIONED_MIBPS);
                format!("raise `storage.provisioned_throughput_mibps` from {now} to {more} (or set `storage.throughput_mode = \"elastic\"`) in pypictl.toml and run `pypictl deploy`")
            }
        }
    }
}

fn bytes(v: f64) -> String {
    if v >= 1e12 {
        format!("{:.2} TB", v / 1e12)
    } else if v >= 1e9 {
        format!("{:.1} GB", v / 1e9)
    } else {
        format!("{:.0} MB", v / 1e6)
    }
}

// 5. Load balancer ----------------------------------------------------------

/// The load balancer's CloudWatch dimension (`app/<name>/<id>`) from its ARN.
pub fn load_balancer_dimension(arn: &str) -> Option<&str> {
    arn.split_once(":loadbalancer/").map(|(_, rest)| rest).filter(|rest| rest.split('/').count() == 3)
}

async fn alb_checks<C: Service>(cloud: &C, ctx: &Context<'_>) -> (Check, Check) {
    let Some(lb) = ctx.output("PypiLoadBalancerArn").and_then(load_balancer_dimension) else {
        return (ctx.missing(ALB_5XX, "PypiLoadBalancerArn"), ctx.missing(ALB_LATENCY, "PypiLoadBalancerArn"));
    };
    let q = |metric: &str, stat: &str| ctx.metric("AWS/ApplicationELB", metric, ("LoadBalancer", lb), stat);
    let elb = cloud.metric(&q("HTTPCode_ELB_5XX_Count", "Sum")).await;
    let target = cloud.metric(&q("HTTPCode_Target_5XX_Count", "Sum")).await;
    let errors = match (elb, target) {
        (Err(e), _) | (_, Err(e)) => Check::unreadable(ALB_5XX, "the 5xx counts", &e, "cloudwatch:GetMetricData"),
        // A count without data is zero: the load balancer publishes no zeros.
        (Ok(elb), Ok(target)) => {
            let (elb, target) = (elb.unwrap_or(0.0), target.unwrap_or(0.0));
            let total = elb + target;
            let requests = cloud.metric(&q("RequestCount", "Sum")).await.ok().flatten().filter(|r| *r > 0.0);
            let share = requests.map(|r| format!(" of {r:.0} requests ({:.2} %)", 100.0 * total / r)).unwrap_or_default();
            let detail = format!("{total:.0} 5xx responses in the last hour{share}: {elb:.0} from the load balancer, {target:.0} from pypiserver");
            if total > MAX_5XX {
                let mut hints = Vec::new();
                if elb >= target {
                    hints.push(format!(
                        "load-balancer 5xx (502/503/504) mean no healthy target or overwhelmed tasks: see the target_health and ecs_tasks checks; under bursts, {}",
                        instance_fix(ctx.cfg)
                    ));
                }
                if target > 0.0 {
                    hints.push(format!("pypiserver's own errors: read {}; uploads killed out of memory need `pypictl upgrade --container-memory {}`", ctx.log_group(), ctx.cfg.service.container_memory.saturating_mul(2)));
                }
                Check::fail(ALB_5XX, detail, hints.join("; "))
            } else {
                Check::pass(ALB_5XX, detail)
            }
        }
    };
    let latency = match cloud.metric(&q("TargetResponseTime", "p95")).await {
        Err(e) => Check::unreadable(ALB_LATENCY, "TargetResponseTime", &e, "cloudwatch:GetMetricData"),
        Ok(None) => Check::skip(ALB_LATENCY, "no TargetResponseTime data in the last hour (no requests)"),
        Ok(Some(v)) if v > MAX_P95_SECONDS => Check::warn(
            ALB_LATENCY,
            format!("p95 response time reached {v:.1} s in the last hour (above {MAX_P95_SECONDS:.0} s) on {}", ctx.cfg.compute.instance_type),
            instance_fix(ctx.cfg),
        ),
        Ok(Some(v)) => Check::pass(ALB_LATENCY, format!("p95 response time at most {v:.2} s in the last hour")),
    };
    (errors, latency)
}

// 6. Alarms -----------------------------------------------------------------

async fn alarm_check<C: Service>(cloud: &C, ctx: &Context<'_>) -> Check {
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
        let (order, hint) = match suffix {
            "efs-burst-credits" => (0, "set `storage.throughput_mode = \"elastic\"` in pypictl.toml and run `pypictl deploy`".to_string()),
            "efs-throughput" => (1, throughput_fix(ctx.cfg)),
            "ecs-memory-high" => (2, memory_fix(ctx.cfg)),
            "ecs-cpu-high" | "alb-p95-latency" => (3, instance_fix(ctx.cfg)),
            "unhealthy-hosts" | "5xx-errors" => (4, "see the target_health and stopped_tasks checks; `pypictl status --watch` follows the service".to_string()),
            _ => (5, format!("{}: see the alarm in CloudWatch and `pypictl status`", a.name)),
        };
        hints.entry(order).or_insert(hint);
    }
    Check::fail(ALARMS, detail, hints.into_values().collect::<Vec<_>>().join("; "))
}

// 7. HTTP -------------------------------------------------------------------

/// The index URL pip uses: `<service URL>simple/`.
pub fn index_url(service_url: &str) -> String {
    let base = service_url.trim();
    if base.ends_with('/') {
        format!("{base}simple/")
    } else {
        format!("{base}/simple/")
    }
}

/// Returns the password (to keep it out of every check) and the two checks.
async fn http_checks<C: Secrets, P: Probe>(cloud: &C, probe: &P, ctx: &Context<'_>, options: &Options) -> (Option<String>, Vec<Check>) {
    let base = options.url.clone().or_else(|| ctx.output("PypiServerUrls").and_then(|urls| urls.split(',').map(str::trim).find(|u| !u.is_empty())).map(str::to_string));
    let Some(base) = base else {
        return (None, vec![ctx.missing(HTTP_AUTHENTICATED, "PypiServerUrls"), ctx.missing(HTTP_UNAUTHENTICATED, "PypiServerUrls")]);
    };
    let index = index_url(&base);
    let unreachable_fix = |reason: &str| {
        let host = index.split("://").nth(1).and_then(|r| r.split(['/', ':']).next()).unwrap_or(&index).to_string();
        let lb = ctx.output("LoadBalancerDnsName").map(|d| format!(" {d}")).unwrap_or_default();
        let mut fix = if options.url.is_some() {
            format!("{host} is the URL given in PYPICTL_SERVICE_URL: check that it leads to the service (a tunnel?) or unset it; `pypictl status` shows the stacks and targets")
        } else {
            format!(
                "check that {host} resolves to the load balancer{lb} (its records in the hosted zone `dns.zone_id`), that the load balancer admits you (`load_balancer.allowed_cidrs`, security groups), and `pypictl status` for the stacks and targets"
            )
        };
        if reason.to_ascii_lowercase().contains("certificate") || reason.contains("tls") || reason.contains("TLS") {
            fix.push_str("; a certificate error: the ACM certificate must cover every `dns.names` entry");
        }
        fix
    };
    let mut checks = Vec::new();
    let mut password = None;

    // With the secret's credentials: 200.
    let credentials = match ctx.output("PypiUserSecretArn") {
        None => Err(ctx.missing(HTTP_AUTHENTICATED, "PypiUserSecretArn")),
        Some(arn) => match cloud.secret_value(arn).await {
            Err(e) => Err(Check::unreadable(HTTP_AUTHENTICATED, "the credentials secret", &e, "secretsmanager:GetSecretValue (and kms:Decrypt on the data key)")),
            Ok(text) => {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match (v["username"].as_str(), v["password"].as_str()) {
                    (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_string(), p.to_string())),
                    _ => Err(Check::fail(
                        HTTP_AUTHENTICATED,
                        format!("the secret {arn} holds no username and password (JSON with `username` and `password`)"),
                        "`pypictl creds --rotate` writes a new password in the expected form and restarts the tasks on it",
                    )),
                }
            }
        },
    };
    match credentials {
        Err(check) => checks.push(check),
        Ok((user, pass)) => {
            let check = match probe.http_status(&index, Some((&user, &pass))).await {
                Ok(200) => Check::pass(HTTP_AUTHENTICATED, format!("GET {index} as {user}: 200")),
                Ok(code @ (401 | 403)) => Check::fail(
                    HTTP_AUTHENTICATED,
                    format!("GET {index} as {user}: {code}: the service refuses the secret's credentials"),
                    "the tasks run with other credentials than the secret's: `pypictl creds --rotate` sets a new password and restarts the tasks on it; `pypictl creds` prints the current ones",
                ),
                Ok(code) => http_code_check(HTTP_AUTHENTICATED, &index, &format!(" as {user}"), code),
                Err(reason) => Check::fail(HTTP_AUTHENTICATED, format!("no response from {index}: {reason}"), unreachable_fix(&reason)),
            };
            checks.push(check);
            password = Some(pass);
        }
    }

    // Without credentials: 401.
    let check = match probe.http_status(&index, None).await {
        Ok(401) => Check::pass(HTTP_UNAUTHENTICATED, format!("GET {index} without credentials: 401 (authentication is on)")),
        Ok(200) => Check::fail(
            HTTP_UNAUTHENTICATED,
            format!("GET {index} without credentials: 200: authentication is off, anyone can list and download packages"),
            "pypictl runs pypiserver with `--authenticate` and a password file: the running task definition is not pypictl's; `pypictl deploy` restores it",
        ),
        Ok(code @ 300..=399) => Check::fail(
            HTTP_UNAUTHENTICATED,
            format!("GET {index} without credentials: {code}, a redirect (to pypi.org: the public fallback is on, a dependency-confusion risk)"),
            if ctx.cfg.service.allow_public_fallback {
                "set `service.allow_public_fallback = false` in pypictl.toml and run `pypictl deploy`"
            } else {
                "pypictl.toml has `service.allow_public_fallback = false` but the running task definition differs: `pypictl deploy` restores `--disable-fallback`"
            },
        ),
        Ok(403) => Check::warn(
            HTTP_UNAUTHENTICATED,
            format!("GET {index} without credentials: 403 instead of 401: pip and twine will not send credentials"),
            "something in front of pypiserver refuses anonymous requests (a WAF or CloudFront rule?): let 401 through; `pypictl status`",
        ),
        Ok(code) => http_code_check(HTTP_UNAUTHENTICATED, &index, " without credentials", code),
        Err(reason) => Check::fail(HTTP_UNAUTHENTICATED, format!("no response from {index}: {reason}"), unreachable_fix(&reason)),
    };
    checks.push(check);
    (password, checks)
}

// 8. Images -----------------------------------------------------------------

/// The images of the configuration's task definition, in their registries:
/// one missing fails (a deploy would fail every task with
/// CannotPullContainerError), one that cannot be checked warns.
async fn image_check<R: Registry>(registry: &R, cfg: &Config) -> Check {
    let wanted = match images::of_config(cfg) {
        Ok(w) => w,
        Err(e) => return Check::skip(IMAGES, format!("the configuration does not synthesize: {e}")),
    };
    if wanted.is_empty() {
        return Check::skip(IMAGES, "the task definition names no image");
    }
    let found = images::check(registry, &wanted).await;
    if !found.problems.is_empty() {
        let detail = found.problems.iter().map(|p| p.what.clone()).chain(found.warnings.iter().cloned()).collect::<Vec<_>>().join("; ");
        let mut fixes: Vec<String> = Vec::new();
        for p in &found.problems {
            if !fixes.contains(&p.fix) {
                fixes.push(p.fix.clone());
            }
        }
        return Check::fail(IMAGES, detail, format!("{}; then run `pypictl deploy`", fixes.join("; ")));
    }
    if !found.warnings.is_empty() {
        return Check::warn(
            IMAGES,
            found.warnings.join("; "),
            "check that this machine reaches the registries (proxy, firewall; PYPICTL_REGISTRY_URL points the check at another registry) and run `pypictl doctor` again; until then make sure `service.image_tag` in pypictl.toml names a tag that exists",
        );
    }
    Check::pass(IMAGES, format!("{} exist{}: {}", if found.found.len() == 1 { "the image".to_string() } else { format!("all {} images", found.found.len()) }, if found.found.len() == 1 { "s" } else { "" }, found.found.join(", ")))
}

/// An unexpected HTTP status.
fn http_code_check(name: &'static str, index: &str, how: &str, code: u16) -> Check {
    let detail = format!("GET {index}{how}: {code}");
    match code {
        502..=504 => Check::fail(
            name,
            format!("{detail}: the load balancer has no healthy task to send it to"),
            "see the ecs_tasks and target_health checks; `pypictl status --watch` follows the service",
        ),
        300..=399 => Check::fail(
            name,
            format!("{detail}, a redirect"),
            "the URL redirects: check `dns.names` and PypiServerUrls (`pypictl status`); with `service.allow_public_fallback = true` pypiserver redirects to pypi.org",
        ),
        _ => Check::fail(name, detail, "`pypictl status` shows the stacks, tasks and targets; `pypictl deploy` restores pypictl's configuration"),
    }
}

fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
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

    #[test]
    fn load_balancer_dimension_is_after_loadbalancer() {
        assert_eq!(
            load_balancer_dimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/pypi-LoadB-1/50dc6c495c0c9188"),
            Some("app/pypi-LoadB-1/50dc6c495c0c9188")
        );
        assert_eq!(load_balancer_dimension("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1"), None);
    }

    #[test]
    fn next_sizes_come_from_the_catalogue() {
        assert_eq!(next_size_up("c6a.large"), Some("c6a.xlarge"));
        assert_eq!(next_size_up("c6a.xlarge"), Some("c6a.2xlarge"));
        assert_eq!(next_size_up("t3.small"), Some("t3.medium"));
        assert_eq!(next_size_up("c6a.4xlarge"), None);
        assert_eq!(next_size_up("nope.large"), None);
    }

    #[test]
    fn index_url_appends_simple() {
        assert_eq!(index_url("https://pypi.example.com/"), "https://pypi.example.com/simple/");
        assert_eq!(index_url("http://127.0.0.1:9"), "http://127.0.0.1:9/simple/");
    }
}
