//! Change sets: create one (nested stacks included), wait for it, expand the
//! nested stacks' own change sets, and classify every change for the
//! preview: security-relevant (IAM, security groups, resource policies) and
//! stateful replacement or removal, which is refused unless allowed.

use std::time::Duration;

use pypictl_stacks::app::STATEFUL_TYPES;
use tokio::time::sleep;

use super::cloud::{CloudResult, Stacks};
use super::model::{ChangeDetail, ChangeSet, ChangeSetRequest, ResourceChange};

/// How CloudFormation says a change set changes nothing.
pub fn means_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    Ready(ChangeSet),
    NoChanges { id: String, stack_id: String },
    /// FAILED, with the real reason (a nested change set's own, not the
    /// root's "Nested change set … was not successfully created").
    Failed { id: String, stack_id: String, reason: String },
}

/// Nested change sets followed, at most, to find why one failed.
const MAX_NESTED_DEPTH: usize = 5;

/// The change set ARN in a root change set's reason "Nested change set
/// <arn> was not successfully created: Currently in FAILED.", if any.
fn nested_change_set_in(reason: &str) -> Option<&str> {
    let rest = reason.split("Nested change set ").nth(1)?;
    let arn = rest.split_whitespace().next()?.trim_end_matches([':', '.', ',']);
    (!arn.is_empty()).then_some(arn)
}

/// The reason a change set failed, following nested change sets down to the
/// one that failed by itself (as SAM does); the chain of stacks is kept.
async fn real_reason<C: Stacks>(cloud: &C, reason: &str) -> String {
    let mut reason = reason.to_string();
    for _ in 0..MAX_NESTED_DEPTH {
        let Some(arn) = nested_change_set_in(&reason) else { break };
        let Ok(nested) = cloud.describe_change_set(arn).await else { break };
        let Some(inner) = nested.status_reason.filter(|r| !r.is_empty()) else { break };
        let stack = super::rollback::stack_name_of(&nested.stack_id).to_string();
        reason = format!("{stack}: {inner}");
    }
    reason
}

/// Creates a change set and waits until CloudFormation has computed it.
/// Throttled reads are retried; a FAILED change set is `Failed` with the real
/// reason, or `NoChanges` when that is all it means.
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
                    return Ok(Created::NoChanges { id, stack_id: cs.stack_id });
                }
                let reason = real_reason(cloud, &reason).await;
                return Ok(Created::Failed { id, stack_id: cs.stack_id, reason });
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

/// Whether a change may replace (or removes) a stateful resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Risk {
    None,
    /// Removed or replaced for certain, or possibly replaced because of a
    /// change known now: refused unless allowed.
    Certain,
    /// `Replacement: Conditional` only because of values CloudFormation
    /// resolves during the update (Evaluation: Dynamic) — in nested change
    /// sets, every value passed from a sibling stack's output whenever that
    /// sibling changes. Said, not refused: the sibling's own change, if it
    /// replaces anything stateful, is refused in its own right.
    Uncertain(String),
}

/// The risk a change carries for data, from its Replacement and its
/// details' RequiresRecreation and Evaluation (CloudFormation User Guide,
/// "Example change sets": a Dynamic evaluation "can't be determined until
/// the stack is updated").
pub fn replacement_risk(c: &ResourceChange) -> Risk {
    if !is_stateful(&c.resource_type) {
        return Risk::None;
    }
    match (c.action.as_str(), c.replacement.as_deref()) {
        ("Remove", _) => Risk::Certain,
        ("Modify", Some("True")) => Risk::Certain,
        ("Modify", Some("Conditional")) => {
            let recreating: Vec<&ChangeDetail> = c.details.iter().filter(|d| matches!(d.requires_recreation.as_deref(), Some("Always" | "Conditionally"))).collect();
            if recreating.is_empty() || recreating.iter().any(|d| d.evaluation.as_deref() != Some("Dynamic")) {
                return Risk::Certain;
            }
            let from: Vec<String> = recreating
                .iter()
                .map(|d| {
                    let what = d.name.clone().unwrap_or_else(|| d.attribute.clone());
                    match &d.causing_entity {
                        Some(e) => format!("{what} (from {e})"),
                        None => what,
                    }
                })
                .collect();
            Risk::Uncertain(format!(
                "{} resolved only during the update; it is replaced only if that value really changes",
                from.join(", ")
            ))
        }
        _ => Risk::None,
    }
}

/// A change that would lose data: a stateful resource removed or replaced
/// (or possibly replaced, by a change known now).
pub fn loses_data(c: &ResourceChange) -> bool {
    replacement_risk(c) == Risk::Certain
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
            details: vec![],
        }
    }

    fn detail(recreation: &str, evaluation: &str, causing: Option<&str>) -> ChangeDetail {
        ChangeDetail {
            attribute: "Properties".into(),
            name: Some("KmsKeyId".into()),
            requires_recreation: Some(recreation.into()),
            evaluation: Some(evaluation.into()),
            change_source: Some(if causing.is_some() { "ParameterReference" } else { "DirectModification" }.into()),
            causing_entity: causing.map(str::to_string),
        }
    }

    /// A nested stack's file system whose KMS key comes from the Encryption
    /// stack's output: Conditional, evaluated Dynamic whenever Encryption
    /// changes at all. Uncertain, not refused; the same property changed
    /// directly (Static) is refused.
    #[test]
    fn conditional_replacement_by_a_dynamic_value_is_uncertain() {
        let mut fs = rc("Modify", "AWS::EFS::FileSystem", Some("Conditional"));
        fs.details = vec![detail("Always", "Dynamic", Some("KmsKeyArn")), detail("Never", "Static", None)];
        let Risk::Uncertain(why) = replacement_risk(&fs) else { panic!("{:?}", replacement_risk(&fs)) };
        assert!(why.contains("KmsKeyId (from KmsKeyArn)"), "{why}");
        assert!(!loses_data(&fs));
        fs.details.push(detail("Always", "Static", None));
        assert_eq!(replacement_risk(&fs), Risk::Certain);
        fs.details.clear();
        assert_eq!(replacement_risk(&fs), Risk::Certain, "Conditional without details: assume the worst");
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

    #[test]
    fn the_nested_change_set_is_found_in_the_reason() {
        let arn = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/pypi-Storage-1ABC-cs/6a1b";
        assert_eq!(nested_change_set_in(&format!("Nested change set {arn} was not successfully created: Currently in FAILED.")), Some(arn));
        assert_eq!(nested_change_set_in("Template format error"), None);
    }
}
