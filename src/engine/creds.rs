//! The service's credentials: reading a role's secret from Secrets Manager,
//! and rotating its password without ever leaving clients without a working
//! one. Tasks read the secrets when they start and accept, for each role,
//! `password` and `pending_password`; clients use `password`. So a rotation
//! is two rollouts of the ECS service (no instance is replaced):
//!
//! 1. stage: the secret becomes {old password, pending: new}. Clients still
//!    get the old one; the new one is accepted by every task started from now.
//! 2. roll the service: once every task runs, both passwords work everywhere.
//!    If the rollout fails, the secret goes back to the old password alone.
//! 3. switch: the secret becomes {new password}; clients get the new one.
//! 4. roll again: tasks now accept only the new password, and the old one is
//!    refused once they all run.
//!
//! The staged value lives in the secret's current version, not under the
//! AWSPENDING stage: ECS injects a secret at a fixed stage when a task
//! starts, and a stage that exists only during a rotation would fail every
//! task start outside one (see `components/service.rs`). A rotation cut
//! short resumes from the staged password on the next `creds --rotate`.

use pypictl_stacks::components::credentials::{EXCLUDED_CHARACTERS, PASSWORD_KEY, PASSWORD_LENGTH, PENDING_PASSWORD_KEY, USERNAME_KEY};
pub use pypictl_stacks::components::credentials::Role;
use pypictl_stacks::outputs::RootOutput;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use tokio::time::{sleep, Instant};

use super::cloud::{Clock, Probe, Secrets, Service, Stacks};
use super::model::{Deployment, Millis, StackSummary, StoppedTask};
use super::progress::{Progress, Sink};
use super::retry::{OnRetry, Patient};

/// The command that prints a role's credential.
pub const fn creds_command(role: Role) -> &'static str {
    match role {
        Role::Read => "pypictl creds",
        Role::Publish => "pypictl creds --publish",
    }
}

/// Username and password, as the secret holds them. Debug hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Creds {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Creds").field("username", &self.username).field("password", &"(hidden)").finish()
    }
}

/// A secret's value: the credentials clients use, and the password staged
/// beside it while a rotation is under way.
#[derive(Clone, PartialEq, Eq)]
struct SecretValue {
    creds: Creds,
    pending: Option<String>,
}

impl SecretValue {
    fn parse(text: &str, arn: &str) -> Result<SecretValue> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|_| anyhow!("the secret {arn} is not JSON with a username and a password"))?;
        let field = |k: &str| v[k].as_str().map(str::to_string).ok_or_else(|| anyhow!("the secret {arn} has no `{k}`"));
        let pending = v[PENDING_PASSWORD_KEY].as_str().filter(|p| !p.is_empty()).map(str::to_string);
        Ok(SecretValue { creds: Creds { username: field(USERNAME_KEY)?, password: field(PASSWORD_KEY)? }, pending })
    }

    fn to_json(&self) -> String {
        let mut v = serde_json::json!({ USERNAME_KEY: self.creds.username, PASSWORD_KEY: self.creds.password });
        if let Some(p) = &self.pending {
            v[PENDING_PASSWORD_KEY] = serde_json::Value::String(p.clone());
        }
        v.to_string()
    }
}

fn secret_arn(stack: &StackSummary, role: Role) -> Result<&str> {
    let output = role.secret_arn_output();
    stack.output(output).ok_or_else(|| anyhow!("{} has no {output} output (status {}): deploy it first", stack.name, stack.status))
}

async fn read_value<C: Secrets>(cloud: &C, arn: &str) -> Result<SecretValue> {
    SecretValue::parse(&cloud.secret_value(arn).await?, arn)
}

/// The stack and a role's credentials; None when the stack does not exist.
pub async fn read<C: Stacks + Secrets>(cloud: &C, stack_name: &str, role: Role) -> Result<Option<(StackSummary, Creds)>> {
    let cloud = &Patient::new(cloud);
    let Some(stack) = cloud.describe_stack(stack_name).await? else { return Ok(None) };
    let value = read_value(cloud, secret_arn(&stack, role)?).await?;
    Ok(Some((stack, value.creds)))
}

#[derive(Clone, Debug)]
pub struct RotateOptions {
    pub poll: Duration,
    /// The longest the two rollouts may take together.
    pub max_wait: Duration,
    /// `<service URL>simple/` to check the passwords against; None: no check.
    pub probe_url: Option<String>,
    /// How long to keep checking, after a rollout, until the service
    /// accepts the new password (after the first) or refuses the old one
    /// (after the second): the load balancer drains old tasks first.
    pub refuse_wait: Duration,
    /// Told about each retry of a single call.
    pub on_retry: Option<OnRetry>,
}

/// What the service answered once the rollout was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// HTTP status for the old password at the last check (401 = refused).
    pub old: u16,
    /// HTTP status for the new password at the last check (200 = accepted).
    pub new: u16,
    /// Server time of the last check: when the old password was first seen
    /// refused, or when pypictl gave up waiting for that.
    pub at: Millis,
}

impl Check {
    pub fn old_refused(&self) -> bool {
        self.old == 401 || self.old == 403
    }
}

/// Where a rotation stood when pypictl stopped watching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The new password is staged; the rollout onto tasks that accept both
    /// goes on. Clients keep the old password; `creds --rotate` resumes.
    Staged,
    /// The new password is current; the rollout retiring the old one goes on.
    Current,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Rotated {
    /// Every task now runs with the new password alone.
    Completed {
        creds: Creds,
        /// Server time when the last rollout was done.
        at: Millis,
        /// The check against the service, or why it could not be made.
        check: Option<Result<Check, String>>,
    },
    /// The tasks that accept both passwords did not come up (or refused the
    /// new one): the secret holds the old password alone again, which every
    /// task accepts.
    Abandoned { creds: Creds, reason: String, stopped: Vec<StoppedTask> },
    /// The new password is current and accepted, but the rollout retiring
    /// the old one failed: tasks started from now accept the new one alone.
    Failed { creds: Creds, reason: String, stopped: Vec<StoppedTask> },
    /// Watching stopped; `creds` are what clients use now.
    StoppedWatching { creds: Creds, phase: Phase, interrupted: bool },
}

/// How one rollout of the service ended.
enum Rollout {
    Completed,
    Failed { reason: String, stopped: Vec<StoppedTask> },
    Stopped { interrupted: bool },
}

/// The ECS service and how to watch it.
struct Watch<'a, S> {
    sink: &'a mut S,
    cluster: String,
    service: String,
    opts: &'a RotateOptions,
    started: Instant,
}

pub async fn rotate<C, P, S, F>(cloud: &C, probe: &P, sink: &mut S, stack: &StackSummary, role: Role, opts: RotateOptions, interrupt: F) -> Result<Rotated>
where
    C: Stacks + Service + Secrets + Clock,
    P: Probe,
    S: Sink,
    F: Future<Output = ()>,
{
    let patient = &Patient::observed(cloud, opts.on_retry);
    let arn = secret_arn(stack, role)?;
    let (cluster, service) = match (stack.output(RootOutput::EcsClusterName), stack.output(RootOutput::EcsServiceName)) {
        (Some(c), Some(s)) => (c.to_string(), s.to_string()),
        _ => return Err(anyhow!("{} has no EcsClusterName/EcsServiceName outputs", stack.name)),
    };
    let mut interrupt = std::pin::pin!(interrupt);
    let mut watch = Watch { sink, cluster, service, opts: &opts, started: Instant::now() };
    let role_name = role.as_str();

    // A rollout already under way (a deploy, another rotation) would be
    // replaced by ours, and a failure of ours rolled back to whatever
    // completed last: start only on a settled service.
    if stack.status.in_progress() {
        return Err(anyhow!("{} is {}: rotate once that operation has ended (`pypictl status --watch`); nothing was changed", stack.name, stack.status));
    }
    // Waits for it to settle (a deploy that just ended), at most max_wait.
    let mut told = false;
    while let Some(s) = patient.service(&watch.cluster, &watch.service).await? {
        if s.deployments <= 1 && s.rollout_state.as_deref() != Some("IN_PROGRESS") {
            break;
        }
        if watch.started.elapsed() > opts.max_wait {
            return Err(anyhow!(
                "the ECS service {}/{} is rolling out (rollout {}, {} deployments): rotate once it has settled (`pypictl status --watch`); nothing was changed",
                watch.cluster,
                watch.service,
                s.rollout_state.as_deref().unwrap_or("unknown"),
                s.deployments
            ));
        }
        if !told {
            watch.sink.emit(Progress::Step(format!("Waiting for the rollout under way on {}/{} to settle", watch.cluster, watch.service)));
            told = true;
        }
        sleep(opts.poll).await;
    }

    // 1. Stage the new password beside the old one (or resume a rotation
    // whose new password is already staged).
    let current = read_value(patient, arn).await?;
    let old = current.creds.clone();
    let new = match &current.pending {
        Some(pending) => {
            watch.sink.emit(Progress::Step(format!("Resuming the rotation of the {role_name} password under way (a new password is staged)")));
            Creds { username: old.username.clone(), password: pending.clone() }
        }
        None => {
            let password = patient.random_password(PASSWORD_LENGTH, EXCLUDED_CHARACTERS).await?;
            let staged = SecretValue { creds: old.clone(), pending: Some(password.clone()) };
            patient.put_secret_value(arn, &staged.to_json()).await?;
            watch.sink.emit(Progress::Step(format!("Staged a new {role_name} password beside the current one (clients keep the current one for now)")));
            Creds { username: old.username.clone(), password }
        }
    };

    // 2. Every task accepts both.
    let first = patient.force_new_deployment(&watch.cluster, &watch.service).await?;
    watch.sink.emit(Progress::Step(format!("Rolling the ECS service {}/{} onto tasks that accept both passwords (same instances)", watch.cluster, watch.service)));
    match watch.follow(cloud, &first, &mut interrupt).await {
        Rollout::Completed => {}
        Rollout::Failed { reason, stopped } => {
            watch.sink.finish();
            return abandon(patient, arn, &old, reason, stopped).await;
        }
        Rollout::Stopped { interrupted } => {
            watch.sink.finish();
            return Ok(Rotated::StoppedWatching { creds: current.creds, phase: Phase::Staged, interrupted });
        }
    }
    if let Some(url) = &opts.probe_url {
        match wait_for(probe, url, &new, 200, &opts).await {
            Ok(true) => watch.sink.emit(Progress::Step(format!("{url} accepts the new password"))),
            Ok(false) => {
                watch.sink.finish();
                let reason = format!("{url} refuses the new password although every task was started with it staged");
                return abandon(patient, arn, &old, reason, Vec::new()).await;
            }
            Err(e) => watch.sink.emit(Progress::Warning(format!("Could not check the new password against {url}: {e}"))),
        }
    }

    // 3. Clients get the new password; 4. tasks stop accepting the old one.
    let switched = SecretValue { creds: new.clone(), pending: None };
    patient.put_secret_value(arn, &switched.to_json()).await?;
    watch.sink.emit(Progress::Step(format!("The new {role_name} password is current: clients get it from now on")));
    let second = patient.force_new_deployment(&watch.cluster, &watch.service).await?;
    watch.sink.emit(Progress::Step(format!("Rolling the ECS service {}/{} onto tasks that accept only the new password", watch.cluster, watch.service)));
    match watch.follow(cloud, &second, &mut interrupt).await {
        Rollout::Completed => {}
        Rollout::Failed { reason, stopped } => {
            watch.sink.finish();
            return Ok(Rotated::Failed { creds: new, reason, stopped });
        }
        Rollout::Stopped { interrupted } => {
            watch.sink.finish();
            return Ok(Rotated::StoppedWatching { creds: new, phase: Phase::Current, interrupted });
        }
    }
    watch.sink.finish();
    let at = cloud.now();
    let check = match &opts.probe_url {
        None => None,
        Some(url) => Some(wait_for_refusal(probe, url, &old, &new, &opts, || cloud.now()).await),
    };
    Ok(Rotated::Completed { creds: new, at, check })
}

/// Puts the old password back alone after the first rollout failed.
async fn abandon<C: Secrets>(cloud: &C, arn: &str, old: &Creds, reason: String, stopped: Vec<StoppedTask>) -> Result<Rotated> {
    let restored = SecretValue { creds: old.clone(), pending: None };
    cloud.put_secret_value(arn, &restored.to_json()).await.with_context(|| {
        format!("{reason}; and putting the old password back alone failed: the secret still holds both, which every task accepts; run `pypictl creds --rotate` again")
    })?;
    Ok(Rotated::Abandoned { creds: old.clone(), reason, stopped })
}

impl<S: Sink> Watch<'_, S> {
    /// Follows `deployment` until every task runs it, it fails (the circuit
    /// breaker; ECS then rolls back to the last completed deployment), or
    /// watching stops (interrupted, or the rotation's time is up).
    async fn follow<C: Service + Clock, F: Future<Output = ()>>(&mut self, cloud: &C, deployment: &Deployment, interrupt: &mut Pin<&mut F>) -> Rollout {
        let label = format!("{}/{}", self.cluster, self.service);
        let mut last = None;
        let mut seen: HashSet<String> = HashSet::new();
        let mut stopped_now = Vec::new();
        loop {
            tokio::select! {
                biased;
                _ = interrupt.as_mut() => return Rollout::Stopped { interrupted: true },
                _ = sleep(self.opts.poll) => {}
            }
            if self.started.elapsed() > self.opts.max_wait {
                return Rollout::Stopped { interrupted: false };
            }
            self.sink.emit(Progress::Tick { now: cloud.now() });
            let snapshot = match cloud.service(&self.cluster, &self.service).await {
                Ok(Some(s)) => s,
                Ok(None) => return Rollout::Failed { reason: format!("the ECS service {label} does not exist"), stopped: stopped_now },
                Err(e) => {
                    self.sink.emit(Progress::Retrying { what: "reading the ECS service".into(), reason: e.to_string(), delay_ms: self.opts.poll.as_millis() as u64 });
                    continue;
                }
            };
            if let Ok(tasks) = cloud.stopped_tasks(&self.cluster, &self.service).await {
                for t in tasks.into_iter().rev().filter(|t| started_by(t, deployment)) {
                    if seen.insert(t.task_id.clone()) {
                        self.sink.emit(Progress::TaskStopped { service: label.clone(), task: t.clone() });
                        stopped_now.push(t);
                    }
                }
            }
            if last.as_ref() != Some(&snapshot) {
                self.sink.emit(Progress::Tasks { service: label.clone(), snapshot: snapshot.clone() });
                last = Some(snapshot.clone());
            }
            let ours = snapshot.listed.iter().find(|d| d.id == deployment.id);
            let is_primary = snapshot.primary.as_deref() == Some(deployment.id.as_str());
            let state = match ours {
                Some(d) => d.rollout_state.as_deref(),
                None if is_primary => snapshot.rollout_state.as_deref(),
                None => None,
            };
            if state == Some("FAILED") {
                let reason = ours.and_then(|d| d.rollout_reason.clone()).or_else(|| is_primary.then(|| snapshot.rollout_reason.clone()).flatten());
                return Rollout::Failed { reason: reason.unwrap_or_else(|| "the deployment failed".into()), stopped: stopped_now };
            }
            // Replaced: ECS's rollback took over and ours is no longer listed.
            if !is_primary && ours.is_none() && !snapshot.listed.is_empty() && snapshot.primary.is_some() {
                return Rollout::Failed { reason: format!("ECS replaced deployment {} (rolled back)", deployment.id), stopped: stopped_now };
            }
            // Until ECS lists the new deployment as primary, its state is not yet known.
            if !is_primary {
                continue;
            }
            match state {
                // Without a rollout state (an emulator) the old deployment
                // being gone is the sign; ECS always reports one on AWS.
                Some("COMPLETED") | None if snapshot.deployments <= 1 => return Rollout::Completed,
                _ => {}
            }
        }
    }
}

/// Whether a stopped task belongs to `deployment`: ECS sets a service task's
/// `startedBy` to the id of the deployment that started it. Without one (an
/// emulator), a task that stopped after the deployment began, by ECS's clock.
fn started_by(task: &StoppedTask, deployment: &Deployment) -> bool {
    match &task.started_by {
        Some(by) => *by == deployment.id,
        None => task.stopped_at >= deployment.created_at,
    }
}

/// Asks the service with `creds` until it answers `want` three times in a
/// row (behind the load balancer, each answer may come from another task),
/// at most `refuse_wait`: whether it did. Err: no answer at all.
async fn wait_for<P: Probe>(probe: &P, url: &str, creds: &Creds, want: u16, opts: &RotateOptions) -> Result<bool, String> {
    let deadline = Instant::now() + opts.refuse_wait;
    let mut in_a_row = 0;
    loop {
        let status = probe.http_status(url, Some((&creds.username, &creds.password))).await?;
        in_a_row = if status == want { in_a_row + 1 } else { 0 };
        if in_a_row >= 3 {
            return Ok(true);
        }
        if Instant::now() + opts.poll > deadline {
            return Ok(false);
        }
        sleep(if in_a_row > 0 { Duration::from_millis(200) } else { opts.poll }).await;
    }
}

/// Checks the service until it refuses the old password (and accepts the
/// new one), at most `refuse_wait`; an unreachable service ends the check.
async fn wait_for_refusal<P: Probe>(probe: &P, url: &str, old: &Creds, new: &Creds, opts: &RotateOptions, now: impl Fn() -> Millis) -> Result<Check, String> {
    let deadline = Instant::now() + opts.refuse_wait;
    loop {
        let old_status = probe.http_status(url, Some((&old.username, &old.password))).await?;
        let new_status = probe.http_status(url, Some((&new.username, &new.password))).await?;
        let check = Check { old: old_status, new: new_status, at: now() };
        if check.old_refused() || Instant::now() + opts.poll > deadline {
            return Ok(check);
        }
        sleep(opts.poll).await;
    }
}
