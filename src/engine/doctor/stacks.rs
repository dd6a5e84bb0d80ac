//! Checks 1 (`stack`, `nested_stacks`): the root stack and its nested
//! stacks are complete, not rolled back.

use super::names::{NESTED_STACKS, STACK};
use super::Check;
use crate::engine::cloud::Stacks;
use crate::engine::model::{StackSummary, Status};

/// A stack or nested-stack status that is fine: complete, not rolled back.
fn healthy_status(s: &Status) -> bool {
    s.complete() && !s.unsuccessful() && !s.deleting()
}

pub(super) fn stack_check(stack: &StackSummary) -> Check {
    let status = &stack.status;
    let reason = stack.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
    let detail = format!("{} is {status}{reason}", stack.name);
    if healthy_status(status) {
        return Check::pass(STACK, detail);
    }
    let fix = match status.remedy() {
        Some(remedy) => remedy,
        None if status.in_progress() => "an operation is in progress: follow it with `pypictl status --watch`, then run `pypictl doctor` again",
        None => "the last deployment failed and was kept as it is: fix the cause `pypictl status` shows and run `pypictl deploy` again",
    };
    // An operation that may still succeed is a warning; anything else failed.
    if status.operation_running() && !status.unsuccessful() && !status.deleting() {
        Check::warn(STACK, detail, fix)
    } else {
        Check::fail(STACK, detail, fix)
    }
}

pub(super) async fn nested_check<C: Stacks>(cloud: &C, stack: &StackSummary) -> Check {
    let resources = match cloud.stack_resources(&stack.id).await {
        Ok(r) => r,
        Err(e) => return Check::unreadable(NESTED_STACKS, "the nested stacks", &e, "cloudformation:ListStackResources"),
    };
    let nested: Vec<_> = resources.into_iter().filter(|r| r.resource_type == "AWS::CloudFormation::Stack").collect();
    if nested.is_empty() {
        return Check::skip(NESTED_STACKS, format!("{} lists no nested stacks", stack.name));
    }
    let bad: Vec<_> = nested.iter().filter(|r| !healthy_status(&r.status)).collect();
    if bad.is_empty() {
        return Check::pass(NESTED_STACKS, format!("all {} nested stacks complete", nested.len()));
    }
    let detail = format!(
        "{} of {} nested stacks not complete: {}",
        bad.len(),
        nested.len(),
        bad.iter().map(|r| format!("{} {}", r.logical_id, r.status)).collect::<Vec<_>>().join(", ")
    );
    let only_running = bad.iter().all(|r| r.status.in_progress() && !r.status.unsuccessful());
    if only_running {
        Check::warn(NESTED_STACKS, detail, "an operation is in progress: follow it with `pypictl status --watch`")
    } else {
        Check::fail(
            NESTED_STACKS,
            detail,
            "`pypictl status` shows every stack and `pypictl deploy` names the root cause of a failed update: fix it in pypictl.toml and run `pypictl deploy` again",
        )
    }
}
