//! A scripted CloudFormation (and ECS, S3, account) for testing the engine's
//! logic: a timeline fixture (fixtures/timelines/*.json) says which events
//! appear when, what the change set contains, how ECS tasks fare, and which
//! calls are throttled. Time is tokio's clock, so under a paused runtime a
//! 20-minute deploy takes milliseconds and is exactly reproducible.
//!
//! Timeline event lines read `<seconds> <stack> <logical id> <type> <status>
//! [reason…]`, where `<stack>` is `root` or a nested stack's logical id; an
//! event whose logical id is its stack's own label is about the stack itself.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use tokio::time::Instant;

use super::cloud::{Account, Clock, CloudResult, Data, Probe, Registry, Secrets, Service, Stacks};
use super::images::{ImageRef, ManifestAnswer};
use super::model::*;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// The fake cloud's time when a script starts, unless a test sets another
/// ([`ScriptedCloud::with_clock`]): 2026-11-20T10:00:00Z.
pub const CLOCK_BASE: Millis = 1_795_687_200_000;
const PAGE_SIZE: usize = 100;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default)]
    pub about: String,
    pub stack_name: String,
    /// The stack before the command runs (absent: it does not exist).
    #[serde(default)]
    pub initial: Option<Initial>,
    #[serde(default)]
    pub change_set: Option<ScriptedChangeSet>,
    /// Timelines, keyed by the call that starts them: `execute`,
    /// `delete_stack`, `continue_update_rollback`, or `attached` (already
    /// running when the command starts).
    #[serde(default)]
    pub operations: BTreeMap<String, Operation>,
    /// `<seconds> desired=N running=N pending=N failed=N [rollout=STATE]`
    #[serde(default)]
    pub ecs: Vec<String>,
    /// `<seconds> <task id> <reason…>`, relative to the latest operation. A
    /// task that stopped before it began (negative seconds) was started by
    /// the deployment before it; the others by the operation's deployment.
    #[serde(default)]
    pub stopped_tasks: Vec<String>,
    /// Every n-th read call is throttled (0: never).
    #[serde(default)]
    pub throttle_every: usize,
    /// Target health: `<target> <state> [reason…]`.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Alarms in ALARM: `<name> [reason…]`.
    #[serde(default)]
    pub alarms: Vec<String>,
    #[serde(default)]
    pub account: AccountScript,
    /// Resources that exist before the command runs, per stack (`root` or a
    /// nested stack's label): `<logical id> <type> <status> <physical id>`.
    #[serde(default)]
    pub resources: BTreeMap<String, Vec<String>>,
    /// CloudWatch statistics: `"<namespace> <metric> <stat>"` → value.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// The credentials secret's value (JSON with username and password).
    #[serde(default)]
    pub secret: Option<serde_json::Value>,
    /// HTTP answers of the service: `"<url> <username or ->"` → status, or
    /// `"error: <reason>"`. Without an entry, a GET answers 200 with the
    /// secret's current credentials (and, until a forced deployment has
    /// completed, the previous ones), 401 otherwise.
    #[serde(default)]
    pub http: BTreeMap<String, serde_json::Value>,
    /// When set, the previous password is served for this many ms after the
    /// forced deployment started, however the rollout goes (a task the
    /// load balancer still drains, a stale replica).
    #[serde(default)]
    pub old_password_served_ms: Option<i64>,
    /// Calls that always fail: API name as counted in `calls` (e.g.
    /// `GetMetricData`) → error code (`AccessDenied` is classified as such);
    /// `<code>@<n>`: from the n-th call of that API on.
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
    /// Calls that never answer (a half-open connection), from the n-th call
    /// of that API on: API name → n. DescribeStackEvents only.
    #[serde(default)]
    pub hang: BTreeMap<String, usize>,
    /// The container registries' answers, by image as the task definition
    /// names it: `"exists"`, `"missing"`, an HTTP status (an unexpected
    /// answer), or `"error: <reason>"` (no answer). Without an entry, the
    /// image exists.
    #[serde(default)]
    pub images: BTreeMap<String, serde_json::Value>,
    /// Calls whose first attempt takes effect but whose answer is lost (a
    /// connection reset): ExecuteChangeSet, DeleteStack, ContinueUpdateRollback.
    /// A retry with the same request token is recognised as the same
    /// request; one with another token is refused, as CloudFormation does.
    #[serde(default)]
    pub lost_answers: Vec<String>,
    /// Seconds the deletion of an empty REVIEW_IN_PROGRESS stack takes
    /// (DELETE_IN_PROGRESS meanwhile).
    #[serde(default)]
    pub review_delete_seconds: f64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Initial {
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// Number of earlier events in the stack's history.
    #[serde(default)]
    pub history: usize,
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// The stack's tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedChangeSet {
    #[serde(default = "complete")]
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// `<stack> <Action> <logical id> <type> [replacement [detail…]]`, a
    /// detail being `<property>:<RequiresRecreation>:<Evaluation>[:<causing entity>]`.
    #[serde(default)]
    pub changes: Vec<String>,
    /// A nested stack's own change set failed, with this reason: the root's
    /// reason then only names that change set, as CloudFormation's does.
    #[serde(default)]
    pub nested_failures: BTreeMap<String, String>,
}

fn complete() -> String {
    "CREATE_COMPLETE".into()
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub events: Vec<String>,
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

/// What the account looks like; the defaults satisfy every prerequisite of
/// the example configurations' ids.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountScript {
    /// `<subnet id> <vpc id> <az> [public]`
    pub subnets: Vec<String>,
    pub vpc_id: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    pub internet_gateway: bool,
    pub zone_id: String,
    pub zone_name: String,
    /// The hosted zone is private.
    pub zone_private: bool,
    pub instance_types: Vec<String>,
}

impl Default for AccountScript {
    fn default() -> Self {
        AccountScript {
            subnets: vec![
                "subnet-0aa11bb22cc33dd44 vpc-0a1b2c3d4e5f60718 us-east-1a public".into(),
                "subnet-0ee55ff6677889900 vpc-0a1b2c3d4e5f60718 us-east-1b public".into(),
                "subnet-01234567890abcdef vpc-0a1b2c3d4e5f60718 us-east-1a".into(),
                "subnet-0fedcba9876543210 vpc-0a1b2c3d4e5f60718 us-east-1b".into(),
            ],
            vpc_id: "vpc-0a1b2c3d4e5f60718".into(),
            dns_support: true,
            dns_hostnames: true,
            internet_gateway: true,
            zone_id: "Z0123456789ABCDEFGHIJ".into(),
            zone_name: "example.com.".into(),
            zone_private: false,
            instance_types: pypictl_stacks::catalogue::all().map(|t| t.name.to_string()).collect(),
        }
    }
}

#[derive(Clone, Debug)]
struct TimedEvent {
    at_ms: i64,
    stack: String,
    logical: String,
    resource_type: String,
    status: String,
    reason: Option<String>,
}

fn parse_event(line: &str) -> TimedEvent {
    let mut parts = line.split_whitespace();
    let mut next = |what: &str| parts.next().unwrap_or_else(|| panic!("timeline line {line:?} lacks {what}")).to_string();
    let at: f64 = next("seconds").parse().unwrap_or_else(|_| panic!("timeline line {line:?}: seconds"));
    let stack = next("stack");
    let logical = next("logical id");
    let resource_type = next("type");
    let status = next("status");
    let reason: Vec<&str> = parts.collect();
    TimedEvent { at_ms: (at * 1000.0) as i64, stack, logical, resource_type, status, reason: (!reason.is_empty()).then(|| reason.join(" ")) }
}

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
    previous_password: Option<String>,
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
        let events = op.events.iter().map(|l| parse_event(l)).collect();
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
                    status: e.status.clone(),
                    reason: e.reason.clone(),
                });
            }
        }
        out.sort_by_key(|e| e.timestamp);
        out
    }

    fn root_status(&self) -> Option<(String, Option<String>)> {
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
                    self.script.initial.as_ref().map(|i| (i.status.clone(), i.reason.clone()))
                }
            }
        }
    }
}

/// `<property>:<RequiresRecreation>:<Evaluation>[:<causing entity>]`.
fn parse_detail(text: &str) -> ChangeDetail {
    let p: Vec<&str> = text.split(':').collect();
    assert!(p.len() >= 3, "change detail {text:?}: <property>:<RequiresRecreation>:<Evaluation>[:<causing entity>]");
    ChangeDetail {
        attribute: "Properties".into(),
        name: Some(p[0].into()),
        requires_recreation: Some(p[1].into()),
        evaluation: Some(p[2].into()),
        change_source: Some(if p.len() > 3 { "ParameterReference" } else { "DirectModification" }.into()),
        causing_entity: p.get(3).map(|s| s.to_string()),
    }
}

fn ms(s: &str) -> i64 {
    (s.parse::<f64>().unwrap_or_else(|_| panic!("seconds: {s:?}")) * 1000.0) as i64
}

impl Stacks for ScriptedCloud {
    async fn describe_stack(&self, name_or_id: &str) -> CloudResult<Option<StackSummary>> {
        self.call("DescribeStacks", true)?;
        if name_or_id == pypictl_stacks::staging::STACK_NAME {
            let exists = self.state.borrow().staging_exists;
            return Ok(exists.then(|| StackSummary {
                id: format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/pypictl-staging/1"),
                name: name_or_id.into(),
                status: "CREATE_COMPLETE".into(),
                reason: None,
                outputs: vec![("BucketName".into(), "pypictl-staging-bucket".into())],
                parameters: vec![],
                tags: vec![],
            }));
        }
        if self.label_of(name_or_id) != "root" {
            return Ok(None);
        }
        let Some((status, reason)) = self.root_status() else { return Ok(None) };
        if status == "DELETE_COMPLETE" {
            return Ok(None);
        }
        let mut outputs: Vec<(String, String)> = self.script.initial.as_ref().map(|i| i.outputs.clone().into_iter().collect()).unwrap_or_default();
        for run in self.state.borrow().running.iter() {
            outputs.extend(run.outputs.clone());
        }
        let tags = self.script.initial.as_ref().map(|i| i.tags.clone().into_iter().collect()).unwrap_or_default();
        Ok(Some(StackSummary { id: self.stack_id("root"), name: self.script.stack_name.clone(), status, reason, outputs, parameters: vec![], tags }))
    }

    async fn stack_events(&self, stack_id: &str, next_token: Option<&str>) -> CloudResult<EventPage> {
        self.call("DescribeStackEvents", true)?;
        if self.script.hang.get("DescribeStackEvents").is_some_and(|from| self.count("DescribeStackEvents") >= *from) {
            std::future::pending::<()>().await;
        }
        if next_token.is_some() {
            *self.calls.borrow_mut().entry("DescribeStackEvents(next page)").or_default() += 1;
        }
        let mut events = self.events_of(&self.label_of(stack_id));
        events.reverse();
        let start: usize = next_token.map(|t| t.parse().expect("token")).unwrap_or(0);
        let end = (start + PAGE_SIZE).min(events.len());
        let next = (end < events.len()).then(|| end.to_string());
        Ok(EventPage { events: events[start..end].to_vec(), next_token: next })
    }

    async fn stack_resources(&self, stack_id: &str) -> CloudResult<Vec<StackResource>> {
        self.call("ListStackResources", true)?;
        let label = self.label_of(stack_id);
        let mut latest: BTreeMap<String, StackResource> = BTreeMap::new();
        for line in self.script.resources.get(&label).into_iter().flatten() {
            let p: Vec<&str> = line.split_whitespace().collect();
            let physical = if p[1] == "AWS::CloudFormation::Stack" { self.stack_id(p[0]) } else { p.get(3).unwrap_or(&"").to_string() };
            latest.insert(p[0].into(), StackResource { logical_id: p[0].into(), physical_id: Some(physical), resource_type: p[1].into(), status: p[2].into() });
        }
        for e in self.events_of(&label) {
            if e.is_about_stack() || e.id.starts_with("history-") {
                continue;
            }
            latest.insert(e.logical_id.clone(), StackResource { logical_id: e.logical_id, physical_id: Some(e.physical_id), resource_type: e.resource_type, status: e.status });
        }
        Ok(latest.into_values().collect())
    }

    async fn create_stack(&self, request: &CreateStack) -> CloudResult<String> {
        self.call("CreateStack", false)?;
        self.log.borrow_mut().push(format!("CreateStack {}", request.name));
        if request.name == pypictl_stacks::staging::STACK_NAME {
            self.state.borrow_mut().staging_exists = true;
        }
        Ok(format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{}/1", request.name))
    }

    async fn create_change_set(&self, request: &ChangeSetRequest) -> CloudResult<String> {
        self.call("CreateChangeSet", false)?;
        let params: Vec<String> = request.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let role = request.role_arn.as_deref().map(|r| format!(" role={r}")).unwrap_or_default();
        self.log.borrow_mut().push(format!("CreateChangeSet {:?} {} {}{role}", request.kind, request.template_url, params.join(",")));
        let mut st = self.state.borrow_mut();
        st.change_set_created = true;
        st.review_deleted = None;
        Ok("cs-root".into())
    }

    async fn describe_change_set(&self, id: &str) -> CloudResult<ChangeSet> {
        self.call("DescribeChangeSet", true)?;
        let script = self.script.change_set.clone().unwrap_or_default();
        let parsed: Vec<(String, ResourceChange)> = script
            .changes
            .iter()
            .map(|l| {
                let p: Vec<&str> = l.split_whitespace().collect();
                (
                    p[0].to_string(),
                    ResourceChange {
                        action: p[1].into(),
                        logical_id: p[2].into(),
                        physical_id: None,
                        resource_type: p[3].into(),
                        replacement: p.get(4).map(|s| s.to_string()),
                        scope: vec!["Properties".into()],
                        nested_change_set: None,
                        details: p.iter().skip(5).map(|d| parse_detail(d)).collect(),
                    },
                )
            })
            .collect();
        let label = id.strip_prefix("cs-").unwrap_or("root");
        if let Some(reason) = script.nested_failures.get(label) {
            return Ok(ChangeSet { id: id.into(), stack_id: self.stack_id(label), status: "FAILED".into(), status_reason: Some(reason.clone()), changes: vec![] });
        }
        if label == "root" {
            if let Some(nested) = script.nested_failures.keys().next() {
                let reason = format!("Nested change set cs-{nested} was not successfully created: Currently in FAILED.");
                return Ok(ChangeSet { id: id.into(), stack_id: self.stack_id("root"), status: "FAILED".into(), status_reason: Some(reason), changes: vec![] });
            }
        }
        let mut changes: Vec<ResourceChange> = parsed.iter().filter(|(s, _)| s == label).map(|(_, c)| c.clone()).collect();
        if label == "root" {
            let mut nested: Vec<&String> = parsed.iter().map(|(s, _)| s).filter(|s| *s != "root").collect();
            nested.dedup();
            for n in nested {
                let action = if self.script.initial.is_some() { "Modify" } else { "Add" };
                changes.push(ResourceChange {
                    action: action.into(),
                    logical_id: n.clone(),
                    physical_id: None,
                    resource_type: "AWS::CloudFormation::Stack".into(),
                    replacement: (action == "Modify").then(|| "False".into()),
                    scope: vec!["Properties".into()],
                    nested_change_set: Some(format!("cs-{n}")),
                    details: vec![],
                });
            }
        }
        Ok(ChangeSet { id: id.into(), stack_id: self.stack_id("root"), status: script.status, status_reason: script.reason, changes })
    }

    async fn execute_change_set(&self, request: &Execute) -> CloudResult<()> {
        self.call("ExecuteChangeSet", false)?;
        if self.retry_of_lost("ExecuteChangeSet", &request.token)? {
            return Ok(());
        }
        self.log.borrow_mut().push(format!("ExecuteChangeSet {} disable_rollback={}", request.change_set_id, request.disable_rollback));
        let op = self.script.operations.get("execute").cloned().expect("the script has an execute timeline");
        self.start("execute", op);
        self.lose_answer("ExecuteChangeSet", &request.token)
    }

    async fn delete_change_set(&self, id: &str) -> CloudResult<()> {
        self.call("DeleteChangeSet", false)?;
        self.log.borrow_mut().push(format!("DeleteChangeSet {id}"));
        Ok(())
    }

    async fn delete_stack(&self, request: &DeleteStack) -> CloudResult<()> {
        self.call("DeleteStack", false)?;
        if self.retry_of_lost("DeleteStack", &request.token)? {
            return Ok(());
        }
        let role = request.role_arn.as_deref().map(|r| format!(" role={r}")).unwrap_or_default();
        self.log.borrow_mut().push(format!("DeleteStack {}{role}", self.label_of(&request.stack_id)));
        if self.root_status().is_some_and(|(s, _)| s == "REVIEW_IN_PROGRESS") {
            self.state.borrow_mut().review_deleted = Some(Instant::now());
            return self.lose_answer("DeleteStack", &request.token);
        }
        let op = self.script.operations.get("delete_stack").cloned().expect("the script has a delete_stack timeline");
        self.start("delete", op);
        self.lose_answer("DeleteStack", &request.token)
    }

    async fn continue_update_rollback(&self, request: &ContinueRollback) -> CloudResult<()> {
        self.call("ContinueUpdateRollback", false)?;
        if self.retry_of_lost("ContinueUpdateRollback", &request.token)? {
            return Ok(());
        }
        self.log.borrow_mut().push(format!("ContinueUpdateRollback {} skip=[{}]", self.label_of(&request.stack_id), request.skip.join(",")));
        // A skip has its own timeline when the script gives one.
        let timeline = if request.skip.is_empty() { "continue_update_rollback" } else { "continue_update_rollback_skipping" };
        let op = self.script.operations.get(timeline).or_else(|| self.script.operations.get("continue_update_rollback")).cloned().expect("the script has a continue_update_rollback timeline");
        self.start("continue", op);
        self.lose_answer("ContinueUpdateRollback", &request.token)
    }

    async fn object_exists(&self, bucket: &str, key: &str) -> CloudResult<bool> {
        self.call("HeadObject", false)?;
        Ok(self.state.borrow().objects.contains_key(&(bucket.to_string(), key.to_string())))
    }

    async fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> CloudResult<()> {
        self.call("PutObject", false)?;
        self.log.borrow_mut().push(format!("PutObject {key}"));
        self.state.borrow_mut().objects.insert((bucket.to_string(), key.to_string()), body.to_vec());
        Ok(())
    }
}

impl Service for ScriptedCloud {
    async fn service(&self, _cluster: &str, _service: &str) -> CloudResult<Option<ServiceSnapshot>> {
        self.call("DescribeServices", true)?;
        // Relative to the latest operation; without one, the lines at or before 0 s.
        let started = self.state.borrow().running.last().map(|r| r.started);
        let elapsed = started.map_or(0, |s| s.elapsed().as_millis() as i64);
        let mut current = None;
        for line in &self.script.ecs {
            let mut parts = line.split_whitespace();
            if ms(parts.next().unwrap()) > elapsed {
                break;
            }
            let mut s = ServiceSnapshot { primary: Some(self.deployment_id(0)), ..ServiceSnapshot::default() };
            for kv in parts {
                let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("ecs line {line:?}"));
                match k {
                    "desired" => s.desired = v.parse().unwrap(),
                    "running" => s.running = v.parse().unwrap(),
                    "pending" => s.pending = v.parse().unwrap(),
                    "failed" => s.failed = v.parse().unwrap(),
                    "rollout" => s.rollout_state = Some(v.into()),
                    "deployments" => s.deployments = v.parse().unwrap(),
                    other => panic!("ecs line {line:?}: unknown {other}"),
                }
            }
            current = Some(s);
        }
        Ok(current)
    }

    async fn stopped_tasks(&self, _cluster: &str, _service: &str) -> CloudResult<Vec<StoppedTask>> {
        self.call("DescribeTasks", true)?;
        // Relative to the latest operation; without one, the lines at or before 0 s.
        let started = self.state.borrow().running.last().map(|r| r.started);
        let elapsed = started.map_or(0, |s| s.elapsed().as_millis() as i64);
        let base = self.clock_base + started.map_or(0, |s| (s - self.origin).as_millis() as Millis);
        let deployment = self.deployment_id(0);
        let previous = self.deployment_id(1);
        let mut out: Vec<StoppedTask> = self
            .script
            .stopped_tasks
            .iter()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ' ');
                let at = ms(parts.next()?);
                let id = parts.next()?.to_string();
                let reason = parts.next().unwrap_or("").to_string();
                let started_by = Some(if at < 0 { previous.clone() } else { deployment.clone() });
                (at <= elapsed).then_some(StoppedTask { task_id: id, stopped_at: base + at, reason, started_by })
            })
            .collect();
        out.sort_by_key(|t| std::cmp::Reverse(t.stopped_at));
        Ok(out)
    }

    async fn target_health(&self, _target_group_arn: &str) -> CloudResult<Vec<TargetHealth>> {
        self.call("DescribeTargetHealth", true)?;
        Ok(self
            .script
            .targets
            .iter()
            .map(|l| {
                let mut p = l.splitn(3, ' ');
                TargetHealth { target: p.next().unwrap_or("").into(), state: p.next().unwrap_or("").into(), reason: p.next().map(str::to_string) }
            })
            .collect())
    }

    async fn alarms_firing(&self, prefix: &str) -> CloudResult<Vec<Alarm>> {
        self.call("DescribeAlarms", true)?;
        Ok(self
            .script
            .alarms
            .iter()
            .filter(|l| l.starts_with(prefix))
            .map(|l| {
                let (name, reason) = l.split_once(' ').unwrap_or((l, ""));
                Alarm { name: name.into(), state: "ALARM".into(), reason: reason.into() }
            })
            .collect())
    }

    async fn force_new_deployment(&self, cluster: &str, service: &str) -> CloudResult<Deployment> {
        self.call("UpdateService", false)?;
        self.log.borrow_mut().push(format!("UpdateService {cluster}/{service} force_new_deployment"));
        let op = self.script.operations.get("force_new_deployment").cloned().unwrap_or_default();
        self.start("force_new_deployment", op);
        Ok(Deployment { id: self.deployment_id(0), created_at: self.now() })
    }

    async fn metric(&self, query: &MetricQuery) -> CloudResult<Option<f64>> {
        self.call("GetMetricData", true)?;
        Ok(self.script.metrics.get(&format!("{} {} {}", query.namespace, query.metric, query.stat)).copied())
    }
}

impl Account for ScriptedCloud {
    async fn identity(&self) -> CloudResult<Identity> {
        self.call("GetCallerIdentity", false)?;
        Ok(Identity { account: ACCOUNT.into(), arn: format!("arn:aws:iam::{ACCOUNT}:user/ci") })
    }

    async fn subnets(&self, ids: &[String]) -> CloudResult<Vec<Subnet>> {
        self.call("DescribeSubnets", false)?;
        Ok(self
            .script
            .account
            .subnets
            .iter()
            .map(|l| {
                let p: Vec<&str> = l.split_whitespace().collect();
                Subnet { id: p[0].into(), vpc_id: p[1].into(), availability_zone: p[2].into(), map_public_ip_on_launch: p.get(3) == Some(&"public") }
            })
            .filter(|s| ids.contains(&s.id))
            .collect())
    }

    async fn vpc(&self, id: &str) -> CloudResult<Option<VpcInfo>> {
        self.call("DescribeVpcs", false)?;
        let a = &self.script.account;
        Ok((id == a.vpc_id).then(|| VpcInfo {
            id: id.into(),
            dns_support: a.dns_support,
            dns_hostnames: a.dns_hostnames,
            internet_gateway: a.internet_gateway.then(|| "igw-0123456789abcdef0".into()),
        }))
    }

    async fn hosted_zone(&self, id: &str) -> CloudResult<Option<HostedZone>> {
        self.call("GetHostedZone", false)?;
        let a = &self.script.account;
        Ok((id == a.zone_id).then(|| HostedZone { id: id.into(), name: a.zone_name.clone(), private: a.zone_private }))
    }

    async fn instance_type(&self, name: &str) -> CloudResult<Option<InstanceTypeInfo>> {
        self.call("DescribeInstanceTypes", false)?;
        Ok(self.script.account.instance_types.iter().any(|t| t == name).then(|| {
            let known = pypictl_stacks::catalogue::lookup(name).expect("scripted types are catalogued");
            InstanceTypeInfo { name: name.into(), vcpus: known.vcpus, memory_mib: known.memory_mib }
        }))
    }

    async fn managed_prefix_list(&self, name: &str) -> CloudResult<Option<String>> {
        self.call("DescribeManagedPrefixLists", false)?;
        // us-east-1's id of CloudFront's origin-facing list.
        Ok((name == "com.amazonaws.global.cloudfront.origin-facing").then(|| "pl-3b927c52".to_string()))
    }
}

impl Data for ScriptedCloud {
    async fn empty_bucket(&self, bucket: &str) -> CloudResult<usize> {
        self.call("EmptyBucket", false)?;
        self.log.borrow_mut().push(format!("EmptyBucket {bucket}"));
        Ok(3)
    }

    async fn delete_bucket(&self, bucket: &str) -> CloudResult<()> {
        self.call("DeleteBucket", false)?;
        self.log.borrow_mut().push(format!("DeleteBucket {bucket}"));
        Ok(())
    }

    async fn delete_file_system(&self, id: &str) -> CloudResult<()> {
        self.call("DeleteFileSystem", false)?;
        self.log.borrow_mut().push(format!("DeleteFileSystem {id}"));
        Ok(())
    }

    async fn delete_backup_vault(&self, name: &str) -> CloudResult<usize> {
        self.call("DeleteBackupVault", false)?;
        self.log.borrow_mut().push(format!("DeleteBackupVault {name}"));
        Ok(2)
    }

    async fn delete_secret(&self, id: &str) -> CloudResult<()> {
        self.call("DeleteSecret", false)?;
        self.log.borrow_mut().push(format!("DeleteSecret {id}"));
        Ok(())
    }

    async fn schedule_key_deletion(&self, key_id: &str) -> CloudResult<()> {
        self.call("ScheduleKeyDeletion", false)?;
        self.log.borrow_mut().push(format!("ScheduleKeyDeletion {key_id}"));
        Ok(())
    }
}

impl Clock for ScriptedCloud {
    fn now(&self) -> Millis {
        self.clock_base + self.origin.elapsed().as_millis() as Millis
    }
}

impl ScriptedCloud {
    /// The id of the ECS deployment `back` operations before the latest
    /// (each operation of the script starts one).
    fn deployment_id(&self, back: usize) -> String {
        format!("ecs-svc/{:019}", self.state.borrow().running.len().saturating_sub(back))
    }

    /// Whether the previous password is still served.
    fn old_password_served(&self) -> bool {
        match self.script.old_password_served_ms {
            Some(until) => self.since_forced_deployment().is_some_and(|ms| ms < until),
            None => !self.rollout_complete(),
        }
    }

    fn since_forced_deployment(&self) -> Option<i64> {
        self.state.borrow().running.iter().rev().find(|r| r.name == "force_new_deployment").map(|r| r.started.elapsed().as_millis() as i64)
    }

    /// Whether the latest forced deployment has replaced every old task.
    fn rollout_complete(&self) -> bool {
        let Some(run) = self.state.borrow().running.iter().rev().find(|r| r.name == "force_new_deployment").map(|r| r.started) else { return true };
        let elapsed = run.elapsed().as_millis() as i64;
        self.script
            .ecs
            .iter()
            .rfind(|l| ms(l.split_whitespace().next().unwrap_or("0")) <= elapsed)
            .is_some_and(|l| l.contains("rollout=COMPLETED") && l.contains("deployments=1"))
    }
}

impl Secrets for ScriptedCloud {
    async fn secret_value(&self, id: &str) -> CloudResult<String> {
        self.call("GetSecretValue", true)?;
        self.state.borrow().secret.as_ref().map(|v| v.to_string()).ok_or_else(|| CloudError::new(ErrorKind::NotFound, "ResourceNotFoundException", format!("Secrets Manager can't find the specified secret {id}")))
    }

    async fn put_secret_value(&self, id: &str, value: &str) -> CloudResult<()> {
        self.call("PutSecretValue", false)?;
        self.log.borrow_mut().push(format!("PutSecretValue {id}"));
        let mut st = self.state.borrow_mut();
        st.previous_password = st.secret.as_ref().and_then(|s| s["password"].as_str().map(str::to_string));
        st.secret = Some(serde_json::from_str(value).expect("the secret is JSON"));
        Ok(())
    }

    async fn random_password(&self, length: u32, exclude_characters: &str) -> CloudResult<String> {
        self.call("GetRandomPassword", false)?;
        let mut st = self.state.borrow_mut();
        st.passwords_generated += 1;
        let base = format!("Rotated{}:p@ss/w%rd+", st.passwords_generated);
        let password: String = base.chars().cycle().filter(|c| !exclude_characters.contains(*c)).take(length as usize).collect();
        Ok(password)
    }
}

impl Registry for ScriptedCloud {
    async fn manifest(&self, image: &ImageRef) -> Result<ManifestAnswer, String> {
        *self.calls.borrow_mut().entry("HEAD manifest").or_default() += 1;
        match self.script.images.get(&image.original) {
            None => Ok(ManifestAnswer::Found { digest: None }),
            Some(serde_json::Value::Number(n)) => Ok(ManifestAnswer::Unexpected { status: n.as_u64().unwrap_or(0) as u16, detail: String::new() }),
            Some(answer) => match answer.as_str().unwrap_or_default() {
                "exists" => Ok(ManifestAnswer::Found { digest: None }),
                "missing" => Ok(ManifestAnswer::Missing { why: "404 MANIFEST_UNKNOWN".into() }),
                other => Err(other.strip_prefix("error: ").unwrap_or_else(|| panic!("image answer {other:?}: exists, missing, a status or \"error: <reason>\"")).to_string()),
            },
        }
    }
}

impl Probe for ScriptedCloud {
    async fn http_status(&self, url: &str, basic_auth: Option<(&str, &str)>) -> Result<u16, String> {
        *self.calls.borrow_mut().entry("HTTP GET").or_default() += 1;
        let who = basic_auth.map(|(u, _)| u).unwrap_or("-");
        if let Some(answer) = self.script.http.get(&format!("{url} {who}")) {
            return match answer {
                serde_json::Value::Number(n) => Ok(n.as_u64().unwrap_or(0) as u16),
                other => Err(other.as_str().unwrap_or("error").trim_start_matches("error: ").to_string()),
            };
        }
        let Some((user, password)) = basic_auth else { return Ok(401) };
        let st = self.state.borrow();
        let current = st.secret.as_ref().map(|s| (s["username"].as_str().unwrap_or("").to_string(), s["password"].as_str().unwrap_or("").to_string()));
        let previous = st.previous_password.clone();
        drop(st);
        let ok = current.as_ref().is_some_and(|(u, p)| u == user && p == password)
            || (self.old_password_served() && previous.as_deref() == Some(password) && current.as_ref().is_some_and(|(u, _)| u == user));
        Ok(if ok { 200 } else { 401 })
    }
}
