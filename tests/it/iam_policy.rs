//! `pypictl iam-policy`: the policy is complete, proven by recording.
//!
//! - Every IAM action the emulator flows call (deploy, status, diff, creds,
//!   creds --rotate, upgrade, doctor, destroy --force-destroy-data, each run
//!   with `PYPICTL_RECORD_API_CALLS`) is allowed by the printed policy, with
//!   and without a CloudFormation service role.
//! - The resource-type table covers the create/update/delete/read
//!   permissions of the resource provider schemas the pinned cfn-lint ships.
//! - The output for example configurations is kept in fixtures/iam-policy/:
//!   regenerate with `PYPICTL_UPDATE_GOLDEN=1 cargo test --test it -- iam_policy`
//!   and review the diff.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{stderr, stdout, Moto};
use pypictl_stacks::permissions::{action_matches, RESOURCE_ACTIONS, NOT_NEEDED};
use serde_json::Value;


const ROLE: &str = "arn:aws:iam::123456789012:role/pypictl-cloudformation";

/// `pypictl iam-policy -c config <extra>`: the document and stderr.
fn policy(config: &Path, extra: &[&str]) -> (Value, String) {
    let a = common::pypictl().args(["iam-policy", "-c"]).arg(config).args(extra).assert().success();
    let doc: Value = serde_json::from_str(&stdout(&a)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&a)));
    (doc, stderr(&a))
}

/// Every action pattern the document allows.
fn allowed(doc: &Value) -> Vec<String> {
    assert_eq!(doc["Version"], "2012-10-17");
    let mut out = Vec::new();
    for s in doc["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Allow");
        match &s["Action"] {
            Value::String(a) => out.push(a.clone()),
            Value::Array(a) => out.extend(a.iter().map(|x| x.as_str().unwrap().to_string())),
            other => panic!("Action: {other}"),
        }
    }
    out
}

fn denied<'a>(recorded: &'a BTreeSet<String>, doc: &Value) -> Vec<&'a str> {
    let patterns = allowed(doc);
    recorded.iter().map(String::as_str).filter(|a| !patterns.iter().any(|p| action_matches(p, a))).collect()
}

#[test]
fn the_policy_of_examples_matches_its_golden_files() {
    let update = std::env::var_os("PYPICTL_UPDATE_GOLDEN").is_some();
    let dir = common::repo_root().join("fixtures/iam-policy");
    let cases: [(&str, &str, &[&str]); 3] = [
        ("heavy", "heavy.json", &[]),
        ("all-features", "all-features.deployer-with-role.json", &["--role-arn", ROLE]),
        ("all-features", "all-features.cloudformation-role.json", &["--role-arn", ROLE, "--for", "cloudformation-role"]),
    ];
    let mut failures = Vec::new();
    for (example, file, extra) in cases {
        let a = common::pypictl().args(["iam-policy", "-c"]).arg(common::example(example)).args(extra).assert().success();
        let out = stdout(&a);
        // Deterministic: the same output twice.
        let again = common::pypictl().args(["iam-policy", "-c"]).arg(common::example(example)).args(extra).assert().success();
        assert_eq!(out, stdout(&again), "{file}");
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &out).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(golden) if golden == out => {}
            Ok(_) => failures.push(format!("{file}: the output differs from {}", path.display())),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}\nIf intended: PYPICTL_UPDATE_GOLDEN=1 cargo test --test it -- iam_policy, then review the diff.", failures.join("\n"));
}

#[test]
fn the_modes_print_what_each_identity_needs() {
    let config = common::example("all-features");
    let (full, _) = policy(&config, &[]);
    let (deployer, _) = policy(&config, &["--role-arn", ROLE]);
    let (role, err) = policy(&config, &["--role-arn", ROLE, "--for", "cloudformation-role"]);
    let sids = |doc: &Value| doc["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap().to_string()).collect::<Vec<_>>();

    // Without a role the deployer needs both parts; with one, only its own
    // calls and iam:PassRole on the role, which holds the resource part.
    // (The staging bucket's stack is the deployer's either way: without a
    // role, the Cfn statements hold it.)
    let own = ["PypictlPassCloudFormationRole", "PypictlStagingBucketStack"];
    assert_eq!(sids(&full), [sids(&deployer).into_iter().filter(|s| !own.contains(&s.as_str())).collect::<Vec<_>>(), sids(&role)].concat());
    let staging = deployer["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "PypictlStagingBucketStack").unwrap();
    assert_eq!(staging["Resource"], "arn:aws:s3:::pypictl-staging-*");
    let pass = deployer["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "PypictlPassCloudFormationRole").unwrap();
    assert_eq!(pass["Action"], serde_json::json!(["iam:PassRole"]));
    assert_eq!(pass["Resource"], ROLE);
    assert_eq!(pass["Condition"]["StringEquals"]["iam:PassedToService"], "cloudformation.amazonaws.com");
    assert!(!allowed(&deployer).iter().any(|a| a.starts_with("ec2:RunInstances") || a.starts_with("iam:CreateRole")), "the deployer with a role creates nothing itself");
    assert!(allowed(&role).iter().any(|a| a == "iam:CreateRole") && allowed(&role).iter().any(|a| a == "cloudfront:CreateDistribution"));

    // The trust policy as a comment line on stderr; the account from the role.
    let trust = err.lines().find(|l| l.starts_with("# trust policy")).unwrap_or_else(|| panic!("{err}"));
    assert!(trust.contains(r#""Service":"cloudformation.amazonaws.com""#) && trust.contains("sts:AssumeRole"), "{trust}");
    let text = serde_json::to_string(&role).unwrap();
    assert!(text.contains("arn:aws:cloudformation:eu-west-1:123456789012:stack/packages-prod/*"), "{text}");
    assert!(text.contains("arn:aws:iam::123456789012:role/packages-prod-*"), "{text}");
    // Without a role the account is not known.
    assert!(serde_json::to_string(&full).unwrap().contains("arn:aws:cloudformation:eu-west-1:*:stack/packages-prod/*"));

    let a = common::pypictl().args(["iam-policy", "--role-arn", "arn:aws:iam::123:user/alice", "-c"]).arg(&config).assert().code(2);
    assert!(stderr(&a).contains("not an IAM role ARN"), "{}", stderr(&a));
}

/// The pinned cfn-lint's resource provider schemas (`cfnlint/data/schemas`).
fn schemas_dir() -> PathBuf {
    let lib = common::tools().join("lint/lib");
    let python = std::fs::read_dir(&lib).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with("python")).unwrap();
    let dir = python.join("site-packages/cfnlint/data/schemas");
    assert!(dir.join("providers/us-east-1.json").exists(), "cfn-lint ships no provider schemas in {}", dir.display());
    dir
}

#[test]
fn the_resource_table_covers_the_provider_schemas_handlers() {
    let dir = schemas_dir();
    let index = common::read_json(&dir.join("providers/us-east-1.json"));
    let mut missing = Vec::new();
    let mut checked = 0;
    for (resource_type, actions) in RESOURCE_ACTIONS {
        let hash = index[*resource_type].as_str().unwrap_or_else(|| panic!("{resource_type}: not in cfn-lint's us-east-1 schemas"));
        let schema = common::read_json(&dir.join("resources").join(format!("{hash}.json")));
        for handler in ["create", "update", "delete", "read"] {
            for p in schema["handlers"][handler]["permissions"].as_array().into_iter().flatten() {
                let p = p.as_str().unwrap();
                checked += 1;
                let covered = actions.iter().any(|a| action_matches(a, p));
                let excused = NOT_NEEDED.iter().any(|(t, prefix, _)| (*t == "*" || t == resource_type) && p.starts_with(prefix));
                if !covered && !excused {
                    missing.push(format!("{resource_type} {handler}: {p}"));
                }
            }
        }
    }
    assert!(checked > 300, "{checked} permissions checked");
    assert!(missing.is_empty(), "permissions of the schemas' handlers missing from RESOURCE_ACTIONS (stacks/src/permissions/actions.rs):\n{}", missing.join("\n"));
}

/// Runs pypictl against the emulator with recording into `record`.
fn run(moto: &Moto, record: &Path, args: &[&str], config: &Path, env: &[(&str, &str)]) -> assert_cmd::assert::Assert {
    moto.pypictl().env("PYPICTL_RECORD_API_CALLS", record).envs(env.iter().copied()).args(args).arg("-c").arg(config).assert()
}

fn succeed(moto: &Moto, record: &Path, args: &[&str], config: &Path, env: &[(&str, &str)]) -> String {
    let a = run(moto, record, args, config, env);
    assert!(a.get_output().status.success(), "pypictl {args:?} failed:\n{}\n{}\n{}", stdout(&a), stderr(&a), moto.log());
    stdout(&a)
}

#[test]
fn every_call_of_the_emulator_flows_is_allowed_by_the_policy() {
    let moto = Moto::start();
    let seed = moto.seed();
    let work = tempfile::tempdir().unwrap();
    let config = moto.config(&seed, "heavy", work.path());
    let record = work.path().join("calls.txt");
    // The service's URL for creds --rotate and doctor: nothing listens there
    // (the rotation's check is then skipped; doctor's HTTP checks fail).
    let closed = [("PYPICTL_SERVICE_URL", "http://127.0.0.1:9")];

    succeed(&moto, &record, &["--yes", "deploy", "--progress", "events"], &config, &[]);
    succeed(&moto, &record, &["--output", "json", "status"], &config, &[]);
    succeed(&moto, &record, &["status", "--watch", "--progress", "events"], &config, &[]);
    // A change, previewed and not executed: the change set is described and deleted.
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, original.replace("[compute]", "[service]\nimage_tag = \"v2.4.1\"\n\n[compute]")).unwrap();
    run(&moto, &record, &["diff", "--fail"], &config, &[]).code(1);
    std::fs::write(&config, &original).unwrap();
    succeed(&moto, &record, &["diff"], &config, &[]);
    succeed(&moto, &record, &["creds", "--format", "json"], &config, &[]);
    succeed(&moto, &record, &["--yes", "creds", "--rotate", "--format", "json", "--progress", "events"], &config, &closed);
    succeed(&moto, &record, &["--yes", "upgrade", "--asg-max", "5", "--progress", "events"], &config, &[]);
    let doctor = run(&moto, &record, &["--output", "json", "doctor"], &config, &closed);
    let code = doctor.get_output().status.code();
    assert!(matches!(code, Some(0 | 1)), "doctor ran its checks: {code:?}\n{}\n{}", stdout(&doctor), stderr(&doctor));
    let out = succeed(&moto, &record, &["--yes", "destroy", "--force-destroy-data", "--progress", "events"], &config, &[]);
    assert!(out.contains("--force-destroy-data: these are deleted too"), "{out}");

    let lines = std::fs::read_to_string(&record).unwrap();
    let recorded: BTreeSet<String> = lines.lines().map(str::to_string).collect();
    for line in &recorded {
        let (service, action) = line.split_once(':').unwrap_or_else(|| panic!("not service:Action: {line:?}"));
        assert!(!service.is_empty() && !service.contains(' ') && action.starts_with(|c: char| c.is_ascii_uppercase()), "{line:?}");
    }
    // The flows did what they are for.
    for expected in [
        "sts:GetCallerIdentity",
        "ec2:DescribeSubnets",
        "route53:GetHostedZone",
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DeleteChangeSet",
        "s3:PutObject",
        "s3:GetObject",
        "ecs:DescribeServices",
        "elasticloadbalancing:DescribeTargetHealth",
        "cloudwatch:DescribeAlarms",
        "secretsmanager:GetSecretValue",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:PutSecretValue",
        "ecs:UpdateService",
        "cloudformation:DeleteStack",
        "elasticfilesystem:DeleteFileSystem",
        "backup:DeleteBackupVault",
        "kms:ScheduleKeyDeletion",
    ] {
        assert!(recorded.contains(expected), "{expected} was not recorded: {recorded:?}");
    }

    let (full, _) = policy(&config, &[]);
    let missing = denied(&recorded, &full);
    assert!(missing.is_empty(), "recorded but not allowed by `pypictl iam-policy`: {missing:?}");
    // With a service role the deployer's own calls are the same.
    let (deployer, _) = policy(&config, &["--role-arn", ROLE]);
    let missing = denied(&recorded, &deployer);
    assert!(missing.is_empty(), "recorded but not allowed by `pypictl iam-policy --role-arn`: {missing:?}");

    println!("{} distinct IAM actions recorded in {} calls, all allowed:", recorded.len(), lines.lines().count());
    for a in &recorded {
        println!("  {a}");
    }
}
