//! What `pypictl doctor` checks: the troubleshooting guide, automated. Each
//! check passes, warns or fails, and a warning or failure says how to fix it
//! in pypictl's own terms — which pypictl.toml key to set to what, or which
//! command to run.
//!
//! 1. the root stack and every nested stack are complete (stacks.rs);
//! 2. the ECS service runs its desired tasks, and recently stopped tasks were
//!    not killed out of memory (or stopped for another reason) (ecs.rs);
//! 3. every target of the load balancer is healthy (targets.rs);
//! 4. EFS: `PercentIOLimit` and, in bursting mode, `BurstCreditBalance`
//!    (efs.rs);
//! 5. the load balancer: 5xx responses and the p95 response time
//!    (load_balancer.rs);
//! 6. no alarm of the service (`<service_name>-<environment>-*`) is in ALARM
//!    (alarms.rs);
//! 7. the service answers: 200 with the secret's credentials, 401 without
//!    (http.rs);
//! 8. every container image of the task definition (pypiserver's is
//!    `service.image_tag`) exists in its registry (images.rs).
//!
//! The metrics, thresholds and alarm names are the core's alarm table
//! ([`pypictl_stacks::alarms`]), the advice on memory, CPU and throughput its
//! sizing advice ([`pypictl_stacks::sizing::advice`]). This module holds the
//! report; `crate::ui::doctor` renders it as text or JSON.
//!
//! A call that fails (permissions, an API the endpoint lacks) makes its check
//! a warning and the other checks still run; a metric without data is a
//! skip. The password is never part of a check's text.

use pypictl_stacks::alarms::{AlarmId, Measure, Metric, Statistic};
use pypictl_stacks::config::Config;
use pypictl_stacks::outputs::RootOutput;

use super::cloud::{Probe, Registry, Secrets, Service, Stacks};
use super::model::{CloudError, ErrorKind, MetricQuery, StackSummary};
use super::retry::Patient;

mod alarms;
mod ecs;
mod efs;
mod http;
mod images;
mod load_balancer;
mod stacks;
mod targets;

pub use ecs::is_oom;
pub use efs::IO_LIMIT_FAIL_PERCENT;
pub use http::index_url;
pub use load_balancer::load_balancer_dimension;

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
    pub const HTTP_PUBLISH: &str = "http_publish";
    pub const HTTP_UNAUTHENTICATED: &str = "http_unauthenticated";
    pub const IMAGES: &str = "images";

    pub const ALL: [&str; 14] = [
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
        HTTP_PUBLISH,
        HTTP_UNAUTHENTICATED,
        IMAGES,
    ];
}

use names::*;

/// The window every metric is read over, and its period.
pub const WINDOW_MINUTES: u32 = 60;
const PERIOD_SECONDS: u32 = 300;

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

/// What `pypictl doctor` found; `crate::ui::doctor` renders it (`to_text`,
/// `to_json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub stack: String,
    pub region: String,
    /// The root stack's status; None when it does not exist or cannot be read.
    pub stack_status: Option<crate::engine::model::Status>,
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

    report.checks.push(stacks::stack_check(&stack));
    report.checks.push(stacks::nested_check(cloud, &stack).await);
    let (tasks, stopped) = ecs::ecs_checks(cloud, &ctx).await;
    report.checks.push(tasks);
    report.checks.push(stopped);
    report.checks.push(targets::target_check(cloud, &ctx).await);
    let (io, credits) = efs::efs_checks(cloud, &ctx).await;
    report.checks.push(io);
    report.checks.push(credits);
    let (errors, latency) = load_balancer::alb_checks(cloud, &ctx).await;
    report.checks.push(errors);
    report.checks.push(latency);
    report.checks.push(alarms::alarm_check(cloud, &ctx).await);
    let (passwords, http) = http::http_checks(cloud, probe, &ctx, options).await;
    report.checks.extend(http);
    report.checks.push(images::image_check(registry, config).await);

    for p in passwords.iter().filter(|p| p.len() >= 4) {
        for c in &mut report.checks {
            c.detail = c.detail.replace(p, "********");
            c.fix = c.fix.take().map(|f| f.replace(p, "********"));
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

/// What every check of a deployment reads: the configuration and the root
/// stack.
struct Context<'a> {
    cfg: &'a Config,
    stack: &'a StackSummary,
}

impl Context<'_> {
    fn output(&self, key: RootOutput) -> Option<&str> {
        self.stack.output(key).filter(|v| !v.is_empty())
    }

    fn missing(&self, name: &'static str, key: impl std::fmt::Display) -> Check {
        Check::skip(name, format!("no {key} output on {} ({})", self.stack.name, self.stack.status))
    }

    fn log_group(&self) -> String {
        match self.output(RootOutput::LogGroupName) {
            Some(g) => format!("CloudWatch Logs group {g}"),
            None => "the container logs in CloudWatch Logs".into(),
        }
    }

    /// `metric`'s `statistic` over the window; `values` are the values of
    /// its dimensions, in their order.
    fn query(&self, metric: Metric, statistic: Statistic, values: &[&str]) -> MetricQuery {
        debug_assert_eq!(metric.dimensions.len(), values.len(), "{}: one value per dimension", metric.name);
        MetricQuery {
            namespace: metric.namespace.into(),
            metric: metric.name.into(),
            dimensions: metric.dimensions.iter().zip(values).map(|(d, v)| (d.name().to_string(), v.to_string())).collect(),
            stat: statistic.as_str().into(),
            period_seconds: PERIOD_SECONDS,
            minutes: WINDOW_MINUTES,
        }
    }

    /// What `alarm` watches (one metric) over the window.
    fn alarm_query(&self, alarm: AlarmId, values: &[&str]) -> MetricQuery {
        match alarm.spec().measure {
            Measure::Stat { metric, statistic } => self.query(metric, statistic, values),
            // The 5xx sum is read term by term (load_balancer.rs).
            Measure::Sum { .. } => unreachable!("{alarm:?} watches a sum of metrics: query its terms"),
        }
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
