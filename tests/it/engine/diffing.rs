//! `diff`: the preview of a change set, nothing changed, nothing left behind.

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
    assert!(matches!(&outcome, Outcome::Previewed(c) if c.len() == 51), "{outcome:?}");
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
