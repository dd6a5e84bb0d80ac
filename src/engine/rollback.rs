//! A stack in UPDATE_ROLLBACK_FAILED: which resources blocked the rollback,
//! and how ContinueUpdateRollback can skip them. CloudFormation accepts in
//! `ResourcesToSkip` only resources in UPDATE_FAILED "because a rollback
//! failed", named `LogicalId` in the root and `NestedStackName.LogicalId` in
//! a nested stack (API reference, ContinueUpdateRollback).

use super::cloud::{CloudResult, Stacks};
use super::model::{Status, StackEvent};

/// Event pages read per stack, at most, back to the rollback's start.
const MAX_PAGES: usize = 10;

/// A resource whose rollback failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    /// The stack's label: the root's name or the nested stack's logical id.
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub reason: String,
    /// Its name in ContinueUpdateRollback's ResourcesToSkip.
    pub skip_name: String,
}

/// The stack name in a stack ARN (`arn:…:stack/<name>/<uuid>`).
pub fn stack_name_of(arn: &str) -> &str {
    arn.split('/').nth(1).unwrap_or(arn)
}

/// The resources of the root stack `root_id` and its nested stacks that
/// failed during the latest rollback and are still UPDATE_FAILED.
pub async fn blockers<C: Stacks>(cloud: &C, root_id: &str) -> CloudResult<Vec<Blocker>> {
    let root_label = stack_name_of(root_id).to_string();
    let resources = cloud.stack_resources(root_id).await?;
    let mut stacks: Vec<(String, String, bool)> = vec![(root_label, root_id.to_string(), true)];
    for r in &resources {
        if r.resource_type == "AWS::CloudFormation::Stack" {
            if let Some(id) = r.physical_id.as_deref().filter(|id| id.starts_with("arn:")) {
                stacks.push((r.logical_id.clone(), id.to_string(), false));
            }
        }
    }
    let mut out = Vec::new();
    for (label, id, is_root) in stacks {
        let own = if is_root { resources.clone() } else { cloud.stack_resources(&id).await? };
        let still_failed: Vec<String> = own
            .iter()
            .filter(|r| r.status == Status::UpdateFailed && r.resource_type != "AWS::CloudFormation::Stack")
            .map(|r| r.logical_id.clone())
            .collect();
        if still_failed.is_empty() {
            continue;
        }
        for e in rollback_failures(cloud, &id).await? {
            if !still_failed.contains(&e.logical_id) || out.iter().any(|b: &Blocker| b.stack == label && b.logical_id == e.logical_id) {
                continue;
            }
            let skip_name = if is_root { e.logical_id.clone() } else { format!("{}.{}", stack_name_of(&id), e.logical_id) };
            out.push(Blocker { stack: label.clone(), logical_id: e.logical_id, resource_type: e.resource_type, reason: e.reason.unwrap_or_default(), skip_name });
        }
    }
    Ok(out)
}

/// UPDATE_FAILED events of a stack's resources since its latest
/// *ROLLBACK_IN_PROGRESS (newest first); none when that start is not found
/// within [`MAX_PAGES`] (a failure before it is the update's, not the
/// rollback's, and cannot be skipped).
async fn rollback_failures<C: Stacks>(cloud: &C, stack_id: &str) -> CloudResult<Vec<StackEvent>> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = cloud.stack_events(stack_id, token.as_deref()).await?;
        for e in page.events {
            if e.is_about_stack() && e.status.rolling_back() {
                return Ok(found);
            }
            if e.status == Status::UpdateFailed && !e.is_about_stack() && e.resource_type != "AWS::CloudFormation::Stack" {
                found.push(e);
            }
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(Vec::new())
}

/// What to do about a failed rollback: the blockers, and the skip.
pub fn advice(blockers: &[Blocker], then: &str) -> String {
    if blockers.is_empty() {
        return format!("the rollback itself failed: fix the cause shown above (or by `pypictl status`), {then}");
    }
    let names: Vec<&str> = blockers.iter().map(|b| b.skip_name.as_str()).collect();
    format!(
        "the rollback could not restore {}: fix that, {then}; or, if it cannot be fixed, deploy again with --yes --rollback-skip-failed to skip it (CloudFormation marks it UPDATE_COMPLETE and leaves it as it is, which may no longer match the template)",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_stack_names_come_from_their_arns() {
        assert_eq!(stack_name_of("arn:aws:cloudformation:us-east-1:123456789012:stack/pypi-Storage-1ABC/0f0e-11"), "pypi-Storage-1ABC");
        assert_eq!(stack_name_of("pypi"), "pypi");
    }
}
