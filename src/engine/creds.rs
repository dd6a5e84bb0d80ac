//! The service's credentials: reading them from Secrets Manager, and
//! rotating the password — a new random password in the secret, a new ECS
//! deployment (tasks read the secret when they start; no instance is
//! replaced), and a check of when the old password stops being accepted.

use pypictl_stacks::outputs::RootOutput;
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use anyhow::{anyhow, Result};
use pypictl_stacks::components::credentials::{EXCLUDED_CHARACTERS, PASSWORD_LENGTH};
use tokio::time::{sleep, Instant};

use super::cloud::{Clock, Probe, Secrets, Service, Stacks};
use super::model::{Deployment, Millis, StackSummary, StoppedTask};
use super::retry::{OnRetry, Patient};
use super::progress::{Progress, Sink};

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

pub const SECRET_OUTPUT: RootOutput = RootOutput::PypiUserSecretArn;

/// The stack and its credentials; None when the stack does not exist.
pub async fn read<C: Stacks + Secrets>(cloud: &C, stack_name: &str) -> Result<Option<(StackSummary, Creds)>> {
    let cloud = &Patient::new(cloud);
    let Some(stack) = cloud.describe_stack(stack_name).await? else { return Ok(None) };
    let arn = stack.output(SECRET_OUTPUT).ok_or_else(|| anyhow!("{stack_name} has no {SECRET_OUTPUT} output (status {}): deploy it first", stack.status))?;
    let text = cloud.secret_value(arn).await?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| anyhow!("the secret {arn} is not JSON with a username and a password"))?;
    let field = |k: &str| v[k].as_str().map(str::to_string).ok_or_else(|| anyhow!("the secret {arn} has no `{k}`"));
    Ok(Some((stack.clone(), Creds { username: field("username")?, password: field("password")? })))
}

#[derive(Clone, Debug)]
pub struct RotateOptions {
    pub poll: Duration,
    pub max_wait: Duration,
    /// `<service URL>simple/` to check the passwords against; None: no check.
    pub probe_url: Option<String>,
    /// After the rollout, how long to keep checking until the old password
    /// is refused (the load balancer drains old tasks' connections first).
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

#[derive(Clone, Debug, PartialEq)]
pub enum Rotated {
    /// Every task now runs with the new password.
    Completed {
        creds: Creds,
        /// Server time when the old tasks were gone.
        at: Millis,
        /// The check against the service, or why it could not be made.
        check: Option<Result<Check, String>>,
    },
    /// The new deployment failed (circuit breaker): the secret holds the new
    /// password, which the tasks that run now also read.
    Failed { creds: Creds, reason: String, stopped: Vec<StoppedTask> },
    /// Watching stopped; the deployment and the new password stand.
    StoppedWatching { creds: Creds, interrupted: bool },
}

pub async fn rotate<C, P, S, F>(cloud: &C, probe: &P, sink: &mut S, stack: &StackSummary, old: &Creds, opts: RotateOptions, interrupt: F) -> Result<Rotated>
where
    C: Stacks + Service + Secrets + Clock,
    P: Probe,
    S: Sink,
    F: Future<Output = ()>,
{
    let patient = &Patient::observed(cloud, opts.on_retry);
    let arn = stack.output(SECRET_OUTPUT).ok_or_else(|| anyhow!("no {SECRET_OUTPUT} output"))?;
    let (cluster, service) = match (stack.output(RootOutput::EcsClusterName), stack.output(RootOutput::EcsServiceName)) {
        (Some(c), Some(s)) => (c.to_string(), s.to_string()),
        _ => return Err(anyhow!("{} has no EcsClusterName/EcsServiceName outputs", stack.name)),
    };

    let password = patient.random_password(PASSWORD_LENGTH, EXCLUDED_CHARACTERS).await?;
    let creds = Creds { username: old.username.clone(), password };
    let value = serde_json::json!({ "username": creds.username, "password": creds.password }).to_string();
    patient.put_secret_value(arn, &value).await?;
    sink.emit(Progress::Step("Stored a new password in Secrets Manager".into()));
    let deployment = patient.force_new_deployment(&cluster, &service).await?;
    sink.emit(Progress::Step(format!("Rolling the ECS service {cluster}/{service} onto it (new tasks, same instances)")));

    let started = Instant::now();
    let label = format!("{cluster}/{service}");
    let mut interrupt = std::pin::pin!(interrupt);
    let mut last = None;
    let mut seen: HashSet<String> = HashSet::new();
    let mut stopped_now = Vec::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut interrupt => { sink.finish(); return Ok(Rotated::StoppedWatching { creds, interrupted: true }) }
            _ = sleep(opts.poll) => {}
        }
        if started.elapsed() > opts.max_wait {
            sink.finish();
            return Ok(Rotated::StoppedWatching { creds, interrupted: false });
        }
        sink.emit(Progress::Tick { now: cloud.now() });
        let snapshot = match cloud.service(&cluster, &service).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(anyhow!("the ECS service {label} does not exist")),
            Err(e) => {
                sink.emit(Progress::Retrying { what: "reading the ECS service".into(), reason: e.to_string(), delay_ms: opts.poll.as_millis() as u64 });
                continue;
            }
        };
        if let Ok(tasks) = cloud.stopped_tasks(&cluster, &service).await {
            for t in tasks.into_iter().rev().filter(|t| started_by(t, &deployment)) {
                if seen.insert(t.task_id.clone()) {
                    sink.emit(Progress::TaskStopped { service: label.clone(), task: t.clone() });
                    stopped_now.push(t);
                }
            }
        }
        if last.as_ref() != Some(&snapshot) {
            sink.emit(Progress::Tasks { service: label.clone(), snapshot: snapshot.clone() });
            last = Some(snapshot.clone());
        }
        // Until ECS lists the new deployment as primary, its state is not yet known.
        if snapshot.primary.as_ref().is_some_and(|p| *p != deployment.id) {
            continue;
        }
        match snapshot.rollout_state.as_deref() {
            Some("FAILED") => {
                sink.finish();
                let reason = snapshot.rollout_reason.unwrap_or_else(|| "the deployment failed".into());
                return Ok(Rotated::Failed { creds, reason, stopped: stopped_now });
            }
            // Without a rollout state (an emulator) the old deployment being
            // gone is the sign; ECS always reports one on AWS.
            Some("COMPLETED") | None if snapshot.deployments <= 1 => break,
            _ => {}
        }
    }
    sink.finish();
    let at = cloud.now();
    let check = match &opts.probe_url {
        None => None,
        Some(url) => Some(wait_for_refusal(probe, url, old, &creds, &opts, || cloud.now()).await),
    };
    Ok(Rotated::Completed { creds, at, check })
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
