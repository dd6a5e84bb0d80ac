//! pypictl's test support: a scripted CloudFormation (and ECS, S3, account)
//! for testing the engine's logic, used only by the integration tests
//! (tests/it/) as a dev-dependency, so that it is not compiled into pypictl.
//! A timeline fixture (fixtures/timelines/*.json, the format in [`script`])
//! says which events appear when, what the change set contains, how ECS tasks
//! fare, and which calls are throttled. Time is tokio's clock, so under a
//! paused runtime a 20-minute deploy takes milliseconds and is exactly
//! reproducible.
//!
//! [`ScriptedCloud`] implements every trait of `pypictl::engine::cloud`:
//! CloudFormation and S3 in `stacks`, ECS, CloudWatch, Secrets Manager and
//! the service's HTTP answers in `service`, the account's prerequisites, the
//! deletion of data and the container registries in `account`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use pypictl::engine::cloud::{Clock, CloudResult};
use pypictl::engine::model::*;
use tokio::time::Instant;

mod account;
pub mod script;
mod service;
mod stacks;

use script::TimedEvent;
pub use script::{AccountScript, Initial, Operation, Script, ScriptedChangeSet};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// The fake cloud's time when a script starts, unless a test sets another
/// ([`ScriptedCloud::with_clock`]): 2026-11-20T10:00:00Z.
pub const CLOCK_BASE: Millis = 1_795_687_200_000;

struct Running {
    name: String,
    started: Instant,
    events: Vec<TimedEvent>,
    outputs: BTreeMap<String, String>,
}

#[derive(Default)]
struct State {
    running: Vec<Running>,
    objects: HashMap<(String, String), Vec<u8>>,
    staging_exists: bool,
    change_set_created: bool,
    secret: Option<serde_json::Value>,
    /// Secrets other than `secret`, by ARN (the script's `secrets`).
    secrets: BTreeMap<String, serde_json::Value>,
    /// The (username, password) pairs the tasks of each deployment accept,
    /// read from the secrets when it started: [0] before any forced deployment.
    accepted: Vec<Vec<(String, String)>>,
    passwords_generated: usize,
    /// When the empty stack of an abandoned first change set was deleted.
    review_deleted: Option<Instant>,
    /// Request tokens of calls whose answer was lost, by API.
    lost_tokens: BTreeMap<&'static str, String>,
    read_calls: usize,
}

/// The scripted cloud. `calls` counts every call by API name; `log` lists
/// the mutating calls in order.
pub struct ScriptedCloud {
    script: Script,
    origin: Instant,
    /// The cloud's time at `origin`.
    clock_base: Millis,
    state: RefCell<State>,
    pub calls: RefCell<BTreeMap<&'static str, usize>>,
    pub log: RefCell<Vec<String>>,
}

impl ScriptedCloud {
    pub fn new(script: Script) -> ScriptedCloud {
        let cloud = ScriptedCloud {
            script,
            origin: Instant::now(),
            clock_base: CLOCK_BASE,
            state: RefCell::default(),
            calls: RefCell::default(),
            log: RefCell::default(),
        };
        cloud.state.borrow_mut().staging_exists = true;
        cloud.state.borrow_mut().secret = cloud.script.secret.clone();
        cloud.state.borrow_mut().secrets = cloud.script.secrets.clone();
        let accepted = cloud.accepted_now();
        cloud.state.borrow_mut().accepted.push(accepted);
        if let Some(op) = cloud.script.operations.get("attached") {
            cloud.start("attached", op.clone());
        }
        cloud
    }

    pub fn from_json(text: &str) -> ScriptedCloud {
        ScriptedCloud::new(serde_json::from_str(text).expect("timeline fixture parses"))
    }

    /// The same cloud with its clock at `base` when the script starts: every
    /// timestamp it hands out moves with it.
    pub fn with_clock(mut self, base: Millis) -> ScriptedCloud {
        self.clock_base = base;
        self
    }

    pub fn without_staging_bucket(self) -> ScriptedCloud {
        self.state.borrow_mut().staging_exists = false;
        self
    }

    pub fn count(&self, api: &str) -> usize {
        self.calls.borrow().get(api).copied().unwrap_or(0)
    }

    pub fn logged(&self, prefix: &str) -> Vec<String> {
        self.log.borrow().iter().filter(|l| l.starts_with(prefix)).cloned().collect()
    }

    fn start(&self, name: &str, op: Operation) {
        let events = op.events.iter().map(|l| script::parse_event(l)).collect();
        self.state.borrow_mut().running.push(Running { name: name.into(), started: Instant::now(), events, outputs: op.outputs });
    }

    fn call(&self, api: &'static str, read: bool) -> CloudResult<()> {
        let n = {
            let mut calls = self.calls.borrow_mut();
            let n = calls.entry(api).or_default();
            *n += 1;
            *n
        };
        let failing = self.script.errors.get(api).map(|spec| match spec.split_once('@') {
            Some((code, from)) => (code, n >= from.parse::<usize>().expect("errors: <code>@<n>")),
            None => (spec.as_str(), true),
        });
        if let Some((code, true)) = failing {
            let kind = if code.starts_with("AccessDenied") { ErrorKind::AccessDenied } else { ErrorKind::Other };
            return Err(CloudError::new(kind, code, format!("scripted failure of {api}")));
        }
        if read && self.script.throttle_every > 0 {
            let mut st = self.state.borrow_mut();
            st.read_calls += 1;
            if st.read_calls % self.script.throttle_every == 0 {
                return Err(CloudError::throttled());
            }
        }
        Ok(())
    }

    /// For a mutating call of `lost_answers`: Ok(true) when this is a retry
    /// of the lost request (same token: already done), Err when it is a
    /// different request meeting the operation in progress, Ok(false) when
    /// the call goes ahead (and, the first time, its answer is then lost).
    fn retry_of_lost(&self, api: &'static str, token: &str) -> CloudResult<bool> {
        if !self.script.lost_answers.iter().any(|a| a == api) {
            return Ok(false);
        }
        match self.state.borrow().lost_tokens.get(api) {
            Some(t) if t == token => Ok(true),
            Some(_) => Err(CloudError::new(ErrorKind::Invalid, "ValidationError", format!("{api}: an operation is already in progress on stack {}", self.script.stack_name))),
            None => Ok(false),
        }
    }

    /// After a call of `lost_answers` took effect: its answer is lost, once.
    fn lose_answer(&self, api: &'static str, token: &str) -> CloudResult<()> {
        if !self.script.lost_answers.iter().any(|a| a == api) {
            return Ok(());
        }
        self.state.borrow_mut().lost_tokens.insert(api, token.to_string());
        Err(CloudError::new(ErrorKind::Transient, "RequestTimeout", format!("{api}: connection reset before the answer arrived")))
    }

    fn stack_id(&self, label: &str) -> String {
        if label == "root" || label == self.script.stack_name {
            format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{}/00000000-root", self.script.stack_name)
        } else {
            format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{}-{label}-ABC/00000000-{}", self.script.stack_name, label.to_lowercase())
        }
    }

    fn label_of(&self, stack_id: &str) -> String {
        if stack_id == self.stack_id("root") || stack_id == self.script.stack_name {
            "root".into()
        } else {
            stack_id.split('/').nth(1).and_then(|n| n.strip_prefix(&format!("{}-", self.script.stack_name))).and_then(|n| n.strip_suffix("-ABC")).unwrap_or(stack_id).to_string()
        }
    }

    fn physical_id(&self, e: &TimedEvent) -> String {
        match e.resource_type.as_str() {
            "AWS::CloudFormation::Stack" if e.stack == e.logical || (e.stack == "root" && e.logical == self.script.stack_name) => self.stack_id(&e.stack),
            "AWS::CloudFormation::Stack" => self.stack_id(&e.logical),
            "AWS::ECS::Service" => format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{0}/{0}", self.script.stack_name),
            _ => format!("{}-{}", e.logical, "1A2B3C"),
        }
    }

    /// Every visible event of a stack in this run, oldest first, plus its
    /// history before the run.
    fn events_of(&self, label: &str) -> Vec<StackEvent> {
        let st = self.state.borrow();
        let mut out = Vec::new();
        if label == "root" {
            if let Some(initial) = &self.script.initial {
                for i in 0..initial.history {
                    out.push(StackEvent {
                        id: format!("history-{i:06}"),
                        stack_id: self.stack_id("root"),
                        stack_name: self.script.stack_name.clone(),
                        logical_id: format!("OldResource{}", i % 37),
                        physical_id: format!("old-{i}"),
                        resource_type: "AWS::EC2::SecurityGroup".into(),
                        timestamp: self.clock_base - 86_400_000 - ((initial.history - i) as Millis) * 1000,
                        status: "UPDATE_COMPLETE".into(),
                        reason: None,
                    });
                }
            }
        }
        let now = Instant::now();
        for run in &st.running {
            for (i, e) in run.events.iter().enumerate() {
                let stack = if e.stack == "root" { "root" } else { e.stack.as_str() };
                if stack != label || e.at_ms > (now - run.started).as_millis() as i64 {
                    continue;
                }
                let at = self.clock_base + (run.started - self.origin).as_millis() as Millis + e.at_ms;
                out.push(StackEvent {
                    id: format!("{}-{}-{i:04}", run.name, label),
                    stack_id: self.stack_id(label),
                    stack_name: if label == "root" { self.script.stack_name.clone() } else { format!("{}-{label}-ABC", self.script.stack_name) },
                    logical_id: if e.logical == "root" { self.script.stack_name.clone() } else { e.logical.clone() },
                    physical_id: self.physical_id(e),
                    resource_type: e.resource_type.clone(),
                    timestamp: at,
                    status: e.status.as_str().into(),
                    reason: e.reason.clone(),
                });
            }
        }
        out.sort_by_key(|e| e.timestamp);
        out
    }

    fn root_status(&self) -> Option<(Status, Option<String>)> {
        let name = &self.script.stack_name;
        let latest = self.events_of("root").into_iter().rev().find(|e| e.logical_id == *name && e.resource_type == "AWS::CloudFormation::Stack" && !e.id.starts_with("history-"));
        match latest {
            Some(e) => Some((e.status, e.reason)),
            None => {
                let st = self.state.borrow();
                if let Some(at) = st.review_deleted {
                    let gone = at.elapsed().as_secs_f64() >= self.script.review_delete_seconds;
                    (!gone).then(|| ("DELETE_IN_PROGRESS".into(), None))
                } else if st.change_set_created && self.script.initial.is_none() {
                    Some(("REVIEW_IN_PROGRESS".into(), None))
                } else {
                    self.script.initial.as_ref().map(|i| (i.status.as_str().into(), i.reason.clone()))
                }
            }
        }
    }
}

impl Clock for ScriptedCloud {
    fn now(&self) -> Millis {
        self.clock_base + self.origin.elapsed().as_millis() as Millis
    }
}
