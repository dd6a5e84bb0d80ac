//! The watch against reads that fail: ECS reads refused, stack reads
//! refused, a read that never answers.

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
