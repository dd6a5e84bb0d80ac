//! `destroy`: what goes and what stays, the deletion watched, the data deleted only when forced.

use super::*;
use pypictl::engine::destroy::{self, Outcome as Gone, Options};

fn retained() -> Vec<(String, String)> {
    let (_, a) = heavy();
    a.manifest["retained"].as_array().unwrap().iter().map(|r| (r["stack"].as_str().unwrap().to_string(), r["logicalId"].as_str().unwrap().to_string())).collect()
}

async fn run(cloud: &ScriptedCloud, force: bool, delete_log_buckets: bool) -> (destroy::Plan, Gone, Vec<Progress>) {
    let plan = destroy::plan(cloud, "pypi", &retained()).await.unwrap().expect("the stack exists");
    let mut sink = Recorder::default();
    let opts = Options { force_destroy_data: force, delete_log_buckets, watch: WatchOptions::default(), on_retry: None, run: "pypictl-test".into(), role_arn: None };
    let outcome = destroy::destroy(cloud, &mut sink, &plan, opts, std::future::pending()).await.unwrap();
    (plan, outcome, sink.items)
}

#[tokio::test(start_paused = true)]
async fn the_plan_names_what_is_kept_with_its_ids() {
    let cloud = timeline("destroy");
    let plan = destroy::plan(&cloud, "pypi", &retained()).await.unwrap().unwrap();
    assert_eq!(plan.nested.len(), 9);
    assert_eq!(plan.resource_count(), 51);
    let kept: Vec<(&str, &str)> = plan.retained.iter().map(|r| (r.logical_id.as_str(), r.physical_id.as_str())).collect();
    assert_eq!(
        kept,
        [
            ("DataKey", "1234abcd-12ab-34cd-56ef-1234567890ab"),
            ("FileSystem", "fs-0123456789abcdef0"),
            ("Credentials", "arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-00000000-AbCdEf"),
            ("PublishCredentials", "arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-publish-00000000-GhIjKl"),
            ("AccessLogBucket", "pypi-loadbalancer-1a2b3c-accesslogbucket-4d5e6f"),
            ("BackupVault", "pypi-backups-00000000"),
        ]
    );
    assert!(destroy::plan(&timeline("create-success"), "pypi", &retained()).await.unwrap().is_none(), "no stack, no plan");
}

#[tokio::test(start_paused = true)]
async fn data_is_kept_unless_forced() {
    let cloud = timeline("destroy");
    let (plan, outcome, _) = run(&cloud, false, false).await;
    assert_eq!(outcome, Gone::Deleted { deleted_data: vec![], kept: plan.retained.clone(), errors: vec![] });
    assert_eq!(cloud.logged("DeleteStack"), ["DeleteStack root"]);
    for data in ["DeleteFileSystem", "DeleteBackupVault", "DeleteSecret", "ScheduleKeyDeletion", "DeleteBucket", "EmptyBucket"] {
        assert!(cloud.logged(data).is_empty(), "{data} without --force-destroy-data");
    }
}

#[tokio::test(start_paused = true)]
async fn forced_deletion_removes_the_data_and_the_key_last() {
    let cloud = timeline("destroy");
    let (_, outcome, _) = run(&cloud, true, false).await;
    let Gone::Deleted { deleted_data, kept, errors } = outcome else { panic!("{outcome:?}") };
    assert!(kept.is_empty() && errors.is_empty());
    assert_eq!(deleted_data.len(), 6, "the key, the file system, both secrets, the vault, the log bucket");
    let log = cloud.log.borrow().clone();
    let data: Vec<&str> = log.iter().map(String::as_str).filter(|l| !l.starts_with("DeleteStack")).collect();
    assert_eq!(data.last(), Some(&"ScheduleKeyDeletion 1234abcd-12ab-34cd-56ef-1234567890ab"), "{data:?}");
    assert!(data.contains(&"DeleteFileSystem fs-0123456789abcdef0"));
    assert!(data.contains(&"DeleteBackupVault pypi-backups-00000000"));
    let delete_stack = log.iter().position(|l| l.starts_with("DeleteStack")).unwrap();
    let first_data = log.iter().position(|l| l.starts_with("Delete") && !l.starts_with("DeleteStack") || l.starts_with("Schedule") || l.starts_with("Empty")).unwrap();
    assert!(delete_stack < first_data, "data goes only after the stacks are gone: {log:?}");
}

/// The load balancer writes logs until it is gone: its bucket is
/// emptied and deleted after the stack, never before (a bucket emptied
/// first fills again and fails the deletion with BucketNotEmpty).
#[tokio::test(start_paused = true)]
async fn log_buckets_are_deleted_after_the_stack_when_asked() {
    let cloud = timeline("destroy");
    let (plan, outcome, _) = run(&cloud, false, true).await;
    let log = cloud.log.borrow().clone();
    let bucket = "pypi-loadbalancer-1a2b3c-accesslogbucket-4d5e6f";
    assert_eq!(log, ["DeleteStack root".to_string(), format!("EmptyBucket {bucket}"), format!("DeleteBucket {bucket}")]);
    let Gone::Deleted { deleted_data, kept, errors } = outcome else { panic!("{outcome:?}") };
    assert_eq!(deleted_data.len(), 1, "{deleted_data:?}");
    assert!(errors.is_empty());
    assert_eq!(kept.len(), plan.retained.len() - 1, "the data stays: {kept:?}");
}

#[tokio::test(start_paused = true)]
async fn a_blocked_deletion_names_the_blocking_resource() {
    let cloud = timeline("destroy-blocked");
    let (_, outcome, _) = run(&cloud, true, false).await;
    let Gone::Failed { status, root_cause } = outcome else { panic!("{outcome:?}") };
    assert_eq!(status, Status::DeleteFailed);
    let cause = root_cause.unwrap();
    assert_eq!((cause.stack.as_str(), cause.logical_id.as_str()), ("Network", "InstanceSecurityGroup"));
    assert!(cause.reason.contains("has a dependent object"));
    assert!(cloud.logged("DeleteFileSystem").is_empty(), "no data deleted when the stack deletion failed");
}
