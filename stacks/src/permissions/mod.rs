//! Least privilege for a deployment: the IAM actions CloudFormation calls to
//! create, update, delete and read each resource type the templates declare
//! (on the caller's behalf when no service role is given, else as that
//! role), and the ARNs they can be scoped to. Pure: a deployment and an
//! assembly in, policy statements out. `pypictl iam-policy` adds the calls
//! pypictl itself makes (src/aws/permissions.rs) and prints the document.
//!
//! `actions` holds the resource type → actions table ([`RESOURCE_ACTIONS`]);
//! `scope` the deployment's names and the ARNs each action is scoped to
//! ([`Target`], [`Scope`]); this module the statements and documents built
//! from both, and the matching of action patterns.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::app::Assembly;

mod actions;
mod scope;

pub use actions::{actions_of, NOT_NEEDED, RESOURCE_ACTIONS};
pub use scope::{partition, resource_scope, Scope, Target};

/// One statement of a policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub actions: BTreeSet<String>,
    pub resources: Vec<String>,
    /// `{"StringEquals": {"iam:PassedToService": [...]}}` and the like.
    pub condition: Option<Value>,
}

impl Statement {
    pub fn to_json(&self) -> Value {
        let mut s = Map::new();
        s.insert("Sid".into(), json!(self.sid));
        s.insert("Effect".into(), json!("Allow"));
        s.insert("Action".into(), json!(self.actions));
        let resource = if self.resources.len() == 1 { json!(self.resources[0]) } else { json!(self.resources) };
        s.insert("Resource".into(), resource);
        if let Some(c) = &self.condition {
            s.insert("Condition".into(), c.clone());
        }
        Value::Object(s)
    }
}

/// `{"Version": "2012-10-17", "Statement": [...]}`.
pub fn document(statements: &[Statement]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements.iter().map(Statement::to_json).collect::<Vec<_>>()})
}

/// Whether an IAM action pattern (`*` and `?` wildcards, case-insensitive
/// as IAM compares actions) matches an action.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// Every resource type the deployment's templates declare: the root, the
/// nested stacks and the staging bucket's stack.
pub fn resource_types(assembly: &Assembly) -> BTreeSet<&'static str> {
    let mut types: BTreeSet<&'static str> = assembly.root.resource_types().map(|(_, t)| t).collect();
    for n in &assembly.nested {
        types.extend(n.template.resource_types().map(|(_, t)| t));
    }
    types.extend(crate::staging::template().resource_types().map(|(_, t)| t));
    types
}


/// Actions CloudFormation needs for the templates' parameters: an
/// `AWS::SSM::Parameter::Value<...>` parameter is read from SSM.
fn parameter_actions(assembly: &Assembly) -> BTreeSet<&'static str> {
    let bodies = std::iter::once(assembly.root_body.as_str()).chain(assembly.nested.iter().map(|n| n.body.as_str()));
    let ssm = bodies.filter_map(|b| serde_json::from_str::<Value>(b).ok()).any(|t| {
        t["Parameters"].as_object().is_some_and(|ps| ps.values().any(|p| p["Type"].as_str().is_some_and(|ty| ty.starts_with("AWS::SSM::Parameter::"))))
    });
    if ssm {
        BTreeSet::from(["ssm:GetParameters"])
    } else {
        BTreeSet::new()
    }
}

/// The services that receive the roles the templates create: EC2 (the
/// instance profile), ECS tasks, AWS Backup.
pub const ROLE_SERVICES: &[&str] = &["backup.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"];

fn pascal(service: &str) -> String {
    service
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// What CloudFormation does for the templates, as statements: one per IAM
/// service and scope (`Cfn<Service><Scope>`), sorted by id, and
/// `iam:PassRole` on the roles the templates create, only to the services
/// that use them. Errors name the resource types without an entry.
pub fn resource_statements(assembly: &Assembly, target: &Target) -> Result<Vec<Statement>, String> {
    let types = resource_types(assembly);
    let missing: Vec<&str> = types.iter().copied().filter(|t| actions_of(t).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!("no IAM actions known for {} (stacks/src/permissions/actions.rs)", missing.join(", ")));
    }
    let mut actions: BTreeSet<&str> = types.iter().flat_map(|t| actions_of(t).unwrap_or_default().iter().copied()).collect();
    actions.extend(parameter_actions(assembly));
    let mut groups: BTreeMap<String, (Scope, BTreeSet<String>)> = BTreeMap::new();
    let mut pass_role = false;
    for action in actions {
        if action == "iam:PassRole" {
            pass_role = true;
            continue;
        }
        let service = action.split(':').next().unwrap_or(action);
        let scope = resource_scope(action);
        let sid = format!("Cfn{}{}", pascal(service), scope.label());
        groups.entry(sid).or_insert_with(|| (scope, BTreeSet::new())).1.insert(action.to_string());
    }
    let mut statements: Vec<Statement> = groups
        .into_iter()
        .map(|(sid, (scope, actions))| Statement { sid, actions, resources: target.arns(scope), condition: None })
        .collect();
    if pass_role {
        statements.push(Statement {
            sid: "CfnPassRoles".into(),
            actions: BTreeSet::from(["iam:PassRole".to_string()]),
            resources: target.arns(Scope::Roles),
            condition: Some(json!({"StringEquals": {"iam:PassedToService": ROLE_SERVICES}})),
        });
    }
    statements.sort_by(|a, b| a.sid.cmp(&b.sid));
    Ok(statements)
}

/// The staging bucket's stack is created with the deployer's own
/// credentials, service role or not: its resources' actions, on the
/// staging bucket only (`PypictlStagingBucketStack`).
pub fn staging_statement(target: &Target) -> Statement {
    let actions = crate::staging::template()
        .resource_types()
        .flat_map(|(_, t)| actions_of(t).unwrap_or_default().iter())
        // The bucket has no replication role to pass.
        .filter(|a| a.starts_with("s3:"))
        .map(|a| a.to_string())
        .collect();
    Statement { sid: "PypictlStagingBucketStack".into(), actions, resources: target.arns(Scope::StagingBucket), condition: None }
}

/// The trust policy of a CloudFormation service role.
pub fn cloudformation_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::validate::Deployment;

    pub(super) fn examples() -> Vec<(String, Deployment)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/examples");
        let mut out: Vec<(String, Deployment)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| {
                let cfg = Config::from_toml(&std::fs::read_to_string(&p).unwrap()).unwrap();
                (p.file_stem().unwrap().to_string_lossy().into_owned(), Deployment::new(cfg).unwrap())
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(out.len() >= 6, "the example configurations in {}", dir.display());
        out
    }

    #[test]
    fn every_resource_type_of_every_example_has_its_actions() {
        let mut seen = BTreeSet::new();
        for (name, d) in examples() {
            let assembly = crate::app::synthesize(&d).unwrap();
            for t in resource_types(&assembly) {
                assert!(actions_of(t).is_some(), "{name}: {t} has no entry in RESOURCE_ACTIONS: add the IAM actions CloudFormation needs for it");
                seen.insert(t);
            }
            resource_statements(&assembly, &Target::new(&d.config, None)).unwrap();
        }
        // No entry outlives its type.
        for (t, _) in RESOURCE_ACTIONS {
            assert!(seen.contains(t), "{t}: no example uses it any more; remove its entry");
        }
    }

    #[test]
    fn the_staging_stack_needs_only_s3_on_its_bucket() {
        let cfg = examples().remove(0).1.config;
        let s = staging_statement(&Target::new(&cfg, None));
        assert!(s.actions.contains("s3:CreateBucket") && s.actions.contains("s3:PutBucketPolicy") && s.actions.contains("s3:DeleteBucket"), "{s:?}");
        let staging: BTreeSet<&str> = crate::staging::template().resource_types().map(|(_, t)| t).collect();
        let all: usize = staging.iter().map(|t| actions_of(t).unwrap().iter().filter(|a| **a != "iam:PassRole").count()).sum();
        assert!(s.actions.len() <= all && s.actions.iter().all(|a| a.starts_with("s3:")));
        assert_eq!(s.resources, vec!["arn:aws:s3:::pypictl-staging-*".to_string()]);
    }

    #[test]
    fn wildcards_match_as_iam_matches_actions() {
        assert!(action_matches("ec2:Describe*", "ec2:DescribeVpcs"));
        assert!(action_matches("s3:*", "s3:PutObject"));
        assert!(action_matches("*", "sts:GetCallerIdentity"));
        assert!(action_matches("cloudformation:describestacks", "cloudformation:DescribeStacks"));
        assert!(action_matches("ec2:Describe?pcs", "ec2:DescribeVpcs"));
        assert!(!action_matches("ec2:Describe*", "ec2:RunInstances"));
        assert!(!action_matches("s3:Get*", "s3:PutObject"));
        assert!(!action_matches("ecs:DescribeServices", "ecs:DescribeService"));
    }

    #[test]
    fn pass_role_only_to_the_services_that_use_the_roles() {
        let (_, d) = examples().into_iter().find(|(n, _)| n == "all-features").unwrap();
        let statements = resource_statements(&crate::app::synthesize(&d).unwrap(), &Target::new(&d.config, None)).unwrap();
        let pass: Vec<&Statement> = statements.iter().filter(|s| s.actions.contains("iam:PassRole")).collect();
        assert_eq!(pass.len(), 1);
        assert_eq!(pass[0].resources, vec!["arn:aws:iam::*:role/packages-prod-*".to_string()]);
        assert!(pass[0].condition.is_some());
        let sids: Vec<&str> = statements.iter().map(|s| s.sid.as_str()).collect();
        let mut sorted = sids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sids, sorted, "sorted, unique statement ids");
        // all-features names its AMI; heavy reads the ECS-optimized one from SSM.
        assert!(!statements.iter().any(|s| s.actions.contains("ssm:GetParameters")));
        let (_, d) = examples().into_iter().find(|(n, _)| n == "heavy").unwrap();
        let statements = resource_statements(&crate::app::synthesize(&d).unwrap(), &Target::new(&d.config, None)).unwrap();
        assert!(statements.iter().any(|s| s.actions.contains("ssm:GetParameters")), "the AMI parameter");
    }
}
