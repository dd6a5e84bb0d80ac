//! Teardown on the wire: the compiled binary against moto's server on
//! 127.0.0.1 with the harness's teardown facts (scripts/moto/pypictl_moto.py:
//! patches ordered-delete, ecs-container-instances,
//! asg-delete-scale-in-protection, backup-vault-not-empty and
//! backup-recovery-points). In AWS a rollback or a `destroy` fails when
//! CloudFormation deletes a cluster that still has container instances, a
//! group whose instances are protected from scale in, or a vault that holds
//! recovery points; these tests show that pypictl's stacks end in a complete
//! state anyway:
//! - a first deploy that fails late rolls back to ROLLBACK_COMPLETE;
//! - `destroy --force-destroy-data` deletes a vault that holds a recovery
//!   point, and plain `destroy` keeps it, with its recovery point.

use crate::common;

use std::path::{Path, PathBuf};

use common::{events, position, stderr, stdout, Moto};
use serde_json::Value;

/// A first deploy whose Service stack fails late (`ScalableTarget`, created
/// after the ECS service) rolls back to ROLLBACK_COMPLETE, not
/// ROLLBACK_FAILED: pypictl exits 1 and the stack can be deleted and
/// recreated by the next deploy.
///
/// Depends on the teardown fixes of the Compute template: (1) the user data's
/// `ECS_CLUSTER=${Cluster}`, a reference that makes CloudFormation delete the
/// Auto Scaling group (whose instances are registered in the cluster, patch
/// ecs-container-instances) before the cluster; (2) no scale-in protection
/// (`NewInstancesProtectedFromScaleIn: false`, managed termination
/// protection DISABLED). With the cluster's name written out instead, the
/// cluster's deletion starts before the group's and ECS refuses it
/// (ClusterContainsContainerInstancesException); with protected instances
/// the group's deletion never completes: either way the Compute stack ends
/// DELETE_FAILED and the root ROLLBACK_FAILED (patch ordered-delete). Both
/// are shown with the same template, edited back, by
/// scripts/moto/smoke.py's check_compute_teardown, and were checked once by
/// hand with the whole tree (the root ended ROLLBACK_FAILED, "The following
/// resource(s) failed to delete: [Compute]").
#[test]
fn failed_first_deploy_rolls_back_to_completion() {
    let moto = Moto::start_with_env(&[("PYPICTL_MOTO_FAIL_RESOURCES", "ScalableTarget")]);
    let seed = moto.seed();
    let work = tempfile::tempdir().unwrap();
    let config = moto.config(&seed, "heavy", work.path());

    let a = moto.pypictl().args(["--yes", "deploy", "--progress", "events", "-c"]).arg(&config).assert();
    let (out, err) = (stdout(&a), stderr(&a));
    assert_eq!(a.get_output().status.code(), Some(1), "the deploy fails:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    let all = format!("{out}{err}");
    assert!(all.contains("✘ pypi: ROLLBACK_COMPLETE"), "{all}");
    assert!(all.contains("Root cause: Service › ScalableTarget"), "{all}");
    assert!(!all.contains("DELETE_FAILED") && !all.contains("ROLLBACK_FAILED"), "every deletion completes:\n{all}");

    // The rollback's order in the Compute stack: the group (and with it the
    // instances registered in the cluster) goes before the cluster.
    let ev = events(&out);
    assert!(position(&ev, "Compute", "AutoScalingGroup", "CREATE_COMPLETE") < position(&ev, "Compute", "AutoScalingGroup", "DELETE_IN_PROGRESS"));
    assert!(
        position(&ev, "Compute", "AutoScalingGroup", "DELETE_COMPLETE") < position(&ev, "Compute", "Cluster", "DELETE_IN_PROGRESS"),
        "the group is deleted before the cluster:\n{out}"
    );
    assert!(position(&ev, "Compute", "Cluster", "DELETE_COMPLETE") > 0);
    // The root deletes the nested stacks in reverse dependency order.
    assert!(position(&ev, "pypi", "Compute", "DELETE_COMPLETE") < position(&ev, "pypi", "Network", "DELETE_IN_PROGRESS"), "{out}");

    let a = moto.pypictl().args(["--output", "json", "status", "-c"]).arg(&config).assert().success();
    let status: Value = serde_json::from_str(&stdout(&a)).unwrap_or_else(|e| panic!("{e}:\n{}", stdout(&a)));
    assert_eq!(status["status"], "ROLLBACK_COMPLETE", "{status}");

    // What the rollback left: every nested stack deleted, the cluster
    // INACTIVE without container instances, no instance running.
    let left = moto.boto("root = cfn.describe_stacks(StackName='pypi')['Stacks'][0]['StackId']\n\
         nested = sorted({s['StackStatus'] for s in cfn.list_stacks()['StackSummaries'] if s.get('RootId') == root})\n\
         clusters = ecs.list_clusters()['clusterArns']\n\
         cluster = ecs.describe_clusters(clusters=clusters)['clusters'][0]\n\
         running = [i['InstanceId'] for r in ec2.describe_instances(Filters=[{'Name': 'instance-state-name', 'Values': ['pending', 'running']}])['Reservations'] for i in r['Instances']]\n\
         out = {'nested': nested, 'clusters': len(clusters), 'cluster': cluster['status'], 'registered': cluster['registeredContainerInstancesCount'], 'running': running}",
    );
    assert_eq!(left["nested"], serde_json::json!(["DELETE_COMPLETE"]), "{left}");
    assert_eq!(left["clusters"], 1, "{left}");
    assert_eq!(left["cluster"], "INACTIVE", "{left}");
    assert_eq!(left["registered"], 0, "{left}");
    assert_eq!(left["running"], serde_json::json!([]), "{left}");
}

/// The heavy example with `[backup] force_destroy = true`: before the
/// teardown fixes, that setting gave the vault `DeletionPolicy: Delete`.
fn deploy_with_backups(moto: &Moto, dir: &Path) -> PathBuf {
    let seed = moto.seed();
    let config = moto.config(&seed, "heavy", dir);
    let mut text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains("[backup]"), "{text}");
    text.push_str("\n[backup]\nforce_destroy = true\n");
    std::fs::write(&config, text).unwrap();
    let a = moto.pypictl().args(["--yes", "deploy", "--progress", "events", "-c"]).arg(&config).assert();
    assert!(a.get_output().status.success(), "deploy failed:\n{}\n{}\n--- moto log ---\n{}", stdout(&a), stderr(&a), moto.log());
    config
}

/// Puts a recovery point of the package file system in the stack's vault
/// (StartBackupJob, which the harness completes at once). Returns the vault's
/// name and the recovery point's ARN; also checks that the group's instances
/// registered in the cluster (the ECS agent model the other test relies on).
fn recovery_point(moto: &Moto) -> (String, String) {
    let v = moto.boto("vaults = [v['BackupVaultName'] for v in backup.list_backup_vaults()['BackupVaultList']]\n\
         fs = efs.describe_file_systems()['FileSystems'][0]['FileSystemArn']\n\
         job = backup.start_backup_job(BackupVaultName=vaults[0], ResourceArn=fs, IamRoleArn='arn:aws:iam::123456789012:role/backup')\n\
         points = backup.list_recovery_points_by_backup_vault(BackupVaultName=vaults[0])['RecoveryPoints']\n\
         clusters = ecs.list_clusters()['clusterArns']\n\
         registered = [a for c in clusters for a in ecs.list_container_instances(cluster=c)['containerInstanceArns']]\n\
         out = {'vaults': vaults, 'point': job['RecoveryPointArn'], 'points': [p['RecoveryPointArn'] for p in points], 'registered': len(registered)}",
    );
    let vaults = v["vaults"].as_array().unwrap();
    assert_eq!(vaults.len(), 1, "{v}");
    let vault = vaults[0].as_str().unwrap().to_string();
    assert!(vault.starts_with("pypi-") && vault.contains("-backups-"), "{vault}");
    let point = v["point"].as_str().unwrap().to_string();
    assert_eq!(v["points"], serde_json::json!([point]), "{v}");
    assert_eq!(v["registered"], 2, "the two instances of the group are container instances of the cluster: {v}");
    (vault, point)
}

/// The vault's recovery points, or null when the vault does not exist.
fn vault_points(moto: &Moto, vault: &str) -> Value {
    moto.boto(&format!(
            "try:\n    out = [p['RecoveryPointArn'] for p in backup.list_recovery_points_by_backup_vault(BackupVaultName={vault:?})['RecoveryPoints']]\n\
             except backup.exceptions.ResourceNotFoundException:\n    out = None"
        ),
    )
}

/// `destroy --force-destroy-data` of a deployment whose vault holds a
/// recovery point completes: the stack goes, then the recovery point, then
/// the vault. Depends on fix (3), the vault always retained by the stack
/// (DeletionPolicy Retain) and emptied by `destroy` once the stack is gone:
/// with `DeletionPolicy: Delete` (what `force_destroy = true` gave before),
/// CloudFormation's deletion of the vault is refused while it holds the
/// recovery point (InvalidRequestException, patch backup-vault-not-empty),
/// the stack ends DELETE_FAILED and `destroy` exits non-zero; and without
/// the recovery points deleted first, DeleteBackupVault is refused too.
#[test]
fn force_destroy_data_deletes_a_vault_that_holds_a_recovery_point() {
    let moto = Moto::start();
    let work = tempfile::tempdir().unwrap();
    let config = deploy_with_backups(&moto, work.path());
    let (vault, point) = recovery_point(&moto);

    let a = moto.pypictl().args(["--yes", "destroy", "--force-destroy-data", "--progress", "events", "-c"]).arg(&config).assert();
    let (out, err) = (stdout(&a), stderr(&a));
    assert!(a.get_output().status.success(), "destroy failed:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    assert!(!out.contains("DELETE_FAILED"), "{out}");
    assert!(out.contains("✔ pypi deleted."), "{out}");
    assert!(out.contains(&format!("backup vault {vault} deleted with its 1 recovery points")), "{out}");
    assert!(!out.contains("Kept:"), "nothing kept:\n{out}");
    let a = moto.pypictl().args(["status", "-c"]).arg(&config).assert().code(1);
    assert!(stderr(&a).contains("does not exist"), "{}", stderr(&a));
    assert_eq!(vault_points(&moto, &vault), Value::Null, "the vault is gone (it held {point})");
}

/// Plain `destroy` of the same deployment deletes the stack and keeps the
/// vault with its recovery point (DELETE_SKIPPED), exit 0. Depends on fix
/// (3) as well: with `DeletionPolicy: Delete` the stack's deletion of the
/// vault fails on the recovery point (InvalidRequestException), the stack
/// ends DELETE_FAILED, and `destroy` exits non-zero.
#[test]
fn destroy_keeps_the_vault_and_its_recovery_point() {
    let moto = Moto::start();
    let work = tempfile::tempdir().unwrap();
    let config = deploy_with_backups(&moto, work.path());
    let (vault, point) = recovery_point(&moto);

    let a = moto.pypictl().args(["--yes", "destroy", "--progress", "events", "-c"]).arg(&config).assert();
    let (out, err) = (stdout(&a), stderr(&a));
    assert!(a.get_output().status.success(), "destroy failed:\n{out}\n{err}\n--- moto log ---\n{}", moto.log());
    assert!(!out.contains("DELETE_FAILED"), "{out}");
    assert!(out.contains("✔ pypi deleted."), "{out}");
    let ev = events(&out);
    position(&ev, "Backup", "BackupVault", "DELETE_SKIPPED");
    assert!(out.lines().any(|l| l.contains("AWS::Backup::BackupVault") && l.contains(&vault) && l.starts_with("  ")), "the vault is listed as kept:\n{out}");
    moto.pypictl().args(["status", "-c"]).arg(&config).assert().code(1);
    assert_eq!(vault_points(&moto, &vault), serde_json::json!([point]), "the vault is kept with its recovery point");
}
