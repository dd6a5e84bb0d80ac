//! `pypictl creds`: reading the credentials and rotating the password,
//! against scripted AWS (a new secret value, a forced ECS deployment, no
//! instance replaced, the old password refused once the service rolled over).

use std::time::Duration;

use pypictl::engine::cloud::Probe;
use pypictl::engine::creds::{self, RotateOptions, Rotated};
use pypictl::engine::progress::{Progress, Recorder};
use pypictl_test_support::ScriptedCloud;
use serde_json::json;

const URL: &str = "https://pypi.example.com/simple/";

fn cloud(ecs: &[&str]) -> ScriptedCloud {
    cloud_with(ecs, json!({}))
}

/// The scripted account, with `extra` keys merged into its script.
fn cloud_with(ecs: &[&str], extra: serde_json::Value) -> ScriptedCloud {
    let mut script = json!({
            "stack_name": "pypi",
            "initial": {"status": "UPDATE_COMPLETE", "outputs": {
                "PypiUserSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-1-AbCdEf",
                "EcsClusterName": "pypi", "EcsServiceName": "pypi", "PypiServerUrls": "https://pypi.example.com/"}},
            "secret": {"username": "pypi-1a2b3c4d", "password": "old:p@ss/w%rd"},
            "ecs": ecs,
        });
    script.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    ScriptedCloud::new(serde_json::from_value(script).unwrap())
}

fn options() -> RotateOptions {
    RotateOptions { poll: Duration::from_secs(5), max_wait: Duration::from_secs(1800), probe_url: Some(URL.into()), refuse_wait: Duration::from_secs(180), on_retry: None }
}

#[tokio::test(start_paused = true)]
async fn credentials_come_from_the_secret_named_by_the_stack() {
    let cloud = cloud(&[]);
    let (stack, c) = creds::read(&cloud, "pypi").await.unwrap().unwrap();
    assert_eq!(stack.name, "pypi");
    assert_eq!((c.username.as_str(), c.password.as_str()), ("pypi-1a2b3c4d", "old:p@ss/w%rd"));
    assert!(!format!("{c:?}").contains("old:p@ss"), "Debug never shows the password");
    assert!(creds::read(&ScriptedCloud::new(serde_json::from_value(json!({"stack_name": "pypi"})).unwrap()), "pypi").await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn rotation_rolls_the_service_and_the_old_password_stops_working() {
    let cloud = cloud(&[
        "5 desired=12 running=12 pending=6 failed=0 rollout=IN_PROGRESS deployments=2",
        "90 desired=12 running=18 pending=0 failed=0 rollout=IN_PROGRESS deployments=2",
        "180 desired=12 running=12 pending=0 failed=0 rollout=COMPLETED deployments=1",
    ]);
    let (stack, old) = creds::read(&cloud, "pypi").await.unwrap().unwrap();
    // While the old tasks run, both passwords are served.
    let mut sink = Recorder::default();
    let rotated = creds::rotate(&cloud, &cloud, &mut sink, &stack, &old, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { creds, check, .. } = rotated else { panic!("{rotated:?}") };
    assert_ne!(creds.password, old.password);
    assert_eq!(creds.username, old.username);
    assert_eq!(creds.password.len(), 40);
    assert!(!creds.password.contains(['"', '\'', '\\', '`']), "the template's excluded characters");
    let check = check.unwrap().unwrap();
    assert_eq!((check.old, check.new), (401, 200), "old password refused, new accepted");

    let (_, stored) = creds::read(&cloud, "pypi").await.unwrap().unwrap();
    assert_eq!(stored, creds, "the secret holds the new password");
    assert_eq!(cloud.logged("UpdateService"), ["UpdateService pypi/pypi force_new_deployment"]);
    for forbidden in ["CreateChangeSet", "ExecuteChangeSet", "DeleteStack", "CreateStack"] {
        assert!(cloud.logged(forbidden).is_empty(), "no stack operation, so no instance replaced: {forbidden}");
    }
    let tasks: Vec<u32> = sink.items.iter().filter_map(|p| if let Progress::Tasks { snapshot, .. } = p { Some(snapshot.running) } else { None }).collect();
    assert_eq!(tasks, [12, 18, 12], "the rollout was followed");
}

#[tokio::test(start_paused = true)]
async fn during_the_rollout_both_passwords_are_served() {
    let cloud = cloud(&["5 desired=12 running=12 pending=6 failed=0 rollout=IN_PROGRESS deployments=2"]);
    let (stack, old) = creds::read(&cloud, "pypi").await.unwrap().unwrap();
    let mut sink = Recorder::default();
    let short = RotateOptions { max_wait: Duration::from_secs(60), ..options() };
    let rotated = creds::rotate(&cloud, &cloud, &mut sink, &stack, &old, short, std::future::pending()).await.unwrap();
    let Rotated::StoppedWatching { creds, interrupted: false } = rotated else { panic!("{rotated:?}") };
    assert_eq!(cloud.http_status(URL, Some((&old.username, &old.password))).await, Ok(200), "old tasks still run");
    assert_eq!(cloud.http_status(URL, Some((&creds.username, &creds.password))).await, Ok(200));
}

#[tokio::test(start_paused = true)]
async fn a_failed_rollout_is_reported_with_stopped_tasks() {
    let cloud = ScriptedCloud::new(
        serde_json::from_value(json!({
            "stack_name": "pypi",
            "initial": {"status": "UPDATE_COMPLETE", "outputs": {
                "PypiUserSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf",
                "EcsClusterName": "pypi", "EcsServiceName": "pypi"}},
            "secret": {"username": "u", "password": "p"},
            "ecs": ["5 desired=12 running=12 pending=2 failed=3 rollout=IN_PROGRESS deployments=2",
                    "60 desired=12 running=12 pending=0 failed=10 rollout=FAILED deployments=2"],
            "stopped_tasks": ["30 0a1b2c Essential container in task exited; pypiserver: (exit 1)"],
        }))
        .unwrap(),
    );
    let (stack, old) = creds::read(&cloud, "pypi").await.unwrap().unwrap();
    let mut sink = Recorder::default();
    let rotated = creds::rotate(&cloud, &cloud, &mut sink, &stack, &old, options(), std::future::pending()).await.unwrap();
    let Rotated::Failed { stopped, .. } = rotated else { panic!("{rotated:?}") };
    assert_eq!(stopped.len(), 1);
    assert!(stopped[0].reason.contains("Essential container in task exited"));
}

/// The load balancer may keep serving an old task for a while after ECS
/// reports the rollout complete: pypictl keeps checking and reports when the
/// old password was first refused.
#[tokio::test(start_paused = true)]
async fn the_old_password_is_checked_until_it_is_refused() {
    let cloud = cloud_with(&["5 desired=2 running=2 pending=0 failed=0 rollout=COMPLETED deployments=1"], json!({"old_password_served_ms": 62_000}));
    let (stack, old) = creds::read(&cloud, "pypi").await.unwrap().unwrap();
    let started = tokio::time::Instant::now();
    let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, &old, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { at, check, .. } = rotated else { panic!("{rotated:?}") };
    let check = check.unwrap().unwrap();
    assert!(check.old_refused() && check.new == 200, "{check:?}");
    let waited = started.elapsed().as_secs();
    assert!((62..=67).contains(&waited), "checked every 5 s until refused, waited {waited} s");
    assert!(check.at - at >= 55_000, "refused well after the rollout completed: {check:?} vs {at}");
}

#[tokio::test(start_paused = true)]
async fn an_old_password_still_accepted_is_reported_not_hidden() {
    let cloud = cloud_with(&["5 desired=2 running=2 pending=0 failed=0 rollout=COMPLETED deployments=1"], json!({"old_password_served_ms": i64::MAX}));
    let (stack, old) = creds::read(&cloud, "pypi").await.unwrap().unwrap();
    let started = tokio::time::Instant::now();
    let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, &old, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { check, .. } = rotated else { panic!("{rotated:?}") };
    let check = check.unwrap().unwrap();
    assert_eq!((check.old, check.new, check.old_refused()), (200, 200, false));
    assert!(started.elapsed() <= Duration::from_secs(5 + 180 + 5), "bounded by refuse_wait: {:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_service_ends_the_check_with_the_reason() {
    let cloud = cloud_with(&["5 desired=2 running=2 pending=0 failed=0 rollout=COMPLETED deployments=1"], json!({"http": {format!("{URL} pypi-1a2b3c4d"): "error: Connection refused (os error 111)"}}));
    let (stack, old) = creds::read(&cloud, "pypi").await.unwrap().unwrap();
    let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, &old, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { check, .. } = rotated else { panic!("{rotated:?}") };
    assert_eq!(check, Some(Err("Connection refused (os error 111)".to_string())));
}
