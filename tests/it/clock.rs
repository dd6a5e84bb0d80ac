//! Nothing depends on today's date or on this machine's clock. The deploy,
//! rotate and watch timelines run with the scripted cloud's clock at fixed
//! dates far from today, and with this machine's clock 10 minutes ahead of
//! and behind the cloud's. Each run must give the same outcome, attribute
//! the same stopped tasks to the operation, stamp every tick with the
//! cloud's time, and draw the same live view (elapsed times come from the
//! cloud's timestamps and the ticks).

use pypictl::engine::model::Status;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pypictl::engine::creds::{self, Role, RotateOptions, Rotated};
use pypictl::engine::deploy::{Deployer, Outcome};
use pypictl::engine::model::Millis;
use pypictl::engine::progress::{Progress, Recorder};
use pypictl_test_support::ScriptedCloud;
use pypictl::engine::tail::EventTail;
use pypictl::engine::watch::{WatchEnd, WatchOptions, Watcher};
use pypictl_stacks::app::synthesize;
use pypictl_stacks::{Config, Deployment};
use serde_json::json;

use crate::common;
use crate::render::render_tty;

/// (what, the cloud's time when the script starts).
fn clocks() -> Vec<(&'static str, Millis)> {
    let machine = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as Millis;
    vec![
        ("the cloud on 2026-01-01", 1_767_225_600_000),
        ("the cloud on 2031-06-15", 1_939_291_200_000),
        ("this machine 10 min ahead of the cloud", machine - 600_000),
        ("this machine 10 min behind the cloud", machine + 600_000),
    ]
}

fn timeline(name: &str, base: Millis) -> ScriptedCloud {
    let path = common::repo_root().join("fixtures/timelines").join(format!("{name}.json"));
    ScriptedCloud::from_json(&std::fs::read_to_string(path).unwrap()).with_clock(base)
}

/// Every tick carries the cloud's time: never before the script started,
/// never after the time that has passed since.
fn assert_ticks_are_cloud_time(what: &str, items: &[Progress], base: Millis, elapsed: Duration) {
    let ticks: Vec<Millis> = items.iter().filter_map(|p| if let Progress::Tick { now } = p { Some(*now) } else { None }).collect();
    assert!(!ticks.is_empty(), "{what}: ticks");
    for t in ticks {
        assert!((base..=base + elapsed.as_millis() as Millis).contains(&t), "{what}: tick {t} outside the cloud's time {base} + {elapsed:?}");
    }
}

/// A deployed stack and its service, with `extra` keys in its script, the
/// cloud's clock at `base`.
fn rotation(base: Millis, extra: serde_json::Value) -> ScriptedCloud {
    let mut script = json!({
        "stack_name": "pypi",
        "initial": {"status": "UPDATE_COMPLETE", "outputs": {
            "PypiUserSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf",
            "EcsClusterName": "pypi", "EcsServiceName": "pypi"}},
        "secret": {"username": "u", "password": "p"},
    });
    script.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    ScriptedCloud::new(serde_json::from_value(script).unwrap()).with_clock(base)
}

/// The live view once the run is over (elapsed times included).
fn screen(items: &[Progress]) -> String {
    let (term, _renderer) = render_tty(items, true);
    term.text()
}


#[tokio::test(start_paused = true)]
async fn a_deploy_reads_the_same_at_any_date_and_any_skew() {
    let cfg = Config::from_toml(&std::fs::read_to_string(common::example("heavy")).unwrap()).unwrap();
    let d = Deployment::new(cfg).unwrap();
    let assembly = synthesize(&d).unwrap();
    let mut reference: Option<String> = None;
    for (what, base) in clocks() {
        let cloud = timeline("ecs-never-stable", base);
        let mut sink = Recorder::default();
        let started = tokio::time::Instant::now();
        let opts = common::deploy_options(true);
        let outcome = Deployer { cloud: &cloud, registry: &cloud, sink: &mut sink, interaction: &mut common::Yes, opts }
            .deploy(&assembly, &d.config, std::future::pending())
            .await
            .unwrap();
        let Outcome::Failed { status, root_cause, .. } = &outcome else { panic!("{what}: {outcome:?}") };
        assert_eq!(*status, Status::UpdateRollbackComplete, "{what}");
        assert_eq!(root_cause.as_ref().unwrap().stopped_tasks.len(), 2, "{what}: the tasks stopped during the operation");
        let stopped = sink.items.iter().filter(|p| matches!(p, Progress::TaskStopped { .. })).count();
        assert_eq!(stopped, 3, "{what}: each stopped task of the operation, once");
        assert_ticks_are_cloud_time(what, &sink.items, base, started.elapsed());
        let view = screen(&sink.items);
        match &reference {
            None => reference = Some(view),
            Some(r) => assert_eq!(&view, r, "{what}: the live view (elapsed times) differs"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_rotation_attributes_stopped_tasks_by_deployment_not_by_date() {
    for (what, base) in clocks() {
        let cloud = rotation(base, json!({
            "ecs": ["5 desired=12 running=12 pending=2 failed=3 rollout=IN_PROGRESS deployments=2",
                    "60 desired=12 running=12 pending=0 failed=10 rollout=FAILED deployments=2"],
            "stopped_tasks": [
                "-120 0e1d2c3b Scaling activity initiated by (deployment ecs-svc/0000000000000000000)",
                "30 0a1b2c Essential container in task exited; pypiserver: (exit 1)",
            ],
        }));
        let (stack, _) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
        let mut sink = Recorder::default();
        let started = tokio::time::Instant::now();
        let opts = RotateOptions { poll: Duration::from_secs(5), max_wait: Duration::from_secs(1800), probe_url: None, refuse_wait: Duration::from_secs(180), on_retry: None };
        let rotated = creds::rotate(&cloud, &cloud, &mut sink, &stack, Role::Read, opts, std::future::pending()).await.unwrap();
        let Rotated::Abandoned { stopped, .. } = rotated else { panic!("{what}: {rotated:?}") };
        let ids: Vec<&str> = stopped.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(ids, ["0a1b2c"], "{what}: only the new deployment's stopped task");
        assert_ticks_are_cloud_time(what, &sink.items, base, started.elapsed());
    }
}

#[tokio::test(start_paused = true)]
async fn a_rotation_reports_cloud_times() {
    for (what, base) in clocks() {
        let cloud = rotation(base, json!({
            "ecs": ["5 desired=2 running=2 pending=0 failed=0 rollout=COMPLETED deployments=1"],
            "old_password_served_ms": 30_000,
        }));
        let (stack, _) = creds::read(&cloud, "pypi", Role::Read).await.unwrap().unwrap();
        let started = tokio::time::Instant::now();
        let opts = RotateOptions {
            poll: Duration::from_secs(5),
            max_wait: Duration::from_secs(1800),
            probe_url: Some("https://pypi.example.com/simple/".into()),
            refuse_wait: Duration::from_secs(180),
            on_retry: None,
        };
        let rotated = creds::rotate(&cloud, &cloud, &mut Recorder::default(), &stack, Role::Read, opts, std::future::pending()).await.unwrap();
        let Rotated::Completed { at, check, .. } = rotated else { panic!("{what}: {rotated:?}") };
        let check = check.unwrap().unwrap();
        let window = base..=base + started.elapsed().as_millis() as Millis;
        assert!(window.contains(&at) && window.contains(&check.at), "{what}: {at} and {} in {window:?}", check.at);
        assert!(check.at - at >= 20_000, "{what}: refused about 30 s after the deployment started, not at once: {} - {at}", check.at);
    }
}

#[tokio::test(start_paused = true)]
async fn watching_an_operation_in_progress_reads_the_same_at_any_date_and_any_skew() {
    let mut reference: Option<String> = None;
    for (what, base) in clocks() {
        let cloud = timeline("attach", base);
        let root = "arn:aws:cloudformation:us-east-1:123456789012:stack/pypi/00000000-root";
        let tail = EventTail::after_latest(&cloud, root).await.unwrap();
        let mut sink = Recorder::default();
        let started = tokio::time::Instant::now();
        let mut watcher = Watcher::new(&cloud, &mut sink, root, "pypi", tail, WatchOptions::default());
        watcher.adopt_running_nested().await.unwrap();
        let report = watcher.run(std::future::pending()).await;
        assert_eq!(report.end, WatchEnd::Settled("UPDATE_COMPLETE".into()), "{what}");
        assert_ticks_are_cloud_time(what, &sink.items, base, started.elapsed());
        let view = screen(&sink.items);
        match &reference {
            None => reference = Some(view),
            Some(r) => assert_eq!(&view, r, "{what}: the live view (elapsed times) differs"),
        }
    }
}
