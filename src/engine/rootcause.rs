//! The root cause of a failed operation: the first failure that is not a
//! cancellation, in the deepest nested stack — not CloudFormation's
//! "Embedded stack … was not successfully created" on the way up. When the
//! rollback itself failed (ROLLBACK_FAILED, UPDATE_ROLLBACK_FAILED), the
//! cause is what blocked the rollback: the forward failure is history.

use super::model::{Status, StackEvent, StoppedTask};

/// An event seen while watching, with the stack it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenEvent {
    pub stack: String,
    pub depth: usize,
    pub event: StackEvent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootCause {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub reason: String,
    /// When the cause is the ECS service: why its tasks stopped.
    pub stopped_tasks: Vec<StoppedTask>,
}

/// Reasons CloudFormation gives resources it stopped because something
/// else failed.
fn is_cancellation(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("cancelled") || r.contains("canceled")
}

/// Whether a failure only reports a failure further down (a nested stack).
fn is_wrapper(e: &StackEvent) -> bool {
    e.resource_type == "AWS::CloudFormation::Stack"
}

/// The root cause of an operation that ended in `final_status`.
pub fn find(events: &[SeenEvent], final_status: &Status) -> Option<RootCause> {
    if matches!(final_status, Status::RollbackFailed | Status::UpdateRollbackFailed | Status::ImportRollbackFailed) {
        // Each stack's rollback phase starts at its own first
        // *ROLLBACK_IN_PROGRESS (a nested stack rolls back before its
        // parent does); a stack without one (a completed nested stack the
        // root's rollback deletes) follows the root's.
        let start_of = |stack: &str| {
            events
                .iter()
                .filter(|s| s.stack == stack && s.event.is_about_stack() && s.event.status.rolling_back())
                .map(|s| s.event.timestamp)
                .min()
        };
        if let Some(root_start) = events.iter().find(|s| s.depth == 0).and_then(|s| start_of(&s.stack)) {
            let later: Vec<SeenEvent> = events.iter().filter(|s| s.event.timestamp >= start_of(&s.stack).unwrap_or(root_start)).cloned().collect();
            if let Some(cause) = find_among(&later) {
                return Some(cause);
            }
        }
    }
    find_among(events)
}

/// Resources whose deletion was skipped (DeletionPolicy Retain) during the
/// operation: what a failed first deploy leaves behind in the account.
pub fn left_behind(events: &[SeenEvent]) -> Vec<SeenEvent> {
    let mut out: Vec<SeenEvent> = Vec::new();
    for s in events.iter().filter(|s| s.event.status == Status::DeleteSkipped && !s.event.physical_id.is_empty()) {
        if !out.iter().any(|o| o.event.physical_id == s.event.physical_id) {
            out.push(s.clone());
        }
    }
    out
}

fn find_among(events: &[SeenEvent]) -> Option<RootCause> {
    let failures: Vec<&SeenEvent> = events
        .iter()
        .filter(|s| s.event.status.failed() && !s.event.is_about_stack())
        .filter(|s| !is_cancellation(s.event.reason.as_deref().unwrap_or("")))
        .collect();
    let pick = |candidates: Vec<&SeenEvent>| -> Option<SeenEvent> {
        let deepest = candidates.iter().map(|s| s.depth).max()?;
        candidates.into_iter().filter(|s| s.depth == deepest).min_by_key(|s| s.event.timestamp).cloned()
    };
    let chosen = pick(failures.iter().copied().filter(|s| !is_wrapper(&s.event)).collect())
        .or_else(|| pick(failures.clone()))
        // Nothing failed by itself: the stack's own reason (e.g. a timeout).
        .or_else(|| {
            events
                .iter()
                .filter(|s| s.event.is_about_stack() && (s.event.status.failed() || s.event.status.rolling_back()))
                .min_by_key(|s| s.event.timestamp)
                .cloned()
        })?;
    Some(RootCause {
        stack: chosen.stack,
        logical_id: chosen.event.logical_id,
        resource_type: chosen.event.resource_type,
        reason: chosen.event.reason.unwrap_or_else(|| "(no reason given)".into()),
        stopped_tasks: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(stack: &str, depth: usize, t: i64, logical: &str, ty: &str, st: &str, reason: &str) -> SeenEvent {
        let stack_id = format!("arn:stack/{stack}");
        SeenEvent {
            stack: stack.into(),
            depth,
            event: StackEvent {
                id: format!("{stack}-{t}-{logical}"),
                stack_id: stack_id.clone(),
                stack_name: stack.into(),
                logical_id: logical.into(),
                physical_id: if logical == stack { stack_id } else { format!("phys-{logical}") },
                resource_type: ty.into(),
                timestamp: t,
                status: Status::parse(st),
                reason: (!reason.is_empty()).then(|| reason.to_string()),
            },
        }
    }

    #[test]
    fn the_deepest_first_non_cancellation_failure_wins() {
        let events = vec![
            ev("pypi", 0, 1, "pypi", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
            ev("Storage", 1, 5, "MountTarget1", "AWS::EFS::MountTarget", "CREATE_FAILED", "Resource creation cancelled"),
            ev("Storage", 1, 4, "MountTarget2", "AWS::EFS::MountTarget", "CREATE_FAILED", "subnet-0abc: mount target already exists in this AZ"),
            ev("Storage", 1, 6, "MountTarget3", "AWS::EFS::MountTarget", "CREATE_FAILED", "later failure"),
            ev("pypi", 0, 7, "Storage", "AWS::CloudFormation::Stack", "CREATE_FAILED", "Embedded stack arn:... was not successfully created: The following resource(s) failed to create: [MountTarget2]"),
            ev("pypi", 0, 8, "Network", "AWS::CloudFormation::Stack", "CREATE_FAILED", "Resource creation cancelled"),
            ev("pypi", 0, 9, "pypi", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Storage, Network]"),
        ];
        let cause = find(&events, &Status::RollbackComplete).unwrap();
        assert_eq!((cause.stack.as_str(), cause.logical_id.as_str()), ("Storage", "MountTarget2"));
        assert!(cause.reason.contains("already exists"));
    }

    #[test]
    fn a_failure_in_the_root_itself_is_found() {
        let events = vec![ev("pypi", 0, 3, "Storage", "AWS::CloudFormation::Stack", "UPDATE_FAILED", "Parameter validation failed: parameter value vpc-1 does not exist")];
        let cause = find(&events, &Status::RollbackComplete).unwrap();
        assert_eq!(cause.logical_id, "Storage");
    }

    #[test]
    fn without_resource_failures_the_stack_reason_stands() {
        let events = vec![ev("pypi", 0, 9, "pypi", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "Stack update timed out")];
        assert_eq!(find(&events, &Status::UpdateRollbackComplete).unwrap().reason, "Stack update timed out");
        assert!(find(&[], &Status::UpdateRollbackComplete).is_none());
    }

    /// ROLLBACK_FAILED: the forward failure (MountTarget2) is history; what
    /// blocked the rollback (a security group still in use) is the cause.
    #[test]
    fn a_failed_rollback_names_what_blocked_it() {
        let events = vec![
            ev("pypi", 0, 1, "pypi", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
            ev("Storage", 1, 4, "MountTarget2", "AWS::EFS::MountTarget", "CREATE_FAILED", "mount target already exists in this AZ"),
            ev("pypi", 0, 7, "Storage", "AWS::CloudFormation::Stack", "CREATE_FAILED", "Embedded stack arn:... was not successfully created"),
            ev("pypi", 0, 9, "pypi", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Storage]"),
            ev("Network", 1, 12, "ServiceSecurityGroup", "AWS::EC2::SecurityGroup", "DELETE_FAILED", "resource sg-0abc has a dependent object"),
            ev("pypi", 0, 14, "Network", "AWS::CloudFormation::Stack", "DELETE_FAILED", "Embedded stack arn:... was not successfully deleted"),
            ev("pypi", 0, 15, "pypi", "AWS::CloudFormation::Stack", "ROLLBACK_FAILED", "The following resource(s) failed to delete: [Network]"),
        ];
        let cause = find(&events, &Status::RollbackFailed).unwrap();
        assert_eq!((cause.stack.as_str(), cause.logical_id.as_str()), ("Network", "ServiceSecurityGroup"));
        assert!(cause.reason.contains("dependent object"));
        // Had it rolled back, the forward failure would be the cause.
        assert_eq!(find(&events[..4], &Status::RollbackComplete).unwrap().logical_id, "MountTarget2");
    }

    #[test]
    fn what_a_failed_create_leaves_behind() {
        let events = vec![
            ev("Storage", 1, 20, "FileSystem", "AWS::EFS::FileSystem", "DELETE_COMPLETE", ""),
            ev("Monitoring", 1, 21, "LogBucket", "AWS::S3::Bucket", "DELETE_SKIPPED", ""),
            ev("Monitoring", 1, 22, "LogBucket", "AWS::S3::Bucket", "DELETE_SKIPPED", ""),
        ];
        let left: Vec<String> = left_behind(&events).iter().map(|s| s.event.logical_id.clone()).collect();
        assert_eq!(left, ["LogBucket"]);
    }
}
