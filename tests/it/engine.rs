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
    assert_eq!(events(&run).len(), 200, "every event of the timeline, once");
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
    assert_eq!(events(&run).len(), 200, "no event lost or repeated despite throttling");
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

mod destroying;

mod diffing;

mod watching;

mod real_cloudformation;

/// A deployment made before the credentials were split is told, before
/// anything changes, that its one credential becomes read-only.
#[tokio::test(start_paused = true)]
async fn an_update_that_splits_the_credentials_says_uploads_need_the_publish_one() {
    let split = |run: &Run| run.progress.iter().any(|p| matches!(p, Progress::Warning(w) if w.contains("separate read and publish credentials") && w.contains("`pypictl creds --publish`")));
    let run = deploy(&timeline("no-changes"), true).await;
    assert!(!split(&run), "a deployment that has both credentials is not warned");
    let path = common::repo_root().join("fixtures/timelines/no-changes.json");
    let mut script: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    script["initial"]["outputs"].as_object_mut().unwrap().remove("PypiPublishSecretArn");
    let run = deploy(&ScriptedCloud::from_json(&script.to_string()), true).await;
    assert!(split(&run), "{:?}", run.progress);
}
