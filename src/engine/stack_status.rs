//! CloudFormation's statuses, converted once where an answer arrives (the
//! AWS adapter, the scripted cloud): a stack's (StackStatus) and a
//! resource's (ResourceStatus: the same names, plus DELETE_SKIPPED and a
//! few more). The engine matches on them exhaustively; what to do about a
//! stuck one is said here, once ([`Status::remedy`]).

use std::fmt;

macro_rules! statuses {
    ($($variant:ident = $name:literal,)*) => {
        /// A stack's or a resource's status.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum Status {
            $(#[doc = $name] $variant,)*
            /// A status this version does not know (CloudFormation adds some
            /// now and then): kept as it came.
            Other(String),
        }

        impl Status {
            pub fn parse(s: &str) -> Status {
                match s {
                    $($name => Status::$variant,)*
                    other => Status::Other(other.to_string()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $(Status::$variant => $name,)*
                    Status::Other(s) => s,
                }
            }
        }
    };
}

statuses! {
    CreateInProgress = "CREATE_IN_PROGRESS",
    CreateFailed = "CREATE_FAILED",
    CreateComplete = "CREATE_COMPLETE",
    RollbackInProgress = "ROLLBACK_IN_PROGRESS",
    RollbackFailed = "ROLLBACK_FAILED",
    RollbackComplete = "ROLLBACK_COMPLETE",
    DeleteInProgress = "DELETE_IN_PROGRESS",
    DeleteFailed = "DELETE_FAILED",
    DeleteComplete = "DELETE_COMPLETE",
    DeleteSkipped = "DELETE_SKIPPED",
    UpdateInProgress = "UPDATE_IN_PROGRESS",
    UpdateCompleteCleanupInProgress = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    UpdateComplete = "UPDATE_COMPLETE",
    UpdateFailed = "UPDATE_FAILED",
    UpdateRollbackInProgress = "UPDATE_ROLLBACK_IN_PROGRESS",
    UpdateRollbackFailed = "UPDATE_ROLLBACK_FAILED",
    UpdateRollbackCompleteCleanupInProgress = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    UpdateRollbackComplete = "UPDATE_ROLLBACK_COMPLETE",
    ReviewInProgress = "REVIEW_IN_PROGRESS",
    ImportInProgress = "IMPORT_IN_PROGRESS",
    ImportComplete = "IMPORT_COMPLETE",
    ImportRollbackInProgress = "IMPORT_ROLLBACK_IN_PROGRESS",
    ImportRollbackFailed = "IMPORT_ROLLBACK_FAILED",
    ImportRollbackComplete = "IMPORT_ROLLBACK_COMPLETE",
}

impl Status {
    pub fn in_progress(&self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS")
    }

    pub fn failed(&self) -> bool {
        self.as_str().ends_with("_FAILED")
    }

    pub fn complete(&self) -> bool {
        self.as_str().ends_with("_COMPLETE") || *self == Status::DeleteSkipped
    }

    /// A stack in this status has finished its operation.
    pub fn terminal(&self) -> bool {
        !self.in_progress()
    }

    /// An operation is running that something will finish: not
    /// REVIEW_IN_PROGRESS, the empty stack that only holds a change set
    /// nobody executed (it never settles by itself).
    pub fn operation_running(&self) -> bool {
        self.in_progress() && *self != Status::ReviewInProgress
    }

    /// CREATE_FAILED / UPDATE_FAILED of a stack: its operation failed with
    /// rollback disabled ("preserve successfully provisioned resources").
    /// CloudFormation updates it only with DisableRollback again.
    pub fn rollback_disabled_failure(&self) -> bool {
        matches!(self, Status::CreateFailed | Status::UpdateFailed)
    }

    /// The last operation did not succeed.
    pub fn unsuccessful(&self) -> bool {
        self.failed() || self.as_str().contains("ROLLBACK")
    }

    /// A deletion's status (in progress, failed, done or skipped).
    pub fn deleting(&self) -> bool {
        matches!(self, Status::DeleteInProgress | Status::DeleteFailed | Status::DeleteComplete | Status::DeleteSkipped)
    }

    /// A rollback is running (of a create, an update or an import).
    pub fn rolling_back(&self) -> bool {
        matches!(self, Status::RollbackInProgress | Status::UpdateRollbackInProgress | Status::ImportRollbackInProgress)
    }

    /// What to do about a stack left in this status, for every command that
    /// finds it so (deploy, its verdict, doctor); None when nothing is needed.
    pub fn remedy(&self) -> Option<&'static str> {
        Some(match self {
            Status::RollbackComplete => "the first deployment failed and was rolled back; such a stack can only be deleted: find the cause with `pypictl status`, fix pypictl.toml, then `pypictl deploy` offers to delete and recreate the stack",
            Status::RollbackFailed => "the rollback of a failed first deploy could not delete everything it had created (ROLLBACK_FAILED), so the stack can only be deleted: remove the blocker, then `pypictl deploy` offers to delete and recreate it (or `pypictl destroy`)",
            Status::UpdateRollbackFailed => "the rollback itself failed: fix what blocked it (`pypictl status`), then `pypictl deploy` continues the rollback (ContinueUpdateRollback; --rollback-skip-failed skips what cannot be fixed)",
            Status::CreateFailed | Status::UpdateFailed => "rollback is disabled (--no-rollback): the failed resources stay as they are. Fix the cause and run `pypictl deploy` again (it keeps rollback disabled, as CloudFormation requires for this state), or roll back with `aws cloudformation rollback-stack --stack-name <stack>`",
            Status::DeleteFailed => "the deletion failed: run `pypictl destroy` again, it names what blocks the deletion",
            Status::ReviewInProgress => "a first deployment was previewed but never executed: run `pypictl deploy`",
            Status::UpdateRollbackComplete => "the last update failed and was rolled back (the previous version still runs): find the cause with `pypictl status`, fix pypictl.toml and run `pypictl deploy` again",
            _ => return None,
        })
    }
}

impl From<&str> for Status {
    fn from(s: &str) -> Status {
        Status::parse(s)
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_unknown_ones_are_kept() {
        for s in ["CREATE_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "DELETE_SKIPPED", "IMPORT_ROLLBACK_FAILED"] {
            assert_eq!(Status::parse(s).as_str(), s);
            assert!(!matches!(Status::parse(s), Status::Other(_)), "{s}");
        }
        assert_eq!(Status::parse("UPDATE_NEW_THING"), Status::Other("UPDATE_NEW_THING".into()));
    }

    /// REVIEW_IN_PROGRESS ends in _IN_PROGRESS but nothing runs: a
    /// `status --watch` that waited for it would wait forever.
    #[test]
    fn review_in_progress_is_not_an_operation() {
        assert!(Status::ReviewInProgress.in_progress());
        assert!(!Status::ReviewInProgress.operation_running());
        for s in [Status::CreateInProgress, Status::UpdateRollbackInProgress, Status::DeleteInProgress, Status::UpdateCompleteCleanupInProgress] {
            assert!(s.operation_running(), "{s}");
        }
        assert!(Status::CreateFailed.rollback_disabled_failure() && Status::UpdateFailed.rollback_disabled_failure());
        assert!(!Status::UpdateRollbackFailed.rollback_disabled_failure() && !Status::RollbackFailed.rollback_disabled_failure());
    }

    #[test]
    fn stuck_statuses_have_a_remedy() {
        for s in [Status::RollbackComplete, Status::RollbackFailed, Status::UpdateRollbackFailed, Status::CreateFailed, Status::DeleteFailed] {
            assert!(s.remedy().is_some(), "{s}");
        }
        assert!(Status::UpdateComplete.remedy().is_none());
        assert!(!Status::RollbackFailed.remedy().unwrap().contains("previous state"));
    }
}
