//! The timeline fixtures' format (fixtures/timelines/*.json): a [`Script`].
//!
//! Timeline event lines read `<seconds> <stack> <logical id> <type> <status>
//! [reason…]`, where `<stack>` is `root` or a nested stack's logical id; an
//! event whose logical id is its stack's own label is about the stack itself.

use std::collections::BTreeMap;

use pypictl::engine::model::ChangeDetail;
use serde::Deserialize;

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
    /// The credentials secret's value (JSON with username, password and,
    /// during a rotation, pending_password), for every ARN not in `secrets`.
    #[serde(default)]
    pub secret: Option<serde_json::Value>,
    /// Other secrets by ARN (the publish credential's).
    #[serde(default)]
    pub secrets: BTreeMap<String, serde_json::Value>,
    /// The ECS lines of each forced deployment in turn (the last one for
    /// any later); empty: `ecs` for every deployment.
    #[serde(default)]
    pub ecs_rollouts: Vec<Vec<String>>,
    /// HTTP answers of the service: `"<url> <username or ->"` → status, or
    /// `"error: <reason>"`. Without an entry, a GET answers 200 with a
    /// password the latest deployment's tasks accept (those in the secrets
    /// when it started: `password` and `pending_password`), or, until it has
    /// completed, one the previous deployment's tasks accept; 401 otherwise.
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

/// One line of a timeline.
#[derive(Clone, Debug)]
pub(crate) struct TimedEvent {
    pub(crate) at_ms: i64,
    pub(crate) stack: String,
    pub(crate) logical: String,
    pub(crate) resource_type: String,
    pub(crate) status: String,
    pub(crate) reason: Option<String>,
}

pub(crate) fn parse_event(line: &str) -> TimedEvent {
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

/// `<property>:<RequiresRecreation>:<Evaluation>[:<causing entity>]`.
pub(crate) fn parse_detail(text: &str) -> ChangeDetail {
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

/// Seconds (fractional, maybe negative) as milliseconds.
pub(crate) fn ms(s: &str) -> i64 {
    (s.parse::<f64>().unwrap_or_else(|_| panic!("seconds: {s:?}")) * 1000.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every timeline fixture parses, event lines and change details included.
    #[test]
    fn every_fixture_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/timelines");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("fixtures/timelines") {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let script: Script = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for line in script.operations.values().flat_map(|op| &op.events) {
                let _ = parse_event(line);
            }
            for line in script.change_set.iter().flat_map(|c| &c.changes) {
                for detail in line.split_whitespace().skip(5) {
                    let _ = parse_detail(detail);
                }
            }
            seen += 1;
        }
        assert!(seen > 0, "no fixtures in {}", dir.display());
    }

    #[test]
    fn event_lines() {
        let e = parse_event("12.5 Network VpcEndpoint AWS::EC2::VPCEndpoint CREATE_FAILED Resource handler returned message");
        assert_eq!((e.at_ms, e.stack.as_str(), e.logical.as_str()), (12_500, "Network", "VpcEndpoint"));
        assert_eq!(e.reason.as_deref(), Some("Resource handler returned message"));
        assert_eq!(ms("-1.5"), -1_500);
    }
}
