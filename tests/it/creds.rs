//! `pypictl creds`: reading a role's credentials and rotating its password,
//! against scripted AWS. A rotation stages the new password beside the old
//! one, rolls the service onto tasks that accept both, makes the new one
//! current, then rolls the service again so that only the new one works; no
//! instance is replaced and clients are never left without a working password.

use std::time::Duration;

use pypictl::engine::cloud::{Probe, Secrets};
use pypictl::engine::creds::{self, Phase, Role, RotateOptions, Rotated};
use pypictl::engine::progress::{Progress, Recorder};
use pypictl_test_support::ScriptedCloud;
use serde_json::{json, Value};

const URL: &str = "https://pypi.example.com/simple/";
const READ_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-1-AbCdEf";
const PUBLISH_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-publish-1-GhIjKl";

fn cloud(ecs: &[&str]) -> ScriptedCloud {
    cloud_with(ecs, json!({}))
}

/// The scripted account, with `extra` keys merged into its script.
fn cloud_with(ecs: &[&str], extra: Value) -> ScriptedCloud {
    let mut script = json!({
            "stack_name": "pypi",
            "initial": {"status": "UPDATE_COMPLETE", "outputs": {
                "PypiUserSecretArn": READ_ARN,
                "PypiPublishSecretArn": PUBLISH_ARN,
                "EcsClusterName": "pypi", "EcsServiceName": "pypi", "PypiServerUrls": "https://pypi.example.com/"}},
            "secret": {"username": "pypi-1a2b3c4d", "password": "old:p@ss/w%rd"},
            "secrets": {PUBLISH_ARN: {"username": "pypi-1a2b3c4d-publish", "password": "publish:old"}},
            "ecs": ecs,
        });
    script.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    ScriptedCloud::new(serde_json::from_value(script).unwrap())
}

fn options() -> RotateOptions {
    RotateOptions { poll: Duration::from_secs(5), max_wait: Duration::from_secs(3600), probe_url: Some(URL.into()), refuse_wait: Duration::from_secs(180), on_retry: None }
}

async fn secret(cloud: &ScriptedCloud, arn: &str) -> Value {
    serde_json::from_str(&cloud.secret_value(arn).await.unwrap()).unwrap()
}

fn steps(sink: &Recorder) -> Vec<String> {
    sink.items.iter().filter_map(|p| if let Progress::Step(s) = p { Some(s.clone()) } else { None }).collect()
}

const ROLLOUT: [&str; 3] = [
    "5 desired=12 running=12 pending=6 failed=0 rollout=IN_PROGRESS deployments=2",
    "90 desired=12 running=18 pending=0 failed=0 rollout=IN_PROGRESS deployments=2",
    "180 desired=12 running=12 pending=0 failed=0 rollout=COMPLETED deployments=1",
];

#[tokio::test(start_paused = true)]
async fn each_role_reads_its_own_secret() {
    let cloud = cloud(&[]);
    let (stack, c) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    assert_eq!(stack.name, "pypi");
    assert_eq!((c.username.as_str(), c.password.as_str()), ("pypi-1a2b3c4d", "old:p@ss/w%rd"));
    assert!(!format!("{c:?}").contains("old:p@ss"), "Debug never shows the password");
    let (_, p) = creds::read(&cloud, "pypi", Role::Publish).await.unwrap().unwrap();
    assert_eq!((p.username.as_str(), p.password.as_str()), ("pypi-1a2b3c4d-publish", "publish:old"));
    assert!(creds::read(&ScriptedCloud::new(serde_json::from_value(json!({"stack_name": "pypi"})).unwrap()), "pypi", Role::Read).await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn rotation_rolls_the_service_twice_and_the_old_password_stops_working() {
    let cloud = cloud(&ROLLOUT);
    let (stack, old) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    let mut sink = Recorder::default();
    let rotated = creds::rotate(&cloud, &cloud, &mut sink, &stack, Role::Read, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { creds, check, .. } = rotated else { panic!("{rotated:?}") };
    assert_ne!(creds.password, old.password);
    assert_eq!(creds.username, old.username);
    assert_eq!(creds.password.len(), 40);
    assert!(!creds.password.contains(['"', '\'', '\\', '`']), "the template's excluded characters");
    let check = check.unwrap().unwrap();
    assert_eq!((check.old, check.new), (401, 200), "old password refused, new accepted");

    let (_, stored) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    assert_eq!(stored, creds, "the secret holds the new password");
    assert_eq!(secret(&cloud, READ_ARN).await, json!({"username": "pypi-1a2b3c4d", "password": creds.password}), "nothing pending any more");
    assert_eq!(secret(&cloud, PUBLISH_ARN).await["password"], "publish:old", "the other role is untouched");
    assert_eq!(cloud.logged("UpdateService"), ["UpdateService pypi/pypi force_new_deployment", "UpdateService pypi/pypi force_new_deployment"]);
    assert_eq!(cloud.logged("PutSecretValue").len(), 2, "staged, then made current");
    for forbidden in ["CreateChangeSet", "ExecuteChangeSet", "DeleteStack", "CreateStack"] {
        assert!(cloud.logged(forbidden).is_empty(), "no stack operation, so no instance replaced: {forbidden}");
    }
    let tasks: Vec<u32> = sink.items.iter().filter_map(|p| if let Progress::Tasks { snapshot, .. } = p { Some(snapshot.running) } else { None }).collect();
    assert_eq!(tasks, [12, 18, 12, 12, 18, 12], "both rollouts were followed");
    let steps = steps(&sink);
    let position = |needle: &str| steps.iter().position(|s| s.contains(needle)).unwrap_or_else(|| panic!("{needle:?} in {steps:#?}"));
    assert!(position("Staged a new read password") < position("accept both passwords"));
    assert!(position("accept both passwords") < position("accepts the new password"));
    assert!(position("accepts the new password") < position("is current"));
    assert!(position("is current") < position("accept only the new password"));
}

/// Until every task accepts the new password, clients keep the old one, and
/// every task accepts the old one.
#[tokio::test(start_paused = true)]
async fn during_the_first_rollout_clients_keep_the_old_password_which_every_task_accepts() {
    let cloud = cloud(&["5 desired=12 running=12 pending=6 failed=0 rollout=IN_PROGRESS deployments=2"]);
    let (stack, old) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    let short = RotateOptions { max_wait: Duration::from_secs(60), ..options() };
    let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, Role::Read, short, std::future::pending()).await.unwrap();
    let Rotated::StoppedWatching { creds, phase: Phase::Staged, interrupted: false } = rotated else { panic!("{rotated:?}") };
    assert_eq!(creds, old, "clients are told to keep the old password");
    let stored = secret(&cloud, READ_ARN).await;
    assert_eq!(stored["password"], old.password.as_str(), "the secret still gives clients the old one");
    let pending = stored["pending_password"].as_str().expect("the new one is staged").to_string();
    assert_eq!(cloud.http_status(URL, Some((&old.username, &old.password))).await, Ok(200), "old tasks and new tasks accept it");
    assert_eq!(cloud.http_status(URL, Some((&old.username, &pending))).await, Ok(200), "new tasks accept the staged one");

    // The next `creds --rotate` resumes with the staged password.
    let cloud2 = cloud_with(&ROLLOUT, json!({"secret": stored}));
    let (stack, _) = creds::read(&cloud2, "pypi", Role::Read).await.unwrap().unwrap();
    let mut sink = Recorder::default();
    let rotated = creds::rotate(&cloud2, &cloud2, &mut sink, &stack, Role::Read, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { creds, .. } = rotated else { panic!("{rotated:?}") };
    assert_eq!(creds.password, pending, "the staged password, not another one");
    assert!(cloud2.calls.borrow().get("GetRandomPassword").is_none(), "no new password generated");
    assert!(steps(&sink)[0].contains("Resuming"), "{:?}", steps(&sink));
}

/// The first rollout fails (the circuit breaker; ECS rolls back): the old
/// password is put back alone and still works.
#[tokio::test(start_paused = true)]
async fn a_failed_first_rollout_puts_the_old_password_back() {
    let cloud = cloud_with(
        &[],
        json!({
            "ecs_rollouts": [["5 desired=12 running=12 pending=2 failed=3 rollout=IN_PROGRESS deployments=2",
                              "60 desired=12 running=12 pending=0 failed=10 rollout=IN_PROGRESS deployments=2 rollback=1"]],
            "stopped_tasks": ["30 0a1b2c Essential container in task exited; pypiserver: (exit 1)"],
        }),
    );
    let (stack, old) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, Role::Read, options(), std::future::pending()).await.unwrap();
    let Rotated::Abandoned { creds, reason, stopped } = rotated else { panic!("{rotated:?}") };
    assert_eq!(creds, old);
    assert!(reason.contains("circuit breaker"), "the deployment's own reason: {reason}");
    assert_eq!(stopped.len(), 1);
    assert!(stopped[0].reason.contains("Essential container in task exited"));
    assert_eq!(secret(&cloud, READ_ARN).await, json!({"username": old.username, "password": old.password}), "the old password alone, nothing pending");
    assert_eq!(cloud.logged("UpdateService").len(), 1, "no second rollout");
    assert_eq!(cloud.http_status(URL, Some((&old.username, &old.password))).await, Ok(200));
}

/// The second rollout fails: the new password is current, and accepted.
#[tokio::test(start_paused = true)]
async fn a_failed_second_rollout_leaves_the_new_password_current() {
    let cloud = cloud_with(
        &[],
        json!({"ecs_rollouts": [
            ["5 desired=2 running=2 pending=0 failed=0 rollout=COMPLETED deployments=1"],
            ["5 desired=2 running=2 pending=0 failed=4 rollout=FAILED deployments=2"],
        ]}),
    );
    let (stack, old) = creds::read(&cloud, "pypi", Role::Publish).await.unwrap().unwrap();
    let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, Role::Publish, options(), std::future::pending()).await.unwrap();
    let Rotated::Failed { creds, .. } = rotated else { panic!("{rotated:?}") };
    assert_ne!(creds, old);
    assert_eq!(secret(&cloud, PUBLISH_ARN).await["password"], creds.password.as_str(), "the publish secret holds the new password");
    assert_eq!(secret(&cloud, READ_ARN).await["password"], "old:p@ss/w%rd", "the read secret is untouched");
    assert_eq!(cloud.http_status(URL, Some((&creds.username, &creds.password))).await, Ok(200));
}

/// The load balancer may keep serving an old task for a while after ECS
/// reports the rollout complete: pypictl keeps checking and reports when the
/// old password was first refused.
#[tokio::test(start_paused = true)]
async fn the_old_password_is_checked_until_it_is_refused() {
    let cloud = cloud_with(&["5 desired=2 running=2 pending=0 failed=0 rollout=COMPLETED deployments=1"], json!({"old_password_served_ms": 62_000}));
    let (stack, _) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, Role::Read, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { at, check, .. } = rotated else { panic!("{rotated:?}") };
    let check = check.unwrap().unwrap();
    assert!(check.old_refused() && check.new == 200, "{check:?}");
    assert!(check.at - at >= 55_000, "refused well after the rollout completed: {check:?} vs {at}");
}

#[tokio::test(start_paused = true)]
async fn an_old_password_still_accepted_is_reported_not_hidden() {
    let cloud = cloud_with(&["5 desired=2 running=2 pending=0 failed=0 rollout=COMPLETED deployments=1"], json!({"old_password_served_ms": i64::MAX}));
    let (stack, _) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    let started = tokio::time::Instant::now();
    let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, Role::Read, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { check, .. } = rotated else { panic!("{rotated:?}") };
    let check = check.unwrap().unwrap();
    assert_eq!((check.old, check.new, check.old_refused()), (200, 200, false));
    assert!(started.elapsed() <= Duration::from_secs(2 * 5 + 5 + 180 + 5), "bounded by refuse_wait: {:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_service_ends_the_checks_with_the_reason() {
    let cloud = cloud_with(&["5 desired=2 running=2 pending=0 failed=0 rollout=COMPLETED deployments=1"], json!({"http": {format!("{URL} pypi-1a2b3c4d"): "error: Connection refused (os error 111)"}}));
    let (stack, _) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    let mut sink = Recorder::default();
    let rotated = creds::rotate(&cloud, &cloud, &mut sink, &stack, Role::Read, options(), std::future::pending()).await.unwrap();
    let Rotated::Completed { check, .. } = rotated else { panic!("{rotated:?}") };
    assert_eq!(check, Some(Err("Connection refused (os error 111)".to_string())));
    let warned = sink.items.iter().any(|p| matches!(p, Progress::Warning(w) if w.contains("Could not check the new password") && w.contains("Connection refused")));
    assert!(warned, "the skipped check is said: {:?}", sink.items);
}

/// A rollout already under way (a deploy, another rotation) is never
/// replaced by a rotation: ECS would roll a failure of ours back to whatever
/// completed last.
#[tokio::test(start_paused = true)]
async fn a_service_that_is_rolling_out_is_not_rotated() {
    let cloud = cloud(&["0 desired=12 running=12 pending=6 failed=0 rollout=IN_PROGRESS deployments=2"]);
    let (stack, _) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
    let err = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, Role::Read, options(), std::future::pending()).await.unwrap_err();
    assert!(err.to_string().contains("is rolling out") && err.to_string().contains("nothing was changed"), "{err}");
    assert!(cloud.logged("PutSecretValue").is_empty() && cloud.logged("UpdateService").is_empty());
}
