//! `pypictl upgrade`: validated first, only the affected stacks change, the
//! same deploy engine (scripted here), and pypictl.toml rewritten only on
//! success, comments and layout kept.

use pypictl::engine::model::Status;
use crate::common;


use pypictl::commands::upgrade;
use pypictl::engine::upgrade::{changed_stacks, warnings};
use pypictl::engine::deploy::Outcome;
use pypictl::engine::progress::{Progress, Recorder};
use pypictl_test_support::ScriptedCloud;
use pypictl_stacks::app::synthesize;
use pypictl_stacks::edit::Upgrade;


fn heavy_copy(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("pypictl.toml");
    let text = std::fs::read_to_string(common::example("heavy")).unwrap().replace("[compute]\n", "[compute]\n# Chosen after the Q3 load test.\n");
    std::fs::write(&path, text).unwrap();
    path
}

fn timeline(name: &str) -> ScriptedCloud {
    ScriptedCloud::from_json(&std::fs::read_to_string(common::repo_root().join("fixtures/timelines").join(format!("{name}.json"))).unwrap())
}


#[test]
fn an_instance_type_change_touches_only_the_compute_stack() {
    let dir = tempfile::tempdir().unwrap();
    let path = heavy_copy(dir.path());
    // Same vCPU and memory: the task counts stay, so only compute changes.
    let plan = upgrade::plan(&path, Upgrade { instance_type: Some("c7i.xlarge".into()), ..Default::default() }).unwrap();
    let (b, a) = (synthesize(&plan.before).unwrap(), synthesize(&plan.after).unwrap());
    assert_eq!(changed_stacks(&b, &a), ["compute"], "storage, service and the rest untouched");
    // A bigger type changes the service too (more tasks), never storage.
    let plan = upgrade::plan(&path, Upgrade { instance_type: Some("c6a.2xlarge".into()), ..Default::default() }).unwrap();
    let (b, a) = (synthesize(&plan.before).unwrap(), synthesize(&plan.after).unwrap());
    let changed = changed_stacks(&b, &a);
    assert!(changed.contains(&"compute") && !changed.contains(&"storage") && !changed.contains(&"credentials"), "{changed:?}");
}

#[test]
fn an_image_tag_change_touches_only_the_service_stack() {
    let dir = tempfile::tempdir().unwrap();
    let path = heavy_copy(dir.path());
    let plan = upgrade::plan(&path, Upgrade { image_tag: Some("v2.4.3".into()), ..Default::default() }).unwrap();
    let (b, a) = (synthesize(&plan.before).unwrap(), synthesize(&plan.after).unwrap());
    assert_eq!(changed_stacks(&b, &a), ["service"]);
}

#[test]
fn capacity_and_cost_are_shown_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let path = heavy_copy(dir.path());
    let plan = upgrade::plan(&path, Upgrade { instance_type: Some("c6a.2xlarge".into()), container_memory: Some(1024), ..Default::default() }).unwrap();
    let table = pypictl::ui::upgrade::compare(&plan.before.capacity, &plan.after.capacity);
    for needle in ["c6a.xlarge", "c6a.2xlarge  ←", "$245.58", "$477.96  ←", "12 .. 24"] {
        assert!(table.contains(needle), "{needle:?} in\n{table}");
    }
    let plan = upgrade::plan(&path, Upgrade { instance_type: Some("t3.medium".into()), asg_min: Some(6), asg_max: Some(8), image_tag: Some("latest".into()), ..Default::default() }).unwrap();
    let w = warnings(&plan).join("\n");
    assert!(w.contains("burstable") && w.contains("fewer, beefier") && w.contains("latest"), "{w}");
}

#[tokio::test(start_paused = true)]
async fn a_successful_upgrade_records_the_new_values_keeping_comments() {
    let dir = tempfile::tempdir().unwrap();
    let path = heavy_copy(dir.path());
    let plan = upgrade::plan(&path, Upgrade { instance_type: Some("c7i.xlarge".into()), ..Default::default() }).unwrap();
    let cloud = timeline("long-history");
    let mut sink = Recorder::default();
    let (outcome, written) = pypictl::engine::upgrade::upgrade(&cloud, &cloud, &mut sink, &mut common::Yes, common::deploy_options(true), &path, &plan, std::future::pending()).await.unwrap();
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert!(written);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("instance_type = \"c7i.xlarge\"") && text.contains("# Chosen after the Q3 load test."), "{text}");
    assert!(sink.items.contains(&Progress::Step("Templates that change: compute".into())));
    // The rolling replacement kept two instances in service (the template's policy; the timeline shows it).
    assert!(sink.items.iter().any(|p| matches!(p, Progress::Event { event, .. } if event.reason.as_deref().unwrap_or("").contains("keeping at least 2 instance(s) in service"))));
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_upgrade_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = heavy_copy(dir.path());
    let before = std::fs::read_to_string(&path).unwrap();
    let plan = upgrade::plan(&path, Upgrade { image_tag: Some("v2.4.3".into()), ..Default::default() }).unwrap();
    let cloud = timeline("ecs-never-stable");
    let mut sink = Recorder::default();
    let (outcome, written) = pypictl::engine::upgrade::upgrade(&cloud, &cloud, &mut sink, &mut common::Yes, common::deploy_options(true), &path, &plan, std::future::pending()).await.unwrap();
    assert!(matches!(&outcome, Outcome::Failed { status, .. } if *status == Status::UpdateRollbackComplete), "{outcome:?}");
    assert!(!written);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "pypictl.toml not rewritten");
}

#[test]
fn bad_upgrades_exit_2_before_anything_happens() {
    let dir = tempfile::tempdir().unwrap();
    let path = heavy_copy(dir.path());
    let before = std::fs::read_to_string(&path).unwrap();
    for (args, needle) in [
        (vec!["--instance-type", "c6a.huge"], "--instance-type: `compute.instance_type` = \"c6a.huge\""),
        (vec!["--instance-type", "t3.micro", "--container-memory", "1024"], "no task fits on one t3.micro"),
        (vec!["--task-min", "10", "--task-max", "4"], "--task-min: `service.task_min_count` = 10"),
        (vec!["--asg-min", "5", "--asg-max", "3"], "--asg-max: `compute.max_size` = 3"),
        (vec!["--container-memory", "64"], "--container-memory: `service.container_memory` = 64"),
        (vec![], "nothing to upgrade"),
    ] {
        // No AWS is reachable: validation must fail first.
        let out = common::pypictl().env("AWS_ENDPOINT_URL", "http://127.0.0.1:9").args(["upgrade", "-c"]).arg(&path).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains(needle), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}
