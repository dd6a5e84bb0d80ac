//! `pypictl doctor` against the scripted cloud: a healthy deployment
//! (fixtures/doctor/healthy.json) where every check passes, and one scenario
//! per failing branch derived from it; each asserts the check's status and
//! that its fix names the right pypictl.toml key or command. Then the wire:
//! the binary against moto, with the HTTP probe pointed at a closed port on
//! 127.0.0.1 (`PYPICTL_SERVICE_URL`).

use crate::common;

use pypictl::engine::doctor::{self, names::*, Options, Report, Status};
use pypictl_test_support::ScriptedCloud;
use pypictl_stacks::config::ThroughputMode;
use pypictl_stacks::Config;
use serde_json::{json, Value};

const PASSWORD: &str = "Tr0ub4dor&3:p@ss w/rd%";
const INDEX: &str = "https://pypi.example.com/simple/";

fn config(example: &str) -> Config {
    Config::from_toml(&std::fs::read_to_string(common::example(example)).unwrap()).unwrap()
}

fn healthy() -> Value {
    common::read_json(&common::repo_root().join("fixtures/doctor/healthy.json"))
}

/// The healthy script, changed by `edit`.
fn script(edit: impl FnOnce(&mut Value)) -> ScriptedCloud {
    let mut s = healthy();
    edit(&mut s);
    ScriptedCloud::new(serde_json::from_value(s).expect("the script parses"))
}

async fn run_with(cloud: &ScriptedCloud, cfg: &Config, options: &Options) -> Report {
    let report = doctor::diagnose(cloud, cloud, cfg, options).await;
    // Every check, always, in order; the password never appears.
    assert_eq!(report.checks.iter().map(|c| c.name).collect::<Vec<_>>(), ALL.to_vec());
    let text = report.to_text();
    let json = report.to_json().to_string();
    assert!(!text.contains(PASSWORD) && !json.contains(PASSWORD), "the password is printed:\n{text}");
    for c in &report.checks {
        assert_eq!(c.fix.is_some(), matches!(c.status, Status::Warn | Status::Fail), "a fix exactly for warnings and failures: {c:?}");
    }
    report
}

async fn run(cloud: &ScriptedCloud) -> Report {
    run_with(cloud, &config("heavy"), &Options::default()).await
}

/// The check, asserted to have `status`; returns (detail, fix).
fn check(report: &Report, name: &str, status: Status) -> (String, String) {
    let c = report.get(name).unwrap_or_else(|| panic!("no check {name}"));
    assert_eq!(c.status, status, "{name}: {c:?}\n{}", report.to_text());
    (c.detail.clone(), c.fix.clone().unwrap_or_default())
}

/// Every check other than `except` passes.
fn others_pass(report: &Report, except: &[&str]) {
    for c in report.checks.iter().filter(|c| !except.contains(&c.name)) {
        assert_eq!(c.status, Status::Pass, "{}: {c:?}\n{}", c.name, report.to_text());
    }
}

#[tokio::test(start_paused = true)]
async fn a_healthy_deployment_passes_every_check() {
    let cloud = script(|_| {});
    let report = run(&cloud).await;
    others_pass(&report, &[]);
    assert!(!report.failed());
    let (detail, _) = check(&report, STOPPED_TASKS, Status::Pass);
    assert!(detail.contains("2 replaced by deployments or scaling"), "{detail}");
    let (detail, _) = check(&report, HTTP_AUTHENTICATED, Status::Pass);
    assert_eq!(detail, format!("GET {INDEX} as pypi-1a2b3c4d (read): 200"));
    let (detail, _) = check(&report, HTTP_PUBLISH, Status::Pass);
    assert_eq!(detail, format!("GET {INDEX} as pypi-1a2b3c4d-publish (publish): 200"), "the publish credential's own secret");
    assert_eq!(cloud.count("HTTP GET"), 3);

    let text = report.to_text();
    print!("{text}");
    assert!(text.starts_with("pypictl doctor: pypi in us-east-1 (UPDATE_COMPLETE)\n"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("✔ ")).count(), 14, "{text}");
    assert!(text.ends_with("0 failed, 0 warnings, 14 passed, 0 skipped\n"), "{text}");
    assert!(!text.contains("fix:"), "{text}");

    let j = report.to_json();
    assert_eq!(j["stack"], "pypi");
    assert_eq!(j["checks"].as_array().unwrap().len(), 14);
    assert_eq!(j["checks"][0], json!({"name": "stack", "status": "pass", "detail": "pypi is UPDATE_COMPLETE", "fix": null}));
    assert_eq!(j["summary"], json!({"pass": 14, "warn": 0, "fail": 0, "skip": 0, "ok": true}));
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_stack_fails() {
    let cloud = script(|s| {
        s["initial"]["status"] = json!("UPDATE_ROLLBACK_COMPLETE");
        s["initial"]["reason"] = json!("The following resource(s) failed to update: [Service].");
    });
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, STACK, Status::Fail);
    assert!(detail.contains("UPDATE_ROLLBACK_COMPLETE: The following resource(s) failed to update: [Service]."), "{detail}");
    assert!(fix.contains("`pypictl status`") && fix.contains("`pypictl deploy`"), "{fix}");
    // The previous version still runs: the other checks say so.
    others_pass(&report, &[STACK]);
    assert!(report.failed());

    // A first deployment rolled back: deploy offers to recreate it; the outputs are gone.
    let cloud = script(|s| {
        s["initial"]["status"] = json!("ROLLBACK_COMPLETE");
        s["initial"]["outputs"] = json!({});
        s["resources"] = json!({});
    });
    let report = run(&cloud).await;
    let (_, fix) = check(&report, STACK, Status::Fail);
    assert!(fix.contains("`pypictl deploy` offers to delete and recreate"), "{fix}");
    // The images are checked without the stack's outputs.
    for name in ALL.iter().filter(|n| ![STACK, ALARMS, IMAGES].contains(n)) {
        check(&report, name, Status::Skip);
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_nested_stack_fails() {
    let cloud = script(|s| {
        s["initial"]["status"] = json!("UPDATE_ROLLBACK_FAILED");
        s["resources"]["root"][2] = json!("Storage AWS::CloudFormation::Stack UPDATE_FAILED");
    });
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, NESTED_STACKS, Status::Fail);
    assert_eq!(detail, "1 of 9 nested stacks not complete: Storage UPDATE_FAILED");
    assert!(fix.contains("`pypictl deploy`"), "{fix}");
    let (_, fix) = check(&report, STACK, Status::Fail);
    assert!(fix.contains("`pypictl deploy` continues the rollback"), "{fix}");
}

#[tokio::test(start_paused = true)]
async fn an_update_in_progress_is_a_warning() {
    let cloud = script(|s| {
        s["initial"]["status"] = json!("UPDATE_IN_PROGRESS");
        s["resources"]["root"][6] = json!("Service AWS::CloudFormation::Stack UPDATE_IN_PROGRESS");
    });
    let report = run(&cloud).await;
    let (_, fix) = check(&report, STACK, Status::Warn);
    assert!(fix.contains("`pypictl status --watch`"), "{fix}");
    let (_, fix) = check(&report, NESTED_STACKS, Status::Warn);
    assert!(fix.contains("`pypictl status --watch`"), "{fix}");
    assert!(!report.failed());
}

#[tokio::test(start_paused = true)]
async fn tasks_below_desired_fail() {
    let cloud = script(|s| s["ecs"] = json!(["0 desired=12 running=9 pending=3 failed=2 rollout=IN_PROGRESS deployments=2"]));
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, ECS_TASKS, Status::Fail);
    assert_eq!(detail, "9/12 tasks running, 3 pending, rollout IN_PROGRESS, 2 failed to start");
    assert!(fix.contains("`pypictl status --watch`") && fix.contains("pypictl upgrade --instance-type c6a.2xlarge"), "{fix}");
    others_pass(&report, &[ECS_TASKS]);

    // No service at all.
    let cloud = script(|s| s["ecs"] = json!([]));
    let (_, fix) = check(&run(&cloud).await, ECS_TASKS, Status::Fail);
    assert!(fix.contains("`pypictl deploy`"), "{fix}");
}

#[tokio::test(start_paused = true)]
async fn oom_kills_fail_with_twice_the_memory() {
    let oom = |s: &mut Value| {
        s["stopped_tasks"] = json!([
            "-300 3c4d5e6f7a8b49c0d1e2f3a4b5c6d7e8 Essential container in task exited; pypiserver: OutOfMemoryError: Container killed due to memory usage (exit 137)",
            "-900 4d5e6f7a8b9c40d1e2f3a4b5c6d7e8f9 Essential container in task exited; pypiserver: OutOfMemoryError: Container killed due to memory usage (exit 137)",
            "-1200 5e6f7a8b9c0d41e2f3a4b5c6d7e8f9a0 Essential container in task exited; pypiserver: (exit 137)",
            "-1800 0a1b2c3d4e5f47a8b9c0d1e2f3a4b5c6 Scaling activity initiated by (deployment ecs-svc/1234567890123456789)"
        ]);
    };
    let cloud = script(oom);
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, STOPPED_TASKS, Status::Fail);
    assert!(detail.starts_with("3 tasks were killed out of memory (limit service.container_memory = 512 MB): 2 × Essential container"), "{detail}");
    assert!(fix.contains("`service.container_memory = 1024`") && fix.contains("`pypictl upgrade --container-memory 1024`"), "{fix}");
    assert!(!fix.contains("instance_type"), "1024 MB fits on c6a.xlarge: {fix}");
    assert!(fix.contains("3 tasks per c6a.xlarge instead of 6"), "{fix}");
    others_pass(&report, &[STOPPED_TASKS]);
    println!("{}", report.to_text());

    // Twice the memory does not fit the instance type: a larger one too.
    let mut cfg = config("light");
    cfg.service.container_memory = 1024;
    let report = run_with(&script(oom), &cfg, &Options::default()).await;
    let (_, fix) = check(&report, STOPPED_TASKS, Status::Fail);
    assert!(fix.contains("2048 MB does not fit on t3.small"), "{fix}");
    assert!(fix.contains("`compute.instance_type = \"t3.medium\"`") && fix.contains("`service.container_memory = 2048`"), "{fix}");
    assert!(fix.contains("`pypictl upgrade --instance-type t3.medium --container-memory 2048`"), "{fix}");
}

#[tokio::test(start_paused = true)]
async fn other_stopped_tasks_are_listed_as_a_warning() {
    let cloud = script(|s| {
        s["stopped_tasks"] = json!([
            "-60 6f7a8b9c0d1e42f3a4b5c6d7e8f9a0b1 Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/pypi-Targe-1/0123456789abcdef)",
            "-120 7a8b9c0d1e2f43a4b5c6d7e8f9a0b1c2 CannotPullContainerError: pull image manifest has been retried 1 time(s): not found",
            "-180 8b9c0d1e2f3a44b5c6d7e8f9a0b1c2d3 Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/pypi-Targe-1/0123456789abcdef)"
        ]);
    });
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, STOPPED_TASKS, Status::Warn);
    assert!(detail.starts_with("3 tasks stopped recently: 2 × Task failed ELB health checks"), "{detail}");
    assert!(detail.contains("1 × CannotPullContainerError"), "{detail}");
    assert!(fix.contains("`service.image_tag`") && fix.contains("target_health") && fix.contains("`pypictl status --watch`"), "{fix}");
    assert!(fix.contains("/ecs/pypi"), "names the log group: {fix}");
    assert!(!report.failed(), "warnings alone do not fail");
}

#[tokio::test(start_paused = true)]
async fn unhealthy_targets_fail_with_their_reasons() {
    let cloud = script(|s| {
        s["targets"][3] = json!("i-0a1b2c3d4e5f60001:32771 unhealthy Target.Timeout: Request timed out");
        s["targets"][4] = json!("i-0a1b2c3d4e5f60001:32772 unhealthy Target.ResponseCodeMismatch: Health checks failed with these codes: [502]");
    });
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, TARGET_HEALTH, Status::Fail);
    assert!(detail.starts_with("10 of 12 targets healthy: i-0a1b2c3d4e5f60001:32771 unhealthy (Target.Timeout: Request timed out)"), "{detail}");
    assert!(detail.contains("Target.ResponseCodeMismatch"), "{detail}");
    assert!(fix.contains("`pypictl upgrade --instance-type c6a.2xlarge`") && fix.contains("`pypictl status --watch`"), "{fix}");
    others_pass(&report, &[TARGET_HEALTH]);

    // Draining during a deployment: a warning.
    let cloud = script(|s| s["targets"][0] = json!("i-0a1b2c3d4e5f60001:32768 draining Target.DeregistrationInProgress: Target deregistration is in progress"));
    let (_, fix) = check(&run(&cloud).await, TARGET_HEALTH, Status::Warn);
    assert!(fix.contains("`pypictl status --watch`"), "{fix}");

    // None registered.
    let cloud = script(|s| s["targets"] = json!([]));
    check(&run(&cloud).await, TARGET_HEALTH, Status::Fail);
}

#[tokio::test(start_paused = true)]
async fn efs_at_its_io_limit_needs_more_throughput() {
    let cloud = script(|s| s["metrics"]["AWS/EFS PercentIOLimit Maximum"] = json!(97.0));
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, EFS_IO_LIMIT, Status::Fail);
    assert!(detail.contains("fs-0123456789abcdef0 peaked at 97.0 %") && detail.contains("throttled"), "{detail}");
    assert!(fix.contains("`storage.throughput_mode = \"provisioned\"`") && fix.contains("`pypictl deploy`"), "{fix}");
    others_pass(&report, &[EFS_IO_LIMIT]);

    // Above 80 %: a warning; in bursting mode the fix is elastic throughput.
    let mut cfg = config("heavy");
    cfg.storage.throughput_mode = ThroughputMode::Bursting;
    let cloud = script(|s| s["metrics"]["AWS/EFS PercentIOLimit Maximum"] = json!(86.0));
    let report = run_with(&cloud, &cfg, &Options::default()).await;
    let (_, fix) = check(&report, EFS_IO_LIMIT, Status::Warn);
    assert!(fix.contains("`storage.throughput_mode = \"elastic\"`"), "{fix}");

    // Provisioned: more of it.
    cfg.storage.throughput_mode = ThroughputMode::Provisioned;
    cfg.storage.provisioned_throughput_mibps = Some(100);
    let report = run_with(&cloud, &cfg, &Options::default()).await;
    let (_, fix) = check(&report, EFS_IO_LIMIT, Status::Warn);
    assert!(fix.contains("`storage.provisioned_throughput_mibps` from 100 to 200"), "{fix}");
}

#[tokio::test(start_paused = true)]
async fn burst_credits_running_out_in_bursting_mode_fail() {
    let mut cfg = config("heavy");
    cfg.storage.throughput_mode = ThroughputMode::Bursting;
    let cloud = script(|s| s["metrics"]["AWS/EFS BurstCreditBalance Minimum"] = json!(250_000_000_000.0));
    let report = run_with(&cloud, &cfg, &Options::default()).await;
    let (detail, fix) = check(&report, EFS_BURST_CREDITS, Status::Fail);
    assert!(detail.contains("fell to 250.0 GB") && detail.contains("monitoring.efs_burst_credit_threshold (1.00 TB)"), "{detail}");
    assert!(fix.contains("`storage.throughput_mode = \"elastic\"`"), "{fix}");
    others_pass(&report, &[EFS_BURST_CREDITS]);

    // Plenty of credits in bursting mode passes; in elastic mode the metric is not read.
    let report = run_with(&script(|_| {}), &cfg, &Options::default()).await;
    let (detail, _) = check(&report, EFS_BURST_CREDITS, Status::Pass);
    assert!(detail.contains("2.30 TB"), "{detail}");
    let (detail, _) = check(&run(&cloud).await, EFS_BURST_CREDITS, Status::Pass);
    assert!(detail.contains("storage.throughput_mode = \"elastic\""), "{detail}");
}

#[tokio::test(start_paused = true)]
async fn many_5xx_responses_fail() {
    let cloud = script(|s| {
        s["metrics"]["AWS/ApplicationELB HTTPCode_ELB_5XX_Count Sum"] = json!(41.0);
        s["metrics"]["AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum"] = json!(3.0);
    });
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, ALB_5XX, Status::Fail);
    assert_eq!(detail, "44 5xx responses in the last hour of 48210 requests (0.09 %): 41 from the load balancer, 3 from pypiserver");
    assert!(fix.contains("`pypictl upgrade --instance-type c6a.2xlarge`") && fix.contains("target_health"), "{fix}");
    assert!(fix.contains("`pypictl upgrade --container-memory 1024`"), "pypiserver errors too: {fix}");
    others_pass(&report, &[ALB_5XX]);
}

#[tokio::test(start_paused = true)]
async fn a_slow_p95_suggests_the_next_instance_size() {
    let cloud = script(|s| s["metrics"]["AWS/ApplicationELB TargetResponseTime p95"] = json!(7.4));
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, ALB_LATENCY, Status::Warn);
    assert_eq!(detail, "p95 response time reached 7.4 s in the last hour (above 5 s) on c6a.xlarge");
    assert!(fix.contains("`compute.instance_type = \"c6a.2xlarge\"`") && fix.contains("`pypictl upgrade --instance-type c6a.2xlarge`"), "{fix}");
    others_pass(&report, &[ALB_LATENCY]);
    assert!(!report.failed(), "a warning: exit 0");
    println!("{}", report.to_text());
}

#[tokio::test(start_paused = true)]
async fn firing_alarms_fail_and_are_listed() {
    let cloud = script(|s| {
        s["alarms"] = json!([
            "pypi-production-ecs-memory-high Threshold Crossed: 2 datapoints [93.1 (20/11/26 09:50:00), 91.7 (20/11/26 09:45:00)] were greater than the threshold (90.0).",
            "pypi-production-efs-throughput Threshold Crossed: 3 datapoints were greater than the threshold (80.0).",
            "other-service-cpu-high not ours"
        ]);
    });
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, ALARMS, Status::Fail);
    assert!(detail.starts_with("2 alarms in ALARM: pypi-production-ecs-memory-high (Threshold Crossed"), "{detail}");
    assert!(detail.contains("pypi-production-efs-throughput") && !detail.contains("other-service"), "{detail}");
    assert!(fix.contains("`storage.throughput_mode = \"provisioned\"`") && fix.contains("`pypictl upgrade --container-memory 1024`"), "{fix}");
    others_pass(&report, &[ALARMS]);
}

#[tokio::test(start_paused = true)]
async fn authentication_off_fails() {
    let cloud = script(|s| s["http"] = json!({ format!("{INDEX} -"): 200 }));
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, HTTP_UNAUTHENTICATED, Status::Fail);
    assert!(detail.contains("without credentials: 200: authentication is off"), "{detail}");
    assert!(fix.contains("`pypictl deploy`") && fix.contains("require credentials"), "{fix}");
    others_pass(&report, &[HTTP_UNAUTHENTICATED]);
}

#[tokio::test(start_paused = true)]
async fn a_fallback_redirect_fails() {
    let cloud = script(|s| s["http"] = json!({ format!("{INDEX} -"): 303 }));
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, HTTP_UNAUTHENTICATED, Status::Fail);
    assert!(detail.contains("303, a redirect (to pypi.org: the public fallback is on"), "{detail}");
    assert!(fix.contains("`pypictl deploy` restores `--disable-fallback`"), "{fix}");
    others_pass(&report, &[HTTP_UNAUTHENTICATED]);

    let mut cfg = config("heavy");
    cfg.service.allow_public_fallback = true;
    let report = run_with(&cloud, &cfg, &Options::default()).await;
    let (_, fix) = check(&report, HTTP_UNAUTHENTICATED, Status::Fail);
    assert!(fix.contains("`service.allow_public_fallback = false`"), "{fix}");
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_service_fails_with_the_reason() {
    let reason = "error: dns error: failed to lookup address information: Name or service not known";
    let cloud = script(|s| s["http"] = json!({ format!("{INDEX} -"): reason, format!("{INDEX} pypi-1a2b3c4d"): reason }));
    let report = run(&cloud).await;
    for name in [HTTP_AUTHENTICATED, HTTP_UNAUTHENTICATED] {
        let (detail, fix) = check(&report, name, Status::Fail);
        assert_eq!(detail, format!("no response from {INDEX}: dns error: failed to lookup address information: Name or service not known"));
        assert!(fix.contains("pypi.example.com resolves to the load balancer pypi-LoadB-1A2B3C4D5E6F-1234567890.us-east-1.elb.amazonaws.com"), "{fix}");
        assert!(fix.contains("`load_balancer.allowed_cidrs`") && fix.contains("`pypictl status`"), "{fix}");
    }
    others_pass(&report, &[HTTP_AUTHENTICATED, HTTP_UNAUTHENTICATED]);
    println!("{}", report.to_text());
}

#[tokio::test(start_paused = true)]
async fn refused_credentials_point_at_creds() {
    let cloud = script(|s| s["http"] = json!({ format!("{INDEX} pypi-1a2b3c4d"): 401 }));
    let report = run(&cloud).await;
    let (_, fix) = check(&report, HTTP_AUTHENTICATED, Status::Fail);
    assert!(fix.contains("`pypictl creds --rotate`") && fix.contains("`pypictl creds`"), "{fix}");
    others_pass(&report, &[HTTP_AUTHENTICATED]);
    // The publish credential refused: its own commands.
    let cloud = script(|s| s["http"] = json!({ format!("{INDEX} pypi-1a2b3c4d-publish"): 401 }));
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, HTTP_PUBLISH, Status::Fail);
    assert!(detail.contains("refuses the publish credential's secret"), "{detail}");
    assert!(fix.contains("`pypictl creds --publish --rotate`") && fix.contains("`pypictl creds --publish`"), "{fix}");
    others_pass(&report, &[HTTP_PUBLISH]);
}

#[tokio::test(start_paused = true)]
async fn the_url_can_be_overridden() {
    let cloud = script(|s| s["http"] = json!({ "http://127.0.0.1:9/simple/ -": "error: Connection refused (os error 111)" }));
    let report = run_with(&cloud, &config("heavy"), &Options { url: Some("http://127.0.0.1:9".into()) }).await;
    let (detail, fix) = check(&report, HTTP_UNAUTHENTICATED, Status::Fail);
    assert_eq!(detail, "no response from http://127.0.0.1:9/simple/: Connection refused (os error 111)");
    assert!(fix.contains("PYPICTL_SERVICE_URL"), "{fix}");
    let (detail, _) = check(&report, HTTP_AUTHENTICATED, Status::Pass);
    assert!(detail.starts_with("GET http://127.0.0.1:9/simple/ as"), "{detail}");
}

#[tokio::test(start_paused = true)]
async fn metrics_without_data_are_skipped_not_failed() {
    let cloud = script(|s| s["metrics"] = json!({}));
    let report = run(&cloud).await;
    check(&report, EFS_IO_LIMIT, Status::Skip);
    check(&report, ALB_LATENCY, Status::Skip);
    let (detail, _) = check(&report, ALB_5XX, Status::Pass);
    assert!(detail.starts_with("0 5xx responses"), "no data for a count is zero: {detail}");
    others_pass(&report, &[EFS_IO_LIMIT, ALB_LATENCY]);
    assert!(!report.failed());
    assert!(report.to_text().ends_with("0 failed, 0 warnings, 12 passed, 2 skipped\n"), "{}", report.to_text());
}

#[tokio::test(start_paused = true)]
async fn a_refused_call_is_a_warning_and_the_other_checks_run() {
    let cloud = script(|s| s["errors"] = json!({ "GetMetricData": "AccessDeniedException", "GetSecretValue": "AccessDeniedException" }));
    let report = run(&cloud).await;
    for name in [EFS_IO_LIMIT, ALB_5XX, ALB_LATENCY, HTTP_AUTHENTICATED, HTTP_PUBLISH] {
        let (detail, fix) = check(&report, name, Status::Warn);
        assert!(detail.contains("AccessDeniedException"), "{detail}");
        assert!(fix.contains("allow `"), "{fix}");
    }
    for name in [HTTP_AUTHENTICATED, HTTP_PUBLISH] {
        let (_, fix) = check(&report, name, Status::Warn);
        assert!(fix.contains("secretsmanager:GetSecretValue"), "{fix}");
    }
    others_pass(&report, &[EFS_IO_LIMIT, ALB_5XX, ALB_LATENCY, HTTP_AUTHENTICATED, HTTP_PUBLISH]);
    assert!(!report.failed());
}

#[tokio::test(start_paused = true)]
async fn throttled_calls_are_retried() {
    let cloud = script(|s| s["throttle_every"] = json!(2));
    let report = run(&cloud).await;
    others_pass(&report, &[]);
}

#[tokio::test(start_paused = true)]
async fn a_missing_stack_fails_and_skips_the_rest() {
    let cloud = script(|s| {
        s.as_object_mut().unwrap().remove("initial");
    });
    let report = run(&cloud).await;
    let (detail, fix) = check(&report, STACK, Status::Fail);
    assert_eq!(detail, "pypi does not exist in us-east-1");
    assert!(fix.contains("`pypictl deploy`"), "{fix}");
    for name in &ALL[1..] {
        check(&report, name, Status::Skip);
    }
    assert_eq!(report.to_json()["summary"], json!({"pass": 0, "warn": 0, "fail": 1, "skip": 13, "ok": false}));
}

/// The wire: deploy the heavy example to moto, then `pypictl --output json
/// doctor`. moto runs no tasks and pypi.example.com does not resolve; the
/// probe is pointed at a closed port on 127.0.0.1 so that nothing but
/// loopback is ever contacted.
#[test]
fn doctor_against_the_emulator() {
    let moto = common::Moto::start();
    let seed = moto.seed();
    let work = tempfile::tempdir().unwrap();
    let config = moto.config(&seed, "heavy", work.path());
    let a = moto.pypictl().args(["--yes", "deploy", "--progress", "events", "-c"]).arg(&config).assert();
    assert!(a.get_output().status.success(), "deploy failed:\n{}\n{}", String::from_utf8_lossy(&a.get_output().stdout), String::from_utf8_lossy(&a.get_output().stderr));

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/");
    let a = moto.pypictl().env("PYPICTL_SERVICE_URL", &url).args(["--output", "json", "doctor", "-c"]).arg(&config).assert().code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    println!("{out}");
    assert_eq!(report["stack"], "pypi");
    assert_eq!(report["status"], "CREATE_COMPLETE");
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(), ALL.to_vec());
    let get = |name: &str| checks.iter().find(|c| c["name"] == name).unwrap().clone();
    for c in checks {
        assert!(["pass", "warn", "fail", "skip"].contains(&c["status"].as_str().unwrap()), "{c}");
        assert!(c["detail"].is_string() && (c["fix"].is_null() || c["fix"].is_string()), "{c}");
    }
    assert_eq!(get(STACK)["status"], "pass", "{out}");
    assert_eq!(get(NESTED_STACKS)["status"], "pass", "{out}");
    assert_eq!(get(NESTED_STACKS)["detail"], "all 9 nested stacks complete");
    let index = format!("http://127.0.0.1:{closed}/simple/");
    let unauthenticated = get(HTTP_UNAUTHENTICATED);
    assert_eq!(unauthenticated["status"], "fail", "{out}");
    let detail = unauthenticated["detail"].as_str().unwrap();
    assert!(detail.starts_with(&format!("no response from {index}: ")), "{detail}");
    assert!(unauthenticated["fix"].as_str().unwrap().contains("PYPICTL_SERVICE_URL"));
    let authenticated = get(HTTP_AUTHENTICATED);
    assert_eq!(authenticated["status"], "fail", "{out}");
    assert!(authenticated["detail"].as_str().unwrap().starts_with(&format!("no response from {index}: ")), "{authenticated}");
    let summary = &report["summary"];
    assert_eq!(summary["ok"], false);
    let total: u64 = ["pass", "warn", "fail", "skip"].iter().map(|k| summary[k].as_u64().unwrap()).sum();
    assert_eq!(total, 14);
    // The registries are a closed port on 127.0.0.1 (tests/it/common.rs): a warning.
    assert_eq!(get(IMAGES)["status"], "warn", "{out}");

    // The text form: one line per check, exit 1, no password.
    let a = moto.pypictl().env("PYPICTL_SERVICE_URL", &url).args(["doctor", "-c"]).arg(&config).assert().code(1);
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    println!("{text}");
    assert!(text.lines().any(|l| l.starts_with("✔ stack ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("✘ http_unauthenticated ")), "{text}");
    // The secret's password (read as a user would, with boto3 from moto's tools) is in neither output.
    let a = moto.pypictl().args(["--output", "json", "status", "-c"]).arg(&config).assert().success();
    let status: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let arn = status["outputs"]["PypiUserSecretArn"].as_str().unwrap().to_string();
    let read = std::process::Command::new(common::tools().join("moto/bin/python"))
        .args(["-c", "import boto3, json, sys; c = boto3.client('secretsmanager', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing'); print(json.loads(c.get_secret_value(SecretId=sys.argv[2])['SecretString'])['password'])"])
        .arg(&moto.url)
        .arg(&arn)
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    let password = String::from_utf8_lossy(&read.stdout).trim().to_string();
    assert!(password.len() >= 8, "a generated password: {password:?}");
    assert!(!text.contains(&password) && !out.contains(&password), "the password is printed");

    // A bad override is bad input.
    moto.pypictl().env("PYPICTL_SERVICE_URL", "ftp://x").args(["doctor", "-c"]).arg(&config).assert().code(2);
}
