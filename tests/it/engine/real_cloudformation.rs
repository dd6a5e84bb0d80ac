//! What real CloudFormation does that the emulator finishes before the
//! first poll: rollbacks in a second phase, rollbacks that fail, deletions
//! under way, lost answers, nested change sets that fail.

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
