//! The IAM actions pypictl's own AWS calls need: ONE table ([`CALLS`]), with
//! for each action the commands that need it and where it is scoped. Every
//! SDK call in `src/aws/*.rs` has its action here (a unit test reads the
//! sources; `tests/it/iam_policy.rs` records the calls of real runs against
//! the emulator and checks them against `pypictl iam-policy`). What
//! CloudFormation does for the templates is the core's
//! ([`pypictl_stacks::permissions`]).
//!
//! The SDK names an operation by its service (`Elastic Load Balancing v2`)
//! and operation (`DescribeTargetHealth`); [`iam_actions`] turns that into
//! the IAM actions it is authorized as (`elasticloadbalancing:DescribeTargetHealth`;
//! S3's `HeadObject` is `s3:GetObject`).

use std::collections::{BTreeMap, BTreeSet};

use pypictl_stacks::permissions::{Scope, Statement, Target};
use serde_json::json;

/// One action pypictl calls (or has CloudFormation call with the caller's
/// credentials, e.g. reading the template from S3).
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// `service:Action`, as in IAM.
    pub action: &'static str,
    /// The statement it goes in (one scope per statement).
    pub sid: &'static str,
    pub scope: Scope,
    /// The commands that call it.
    pub commands: &'static [&'static str],
}

/// Every command that connects: `ensure_reachable` calls STS first.
const EVERY: &[&str] = &["creds", "deploy", "destroy", "diff", "doctor", "init", "status", "upgrade"];
/// The commands that synthesize, check prerequisites, stage and make a change set.
const CHANGE: &[&str] = &["deploy", "diff", "upgrade"];
/// The commands that execute a change set and watch it.
const EXECUTE: &[&str] = &["deploy", "upgrade"];
/// The commands that read a deployed stack.
const READ: &[&str] = &["creds", "deploy", "destroy", "diff", "doctor", "status", "upgrade"];
/// The commands that watch the ECS service (a deployment, a rollout, a report).
const SERVICE: &[&str] = &["creds --rotate", "deploy", "doctor", "status", "upgrade"];
const FORCE: &[&str] = &["destroy --force-destroy-data"];

const fn call(action: &'static str, sid: &'static str, scope: Scope, commands: &'static [&'static str]) -> Call {
    Call { action, sid, scope, commands }
}

/// What pypictl needs, by action. `Scope::Any` ("*") where the action takes
/// no resource (EC2's and ELB's `Describe*`, ECS `ListTasks`, CloudWatch's
/// reads, `secretsmanager:GetRandomPassword`, `route53:ListHostedZones`,
/// STS) or the ids are random (EFS file systems).
pub const CALLS: &[Call] = &[
    call("sts:GetCallerIdentity", "PypictlIdentity", Scope::Any, EVERY),
    // Prerequisites (deploy, diff, upgrade) and the choices of `init`.
    call("ec2:DescribeInstanceTypes", "PypictlPrerequisites", Scope::Any, CHANGE),
    call("ec2:DescribeInternetGateways", "PypictlPrerequisites", Scope::Any, &["deploy", "diff", "init", "upgrade"]),
    call("ec2:DescribeManagedPrefixLists", "PypictlPrerequisites", Scope::Any, CHANGE),
    call("ec2:DescribeRouteTables", "PypictlPrerequisites", Scope::Any, &["init"]),
    call("ec2:DescribeSubnets", "PypictlPrerequisites", Scope::Any, &["deploy", "diff", "init", "upgrade"]),
    call("ec2:DescribeVpcAttribute", "PypictlPrerequisites", Scope::Any, &["deploy", "diff", "init", "upgrade"]),
    call("ec2:DescribeVpcs", "PypictlPrerequisites", Scope::Any, &["deploy", "diff", "init", "upgrade"]),
    call("route53:ListHostedZones", "PypictlPrerequisites", Scope::Any, &["init"]),
    call("route53:GetHostedZone", "PypictlHostedZone", Scope::HostedZone, CHANGE),
    // The root stack, its nested stacks and the staging bucket's stack.
    call("cloudformation:ContinueUpdateRollback", "PypictlStacks", Scope::Stacks, EXECUTE),
    call("cloudformation:CreateStack", "PypictlStacks", Scope::Stacks, CHANGE),
    call("cloudformation:DeleteStack", "PypictlStacks", Scope::Stacks, &["deploy", "destroy", "diff", "upgrade"]),
    call("cloudformation:DescribeStackEvents", "PypictlStacks", Scope::Stacks, &["deploy", "destroy", "status", "upgrade"]),
    call("cloudformation:DescribeStacks", "PypictlStacks", Scope::Stacks, READ),
    call("cloudformation:ListStackResources", "PypictlStacks", Scope::Stacks, &["deploy", "destroy", "doctor", "status", "upgrade"]),
    call("cloudformation:RollbackStack", "PypictlStacks", Scope::Stacks, EXECUTE),
    // Change sets, nested ones (described by the diff) included.
    call("cloudformation:CreateChangeSet", "PypictlChangeSets", Scope::ChangeSets, CHANGE),
    call("cloudformation:DeleteChangeSet", "PypictlChangeSets", Scope::ChangeSets, CHANGE),
    call("cloudformation:DescribeChangeSet", "PypictlChangeSets", Scope::ChangeSets, CHANGE),
    call("cloudformation:ExecuteChangeSet", "PypictlChangeSets", Scope::ChangeSets, EXECUTE),
    // The staging bucket: ListBucket so that a template not staged yet is a
    // 404, not a 403; GetObject for HeadObject and for CloudFormation, which
    // reads the root template with the caller's credentials.
    call("s3:ListBucket", "PypictlStagingBucket", Scope::StagingBucket, CHANGE),
    call("s3:GetObject", "PypictlStagingTemplates", Scope::StagingObjects, CHANGE),
    call("s3:PutObject", "PypictlStagingTemplates", Scope::StagingObjects, CHANGE),
    // The running service.
    call("ecs:DescribeServices", "PypictlService", Scope::EcsService, SERVICE),
    call("ecs:UpdateService", "PypictlService", Scope::EcsService, &["creds --rotate"]),
    call("cloudwatch:DescribeAlarms", "PypictlServiceReads", Scope::Any, &["doctor", "status"]),
    call("cloudwatch:GetMetricData", "PypictlServiceReads", Scope::Any, &["doctor"]),
    call("ecs:DescribeTasks", "PypictlServiceReads", Scope::Any, SERVICE),
    call("ecs:ListTasks", "PypictlServiceReads", Scope::Any, SERVICE),
    call("elasticloadbalancing:DescribeTargetHealth", "PypictlServiceReads", Scope::Any, &["doctor", "status"]),
    // The credentials: the secret, and its key through Secrets Manager.
    call("secretsmanager:GetSecretValue", "PypictlCredentials", Scope::Secrets, &["creds", "creds --rotate", "doctor"]),
    call("secretsmanager:PutSecretValue", "PypictlCredentials", Scope::Secrets, &["creds --rotate"]),
    call("secretsmanager:GetRandomPassword", "PypictlRandomPassword", Scope::Any, &["creds --rotate"]),
    call("kms:Decrypt", "PypictlCredentialsKey", Scope::Keys, &["creds", "creds --rotate", "doctor"]),
    call("kms:GenerateDataKey", "PypictlCredentialsKey", Scope::Keys, &["creds --rotate"]),
    // `destroy --force-destroy-data` (and the log buckets of `destroy` with
    // load_balancer.access_log_force_destroy): what the stacks retain.
    call("s3:DeleteBucket", "PypictlDeleteBuckets", Scope::LogBuckets, &["destroy", "destroy --force-destroy-data"]),
    call("s3:DeleteObject", "PypictlDeleteBuckets", Scope::LogBuckets, &["destroy", "destroy --force-destroy-data"]),
    call("s3:DeleteObjectVersion", "PypictlDeleteBuckets", Scope::LogBuckets, &["destroy", "destroy --force-destroy-data"]),
    call("s3:ListBucketVersions", "PypictlDeleteBuckets", Scope::LogBuckets, &["destroy", "destroy --force-destroy-data"]),
    call("elasticfilesystem:DeleteFileSystem", "PypictlDeleteFileSystem", Scope::Any, FORCE),
    call("elasticfilesystem:DescribeMountTargets", "PypictlDeleteFileSystem", Scope::Any, FORCE),
    call("backup:DeleteBackupVault", "PypictlDeleteBackupVault", Scope::BackupVaults, FORCE),
    call("backup:ListRecoveryPointsByBackupVault", "PypictlDeleteBackupVault", Scope::BackupVaults, FORCE),
    call("backup:DeleteRecoveryPoint", "PypictlDeleteRecoveryPoints", Scope::RecoveryPoints, FORCE),
    call("secretsmanager:DeleteSecret", "PypictlDeleteSecret", Scope::Secrets, FORCE),
    call("kms:ScheduleKeyDeletion", "PypictlDeleteKey", Scope::Keys, FORCE),
];

/// The IAM prefix of an SDK service id (`Metadata::service()`).
pub fn iam_prefix(sdk_service: &str) -> String {
    match sdk_service {
        "Elastic Load Balancing v2" | "Elastic Load Balancing" => "elasticloadbalancing".into(),
        "EFS" => "elasticfilesystem".into(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

/// The IAM actions an SDK operation is authorized as: `<prefix>:<Operation>`
/// but for the S3 operations whose action has another name.
pub fn iam_actions(sdk_service: &str, operation: &str) -> Vec<String> {
    let prefix = iam_prefix(sdk_service);
    let renamed: &[&str] = match (prefix.as_str(), operation) {
        ("s3", "HeadObject") => &["GetObject"],
        ("s3", "HeadBucket" | "ListObjects" | "ListObjectsV2") => &["ListBucket"],
        ("s3", "ListObjectVersions") => &["ListBucketVersions"],
        // Deleting versions (as pypictl does) is DeleteObjectVersion.
        ("s3", "DeleteObjects") => &["DeleteObject", "DeleteObjectVersion"],
        _ => &[],
    };
    if renamed.is_empty() {
        vec![format!("{prefix}:{operation}")]
    } else {
        renamed.iter().map(|a| format!("{prefix}:{a}")).collect()
    }
}

/// The statements of [`CALLS`], one per statement id, sorted by id.
pub fn statements(target: &Target) -> Vec<Statement> {
    let mut groups: BTreeMap<&str, (Scope, BTreeSet<String>)> = BTreeMap::new();
    for c in CALLS {
        groups.entry(c.sid).or_insert_with(|| (c.scope, BTreeSet::new())).1.insert(c.action.to_string());
    }
    groups
        .into_iter()
        .map(|(sid, (scope, actions))| {
            // The key decrypts and encrypts the secret for Secrets Manager only.
            let condition = (sid == "PypictlCredentialsKey").then(|| json!({"StringEquals": {"kms:ViaService": format!("secretsmanager.{}.amazonaws.com", target.region)}}));
            Statement { sid: sid.to_string(), actions, resources: target.arns(scope), condition }
        })
        .collect()
}

/// `iam:PassRole` on the service role CloudFormation acts through.
pub fn pass_role(role_arn: &str) -> Statement {
    Statement {
        sid: "PypictlPassCloudFormationRole".into(),
        actions: BTreeSet::from(["iam:PassRole".to_string()]),
        resources: vec![role_arn.to_string()],
        condition: Some(json!({"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}})),
    }
}

/// The commands that need an action, joined: `deploy, diff, upgrade`.
pub fn commands_of(action: &str) -> Option<String> {
    let mut commands: BTreeSet<&str> = BTreeSet::new();
    for c in CALLS.iter().filter(|c| c.action == action) {
        commands.extend(c.commands);
    }
    (!commands.is_empty()).then(|| commands.into_iter().collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client fields of [`super::super::AwsCloud`] → the SDK's service id.
    const CLIENTS: &[(&str, &str)] = &[
        ("backup", "Backup"),
        ("cloudformation", "CloudFormation"),
        ("cloudwatch", "CloudWatch"),
        ("ec2", "EC2"),
        ("ecs", "ECS"),
        ("efs", "EFS"),
        ("elbv2", "Elastic Load Balancing v2"),
        ("kms", "KMS"),
        ("route53", "Route 53"),
        ("s3", "S3"),
        ("secretsmanager", "Secrets Manager"),
        ("sts", "STS"),
    ];

    fn pascal(snake: &str) -> String {
        snake.split('_').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect()
    }

    /// Every `<client>.<operation>()` in src/aws/*.rs, as (service id, operation).
    fn sdk_calls() -> BTreeSet<(&'static str, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
        let mut found = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            // Without whitespace, a call spread over lines reads `self.ec2.describe_subnets()`.
            let text: String = std::fs::read_to_string(&path).unwrap().chars().filter(|c| !c.is_whitespace()).collect();
            for (field, service) in CLIENTS {
                let needle = format!(".{field}.");
                for (at, _) in text.match_indices(&needle) {
                    let rest = &text[at + needle.len()..];
                    let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
                    if !name.is_empty() && rest[name.len()..].starts_with("()") {
                        found.insert((*service, pascal(&name)));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_sdk_call_in_the_sources_has_its_actions_in_the_table() {
        let calls = sdk_calls();
        assert!(calls.len() >= 40, "the scan finds pypictl's SDK calls: {calls:?}");
        let mut missing = Vec::new();
        for (service, operation) in &calls {
            for action in iam_actions(service, operation) {
                if !CALLS.iter().any(|c| c.action == action) {
                    missing.push(format!("{action} ({service} {operation})"));
                }
            }
        }
        assert!(missing.is_empty(), "SDK calls without an entry in CALLS (src/aws/permissions.rs): {missing:?}");
    }

    #[test]
    fn the_engine_extensions_are_allowed() {
        for action in ["cloudformation:ContinueUpdateRollback", "cloudformation:RollbackStack", "cloudformation:DescribeChangeSet"] {
            assert!(commands_of(action).is_some_and(|c| c.contains("deploy")), "{action}");
        }
    }

    #[test]
    fn one_scope_per_statement_and_one_entry_per_action() {
        let mut scopes: BTreeMap<&str, Scope> = BTreeMap::new();
        let mut actions = BTreeSet::new();
        for c in CALLS {
            assert_eq!(*scopes.entry(c.sid).or_insert(c.scope), c.scope, "{}: statement {} has one scope", c.action, c.sid);
            assert!(actions.insert(c.action), "{} twice", c.action);
            assert!(c.sid.starts_with("Pypictl") && c.sid.chars().all(|ch| ch.is_ascii_alphanumeric()), "{}", c.sid);
            assert!(!c.commands.is_empty(), "{}", c.action);
        }
    }

    #[test]
    fn sdk_ids_become_iam_actions() {
        assert_eq!(iam_actions("Elastic Load Balancing v2", "DescribeTargetHealth"), vec!["elasticloadbalancing:DescribeTargetHealth"]);
        assert_eq!(iam_actions("Route 53", "GetHostedZone"), vec!["route53:GetHostedZone"]);
        assert_eq!(iam_actions("Secrets Manager", "GetRandomPassword"), vec!["secretsmanager:GetRandomPassword"]);
        assert_eq!(iam_actions("EFS", "DeleteFileSystem"), vec!["elasticfilesystem:DeleteFileSystem"]);
        assert_eq!(iam_actions("S3", "HeadObject"), vec!["s3:GetObject"]);
        assert_eq!(iam_actions("S3", "DeleteObjects"), vec!["s3:DeleteObject", "s3:DeleteObjectVersion"]);
        assert_eq!(iam_actions("CloudFormation", "DescribeStacks"), vec!["cloudformation:DescribeStacks"]);
        assert_eq!(iam_actions("STS", "GetCallerIdentity"), vec!["sts:GetCallerIdentity"]);
    }
}
