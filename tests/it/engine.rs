//! The deploy engine against scripted CloudFormation behaviour
//! (fixtures/timelines/*.json): success with nine nested stacks, a nested
//! failure and its root cause, an ECS service that never stabilises,
//! UPDATE_ROLLBACK_FAILED, throttling, a long history, Ctrl-C, attaching to
//! an operation in progress, stuck stacks, refused stateful replacements.
//! Time is tokio's paused clock: hours of CloudFormation take milliseconds.

use pypictl::engine::model::Status;
use crate::common;

use std::collections::VecDeque;
use std::time::Duration;

use pypictl::engine::changeset::Change;
use pypictl::engine::deploy::{DeployOptions, Deployer, Interaction, Outcome};
use pypictl::engine::progress::{Progress, Recorder};
use pypictl_test_support::ScriptedCloud;
use pypictl::engine::watch::WatchOptions;
use pypictl_stacks::app::{synthesize, Assembly};
use pypictl_stacks::{Config, Deployment};

fn heavy() -> (Deployment, Assembly) {
    let cfg = Config::from_toml(&std::fs::read_to_string(common::example("heavy")).unwrap()).unwrap();
    let d = Deployment::new(cfg).unwrap();
    let a = synthesize(&d).unwrap();
    (d, a)
}

fn timeline(name: &str) -> ScriptedCloud {
    let path = common::repo_root().join("fixtures/timelines").join(format!("{name}.json"));
    ScriptedCloud::from_json(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// A timeline with some of its top-level keys replaced.
fn with(name: &str, extra: serde_json::Value) -> ScriptedCloud {
    let path = common::repo_root().join("fixtures/timelines").join(format!("{name}.json"));
    let mut script: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    script.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    ScriptedCloud::from_json(&script.to_string())
}

/// Answers questions from a script.
#[derive(Default)]
struct Script {
    interactive: bool,
    answers: VecDeque<bool>,
    questions: Vec<String>,
    shown: Vec<Change>,
}

impl Script {
    fn answering(answers: &[bool]) -> Script {
        Script { interactive: true, answers: answers.iter().copied().collect(), ..Default::default() }
    }
}

impl Interaction for Script {
    fn interactive(&self) -> bool {
        self.interactive
    }
    fn confirm(&mut self, question: &str) -> bool {
        self.questions.push(question.to_string());
        self.answers.pop_front().expect("an answer for every question")
    }
    fn show_changes(&mut self, _stack: &str, changes: &[Change]) {
        self.shown.extend_from_slice(changes);
    }
}

fn options(yes: bool) -> DeployOptions {
    common::deploy_options(yes)
}

struct Run {
    outcome: Outcome,
    progress: Vec<Progress>,
    script: Script,
}

async fn deploy_with(cloud: &ScriptedCloud, opts: DeployOptions, mut script: Script, interrupt_after: Option<Duration>) -> Run {
    let (d, a) = heavy();
    let mut sink = Recorder::default();
    let outcome = {
        let mut deployer = Deployer { cloud, registry: cloud, sink: &mut sink, interaction: &mut script, opts };
        let interrupt = async move {
            match interrupt_after {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending::<()>().await,
            }
        };
        deployer.deploy(&a, &d.config, interrupt).await.expect("deploy runs")
    };
    Run { outcome, progress: sink.items, script }
}

async fn deploy(cloud: &ScriptedCloud, yes: bool) -> Run {
    deploy_with(cloud, options(yes), Script::default(), None).await
}

fn events(run: &Run) -> Vec<&pypictl::engine::model::StackEvent> {
    run.progress.iter().filter_map(|p| if let Progress::Event { event, .. } = p { Some(event) } else { None }).collect()
}

fn stacks_announced(run: &Run) -> Vec<String> {
    run.progress.iter().filter_map(|p| if let Progress::Stack(s) = p { Some(s.label.clone()) } else { None }).collect()
}

#[tokio::test(start_paused = true)]
async fn a_new_stack_with_nine_nested_stacks_succeeds() {
    let cloud = timeline("create-success");
    let run = deploy(&cloud, true).await;
    let Outcome::Succeeded { status, outputs } = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!(*status, Status::CreateComplete);
    assert!(outputs.iter().any(|(k, v)| k == "PypiServerUrls" && v == "https://pypi.example.com/"));

    let announced = stacks_announced(&run);
    assert_eq!(announced.len(), 10, "root and nine nested stacks: {announced:?}");
    assert_eq!(events(&run).len(), 194, "every event of the timeline, once");
    let mut times: Vec<i64> = events(&run).iter().map(|e| e.timestamp).collect();
    let sorted = { let mut t = times.clone(); t.sort(); t };
    // Chronological per stack; across stacks the order follows the polls.
    times.dedup();
    assert!(!sorted.is_empty());

    // The ECS rollout was followed.
    let tasks: Vec<_> = run.progress.iter().filter_map(|p| if let Progress::Tasks { snapshot, .. } = p { Some(snapshot.running) } else { None }).collect();
    assert_eq!(tasks, vec![0, 6, 12, 12], "ECS task counts as they changed");

    // The calls: one change set, executed; templates staged once each.
    assert_eq!(cloud.logged("CreateChangeSet").len(), 1);
    assert!(cloud.logged("CreateChangeSet")[0].starts_with("CreateChangeSet Create https://pypictl-staging-bucket.s3.us-east-1.amazonaws.com/pypictl/templates/root-"));
    assert_eq!(cloud.logged("ExecuteChangeSet"), ["ExecuteChangeSet cs-root disable_rollback=false"]);
    assert_eq!(cloud.logged("PutObject").len(), 10, "root and nine nested templates");
    assert!(cloud.logged("DeleteStack").is_empty() && cloud.logged("DeleteChangeSet").is_empty());
}

#[tokio::test(start_paused = true)]
async fn unchanged_templates_are_not_uploaded_again() {
    let cloud = timeline("no-changes");
    let first = deploy(&cloud, true).await;
    assert_eq!(first.outcome, Outcome::NoChanges);
    assert_eq!(cloud.count("PutObject"), 10);
    let second = deploy(&cloud, true).await;
    assert_eq!(second.outcome, Outcome::NoChanges);
    assert_eq!(cloud.count("PutObject"), 10, "content-addressed: nothing uploaded the second time");
    assert_eq!(cloud.logged("DeleteChangeSet").len(), 2, "the empty change set is deleted");
    assert!(cloud.logged("ExecuteChangeSet").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_nested_failure_names_the_deepest_first_failure() {
    let cloud = timeline("nested-failure");
    let run = deploy(&cloud, true).await;
    let Outcome::Failed { status, root_cause, advice, left_behind } = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!(*status, Status::RollbackComplete);
    // The file system is RetainExceptOnCreate (deleted by this rollback);
    // the access-log bucket keeps Retain, and is named with its id.
    let left: Vec<(&str, &str)> = left_behind.iter().map(|r| (r.stack.as_str(), r.logical_id.as_str())).collect();
    assert_eq!(left, [("LoadBalancer", "AccessLogBucket")]);
    let text = pypictl::ui::report::outcome("pypi", &run.outcome);
    assert!(text.contains("Left in the account") && text.contains("AccessLogBucket-1A2B3C"), "{text}");
    let cause = root_cause.as_ref().expect("a root cause");
    assert_eq!((cause.stack.as_str(), cause.logical_id.as_str(), cause.resource_type.as_str()), ("Storage", "MountTarget2", "AWS::EFS::MountTarget"));
    assert!(cause.reason.contains("mount target already exists in this AZ"), "{}", cause.reason);
    assert!(!cause.reason.contains("Embedded stack"));
    assert!(advice.contains("delete and recreate"), "{advice}");
}

#[tokio::test(start_paused = true)]
async fn an_ecs_service_that_never_stabilises_reports_why_tasks_stopped() {
    let cloud = timeline("ecs-never-stable");
    let run = deploy(&cloud, true).await;
    let Outcome::Failed { status, root_cause, .. } = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!(*status, Status::UpdateRollbackComplete);
    let cause = root_cause.as_ref().unwrap();
    assert_eq!((cause.stack.as_str(), cause.logical_id.as_str()), ("Service", "Service"));
    assert!(cause.reason.contains("Circuit Breaker"), "{}", cause.reason);
    let reasons: Vec<&str> = cause.stopped_tasks.iter().map(|t| t.reason.as_str()).collect();
    assert_eq!(reasons, ["Task failed container health checks", "Essential container in task exited; pypiserver: exit code 2 (exit 2)"]);
    let stopped: Vec<_> = run.progress.iter().filter(|p| matches!(p, Progress::TaskStopped { .. })).collect();
    assert_eq!(stopped.len(), 3, "each stopped task reported once while watching");
    let failed: Vec<u32> = run.progress.iter().filter_map(|p| if let Progress::Tasks { snapshot, .. } = p { Some(snapshot.failed) } else { None }).collect();
    assert_eq!(failed, vec![0, 2, 6, 10]);
}

#[tokio::test(start_paused = true)]
async fn update_rollback_failed_is_continued_when_the_user_agrees() {
    let cloud = timeline("update-rollback-failed");
    let run = deploy_with(&cloud, options(false), Script::answering(&[true]), None).await;
    assert_eq!(run.outcome, Outcome::Recovered { status: "UPDATE_ROLLBACK_COMPLETE".into() });
    assert!(run.script.questions[0].contains("UPDATE_ROLLBACK_FAILED"), "{:?}", run.script.questions);
    assert_eq!(cloud.logged("ContinueUpdateRollback"), ["ContinueUpdateRollback root skip=[]"]);
    assert!(cloud.logged("CreateChangeSet").is_empty(), "recovering first; the user deploys again");

    // Without a terminal or --yes nothing is done, and the way out is named.
    let cloud = timeline("update-rollback-failed");
    let run = deploy(&cloud, false).await;
    let Outcome::Stuck { status, advice } = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!(*status, Status::UpdateRollbackFailed);
    assert!(advice.contains("--yes"));
    assert!(cloud.logged("ContinueUpdateRollback").is_empty());
}

#[tokio::test(start_paused = true)]
async fn throttling_on_every_other_call_never_fails_a_successful_deploy() {
    let cloud = timeline("throttled");
    let run = deploy(&cloud, true).await;
    assert!(matches!(&run.outcome, Outcome::Succeeded { status, .. } if *status == Status::CreateComplete), "{:?}", run.outcome);
    let retries = run.progress.iter().filter(|p| matches!(p, Progress::Retrying { .. })).count();
    assert!(retries > 10, "throttled polls were retried ({retries})");
    assert_eq!(events(&run).len(), 194, "no event lost or repeated despite throttling");
    let delays: Vec<u64> = run.progress.iter().filter_map(|p| if let Progress::Retrying { delay_ms, .. } = p { Some(*delay_ms) } else { None }).collect();
    assert!(delays.iter().all(|d| *d >= 1500 && *d <= 20_000), "backs off within bounds: {delays:?}");
}

/// Single calls outside the watch (prerequisites, the change set) are
/// retried when throttled, and each retry is told to the command, which
/// shows it: the user is never left waiting on a silent call.
#[tokio::test(start_paused = true)]
async fn throttled_single_calls_are_retried_and_told() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static TOLD: AtomicUsize = AtomicUsize::new(0);
    fn tell(_: &str, err: &pypictl::engine::model::CloudError, _: Duration, _: u32) {
        assert!(err.is_retryable());
        TOLD.fetch_add(1, Ordering::SeqCst);
    }
    let cloud = timeline("throttled");
    let opts = DeployOptions { on_retry: Some(tell), ..options(true) };
    let run = deploy_with(&cloud, opts, Script::default(), None).await;
    assert!(matches!(&run.outcome, Outcome::Succeeded { .. }), "{:?}", run.outcome);
    assert!(TOLD.load(Ordering::SeqCst) > 0, "throttled single calls were told");
}

#[tokio::test(start_paused = true)]
async fn a_long_history_is_never_read() {
    let cloud = timeline("long-history");
    let run = deploy(&cloud, true).await;
    assert!(matches!(&run.outcome, Outcome::Succeeded { status, .. } if *status == Status::UpdateComplete), "{:?}", run.outcome);
    assert_eq!(events(&run).len(), 15, "only this operation's events");
    let calls = cloud.count("DescribeStackEvents");
    let paged = cloud.count("DescribeStackEvents(next page)");
    // About 380 polls of 1.5 s over the 570 s update, each reading one page of
    // the root and, while it runs, one of Compute: never the 100 pages of history.
    assert_eq!(paged, 0, "no poll paged back into the 10,000 earlier events");
    assert!(calls <= 2 * 400, "{calls} DescribeStackEvents calls for a 570 s update");
    assert!(calls >= 380, "polled about every 1.5 s ({calls} calls)");
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_stops_watching_and_nothing_else() {
    let cloud = timeline("create-success");
    let run = deploy_with(&cloud, options(true), Script::default(), Some(Duration::from_secs(120))).await;
    assert_eq!(run.outcome, Outcome::StoppedWatching { interrupted: true });
    for forbidden in ["DeleteStack", "DeleteChangeSet", "ContinueUpdateRollback", "CreateStack"] {
        assert!(cloud.logged(forbidden).is_empty(), "Ctrl-C must not call {forbidden}");
    }
    let seen = events(&run).len();
    assert!(seen > 10 && seen < 194, "watching stopped midway ({seen} events)");
}

#[tokio::test(start_paused = true)]
async fn an_operation_in_progress_is_watched_not_joined() {
    let cloud = timeline("attach");
    let run = deploy(&cloud, true).await;
    assert!(matches!(&run.outcome, Outcome::Succeeded { status, .. } if *status == Status::UpdateComplete), "{:?}", run.outcome);
    assert!(cloud.logged("CreateChangeSet").is_empty() && cloud.logged("ExecuteChangeSet").is_empty(), "nothing started");
    assert!(stacks_announced(&run).contains(&"Compute".to_string()), "the running nested stack is followed");
    let watched: Vec<&str> = events(&run).iter().map(|e| e.logical_id.as_str()).collect();
    assert!(watched.contains(&"AutoScalingGroup"), "{watched:?}");
}

#[tokio::test(start_paused = true)]
async fn stateful_replacement_is_refused_unless_allowed() {
    let cloud = timeline("stateful-replacement");
    let run = deploy(&cloud, true).await;
    let Outcome::Refused(changes) = &run.outcome else { panic!("{:?}", run.outcome) };
    let refused: Vec<&str> = changes.iter().map(|c| c.change.logical_id.as_str()).collect();
    assert_eq!(refused, ["FileSystem", "MountTarget1", "BackupVault"]);
    assert_eq!(cloud.logged("DeleteChangeSet").len(), 1, "the refused change set is deleted");
    assert!(cloud.logged("DeleteStack").is_empty(), "an existing stack is never deleted when a change set is abandoned");
    assert!(cloud.logged("ExecuteChangeSet").is_empty());
    assert_eq!(run.script.shown.len(), 5, "the preview showed every change, nested stacks expanded");

    let cloud = timeline("stateful-replacement");
    let mut opts = options(true);
    opts.allow_replace_stateful = true;
    let run = deploy_with(&cloud, opts, Script::default(), None).await;
    assert!(matches!(&run.outcome, Outcome::Succeeded { .. }), "{:?}", run.outcome);
}

#[tokio::test(start_paused = true)]
async fn rollback_complete_is_deleted_and_recreated_with_consent() {
    let cloud = timeline("rollback-complete");
    let run = deploy(&cloud, false).await;
    assert!(matches!(&run.outcome, Outcome::Stuck { status, .. } if *status == Status::RollbackComplete), "{:?}", run.outcome);
    assert!(cloud.logged("DeleteStack").is_empty());

    let cloud = timeline("rollback-complete");
    let run = deploy(&cloud, true).await;
    assert!(matches!(&run.outcome, Outcome::Succeeded { status, .. } if *status == Status::CreateComplete), "{:?}", run.outcome);
    let log = cloud.log.borrow().clone();
    let delete = log.iter().position(|l| l.starts_with("DeleteStack")).expect("deleted");
    let create = log.iter().position(|l| l.starts_with("CreateChangeSet Create")).expect("recreated");
    assert!(delete < create, "{log:?}");
}

#[tokio::test(start_paused = true)]
async fn without_a_terminal_or_yes_nothing_is_executed() {
    let cloud = timeline("create-success");
    let run = deploy(&cloud, false).await;
    assert_eq!(run.outcome, Outcome::NeedsConfirmation);
    assert_eq!(cloud.logged("DeleteChangeSet").len(), 1);
    assert_eq!(cloud.logged("DeleteStack"), ["DeleteStack root"], "the empty REVIEW_IN_PROGRESS stack of a first deploy goes too");
    assert!(cloud.logged("ExecuteChangeSet").is_empty());
    use pypictl::engine::cloud::Stacks;
    assert_eq!(cloud.describe_stack("pypi").await.unwrap(), None, "nothing left behind");

    let cloud = timeline("create-success");
    let run = deploy_with(&cloud, options(false), Script::answering(&[false]), None).await;
    assert_eq!(run.outcome, Outcome::Declined);
    assert!(run.script.questions[0].starts_with("Deploy these changes to pypi?"));
    assert!(cloud.logged("ExecuteChangeSet").is_empty());
}

#[tokio::test(start_paused = true)]
async fn no_rollback_is_passed_to_cloudformation() {
    let cloud = timeline("create-success");
    let mut opts = options(true);
    opts.no_rollback = true;
    let _ = deploy_with(&cloud, opts, Script::default(), None).await;
    assert_eq!(cloud.logged("ExecuteChangeSet"), ["ExecuteChangeSet cs-root disable_rollback=true"]);
}

#[tokio::test(start_paused = true)]
async fn a_missing_staging_bucket_is_created_first() {
    let cloud = timeline("create-success").without_staging_bucket();
    let run = deploy(&cloud, true).await;
    assert!(matches!(&run.outcome, Outcome::Succeeded { .. }));
    assert_eq!(cloud.logged("CreateStack"), ["CreateStack pypictl-staging"]);
}

#[tokio::test(start_paused = true)]
async fn prerequisite_problems_stop_everything_and_name_their_fix() {
    let path = common::repo_root().join("fixtures/timelines/create-success.json");
    let mut script: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    script["account"] = serde_json::json!({
        "subnets": [
            "subnet-0aa11bb22cc33dd44 vpc-0a1b2c3d4e5f60718 us-east-1a public",
            "subnet-0ee55ff6677889900 vpc-0a1b2c3d4e5f60718 us-east-1a public",
            "subnet-01234567890abcdef vpc-0ffffffffffffffff us-east-1a"
        ],
        "vpc_id": "vpc-0a1b2c3d4e5f60718",
        "dns_support": true,
        "dns_hostnames": false,
        "internet_gateway": false,
        "zone_id": "Z0123456789ABCDEFGHIJ",
        "zone_name": "example.org.",
        "instance_types": ["t3.small"]
    });
    let cloud = ScriptedCloud::from_json(&script.to_string());
    let run = deploy(&cloud, true).await;
    let Outcome::Prerequisites(problems) = &run.outcome else { panic!("{:?}", run.outcome) };
    let text: Vec<String> = problems.iter().map(|p| format!("{} => {}", p.what, p.fix)).collect();
    let all = text.join("\n");
    for needle in [
        "subnet subnet-0fedcba9876543210 does not exist",
        "subnet-01234567890abcdef belongs to vpc-0ffffffffffffffff",
        "all in us-east-1a",
        "enableDnsHostnames off",
        "--enable-dns-hostnames",
        "no internet gateway",
        "dns.zone_name is example.com but hosted zone Z0123456789ABCDEFGHIJ is example.org",
        "c6a.xlarge is not offered",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    assert!(problems.iter().all(|p| !p.fix.is_empty()));
    assert!(cloud.logged("").iter().all(|l| !l.starts_with("Create") && !l.starts_with("Put")), "nothing changed: {:?}", cloud.log.borrow());
}

/// Deploys the heavy example changed by `change`, with --yes; returns the
/// templates and the outcome.
async fn deploy_heavy_with(cloud: &ScriptedCloud, change: impl FnOnce(&mut Config)) -> (Assembly, Outcome) {
    let mut cfg = Config::from_toml(&std::fs::read_to_string(common::example("heavy")).unwrap()).unwrap();
    change(&mut cfg);
    let d = Deployment::new(cfg).unwrap();
    let a = synthesize(&d).unwrap();
    let mut sink = Recorder::default();
    let outcome = Deployer { cloud, registry: cloud, sink: &mut sink, interaction: &mut Script::default(), opts: options(true) }
        .deploy(&a, &d.config, std::future::pending())
        .await
        .unwrap();
    (a, outcome)
}

/// "ACM does not support DNS validation through private hosted zones" (ACM
/// User Guide, "DNS validation"): the certificate would wait for hours, then
/// fail. A private zone needs load_balancer.certificate_arn; with one, the
/// load balancer uses it and no certificate is requested.
#[tokio::test(start_paused = true)]
async fn a_private_zone_needs_an_existing_certificate() {
    let private = || {
        let path = common::repo_root().join("fixtures/timelines/create-success.json");
        let mut script: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        script["account"] = serde_json::json!({ "zone_private": true });
        ScriptedCloud::from_json(&script.to_string())
    };
    let cloud = private();
    let run = deploy(&cloud, true).await;
    let Outcome::Prerequisites(problems) = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].what.contains("is private") && problems[0].fix.contains("load_balancer.certificate_arn"), "{problems:?}");
    assert!(cloud.logged("CreateChangeSet").is_empty(), "nothing changed");

    let arn = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666";
    let cloud = private();
    let (a, outcome) = deploy_heavy_with(&cloud, |cfg| cfg.load_balancer.certificate_arn = Some(arn.into())).await;
    let lb: serde_json::Value = serde_json::from_str(&a.nested("load_balancer").unwrap().body).unwrap();
    assert!(!lb.to_string().contains("AWS::CertificateManager::Certificate"), "no certificate requested");
    assert!(lb.to_string().contains(arn));
    assert!(!matches!(outcome, Outcome::Prerequisites(_)), "{outcome:?}");
    assert_eq!(cloud.logged("CreateChangeSet").len(), 1);
}

/// `stack_name` defaults to `service_name`: a second environment of the same
/// service would update the first one's stack into itself. A stack whose
/// pypictl tags name another environment is refused, nothing changed.
#[tokio::test(start_paused = true)]
async fn another_environments_stack_is_never_taken_over() {
    let script = |environment: &str| {
        let path = common::repo_root().join("fixtures/timelines/no-changes.json");
        let mut script: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        script["initial"]["tags"] = serde_json::json!({"pypictl:service": "pypi", "pypictl:environment": environment, "managed-by": "pypictl"});
        ScriptedCloud::from_json(&script.to_string())
    };
    let cloud = script("staging");
    let run = deploy(&cloud, true).await;
    let Outcome::Prerequisites(problems) = &run.outcome else { panic!("{:?}", run.outcome) };
    assert!(problems[0].what.contains("environment staging") && problems[0].fix.contains("stack_name = \"pypi-production\""), "{problems:?}");
    assert!(cloud.logged("CreateChangeSet").is_empty() && cloud.logged("PutObject").is_empty(), "nothing changed");
    // Its own environment's stack is deployed as before.
    let cloud = script("production");
    assert_eq!(deploy(&cloud, true).await.outcome, Outcome::NoChanges);
}

/// Behind CloudFront the load balancer admits CloudFront's origin-facing
/// managed prefix list, whose id differs per region: deploy looks it up and
/// passes it to the root template.
#[tokio::test(start_paused = true)]
async fn the_cloudfront_prefix_list_is_looked_up_and_passed() {
    let cloud = timeline("create-success");
    let (_, outcome) = deploy_heavy_with(&cloud, |cfg| {
        cfg.cloudfront.enabled = true;
        cfg.cloudfront.certificate_arn = Some("arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666".into());
    })
    .await;
    assert!(!matches!(outcome, Outcome::Prerequisites(_)), "{outcome:?}");
    assert_eq!(cloud.count("DescribeManagedPrefixLists"), 1);
    let created = cloud.logged("CreateChangeSet");
    assert!(created[0].ends_with("StagingBucket=pypictl-staging-bucket,CloudFrontOriginPrefixList=pl-3b927c52"), "{created:?}");
}

mod destroying {
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
        assert_eq!(plan.resource_count(), 49);
        let kept: Vec<(&str, &str)> = plan.retained.iter().map(|r| (r.logical_id.as_str(), r.physical_id.as_str())).collect();
        assert_eq!(
            kept,
            [
                ("DataKey", "1234abcd-12ab-34cd-56ef-1234567890ab"),
                ("FileSystem", "fs-0123456789abcdef0"),
                ("Credentials", "arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-00000000-AbCdEf"),
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
        assert_eq!(deleted_data.len(), 5);
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
}

mod diffing {
    use super::*;

    async fn diff(cloud: &ScriptedCloud) -> (Outcome, Script) {
        let (d, a) = heavy();
        let mut sink = Recorder::default();
        let mut script = Script::default();
        let outcome = Deployer { cloud, registry: cloud, sink: &mut sink, interaction: &mut script, opts: options(false) }.diff(&a, &d.config).await.unwrap();
        (outcome, script)
    }

    #[tokio::test(start_paused = true)]
    async fn diff_previews_and_changes_nothing() {
        let cloud = timeline("stateful-replacement");
        let (outcome, script) = diff(&cloud).await;
        let Outcome::Previewed(changes) = outcome else { panic!("{outcome:?}") };
        assert_eq!(changes.len(), 5, "nested stacks expanded");
        assert_eq!(script.shown.len(), 5);
        assert!(script.questions.is_empty(), "nothing asked");
        assert_eq!(cloud.logged("DeleteChangeSet").len(), 1);
        assert!(cloud.logged("ExecuteChangeSet").is_empty() && cloud.logged("DeleteStack").is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn diff_of_a_first_deploy_leaves_nothing_behind() {
        let cloud = timeline("create-success");
        let (outcome, _) = diff(&cloud).await;
        assert!(matches!(&outcome, Outcome::Previewed(c) if c.len() == 49), "{outcome:?}");
        assert_eq!(cloud.logged("DeleteStack"), ["DeleteStack root"], "the empty review stack is deleted");
        use pypictl::engine::cloud::Stacks;
        assert_eq!(cloud.describe_stack("pypi").await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn diff_without_changes_and_of_a_busy_stack() {
        assert_eq!(diff(&timeline("no-changes")).await.0, Outcome::NoChanges);
        let cloud = timeline("attach");
        let (outcome, _) = diff(&cloud).await;
        assert!(matches!(&outcome, Outcome::Stuck { status, .. } if *status == Status::UpdateInProgress), "{outcome:?}");
        assert!(cloud.logged("CreateChangeSet").is_empty(), "no change set on a busy stack");
    }
}

/// The watch against reads that fail: ECS reads refused, stack reads
/// refused, a read that never answers.
mod watching {
    use super::*;
    use pypictl::engine::tail::EventTail;
    use pypictl::engine::watch::{WatchEnd, Watcher, MAX_REFUSED_READS};

    const ROOT: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/pypi/00000000-root";

    /// A deployer role without ecs:DescribeServices / DescribeTasks: the
    /// tasks are not shown (said once per failure), and the stacks' events
    /// are read as ever, to the verdict.
    #[tokio::test(start_paused = true)]
    async fn refused_ecs_reads_never_hold_up_the_stacks() {
        let cloud = with("create-success", serde_json::json!({"errors": {"DescribeServices": "AccessDeniedException", "DescribeTasks": "AccessDeniedException"}}));
        let opts = DeployOptions { watch: WatchOptions { max_wait: Some(Duration::from_secs(3 * 3600)), ..WatchOptions::default() }, ..options(true) };
        let run = deploy_with(&cloud, opts, Script::default(), None).await;
        assert!(matches!(&run.outcome, Outcome::Succeeded { status, .. } if *status == Status::CreateComplete), "{:?}", run.outcome);
        let warnings: Vec<&String> = run.progress.iter().filter_map(|p| if let Progress::Warning(w) = p { Some(w) } else { None }).collect();
        assert!(warnings.iter().any(|w| w.contains("reading the ECS service") && w.contains("AccessDenied")), "{warnings:?}");
        assert!(cloud.count("DescribeServices") <= MAX_REFUSED_READS as usize, "ECS reads stop after {MAX_REFUSED_READS} refusals: {}", cloud.count("DescribeServices"));
    }

    /// An expired session or a missing cloudformation:DescribeStackEvents
    /// refuses every read: the watch ends after a few, with the reason,
    /// instead of waiting in silence (the operation goes on).
    #[tokio::test(start_paused = true)]
    async fn refused_stack_reads_end_the_watch_with_the_reason() {
        let cloud = with("attach", serde_json::json!({"errors": {"DescribeStackEvents": "AccessDenied@2"}}));
        let tail = EventTail::after_latest(&cloud, ROOT).await.unwrap();
        let mut sink = Recorder::default();
        let opts = WatchOptions { max_wait: Some(Duration::from_secs(3 * 3600)), ..WatchOptions::default() };
        let report = Watcher::new(&cloud, &mut sink, ROOT, "pypi", tail, opts).run(std::future::pending()).await;
        let WatchEnd::Unreadable { what, reason } = &report.end else { panic!("{:?}", report.end) };
        assert!(what.contains("pypi") && reason.contains("AccessDenied"), "{what}: {reason}");
        assert_eq!(cloud.count("DescribeStackEvents"), 1 + MAX_REFUSED_READS as usize, "the first read, then the refused ones");
        let text = report.end.stopped_text().unwrap();
        assert!(text.contains("CloudFormation goes on") && text.contains("pypictl status --watch"), "{text}");
    }

    /// A read that never answers (a half-open connection after a laptop
    /// slept): Ctrl-C still stops the watch.
    #[tokio::test(start_paused = true)]
    async fn ctrl_c_ends_a_read_that_never_answers() {
        let cloud = with("attach", serde_json::json!({"hang": {"DescribeStackEvents": 2}}));
        let tail = EventTail::after_latest(&cloud, ROOT).await.unwrap();
        let mut sink = Recorder::default();
        let watch = Watcher::new(&cloud, &mut sink, ROOT, "pypi", tail, WatchOptions::default()).run(tokio::time::sleep(Duration::from_secs(30)));
        let report = tokio::time::timeout(Duration::from_secs(3600), watch).await.expect("Ctrl-C ends the hanging read");
        assert_eq!(report.end, WatchEnd::Interrupted);
    }
}

/// What real CloudFormation does that the emulator finishes before the
/// first poll: rollbacks in a second phase, rollbacks that fail, deletions
/// under way, lost answers, nested change sets that fail.
mod real_cloudformation {
    use super::*;

    fn warnings(run: &Run) -> Vec<String> {
        run.progress.iter().filter_map(|p| if let Progress::Warning(w) = p { Some(w.clone()) } else { None }).collect()
    }

    fn steps(run: &Run) -> Vec<String> {
        run.progress.iter().filter_map(|p| if let Progress::Step(w) = p { Some(w.clone()) } else { None }).collect()
    }

    /// The rollback of a failed first deploy deletes Network, which had
    /// completed: the watch follows it again (the root shows it
    /// DELETE_IN_PROGRESS), so the security group that blocks its deletion
    /// is shown and named as the cause, and ROLLBACK_FAILED is not called a
    /// return to the previous state.
    #[tokio::test(start_paused = true)]
    async fn a_rollback_that_fails_is_followed_into_the_nested_stacks() {
        let cloud = timeline("rollback-failed");
        let run = deploy(&cloud, true).await;
        let Outcome::Failed { status, root_cause, advice, .. } = &run.outcome else { panic!("{:?}", run.outcome) };
        assert_eq!(*status, Status::RollbackFailed);
        let blocked = run.progress.iter().any(|p| matches!(p, Progress::Event { stack, event } if stack == "Network" && event.logical_id == "InstanceSecurityGroup" && event.status == Status::DeleteFailed));
        assert!(blocked, "the blocker's DELETE_FAILED event is shown");
        let deleting = run.progress.iter().any(|p| matches!(p, Progress::Event { stack, event } if stack == "Network" && event.status == Status::DeleteInProgress));
        assert!(deleting, "the nested stack's deletion is followed");
        let cause = root_cause.as_ref().unwrap();
        assert_eq!((cause.stack.as_str(), cause.logical_id.as_str()), ("Network", "InstanceSecurityGroup"), "{cause:?}");
        assert!(cause.reason.contains("dependent object"), "{}", cause.reason);
        assert!(advice.contains("ROLLBACK_FAILED") && !advice.contains("previous state"), "{advice}");
    }

    /// An update whose rollback fails: the rollback's failure is the cause
    /// (not the update's), the advice names the resource in the form
    /// ResourcesToSkip takes, a plain retry fails again, and
    /// --rollback-skip-failed skips exactly that resource and recovers.
    #[tokio::test(start_paused = true)]
    async fn a_failed_update_rollback_is_continued_skipping_what_blocks_it() {
        let cloud = timeline("update-rollback-blocked");
        let run = deploy(&cloud, true).await;
        let Outcome::Failed { status, root_cause, advice, .. } = &run.outcome else { panic!("{:?}", run.outcome) };
        assert_eq!(*status, Status::UpdateRollbackFailed);
        let cause = root_cause.as_ref().unwrap();
        assert_eq!((cause.stack.as_str(), cause.logical_id.as_str()), ("Network", "ServiceSecurityGroup"));
        assert!(cause.reason.contains("does not exist"), "the rollback's failure, not the update's: {}", cause.reason);
        let skip = "pypi-Network-ABC.ServiceSecurityGroup";
        assert!(advice.contains(skip) && advice.contains("--rollback-skip-failed"), "{advice}");

        // A plain retry: ContinueUpdateRollback without resources to skip fails again.
        let run = deploy(&cloud, true).await;
        assert!(matches!(&run.outcome, Outcome::Failed { status, .. } if *status == Status::UpdateRollbackFailed), "{:?}", run.outcome);
        assert!(warnings(&run).iter().any(|w| w.contains("ServiceSecurityGroup") && w.contains("does not exist")), "{:?}", warnings(&run));
        assert_eq!(cloud.logged("ContinueUpdateRollback"), ["ContinueUpdateRollback root skip=[]"]);

        // With --rollback-skip-failed: the blocker is skipped, by its nested stack's name.
        let opts = DeployOptions { rollback_skip_failed: true, ..options(true) };
        let run = deploy_with(&cloud, opts, Script::default(), None).await;
        assert!(matches!(&run.outcome, Outcome::Recovered { status } if *status == Status::UpdateRollbackComplete), "{:?}", run.outcome);
        assert_eq!(cloud.logged("ContinueUpdateRollback").last().unwrap(), &format!("ContinueUpdateRollback root skip=[{skip}]"));
        assert!(steps(&run).iter().any(|s| s.contains(&format!("skipping {skip}"))), "{:?}", steps(&run));
    }

    /// Asked, a person sees what would be skipped before saying yes.
    #[tokio::test(start_paused = true)]
    async fn the_skip_is_asked_with_the_resources_named() {
        let cloud = timeline("update-rollback-blocked");
        deploy(&cloud, true).await;
        let opts = DeployOptions { rollback_skip_failed: true, ..options(false) };
        let run = deploy_with(&cloud, opts, Script::answering(&[false]), None).await;
        assert!(matches!(&run.outcome, Outcome::Stuck { .. }), "{:?}", run.outcome);
        assert!(run.script.questions[0].contains("skipping pypi-Network-ABC.ServiceSecurityGroup"), "{:?}", run.script.questions);
        assert!(cloud.logged("ContinueUpdateRollback").is_empty(), "nothing continued without a yes");
    }

    /// A stack found in DELETE_IN_PROGRESS (a destroy a moment ago) is
    /// waited for, then created — not reported as a failure.
    #[tokio::test(start_paused = true)]
    async fn a_stack_being_deleted_is_waited_for_then_created() {
        let cloud = timeline("delete-in-progress");
        let run = deploy(&cloud, true).await;
        assert!(matches!(&run.outcome, Outcome::Succeeded { status, .. } if *status == Status::CreateComplete), "{:?}", run.outcome);
        assert!(cloud.logged("CreateChangeSet")[0].starts_with("CreateChangeSet Create "), "{:?}", cloud.logged("CreateChangeSet"));
        assert!(steps(&run).iter().any(|s| s.contains("being deleted")), "{:?}", steps(&run));
    }

    /// A stack whose update failed with rollback disabled (UPDATE_FAILED):
    /// CloudFormation refuses to update it unless rollback stays disabled,
    /// so the retry keeps DisableRollback and says so.
    #[tokio::test(start_paused = true)]
    async fn a_retry_after_no_rollback_keeps_rollback_disabled() {
        let cloud = timeline("failed-no-rollback");
        let run = deploy(&cloud, true).await;
        assert!(matches!(&run.outcome, Outcome::Succeeded { status, .. } if *status == Status::UpdateComplete), "{:?}", run.outcome);
        assert_eq!(cloud.logged("ExecuteChangeSet"), ["ExecuteChangeSet cs-root disable_rollback=true"]);
        assert!(steps(&run).iter().any(|s| s.contains("UPDATE_FAILED") && s.contains("DisableRollback") && s.contains("rollback-stack")), "{:?}", steps(&run));
    }

    /// `diff` previews such a stack (change sets are allowed there).
    #[tokio::test(start_paused = true)]
    async fn a_stack_left_failed_by_no_rollback_can_be_previewed() {
        let cloud = timeline("failed-no-rollback");
        let (d, a) = heavy();
        let mut sink = Recorder::default();
        let mut script = Script::default();
        let outcome = Deployer { cloud: &cloud, registry: &cloud, sink: &mut sink, interaction: &mut script, opts: options(false) }.diff(&a, &d.config).await.unwrap();
        assert!(matches!(&outcome, Outcome::Previewed(c) if c.len() == 2), "{outcome:?}");
    }

    /// The answer to ExecuteChangeSet is lost after CloudFormation started
    /// the operation: the retry carries the same request token, is
    /// recognised as the same request, and the deploy goes on.
    #[tokio::test(start_paused = true)]
    async fn a_lost_answer_is_retried_as_the_same_request() {
        let cloud = with("create-success", serde_json::json!({"lost_answers": ["ExecuteChangeSet"]}));
        let run = deploy(&cloud, true).await;
        assert!(matches!(&run.outcome, Outcome::Succeeded { .. }), "{:?}", run.outcome);
        assert_eq!(cloud.count("ExecuteChangeSet"), 2, "retried once");
        assert_eq!(cloud.logged("ExecuteChangeSet").len(), 1, "started once");
    }

    /// A nested change set fails (a template error in one nested stack): the
    /// error says why, from that change set, and leaves nothing behind — no
    /// failed change set, no empty stack.
    #[tokio::test(start_paused = true)]
    async fn a_failed_nested_change_set_gives_its_own_reason_and_leaves_nothing() {
        let timeline_text = std::fs::read_to_string(common::repo_root().join("fixtures/timelines/create-success.json")).unwrap();
        let mut script: serde_json::Value = serde_json::from_str(&timeline_text).unwrap();
        script["change_set"]["nested_failures"] = serde_json::json!({"Storage": "Template error: instance of Fn::GetAtt references undefined resource FileSystm"});
        let cloud = ScriptedCloud::from_json(&script.to_string());
        let (d, a) = heavy();
        let mut sink = Recorder::default();
        let mut s = Script::default();
        let err = Deployer { cloud: &cloud, registry: &cloud, sink: &mut sink, interaction: &mut s, opts: options(true) }
            .deploy(&a, &d.config, std::future::pending())
            .await
            .expect_err("the change set failed");
        let text = format!("{err:#}");
        assert!(text.contains("pypi-Storage-ABC: Template error: instance of Fn::GetAtt references undefined resource FileSystm"), "{text}");
        assert!(!text.contains("Nested change set"), "{text}");
        assert_eq!(cloud.logged("DeleteChangeSet"), ["DeleteChangeSet cs-root"]);
        assert_eq!(cloud.logged("DeleteStack"), ["DeleteStack root"], "the empty REVIEW_IN_PROGRESS stack goes too");
    }

    /// A file system whose KMS key is passed from the Encryption stack's
    /// output is `Replacement: Conditional` with a Dynamic evaluation
    /// whenever Encryption changes: said, not refused.
    #[tokio::test(start_paused = true)]
    async fn a_conditional_replacement_from_a_dynamic_value_is_said_not_refused() {
        let cloud = with("stateful-replacement", serde_json::json!({"change_set": {"changes": [
            "Storage Modify FileSystem AWS::EFS::FileSystem Conditional KmsKeyId:Always:Dynamic:KmsKeyArn",
            "Encryption Modify DataKey AWS::KMS::Key False"
        ]}}));
        let run = deploy(&cloud, true).await;
        assert!(matches!(&run.outcome, Outcome::Succeeded { .. }), "{:?}", run.outcome);
        assert!(warnings(&run).iter().any(|w| w.contains("FileSystem") && w.contains("may be replaced") && w.contains("KmsKeyArn")), "{:?}", warnings(&run));

        // The same change known now (Static) is refused.
        let cloud = with("stateful-replacement", serde_json::json!({"change_set": {"changes": [
            "Storage Modify FileSystem AWS::EFS::FileSystem Conditional KmsKeyId:Always:Static"
        ]}}));
        let run = deploy(&cloud, true).await;
        assert!(matches!(&run.outcome, Outcome::Refused(c) if c.len() == 1), "{:?}", run.outcome);
    }

    /// Abandoning a first deploy's change set waits until its empty stack
    /// is gone (seconds on AWS), so that `diff && deploy` never meets it.
    #[tokio::test(start_paused = true)]
    async fn an_abandoned_first_change_set_is_gone_when_the_command_ends() {
        use pypictl::engine::cloud::Stacks;
        let cloud = with("create-success", serde_json::json!({"review_delete_seconds": 20}));
        let (d, a) = heavy();
        let mut sink = Recorder::default();
        let mut s = Script::default();
        let outcome = Deployer { cloud: &cloud, registry: &cloud, sink: &mut sink, interaction: &mut s, opts: options(false) }.diff(&a, &d.config).await.unwrap();
        assert!(matches!(outcome, Outcome::Previewed(_)), "{outcome:?}");
        assert_eq!(cloud.describe_stack("pypi").await.unwrap(), None, "deleted, not DELETE_IN_PROGRESS");
        let run = deploy(&cloud, true).await;
        assert!(matches!(&run.outcome, Outcome::Succeeded { status, .. } if *status == Status::CreateComplete), "{:?}", run.outcome);
    }

    /// The polling budget of a deploy at a real account's pace (the heavy
    /// example, about half an hour): the root every poll, a nested stack only
    /// while its parent shows it in progress and every other poll, ECS every
    /// third poll during the rollout. The figures are in docs/architecture.md.
    #[tokio::test(start_paused = true)]
    async fn the_polling_budget_of_a_half_hour_deploy() {
        let cloud = timeline("create-slow");
        let started = tokio::time::Instant::now();
        let run = deploy(&cloud, true).await;
        assert!(matches!(&run.outcome, Outcome::Succeeded { .. }), "{:?}", run.outcome);
        let minutes = started.elapsed().as_secs_f64() / 60.0;
        let cfn = cloud.count("DescribeStackEvents") + cloud.count("DescribeStacks") + cloud.count("ListStackResources");
        let ecs = cloud.count("DescribeServices") + cloud.count("DescribeTasks");
        let per_second = (cfn + ecs) as f64 / (minutes * 60.0);
        println!("polling budget: {minutes:.0} min deploy, {cfn} CloudFormation reads ({} DescribeStackEvents), {ecs} ECS reads, {per_second:.2} calls/s", cloud.count("DescribeStackEvents"));
        assert!(minutes > 25.0, "a half-hour timeline: {minutes:.1} min");
        // The root alone: one read per 1.5 s poll (about 1,100). Nested
        // stacks add half a read per poll each while in progress: about 900.
        // (Read every poll until their own end, as before, they added 1,800.)
        assert!(cfn <= 2200, "CloudFormation reads over budget: {cfn}");
        // Two reads every third poll during the rollout.
        assert!(ecs <= 400, "ECS reads over budget: {ecs}");
        assert!(per_second <= 1.5, "{per_second:.2} calls/s");
    }

    /// `--role-arn`: CloudFormation acts through the service role for the
    /// change set and for deletions (here, a first deploy's abandoned stack).
    #[tokio::test(start_paused = true)]
    async fn the_service_role_is_passed_to_cloudformation() {
        let role = "arn:aws:iam::123456789012:role/pypictl-cloudformation";
        let cloud = timeline("create-success");
        let opts = DeployOptions { role_arn: Some(role.into()), ..options(false) };
        let run = deploy_with(&cloud, opts, Script::default(), None).await;
        assert_eq!(run.outcome, Outcome::NeedsConfirmation);
        assert!(cloud.logged("CreateChangeSet")[0].ends_with(&format!(" role={role}")), "{:?}", cloud.logged("CreateChangeSet"));
        assert_eq!(cloud.logged("DeleteStack"), [format!("DeleteStack root role={role}")]);
    }
}
