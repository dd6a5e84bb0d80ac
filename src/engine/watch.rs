//! Watching an operation: every stack's new events, the ECS service's tasks
//! during a rollout, until the root stack settles. Polls about every 1.5 s,
//! backs off when throttled, and never lets a failed poll decide the outcome:
//! only the stack's final status does.
//!
//! A nested stack is read only while its parent shows it in progress (from
//! the parent's `*_IN_PROGRESS` event for it to its terminal event, plus one
//! last read), and then every other poll: a rollback that deletes nested
//! stacks which had completed shows them in progress again, and they are
//! followed again — their deletions and any DELETE_FAILED blocker included.
//! The budget this gives is in docs/architecture.md ("How the engine works",
//! polling budget) and tested.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::cloud::{Clock, CloudResult, Service, Stacks};
use super::model::{Status, CloudError, ErrorKind, Millis, ServiceSnapshot, StackEvent, StoppedTask};
use super::progress::{Progress, Sink, WatchedStack};
use super::rootcause::SeenEvent;
use super::tail::EventTail;

#[derive(Clone, Debug)]
pub struct WatchOptions {
    pub poll: Duration,
    pub max_backoff: Duration,
    /// Stop watching (the operation goes on) after this long.
    pub max_wait: Option<Duration>,
    /// Resources per stack label, when known, for done / total.
    pub totals: HashMap<String, usize>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            poll: Duration::from_millis(1500),
            max_backoff: Duration::from_secs(20),
            max_wait: None,
            totals: HashMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEnd {
    /// The root stack reached this terminal status (DELETE_COMPLETE when it is gone).
    Settled(Status),
    /// Ctrl-C: watching stopped, the operation goes on.
    Interrupted,
    /// `max_wait` passed: watching stopped, the operation goes on.
    TimedOut,
    /// The stacks could not be read, [`MAX_REFUSED_READS`] times in a row, for
    /// a reason retrying does not mend (permissions, an expired session):
    /// watching stopped with that reason; the operation goes on.
    Unreadable { what: String, reason: String },
}

/// Refused reads of the stacks in a row that end the watch: a deployer
/// role without a permission, or an expired session token, refuses every
/// read alike, and watching on would wait forever in silence.
pub const MAX_REFUSED_READS: u32 = 5;
/// Passes over the stacks after the root settled, at most, to read the
/// nested stacks' last events.
const DRAIN_POLLS: usize = 20;
/// A nested stack in progress is read every this many polls (the root every
/// poll): its events matter less than the verdict's, and CloudFormation's
/// API rate is shared by every deploy in the account.
pub const NESTED_EVERY: usize = 2;
/// The ECS service and its stopped tasks are read every this many polls (4.5 s)
/// while the service is rolling out.
pub const ECS_EVERY: usize = 3;

/// Whether a nested stack is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Its parent shows it in progress.
    Active,
    /// Its parent shows it finished: one more read for its last events.
    LastRead,
    /// Finished, until its parent shows it in progress again.
    Idle,
}

impl WatchEnd {
    /// The sentence for a watch that ended without a verdict, with how to
    /// resume; None when the stack settled.
    pub fn stopped_text(&self) -> Option<String> {
        match self {
            WatchEnd::Settled(_) => None,
            WatchEnd::Interrupted => Some("stopped watching (Ctrl-C); CloudFormation goes on".into()),
            WatchEnd::TimedOut => Some("stopped watching (--max-wait); CloudFormation goes on".into()),
            WatchEnd::Unreadable { what, reason } => Some(format!(
                "stopped watching: {what} failed {MAX_REFUSED_READS} times in a row: {reason}. CloudFormation goes on; fix the cause, then `pypictl status --watch`"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct WatchReport {
    pub end: WatchEnd,
    pub events: Vec<SeenEvent>,
    pub stopped_tasks: Vec<StoppedTask>,
    /// DescribeStackEvents calls made while watching.
    pub event_calls: usize,
    pub polls: usize,
}

struct Watched {
    id: String,
    label: String,
    depth: usize,
    tail: EventTail,
    /// The root: settled. A nested stack: see [`Phase`].
    settled: bool,
    phase: Phase,
}

struct EcsTarget {
    cluster: String,
    service: String,
    label: String,
    last: Option<ServiceSnapshot>,
    seen_stopped: HashSet<String>,
    done: bool,
}

/// `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>` → (cluster, service).
pub fn parse_service_arn(arn: &str) -> Option<(String, String)> {
    let resource = arn.split(':').nth(5)?;
    let mut parts = resource.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("service"), Some(cluster), Some(service)) => Some((cluster.to_string(), service.to_string())),
        _ => None,
    }
}

pub struct Watcher<'a, C, S> {
    cloud: &'a C,
    sink: &'a mut S,
    opts: WatchOptions,
    root_id: String,
    stacks: Vec<Watched>,
    known: HashSet<String>,
    events: Vec<SeenEvent>,
    stopped: Vec<StoppedTask>,
    ecs: Option<EcsTarget>,
    /// Server time of the operation's first root event: nested stacks' events
    /// before it belong to earlier operations.
    op_start: Option<Millis>,
    polls: usize,
    /// Where the next poll starts (after a failed read: the failed stack).
    resume_at: usize,
    /// ECS reads refused in a row; at [`MAX_REFUSED_READS`] they stop (the
    /// tasks are extra information, never a reason to stop watching).
    ecs_refused: u32,
}

impl<'a, C: Stacks + Service + Clock, S: Sink> Watcher<'a, C, S> {
    /// Watches the root stack `root_id` (labelled `root_label`) from the
    /// position of `root_tail` on.
    pub fn new(cloud: &'a C, sink: &'a mut S, root_id: &str, root_label: &str, root_tail: EventTail, opts: WatchOptions) -> Self {
        let total = opts.totals.get(root_label).copied();
        sink.emit(Progress::Stack(WatchedStack { label: root_label.to_string(), depth: 0, total }));
        Watcher {
            cloud,
            sink,
            opts,
            root_id: root_id.to_string(),
            stacks: vec![Watched { id: root_id.to_string(), label: root_label.to_string(), depth: 0, tail: root_tail, settled: false, phase: Phase::Active }],
            known: HashSet::from([root_id.to_string()]),
            events: Vec::new(),
            stopped: Vec::new(),
            ecs: None,
            op_start: None,
            polls: 0,
            resume_at: 0,
            ecs_refused: 0,
        }
    }

    /// Also follows nested stacks already running when watching starts
    /// (attaching to an operation in progress).
    pub async fn adopt_running_nested(&mut self) -> CloudResult<()> {
        let resources = self.cloud.stack_resources(&self.root_id).await?;
        for r in resources {
            if r.resource_type != "AWS::CloudFormation::Stack" || !r.status.in_progress() {
                continue;
            }
            if let Some(id) = r.physical_id.filter(|id| id.starts_with("arn:")) {
                let tail = EventTail::after_latest(self.cloud, &id).await?;
                self.add_stack(&id, &r.logical_id, 1, tail);
            }
        }
        Ok(())
    }

    fn add_stack(&mut self, id: &str, label: &str, depth: usize, tail: EventTail) {
        if !self.known.insert(id.to_string()) {
            return;
        }
        let total = self.opts.totals.get(label).copied();
        self.sink.emit(Progress::Stack(WatchedStack { label: label.to_string(), depth, total }));
        self.stacks.push(Watched { id: id.to_string(), label: label.to_string(), depth, tail, settled: false, phase: Phase::Active });
    }

    /// Watches until the root stack settles, `interrupt` resolves (Ctrl-C)
    /// or `max_wait` passes.
    pub async fn run<F: Future<Output = ()>>(mut self, interrupt: F) -> WatchReport {
        let started = Instant::now();
        let mut interrupt = std::pin::pin!(interrupt);
        let mut delay = Duration::ZERO;
        let mut backoff = self.opts.poll;
        let mut refused = 0u32;
        let end = loop {
            if let Some(limit) = self.opts.max_wait {
                if started.elapsed() >= limit {
                    break WatchEnd::TimedOut;
                }
            }
            tokio::select! {
                biased;
                _ = &mut interrupt => break WatchEnd::Interrupted,
                _ = sleep(delay) => {}
            }
            self.polls += 1;
            // The cloud's time, so that elapsed times (from event timestamps)
            // are right however far this machine's clock is off.
            self.sink.emit(Progress::Tick { now: self.cloud.now() });
            // A read may hang (a half-open connection): Ctrl-C ends it too.
            let polled = tokio::select! {
                biased;
                _ = &mut interrupt => break WatchEnd::Interrupted,
                polled = self.poll_once(false) => polled,
            };
            match polled {
                Ok(()) => {
                    backoff = self.opts.poll;
                    delay = self.opts.poll;
                    refused = 0;
                }
                Err((what, err)) => {
                    if err.is_retryable() || err.kind == ErrorKind::Unreachable {
                        refused = 0;
                    } else {
                        refused += 1;
                        if refused >= MAX_REFUSED_READS {
                            break WatchEnd::Unreadable { what, reason: err.to_string() };
                        }
                    }
                    backoff = (backoff * 2).min(self.opts.max_backoff);
                    delay = backoff;
                    self.sink.emit(Progress::Retrying { what, reason: err.to_string(), delay_ms: delay.as_millis() as u64 });
                    continue;
                }
            }
            if self.stacks[0].settled {
                let settled = tokio::select! {
                    biased;
                    _ = &mut interrupt => break WatchEnd::Interrupted,
                    settled = self.settled_status() => settled,
                };
                match settled {
                    Some(status) => break WatchEnd::Settled(status),
                    // The root's last event said it settled but DescribeStacks
                    // disagrees or failed: keep watching.
                    None => continue,
                }
            }
        };
        if matches!(end, WatchEnd::Settled(_) | WatchEnd::TimedOut) {
            // Nested stacks may still log their last events: read until one
            // whole pass succeeds (a throttled read resumes where it failed),
            // a bounded number of times.
            let poll = self.opts.poll;
            let drain = async {
                for _ in 0..DRAIN_POLLS {
                    match self.poll_once(true).await {
                        Ok(()) => break,
                        Err(_) => sleep(poll).await,
                    }
                }
            };
            tokio::select! {
                biased;
                _ = &mut interrupt => {}
                _ = drain => {}
            }
        }
        self.sink.finish();
        let event_calls = self.stacks.iter().map(|s| s.tail.calls).sum();
        WatchReport { end, events: self.events, stopped_tasks: self.stopped, event_calls, polls: self.polls }
    }

    /// The root stack's status once settled, from DescribeStacks.
    async fn settled_status(&mut self) -> Option<Status> {
        let root_id = self.root_id.clone();
        match super::retry::retry(|| self.cloud.describe_stack(&root_id)).await {
            Ok(Some(s)) if s.status.terminal() => Some(s.status),
            Ok(Some(_)) => None,
            Ok(None) => Some(Status::DeleteComplete),
            Err(e) => {
                self.sink.emit(Progress::Retrying { what: "DescribeStacks".into(), reason: e.to_string(), delay_ms: self.opts.poll.as_millis() as u64 });
                None
            }
        }
    }

    /// Reads every unsettled stack's new events, then the ECS service. A
    /// failed stack read ends the poll; the next poll starts with the stack
    /// that failed, so that even a throttle hitting every other call cannot
    /// starve one. The ECS reads come after the stacks and are best effort:
    /// their failures are shown, never allowed to hold up the stacks' events.
    /// `drain`: every nested stack not idle is read, whatever the rhythm.
    async fn poll_once(&mut self, drain: bool) -> Result<(), (String, CloudError)> {
        let n = self.stacks.len();
        let start = self.resume_at.min(n - 1);
        // The stack whose read failed last time first (whatever the rhythm:
        // a throttle hitting every other call cannot starve it), then the
        // root (its events decide the verdict), then the others.
        let mut order = vec![start];
        if start != 0 {
            order.push(0);
        }
        order.extend((1..n).map(|k| (start + k) % n).filter(|&i| i != 0 && i != start));
        for i in order {
            if let Err(e) = self.poll_stack(i, drain || i == start).await {
                self.resume_at = i;
                return Err(e);
            }
        }
        self.resume_at = 0;
        if self.ecs_refused < MAX_REFUSED_READS && (drain || self.polls % ECS_EVERY == 0) {
            let read = match self.poll_ecs_service().await {
                Ok(()) => self.poll_ecs_stopped().await.map_err(|e| ("reading stopped ECS tasks", e)),
                Err(e) => Err(("reading the ECS service", e)),
            };
            match read {
                Ok(()) => self.ecs_refused = 0,
                Err((what, e)) => {
                    self.ecs_refused = if e.is_retryable() { 0 } else { self.ecs_refused + 1 };
                    let more = if self.ecs_refused >= MAX_REFUSED_READS { "; the ECS tasks are no longer shown" } else { "" };
                    self.sink.emit(Progress::Warning(format!("{what}: {e}{more}")));
                }
            }
        }
        Ok(())
    }

    /// Reads stack `i`'s new events if it is due: the root always, a nested
    /// stack while its parent shows it in progress, every [`NESTED_EVERY`]
    /// polls (`now`: whatever the rhythm), and once after it finished.
    async fn poll_stack(&mut self, i: usize, now: bool) -> Result<(), (String, CloudError)> {
        let phase = self.stacks[i].phase;
        let due = i == 0 || phase == Phase::LastRead || phase == Phase::Active && (now || self.polls % NESTED_EVERY == 0 || self.stacks[i].tail.calls == 0);
        if !due {
            return Ok(());
        }
        let fresh = self.stacks[i].tail.poll(self.cloud).await.map_err(|e| (format!("reading {} events", self.stacks[i].label), e))?;
        if i > 0 && self.stacks[i].phase == Phase::LastRead {
            self.stacks[i].phase = Phase::Idle;
        }
        for event in fresh {
            self.observe(i, event);
        }
        Ok(())
    }

    fn observe(&mut self, i: usize, event: StackEvent) {
        let (label, depth) = (self.stacks[i].label.clone(), self.stacks[i].depth);
        if i == 0 && self.op_start.is_none() {
            self.op_start = Some(event.timestamp);
        }
        // Any terminal status of the root settles it (CREATE_FAILED and
        // UPDATE_FAILED too: rollback disabled).
        if i == 0 && event.is_about_stack() && event.status.terminal() {
            self.stacks[0].settled = true;
        }
        if let Some(nested_id) = event.nested_stack_id() {
            // The parent says where its nested stack stands: in progress (a
            // creation, an update, or a rollback deleting it), or finished.
            let running = event.status.in_progress();
            match self.stacks.iter().position(|s| s.id == nested_id) {
                Some(n) => self.stacks[n].phase = if running { Phase::Active } else { Phase::LastRead },
                None => {
                    let since = self.op_start.unwrap_or(event.timestamp);
                    let tail = EventTail::since(nested_id, since);
                    let nested_id = nested_id.to_string();
                    let logical = event.logical_id.clone();
                    self.add_stack(&nested_id, &logical, depth + 1, tail);
                    if !running {
                        // First seen finished (attaching late): read it once.
                        self.stacks.last_mut().expect("just added").phase = Phase::LastRead;
                    }
                }
            }
        }
        if event.resource_type == "AWS::ECS::Service" {
            self.track_ecs(&label, &event);
        }
        self.sink.emit(Progress::Event { stack: label.clone(), event: event.clone() });
        self.events.push(SeenEvent { stack: label, depth, event });
    }

    fn track_ecs(&mut self, label: &str, event: &StackEvent) {
        if event.status.in_progress() && !event.status.deleting() {
            if let Some((cluster, service)) = parse_service_arn(&event.physical_id) {
                if self.ecs.as_ref().is_none_or(|t| t.done || t.service != service) {
                    self.ecs = Some(EcsTarget { cluster, service, label: label.to_string(), last: None, seen_stopped: HashSet::new(), done: false });
                }
            }
        } else if let Some(t) = self.ecs.as_mut() {
            t.done = true;
        }
    }

    /// The ECS target still worth reading: (cluster, service, label).
    fn ecs_target(&self) -> Option<(String, String, String)> {
        let t = self.ecs.as_ref()?;
        (!(t.done && t.last.is_some())).then(|| (t.cluster.clone(), t.service.clone(), t.label.clone()))
    }

    async fn poll_ecs_service(&mut self) -> CloudResult<()> {
        let Some((cluster, service, label)) = self.ecs_target() else { return Ok(()) };
        let snapshot = self.cloud.service(&cluster, &service).await?;
        let t = self.ecs.as_mut().expect("a target");
        if let Some(snapshot) = snapshot {
            if t.last.as_ref() != Some(&snapshot) {
                t.last = Some(snapshot.clone());
                self.sink.emit(Progress::Tasks { service: format!("{label}/{service}"), snapshot });
            }
        }
        Ok(())
    }

    async fn poll_ecs_stopped(&mut self) -> CloudResult<()> {
        let Some((cluster, service, label)) = self.ecs_target() else { return Ok(()) };
        let stopped = self.cloud.stopped_tasks(&cluster, &service).await?;
        let op_start = self.op_start.unwrap_or(Millis::MIN);
        let t = self.ecs.as_mut().expect("a target");
        let mut new: Vec<StoppedTask> = stopped.into_iter().filter(|s| s.stopped_at >= op_start && !t.seen_stopped.contains(&s.task_id)).collect();
        new.sort_by_key(|s| s.stopped_at);
        for task in new {
            t.seen_stopped.insert(task.task_id.clone());
            self.sink.emit(Progress::TaskStopped { service: format!("{label}/{service}"), task: task.clone() });
            self.stopped.push(task);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_service_arn;

    #[test]
    fn service_arns() {
        assert_eq!(
            parse_service_arn("arn:aws:ecs:us-east-1:123456789012:service/pypi/pypi"),
            Some(("pypi".into(), "pypi".into()))
        );
        assert_eq!(parse_service_arn("arn:aws:ecs:us-east-1:123456789012:service/pypi"), None);
        assert_eq!(parse_service_arn("pypi"), None);
    }
}
