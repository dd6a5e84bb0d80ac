//! The wire level: the compiled binary against moto's server on 127.0.0.1
//! (with pypictl's documented harness extensions, scripts/moto/), in an
//! account seeded with a VPC, subnets, an internet gateway and a hosted zone:
//! deploy → status → deploy again (no changes) → destroy.

use crate::common;

use common::{stderr, stdout, Moto};
use serde_json::Value;

#[test]
fn deploy_status_redeploy_destroy() {
    let moto = Moto::start();
    let seed = moto.seed();
    let work = tempfile::tempdir().unwrap();
    let config = moto.config(&seed, "heavy", work.path());

    // Without a terminal and without --yes nothing is deployed: exit 2.
    let a = moto.pypictl().args(["deploy", "--progress", "events", "-c"]).arg(&config).assert().code(2);
    assert!(stderr(&a).contains("deploy again with --yes"), "{}", stderr(&a));
    assert!(stdout(&a).contains("Changes to pypi:"), "the preview is shown first:\n{}", stdout(&a));
    assert!(stdout(&a).contains("(10 uploaded, 0 unchanged)"), "{}", stdout(&a));
    let a = moto.pypictl().args(["status", "-c"]).arg(&config).assert().code(1);
    assert!(stderr(&a).contains("does not exist"), "nothing was created: {}", stderr(&a));

    // Deploy: one plain line per event, then the URL and the next command.
    let a = moto.pypictl().args(["--yes", "deploy", "--progress", "events", "-c"]).arg(&config).assert();
    let out = stdout(&a);
    assert!(a.get_output().status.success(), "deploy failed:\n{out}\n{}\n--- moto log ---\n{}", stderr(&a), moto.log());
    assert!(out.contains("==> Checking prerequisites in us-east-1"), "{out}");
    // The declined attempt above staged the templates already: content-addressed, none is uploaded twice.
    assert!(out.contains("Staged templates in s3://") && out.contains("(0 uploaded, 10 unchanged)"), "{out}");
    assert!(out.lines().any(|l| l.contains("  Storage ") && l.contains("FileSystem") && l.contains("CREATE_COMPLETE")), "per-resource event lines:\n{out}");
    assert!(out.contains("✔ pypi: CREATE_COMPLETE") && out.contains("https://pypi.example.com/") && out.contains("pypictl creds"), "{out}");
    assert!(!out.contains('\u{1b}'), "no escape codes in events mode");

    // Status: root and nested stacks, outputs.
    let a = moto.pypictl().args(["--output", "json", "status", "-c"]).arg(&config).assert().success();
    let status: Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(status["status"], "CREATE_COMPLETE");
    assert_eq!(status["nested"].as_array().unwrap().len(), 9);
    assert!(status["nested"].as_array().unwrap().iter().all(|n| n["status"] == "CREATE_COMPLETE"));
    assert!(status["outputs"]["PypiUserSecretArn"].as_str().unwrap().starts_with("arn:aws:secretsmanager:"));
    assert_eq!(status["service"]["desired"], 12);

    // The same configuration again: no changes, exit 0, nothing uploaded.
    let a = moto.pypictl().args(["--yes", "deploy", "--progress", "events", "-c"]).arg(&config).assert().success();
    assert!(stdout(&a).contains("No changes: pypi already matches the configuration."), "{}", stdout(&a));
    assert!(stdout(&a).contains("(0 uploaded, 10 unchanged)"), "{}", stdout(&a));

    // Destroy: what goes, what is kept (with ids), typed confirmation or --yes.
    let a = moto.pypictl().args(["destroy", "-c"]).arg(&config).assert().code(2);
    assert!(stderr(&a).contains("pass --yes"));
    let a = moto.pypictl().args(["--yes", "destroy", "--progress", "events", "-c"]).arg(&config).assert();
    let out = stdout(&a);
    assert!(a.get_output().status.success(), "destroy failed:\n{out}\n{}", stderr(&a));
    assert!(out.contains("Destroying pypi (CREATE_COMPLETE): 9 nested stacks"), "{out}");
    for kept in ["AWS::EFS::FileSystem", "AWS::Backup::BackupVault", "AWS::SecretsManager::Secret", "AWS::KMS::Key"] {
        assert!(out.lines().any(|l| l.contains(kept) && l.starts_with("  ")), "{kept} listed as kept:\n{out}");
    }
    assert!(out.contains("✔ pypi deleted."), "{out}");
    let fs_id = out.lines().find(|l| l.contains("AWS::EFS::FileSystem")).and_then(|l| l.split_whitespace().last()).unwrap().to_string();
    assert!(fs_id.starts_with("fs-"), "{fs_id}");
    moto.pypictl().args(["status", "-c"]).arg(&config).assert().code(1);
}

#[test]
fn prerequisites_are_checked_before_anything_changes() {
    let moto = Moto::start();
    let mut seed = moto.seed();
    seed["asg_subnets"] = serde_json::json!(["subnet-0123456789abcdef0", seed["asg_subnets"][0].clone()]);
    let work = tempfile::tempdir().unwrap();
    let config = moto.config(&seed, "heavy", work.path());
    let a = moto.pypictl().args(["--yes", "deploy", "-c"]).arg(&config).assert().code(2);
    let err = stderr(&a);
    assert!(err.contains("subnet subnet-0123456789abcdef0 does not exist in us-east-1"), "{err}");
    assert!(err.contains("fix:"), "{err}");
    moto.pypictl().args(["status", "-c"]).arg(&config).assert().code(1);
}

#[test]
fn force_destroy_data_deletes_what_is_otherwise_kept() {
    let moto = Moto::start();
    let seed = moto.seed();
    let work = tempfile::tempdir().unwrap();
    let config = moto.config(&seed, "light", work.path());
    let a = moto.pypictl().args(["--yes", "deploy", "--progress", "events", "-c"]).arg(&config).assert();
    assert!(a.get_output().status.success(), "{}\n{}", stdout(&a), stderr(&a));
    let a = moto.pypictl().args(["--yes", "destroy", "--force-destroy-data", "--progress", "events", "-c"]).arg(&config).assert();
    let out = stdout(&a);
    assert!(a.get_output().status.success(), "{out}\n{}\n{}", stderr(&a), moto.log());
    assert!(out.contains("--force-destroy-data: these are deleted too"), "{out}");
    for deleted in ["file system fs-", "backup vault pypi-backups-", "scheduled for deletion in 7 days"] {
        assert!(out.contains(deleted), "{deleted}:\n{out}");
    }
    assert!(!out.contains("Kept:"), "nothing kept:\n{out}");
}
