//! Facts of AWS that the templates rely on and that no emulator enforces,
//! one test each, over the synthesized templates of every example. Each
//! test names its source (an AWS documentation page or a public issue); a
//! test fails when the template stops respecting the fact.

mod common;

use pypictl_stacks::app::Assembly;
use pypictl_stacks::components::{compute, network, Ctx};
use pypictl_stacks::Config;
use serde_json::Value;

fn template(a: &Assembly, name: &str) -> Value {
    common::json(&a.nested(name).unwrap_or_else(|| panic!("no {name} stack")).body)
}

fn resources<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"].as_object().unwrap().iter().filter(|(_, r)| r["Type"] == ty).collect()
}

fn one<'a>(t: &'a Value, ty: &str) -> (&'a String, &'a Value) {
    let found = resources(t, ty);
    assert_eq!(found.len(), 1, "expected one {ty}");
    found[0]
}

fn all() -> Vec<(String, Assembly)> {
    common::examples().into_iter().map(|(n, _)| (n.clone(), common::example(&n))).collect()
}

/// `text` with `table.key` set to `value` (the table created if need be).
fn set(text: &str, table: &str, key: &str, value: toml::Value) -> String {
    let mut cfg: toml::Table = toml::from_str(text).unwrap();
    let t = cfg.entry(table).or_insert_with(|| toml::Table::new().into()).as_table_mut().unwrap();
    t.insert(key.into(), value);
    toml::to_string(&cfg).unwrap()
}

/// An example's configuration with CloudFront switched on: a certificate
/// ARN in us-east-1, and no client CIDRs or internal load balancer, which
/// CloudFront excludes.
fn with_cloudfront(text: &str) -> String {
    let mut cfg: toml::Table = toml::from_str(text).unwrap();
    if let Some(lb) = cfg.get_mut("load_balancer").and_then(|lb| lb.as_table_mut()) {
        lb.remove("allowed_cidrs");
        lb.remove("internal");
    }
    // CloudFront delivers no logs to buckets in some regions (validation refuses those).
    let region = cfg["region"].as_str().unwrap_or_default().to_string();
    if pypictl_stacks::validate::CLOUDFRONT_NO_LOG_REGIONS.contains(&region.as_str()) {
        cfg.insert("region".into(), "eu-west-1".into());
    }
    let text = toml::to_string(&cfg).unwrap();
    let text = set(&text, "cloudfront", "enabled", true.into());
    set(&text, "cloudfront", "certificate_arn", "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666".into())
}

/// Whether `v` references `logical_id` (Ref, Fn::GetAtt, or `${Id}` in Fn::Sub).
fn references(v: &Value, logical_id: &str) -> bool {
    match v {
        Value::Object(m) => {
            if m.get("Ref").and_then(Value::as_str) == Some(logical_id) {
                return true;
            }
            if let Some(Value::Array(a)) = m.get("Fn::GetAtt") {
                if a.first().and_then(Value::as_str) == Some(logical_id) {
                    return true;
                }
            }
            if let Some(sub) = m.get("Fn::Sub") {
                let text = match sub {
                    Value::String(s) => Some(s.as_str()),
                    Value::Array(a) => a.first().and_then(Value::as_str),
                    _ => None,
                };
                if text.is_some_and(|t| t.contains(&format!("${{{logical_id}}}")) || t.contains(&format!("${{{logical_id}."))) {
                    return true;
                }
            }
            m.values().any(|x| references(x, logical_id))
        }
        Value::Array(a) => a.iter().any(|x| references(x, logical_id)),
        _ => false,
    }
}

/// "You can't delete a cluster that has registered container instances"
/// (ECS API reference, DeleteCluster). CloudFormation deletes a resource only
/// after everything that references it: the launch template's user data must
/// reference the cluster (not write its name out), so the instances go first.
#[test]
fn the_instances_are_deleted_before_their_cluster() {
    for (name, a) in all() {
        let t = template(&a, "compute");
        let (_, lt) = one(&t, "AWS::EC2::LaunchTemplate");
        let user_data = &lt["Properties"]["LaunchTemplateData"]["UserData"];
        assert!(references(user_data, compute::CLUSTER_LOGICAL_ID), "{name}: the user data must reference the cluster: {user_data}");
        let (asg_id, asg) = one(&t, "AWS::AutoScaling::AutoScalingGroup");
        assert!(references(&asg["Properties"], "LaunchTemplate"), "{name}: {asg_id} builds on the launch template");
    }
}

/// CloudFormation cannot delete an Auto Scaling group whose instances are
/// protected from scale in: `destroy` and the rollback of a failed create
/// hang (aws-cdk issues 18179 and 14732). Managed termination protection
/// requires that protection, so it is off too; managed draining is on.
#[test]
fn the_auto_scaling_group_can_always_be_deleted() {
    for (name, a) in all() {
        let t = template(&a, "compute");
        let (_, asg) = one(&t, "AWS::AutoScaling::AutoScalingGroup");
        assert_eq!(asg["Properties"]["NewInstancesProtectedFromScaleIn"], false, "{name}");
        let (_, cp) = one(&t, "AWS::ECS::CapacityProvider");
        let provider = &cp["Properties"]["AutoScalingGroupProvider"];
        assert_eq!(provider["ManagedTerminationProtection"], "DISABLED", "{name}");
        assert_eq!(provider["ManagedDraining"], "ENABLED", "{name}");
    }
}

/// "The name can't be prefixed with "aws", "ecs", or "fargate"" (ECS API
/// reference, CreateCapacityProvider). A generated name starts with the
/// nested stack's name, so the capacity provider is named explicitly.
#[test]
fn the_capacity_provider_has_an_allowed_name() {
    for (name, a) in all() {
        let t = template(&a, "compute");
        let (_, cp) = one(&t, "AWS::ECS::CapacityProvider");
        let cp_name = cp["Properties"]["Name"].as_str().unwrap_or_else(|| panic!("{name}: the capacity provider is named"));
        let lower = cp_name.to_ascii_lowercase();
        assert!(!["aws", "ecs", "fargate"].iter().any(|p| lower.starts_with(p)), "{name}: {cp_name}");
        assert!(cp_name.len() <= 255 && cp_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{name}: {cp_name}");
    }
}

/// "You can't delete a backup vault that contains recovery points" (AWS
/// Backup API reference, DeleteBackupVault): a vault CloudFormation would
/// delete fails the stack's deletion after the first backup. The vault is
/// always retained; `destroy --force-destroy-data` empties and deletes it.
#[test]
fn the_backup_vault_is_always_retained() {
    for (name, text) in common::examples() {
        let text = set(&text, "backup", "force_destroy", true.into());
        let a = pypictl_stacks::app::synthesize(&common::deployment(&text)).unwrap();
        let Some(backup) = a.nested("backup") else { continue };
        let t = common::json(&backup.body);
        let (_, vault) = one(&t, "AWS::Backup::BackupVault");
        assert_eq!(vault["DeletionPolicy"], "RetainExceptOnCreate", "{name}: with force_destroy = true too");
        assert_eq!(vault["UpdateReplacePolicy"], "Retain", "{name}");
    }
}

/// "You must delete all objects (including all object versions and delete
/// markers) in the bucket before the bucket itself can be deleted" (S3 API
/// reference, DeleteBucket), and the load balancer (CloudFront: up to hours
/// late) writes logs until it is gone. Log buckets are retained and emptied
/// after the stack, whatever access_log_force_destroy says.
#[test]
fn log_buckets_are_always_retained() {
    for (name, text) in common::examples() {
        let text = set(&with_cloudfront(&text), "load_balancer", "access_log_force_destroy", true.into());
        let a = pypictl_stacks::app::synthesize(&common::deployment(&text)).unwrap();
        for stack in ["load_balancer", "cdn"] {
            let t = template(&a, stack);
            for (id, bucket) in resources(&t, "AWS::S3::Bucket") {
                assert_eq!(bucket["DeletionPolicy"], "Retain", "{name}: {stack} {id}");
            }
        }
    }
}

/// The proxy image's tag must be one nginx's publishing script for ECR
/// Public pushes (sync-awsecr.sh in github.com/nginx/docker-nginx): the full
/// version, X.Y, stable, X.Y-<suite> or stable-<suite>; never
/// X.Y.Z-<suite>, which does not exist there (every task would fail with
/// CannotPullContainerError).
#[test]
fn the_proxy_image_tag_is_one_that_is_published() {
    let (repo, tag) = pypictl_stacks::proxy::IMAGE.rsplit_once(':').unwrap();
    assert_eq!(repo, "public.ecr.aws/nginx/nginx");
    let parts: Vec<&str> = tag.splitn(2, '-').collect();
    let version: Vec<&str> = parts[0].split('.').collect();
    let numeric = version.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    match (parts.len(), version.len()) {
        (1, 3) | (1, 2) => assert!(numeric, "{tag}"),
        (2, 2) => assert!(numeric, "{tag}: X.Y-<suite>"),
        _ => assert!(parts[0] == "stable", "{tag}: X.Y.Z-<suite> is never published to ECR Public"),
    }
    for (name, a) in all() {
        let t = template(&a, "service");
        let (_, task) = one(&t, "AWS::ECS::TaskDefinition");
        let images: Vec<&str> = task["Properties"]["ContainerDefinitions"].as_array().unwrap().iter().filter_map(|c| c["Image"].as_str()).collect();
        assert!(images.contains(&pypictl_stacks::proxy::IMAGE), "{name}: {images:?}");
    }
}

/// "User data is limited to 16 KB, in raw form, before it is base64-encoded"
/// (EC2 User Guide, "Work with instance user data"): every example fits with
/// the longest stack name CloudFormation can put in.
#[test]
fn user_data_fits_ec2s_limit() {
    for (name, text) in common::examples() {
        let d = common::deployment(&text);
        let ctx = Ctx { cfg: &d.config, cap: &d.capacity };
        let size = compute::user_data_max_bytes(ctx);
        assert!(size <= compute::USER_DATA_LIMIT_BYTES, "{name}: {size} bytes");
        assert!(size > 500, "{name}: the measure counts the real document ({size} bytes)");
    }
}

/// Behind CloudFront, the load balancer admits CloudFront's origin-facing
/// managed prefix list (CloudFront Developer Guide, "Restrict access to
/// Application Load Balancers"), resolved per region at deploy time, and no
/// client CIDR (clients reach CloudFront, not the load balancer). The list
/// weighs 55 rules of a group's 60 (Amazon VPC User Guide, "AWS-managed
/// prefix lists"; "Amazon VPC quotas"): one rule only.
#[test]
fn behind_cloudfront_only_cloudfront_reaches_the_load_balancer() {
    for (name, text) in common::examples() {
        let a = pypictl_stacks::app::synthesize(&common::deployment(&with_cloudfront(&text))).unwrap();
        let t = template(&a, "network");
        let (_, sg) = resources(&t, "AWS::EC2::SecurityGroup").into_iter().find(|(id, _)| *id == "LoadBalancerSecurityGroup").unwrap();
        let ingress = sg["Properties"]["SecurityGroupIngress"].as_array().unwrap();
        assert_eq!(ingress.len(), 1, "{name}: {ingress:?}");
        assert_eq!(ingress[0]["SourcePrefixListId"]["Ref"], network::CLOUDFRONT_PREFIX_LIST_PARAM, "{name}");
        assert_eq!((ingress[0]["FromPort"].as_u64(), ingress[0]["ToPort"].as_u64()), (Some(443), Some(443)));
        assert!(ingress.len() as u32 * network::CLOUDFRONT_PREFIX_LIST_WEIGHT <= network::SECURITY_GROUP_INBOUND_RULES);
        // The root declares the parameter, and pypictl deploy is told to fill it.
        let root = common::json(&a.root_body);
        assert!(root["Parameters"][network::CLOUDFRONT_PREFIX_LIST_PARAM].is_object(), "{name}");
        assert!(a.manifest["root"]["parameters"][network::CLOUDFRONT_PREFIX_LIST_PARAM].is_string(), "{name}");
    }
}

/// Physical names are unique per account and region (ECS clusters and
/// services, log groups, alarms, dashboards, backup plans, capacity
/// providers) and CloudFront cache policies per account: two environments
/// of one service must not share one. Every physical name of the
/// `production` and `staging` synthesis of an example differs.
#[test]
fn two_environments_share_no_physical_name() {
    /// (resource type, path of its physical name in Properties)
    const PHYSICAL_NAMES: &[(&str, &[&str])] = &[
        ("AWS::ECS::Cluster", &["ClusterName"]),
        ("AWS::ECS::Service", &["ServiceName"]),
        ("AWS::ECS::TaskDefinition", &["Family"]),
        ("AWS::ECS::CapacityProvider", &["Name"]),
        ("AWS::Logs::LogGroup", &["LogGroupName"]),
        ("AWS::CloudWatch::Alarm", &["AlarmName"]),
        ("AWS::CloudWatch::Dashboard", &["DashboardName"]),
        ("AWS::ApplicationAutoScaling::ScalingPolicy", &["PolicyName"]),
        ("AWS::Backup::BackupPlan", &["BackupPlan", "BackupPlanName"]),
        ("AWS::Backup::BackupVault", &["BackupVaultName"]),
        ("AWS::SecretsManager::Secret", &["Name"]),
        ("AWS::CloudFront::CachePolicy", &["CachePolicyConfig", "Name"]),
    ];
    let names = |a: &Assembly| -> Vec<(String, String)> {
        let mut out = Vec::new();
        for n in &a.nested {
            let t = common::json(&n.body);
            for (ty, path) in PHYSICAL_NAMES {
                for (id, r) in resources(&t, ty) {
                    let value = path.iter().fold(&r["Properties"], |v, k| &v[*k]);
                    assert!(!value.is_null(), "{ty} {id} has a physical name");
                    out.push((format!("{ty} {id}"), value.to_string()));
                }
            }
        }
        out
    };
    for (name, text) in common::examples() {
        let base: toml::Table = toml::from_str(&with_cloudfront(&text)).unwrap();
        let synth = |env: &str| {
            let mut t = base.clone();
            t.insert("environment".into(), env.into());
            let cfg = Config::from_toml(&toml::to_string(&t).unwrap()).unwrap();
            pypictl_stacks::app::synthesize(&pypictl_stacks::Deployment::new(cfg).unwrap()).unwrap()
        };
        let (prod, staging) = (names(&synth("production")), names(&synth("staging")));
        assert!(prod.len() >= 12, "{name}: {prod:?}");
        for ((what, a), (_, b)) in prod.iter().zip(&staging) {
            // A name ending in the stack's own id (`${Suffix}`) is unique by it.
            if a == b && a.contains("${Suffix}") {
                continue;
            }
            assert_ne!(a, b, "{name}: {what} has the same physical name in both environments");
        }
    }
}

/// CloudWatch dashboards are global to the account (a dashboard's ARN has no
/// region: CloudWatch API reference, PutDashboard): the same deployment in
/// two regions must not share one.
#[test]
fn dashboards_are_named_per_region() {
    for (name, text) in common::examples() {
        let a = pypictl_stacks::app::synthesize(&common::deployment(&text)).unwrap();
        let t = template(&a, "monitoring");
        for (id, d) in resources(&t, "AWS::CloudWatch::Dashboard") {
            let region = common::deployment(&text).config.region;
            let dashboard = d["Properties"]["DashboardName"].as_str().unwrap();
            assert!(dashboard.ends_with(&format!("-{region}")), "{name}: {id} {dashboard}");
        }
    }
}

/// A failed first deploy rolls back; with `Retain`, each attempt left a KMS
/// key, a file system, a secret and a vault behind. `RetainExceptOnCreate`
/// deletes them when the operation that created them rolls back (empty then)
/// and keeps them on every later deletion ("DeletionPolicy attribute",
/// CloudFormation User Guide). It is not a valid UpdateReplacePolicy, which
/// stays Retain. The log buckets keep Retain: the load balancer writes a test
/// object into its bucket as soon as logging is set up, so a rollback could
/// not delete it anyway.
#[test]
fn stateful_resources_are_deleted_only_by_the_rollback_of_their_creation() {
    for (name, text) in common::examples() {
        let a = pypictl_stacks::app::synthesize(&common::deployment(&text)).unwrap();
        for n in &a.nested {
            let t = common::json(&n.body);
            for (id, r) in t["Resources"].as_object().unwrap() {
                let ty = r["Type"].as_str().unwrap();
                if ["AWS::EFS::FileSystem", "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::Backup::BackupVault"].contains(&ty) {
                    assert_eq!(r["DeletionPolicy"], "RetainExceptOnCreate", "{name}/{}: {id}", n.name);
                    assert_eq!(r["UpdateReplacePolicy"], "Retain", "{name}/{}: {id}", n.name);
                }
                if ty == "AWS::S3::Bucket" {
                    assert_eq!(r["DeletionPolicy"], "Retain", "{name}/{}: {id}", n.name);
                }
                assert_ne!(r["UpdateReplacePolicy"], "RetainExceptOnCreate", "{name}/{}: {id}", n.name);
            }
        }
    }
}

/// ECS injects a secret referenced by its ARN alone as its whole JSON text;
/// a `valueFrom` naming a JSON key or a version stage makes the task fail to
/// start when the key or stage is absent ("Pass Secrets Manager secrets
/// through Amazon ECS environment variables", Amazon ECS Developer Guide:
/// "ResourceInitializationError … did not contain json key"). A rotation
/// stages `pending_password` only while it runs, so every container reads
/// each secret whole, and the secret the read role keeps its logical id
/// (a new one would be a new secret: every client's password changes).
#[test]
fn secrets_are_injected_whole_so_a_staged_password_may_come_and_go() {
    for (name, a) in all() {
        let creds = template(&a, "credentials");
        let secrets = resources(&creds, "AWS::SecretsManager::Secret");
        let ids: Vec<&str> = secrets.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["Credentials", "PublishCredentials"], "{name}");
        let service = template(&a, "service");
        let (_, task) = one(&service, "AWS::ECS::TaskDefinition");
        let mut injected = 0;
        for c in task["Properties"]["ContainerDefinitions"].as_array().unwrap() {
            for s in c["Secrets"].as_array().into_iter().flatten() {
                injected += 1;
                let from = &s["ValueFrom"];
                assert!(from.get("Ref").is_some(), "{name}: {} reads {} as {from}: the secret's ARN alone (an imported parameter)", c["Name"], s["Name"]);
            }
        }
        assert_eq!(injected, 4, "{name}: both secrets into pypiserver and the proxy");
    }
}

/// An ECS task volume on EFS with an access point mounts that access
/// point's root and nothing above it ("Specifying an Amazon EFS file system
/// in your task definition", Amazon ECS Developer Guide: the root directory
/// must be omitted or "/" with an access point). The proxy buffers upload
/// bodies in a directory beside the packages, so it needs an access point
/// rooted there; with IAM authorization the task role must be
/// allowed through both access points (the condition key
/// elasticfilesystem:AccessPointArn, "Using IAM to control file system data
/// access", Amazon EFS User Guide).
#[test]
fn the_proxy_writes_only_the_upload_scratch_directory() {
    for (name, a) in all() {
        let storage = template(&a, "storage");
        let roots: Vec<&str> = resources(&storage, "AWS::EFS::AccessPoint")
            .iter()
            .map(|(_, ap)| ap["Properties"]["RootDirectory"]["Path"].as_str().unwrap())
            .collect();
        assert_eq!(roots, ["/packages", "/upload-buffers"], "{name}");
        // The EFS API's pattern for RootDirectory.Path (AWS::EFS::AccessPoint
        // RootDirectory, CloudFormation reference; cfn-lint E3031): 1-4
        // segments, none starting with a dot.
        for root in &roots {
            let ok = *root == "/" || (root.starts_with('/') && (1..=4).contains(&root[1..].split('/').count()) && root[1..].split('/').all(|seg| !seg.is_empty() && !seg.starts_with('.') && !seg.contains(['$', '#', '<', '>', ';', '`', '|', '&', '?', '{', '}', '^', '*', '\n'])));
            assert!(ok, "{name}: {root} is not a path EFS accepts for an access point's root");
        }
        let service = template(&a, "service");
        let (_, task) = one(&service, "AWS::ECS::TaskDefinition");
        let volumes = task["Properties"]["Volumes"].as_array().unwrap();
        for v in volumes.iter().filter(|v| v.get("EFSVolumeConfiguration").is_some()) {
            let efs = &v["EFSVolumeConfiguration"];
            assert!(efs.get("RootDirectory").is_none(), "{name}: {} mounts its access point's root", v["Name"]);
            assert_eq!(efs["AuthorizationConfig"]["IAM"], "ENABLED");
        }
        let proxy = task["Properties"]["ContainerDefinitions"].as_array().unwrap().iter().find(|c| c["Name"] == "proxy").unwrap();
        let writable: Vec<&str> = proxy["MountPoints"].as_array().unwrap().iter().filter(|m| m["ReadOnly"] == false).map(|m| m["SourceVolume"].as_str().unwrap()).collect();
        assert_eq!(writable, ["upload-buffers"], "{name}: the proxy writes no package");
        let (_, role) = resources(&service, "AWS::IAM::Role").into_iter().find(|(id, _)| id.as_str() == "TaskRole").unwrap();
        let condition = &role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"];
        assert_eq!(condition.as_array().map(Vec::len), Some(2), "{name}: both access points: {condition}");
    }
}
