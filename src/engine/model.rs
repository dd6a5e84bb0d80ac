//! What the engine knows about CloudFormation, ECS and the account: plain
//! data, independent of the AWS SDK, so that the same engine runs against
//! AWS, moto or a scripted fake.

use std::fmt;

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// A stack as DescribeStacks reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackSummary {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub reason: Option<String>,
    pub outputs: Vec<(String, String)>,
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

impl StackSummary {
    /// One of the root stack's outputs.
    pub fn output(&self, key: pypictl_stacks::outputs::RootOutput) -> Option<&str> {
        self.output_named(key.name())
    }

    /// An output by name (a stack other than the root: the staging bucket's).
    pub fn output_named(&self, key: &str) -> Option<&str> {
        self.outputs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// One stack event (DescribeStackEvents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackEvent {
    pub id: String,
    pub stack_id: String,
    pub stack_name: String,
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub timestamp: Millis,
    pub status: Status,
    pub reason: Option<String>,
}

impl StackEvent {
    /// An event about the stack itself rather than one of its resources.
    pub fn is_about_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack" && self.physical_id == self.stack_id
    }

    /// An event about a nested stack resource inside this stack.
    pub fn nested_stack_id(&self) -> Option<&str> {
        (self.resource_type == "AWS::CloudFormation::Stack" && !self.is_about_stack() && self.physical_id.starts_with("arn:"))
            .then_some(self.physical_id.as_str())
    }
}

/// One page of events, newest first, as CloudFormation returns them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<StackEvent>,
    pub next_token: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: Status,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeSetKind {
    Create,
    Update,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSetRequest {
    pub stack_name: String,
    pub change_set_name: String,
    pub kind: ChangeSetKind,
    pub template_url: String,
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub description: String,
    /// CreateChangeSet's ClientToken: a retry of a request whose answer was
    /// lost is recognised, not refused as a second change set of the name.
    pub client_token: String,
    /// The service role CloudFormation acts through (`--role-arn`).
    pub role_arn: Option<String>,
}

/// ExecuteChangeSet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execute {
    pub change_set_id: String,
    /// "Preserve successfully provisioned resources": no rollback on failure.
    /// Required by CloudFormation to update a stack in CREATE_FAILED or
    /// UPDATE_FAILED.
    pub disable_rollback: bool,
    pub token: String,
}

/// DeleteStack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteStack {
    pub stack_id: String,
    pub token: String,
    pub role_arn: Option<String>,
}

/// ContinueUpdateRollback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinueRollback {
    pub stack_id: String,
    /// ResourcesToSkip: `LogicalId` in the root, `NestedStackName.LogicalId`
    /// in a nested stack; only resources whose rollback failed.
    pub skip: Vec<String>,
    pub token: String,
    pub role_arn: Option<String>,
}

/// A ClientRequestToken for one operation of one run: the same for every
/// retry of that operation (so CloudFormation recognises a retry of a
/// request whose answer was lost), different for the next operation.
/// CloudFormation's pattern: `[a-zA-Z0-9][-a-zA-Z0-9]*`, at most 128.
pub fn request_token(run: &str, operation: &str) -> String {
    let clean = |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>();
    let mut t = format!("pypictl-{}-{}", clean(operation), clean(run));
    t.truncate(128);
    t
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSet {
    pub id: String,
    pub stack_id: String,
    /// CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED, ...
    pub status: String,
    pub status_reason: Option<String>,
    pub changes: Vec<ResourceChange>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceChange {
    /// Add, Modify, Remove, Import or Dynamic.
    pub action: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    /// True, False or Conditional (Modify only).
    pub replacement: Option<String>,
    /// Properties, Metadata, Tags... what about the resource changes.
    pub scope: Vec<String>,
    /// For a nested stack: its own change set, to expand.
    pub nested_change_set: Option<String>,
    /// What changes, and whether it may recreate the resource.
    pub details: Vec<ChangeDetail>,
}

/// One ResourceChangeDetail of a change set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeDetail {
    /// Properties, Metadata, Tags, ...
    pub attribute: String,
    /// The property's name, for Properties.
    pub name: Option<String>,
    /// Never, Conditionally or Always.
    pub requires_recreation: Option<String>,
    /// Static (known now) or Dynamic (known only during the update: a value
    /// from another resource or stack output, resolved when it runs).
    pub evaluation: Option<String>,
    /// ResourceReference, ParameterReference, ResourceAttribute, DirectModification, Automatic.
    pub change_source: Option<String>,
    /// The parameter or resource (attribute) the change comes from.
    pub causing_entity: Option<String>,
}

/// A stack to create directly (the staging bucket's stack).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateStack {
    pub name: String,
    pub template_body: String,
    pub tags: Vec<(String, String)>,
    pub token: String,
}

/// ECS service state during a rollout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceSnapshot {
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    /// Tasks the current deployment failed to start (circuit breaker count).
    pub failed: u32,
    /// IN_PROGRESS, COMPLETED or FAILED, for the primary deployment.
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
    /// Deployments still listed (the primary and any being replaced).
    pub deployments: u32,
    /// The primary deployment's id (`ecs-svc/...`).
    pub primary: Option<String>,
    /// Every deployment listed, primary or not: a deployment the circuit
    /// breaker failed stays listed as FAILED while ECS's rollback deployment
    /// becomes the primary.
    pub listed: Vec<ListedDeployment>,
}

/// One deployment of a service as DescribeServices lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedDeployment {
    pub id: String,
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
}

/// An ECS deployment, as ECS reported it when it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// `ecs-svc/...`: the `startedBy` of every task this deployment starts.
    pub id: String,
    /// ECS's own time, comparable with other ECS times (never this machine's clock).
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoppedTask {
    pub task_id: String,
    pub stopped_at: Millis,
    /// The task's stoppedReason, followed by each container's reason and exit code.
    pub reason: String,
    /// The deployment that started the task (ECS sets a service task's
    /// `startedBy` to its deployment id).
    pub started_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetHealth {
    pub target: String,
    pub state: String,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alarm {
    pub name: String,
    pub state: String,
    pub reason: String,
}

/// A CloudWatch statistic over the last `minutes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricQuery {
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    /// Average, Maximum, Minimum, Sum, or a percentile such as p95.
    pub stat: String,
    pub period_seconds: u32,
    pub minutes: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub map_public_ip_on_launch: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcInfo {
    pub id: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    pub internet_gateway: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedZone {
    pub id: String,
    pub name: String,
    pub private: bool,
}

/// A VPC as `pypictl init` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcSummary {
    pub info: VpcInfo,
    /// The `Name` tag.
    pub name: Option<String>,
    pub cidr: String,
    pub is_default: bool,
}

/// A subnet as `pypictl init` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetSummary {
    pub subnet: Subnet,
    /// The `Name` tag.
    pub name: Option<String>,
    pub cidr: String,
    /// Its route table (explicit, or the VPC's main one) sends 0.0.0.0/0 to
    /// an internet gateway.
    pub public: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceTypeInfo {
    pub name: String,
    pub vcpus: u32,
    pub memory_mib: u32,
}

/// Why a call failed, classified for the engine's decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Rate exceeded: back off and retry.
    Throttled,
    /// The thing asked for does not exist.
    NotFound,
    /// The request was refused as invalid (CloudFormation's ValidationError).
    Invalid,
    AccessDenied,
    /// Network trouble, 5xx: retry.
    Transient,
    /// No connection to the endpoint at all (refused, no DNS name, connect
    /// timeout): the SDK has already retried; the message says what to check.
    Unreachable,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudError {
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
}

impl CloudError {
    pub fn new(kind: ErrorKind, code: impl Into<String>, message: impl Into<String>) -> CloudError {
        CloudError { kind, code: code.into(), message: message.into() }
    }

    pub fn throttled() -> CloudError {
        CloudError::new(ErrorKind::Throttled, "Throttling", "Rate exceeded")
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Transient)
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

impl std::error::Error for CloudError {}

pub use super::stack_status::Status;
