//! Change sets: create one (nested stacks included), wait for it, expand the
//! nested stacks' own change sets, and classify every change for the
//! preview: security-relevant (IAM, security groups, resource policies) and
//! stateful replacement or removal, which is refused unless allowed.

use std::time::Duration;

use pypictl_stacks::app::STATEFUL_TYPES;
use tokio::time::sleep;

use super::cloud::{CloudResult, Stacks};
use super::model::{ChangeSet, ChangeSetRequest, CloudError, ErrorKind, ResourceChange};

/// How CloudFormation says a change set changes nothing.
pub fn means_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    Ready(ChangeSet),
    NoChanges { id: String },
}

/// Creates a change set and waits until CloudFormation has computed it.
/// Throttled reads are retried; a FAILED change set is an error with
/// CloudFormation's reason, unless it only means "no changes".
pub async fn create<C: Stacks>(cloud: &C, request: &ChangeSetRequest, poll: Duration) -> CloudResult<Created> {
    let id = cloud.create_change_set(request).await?;
    let mut delay = poll;
    loop {
        sleep(delay).await;
        let cs = match cloud.describe_change_set(&id).await {
            Ok(cs) => cs,
            Err(e) if e.is_retryable() => {
                delay = (delay * 2).min(Duration::from_secs(20));
                continue;
            }
            Err(e) => return Err(e),
        };
        delay = poll;
        match cs.status.as_str() {
            "CREATE_COMPLETE" => return Ok(Created::Ready(cs)),
            "FAILED" => {
                let reason = cs.status_reason.clone().unwrap_or_default();
                if means_no_changes(&reason) {
                    return Ok(Created::NoChanges { id });
                }
                return Err(CloudError::new(ErrorKind::Invalid, "ChangeSetFailed", format!("the change set failed: {reason}")));
            }
            _ => {}
        }
    }
}

/// One change, in the stack it happens in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The stack's label: the root stack's name or a nested stack's logical id.
    pub stack: String,
    pub change: ResourceChange,
}

/// Whether a change touches who may do what: IAM, security groups and
/// resource policies.
pub fn is_security_relevant(resource_type: &str) -> bool {
    resource_type.starts_with("AWS::IAM::")
        || resource_type.starts_with("AWS::EC2::SecurityGroup")
        || resource_type.ends_with("Policy") && !resource_type.starts_with("AWS::ApplicationAutoScaling::")
        || resource_type == "AWS::KMS::Key"
}

pub fn is_stateful(resource_type: &str) -> bool {
    STATEFUL_TYPES.contains(&resource_type)
}

/// A change that would lose data: a stateful resource removed or replaced
/// (or possibly replaced).
pub fn loses_data(c: &ResourceChange) -> bool {
    is_stateful(&c.resource_type)
        && (c.action == "Remove" || (c.action == "Modify" && matches!(c.replacement.as_deref(), Some("True" | "Conditional"))))
}

/// Every change, nested stacks expanded in place of the stack resource.
pub async fn expand<C: Stacks>(cloud: &C, cs: &ChangeSet, label: &str) -> CloudResult<Vec<Change>> {
    let mut out = Vec::new();
    let mut pending = vec![(label.to_string(), cs.clone())];
    while let Some((stack, cs)) = pending.pop() {
        let mut nested = Vec::new();
        for c in &cs.changes {
            match &c.nested_change_set {
                Some(id) if c.resource_type == "AWS::CloudFormation::Stack" => {
                    nested.push((c.logical_id.clone(), id.clone()));
                }
                _ => out.push(Change { stack: stack.clone(), change: c.clone() }),
            }
        }
        for (child, id) in nested.into_iter().rev() {
            let child_cs = cloud.describe_change_set(&id).await?;
            pending.push((child, child_cs));
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub modify: usize,
    pub remove: usize,
    pub replace: usize,
    pub security: usize,
    pub data_loss: usize,
}

pub fn summarize(changes: &[Change]) -> Summary {
    let mut s = Summary::default();
    for c in changes {
        match c.change.action.as_str() {
            "Add" => s.add += 1,
            "Remove" => s.remove += 1,
            _ if c.change.replacement.as_deref() == Some("True") => s.replace += 1,
            _ => s.modify += 1,
        }
        if is_security_relevant(&c.change.resource_type) {
            s.security += 1;
        }
        if loses_data(&c.change) {
            s.data_loss += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(action: &str, ty: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: action.into(),
            logical_id: "X".into(),
            physical_id: None,
            resource_type: ty.into(),
            replacement: replacement.map(str::to_string),
            scope: vec![],
            nested_change_set: None,
        }
    }

    #[test]
    fn stateful_replacement_and_removal_lose_data() {
        assert!(loses_data(&rc("Remove", "AWS::EFS::FileSystem", None)));
        assert!(loses_data(&rc("Modify", "AWS::EFS::FileSystem", Some("True"))));
        assert!(loses_data(&rc("Modify", "AWS::SecretsManager::Secret", Some("Conditional"))));
        assert!(!loses_data(&rc("Modify", "AWS::EFS::FileSystem", Some("False"))));
        assert!(!loses_data(&rc("Remove", "AWS::ECS::Service", None)));
        assert!(loses_data(&rc("Remove", "AWS::Backup::BackupVault", None)));
    }

    #[test]
    fn security_relevant_types() {
        for t in ["AWS::IAM::Role", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress", "AWS::S3::BucketPolicy", "AWS::KMS::Key", "AWS::SecretsManager::ResourcePolicy"] {
            assert!(is_security_relevant(t), "{t}");
        }
        for t in ["AWS::ECS::Service", "AWS::ApplicationAutoScaling::ScalingPolicy", "AWS::EFS::FileSystem"] {
            assert!(!is_security_relevant(t), "{t}");
        }
    }

    #[test]
    fn no_change_reasons() {
        assert!(means_no_changes("The submitted information didn't contain changes. Submit different information or confirm that the changes you want are included."));
        assert!(means_no_changes("No updates are to be performed."));
        assert!(!means_no_changes("Template format error"));
    }
}
