//! How a deploy ends, in words: success with the URLs and the next command,
//! or the root cause of a failure and what to do about it.

use std::fmt::Write as _;

use crate::engine::deploy::Outcome;
use crate::engine::rootcause::RootCause;

/// The closing message for an outcome (the command decides the exit code).
pub fn outcome(stack: &str, outcome: &Outcome) -> String {
    let mut s = String::new();
    match outcome {
        Outcome::Prerequisites(problems) => {
            let _ = writeln!(s, "error: the account is not ready for {stack} (nothing was changed):");
            for p in problems {
                let _ = writeln!(s, "  - {}\n    fix: {}", p.what, p.fix);
            }
        }
        Outcome::Stuck { status, advice } => {
            let _ = writeln!(s, "error: {stack} is {status} (nothing was changed): {advice}");
        }
        Outcome::NoChanges => {
            let _ = writeln!(s, "No changes: {stack} already matches the configuration.");
        }
        Outcome::Refused(changes) => {
            let _ = writeln!(s, "error: these changes would replace or remove stateful resources, and lose their data:");
            for c in changes {
                let what = if c.change.action == "Remove" { "removed" } else { "replaced" };
                let _ = writeln!(s, "  - {} {} ({}) would be {what}", c.stack, c.change.logical_id, c.change.resource_type);
            }
            let _ = writeln!(s, "Nothing was changed. If you mean it, deploy again with --allow-replace-stateful.");
        }
        Outcome::NeedsConfirmation => {
            let _ = writeln!(s, "error: there is no terminal to confirm these changes on; deploy again with --yes to apply them (nothing was changed)");
        }
        Outcome::Declined => {
            let _ = writeln!(s, "Nothing was deployed.");
        }
        Outcome::Succeeded { status, outputs } => {
            let _ = writeln!(s, "✔ {stack}: {status}");
            if let Some((_, urls)) = outputs.iter().find(|(k, _)| k == pypictl_stacks::outputs::RootOutput::PypiServerUrls.name()) {
                for url in urls.split(',').filter(|u| !u.is_empty()) {
                    let _ = writeln!(s, "  {url}");
                }
            }
            let _ = writeln!(s, "Next: `pypictl creds` prints the read credential with pip/uv/poetry configuration, `pypictl creds --publish` the publish credential for twine/uv publish/poetry publish.");
        }
        Outcome::Failed { status, root_cause, advice, left_behind } => {
            let _ = writeln!(s, "✘ {stack}: {status}");
            match root_cause {
                Some(cause) => s.push_str(&root_cause_text(cause)),
                None => s.push_str("  No resource reported a failure; see `pypictl status` for the stack's reason.\n"),
            }
            if !left_behind.is_empty() {
                let _ = writeln!(s, "Left in the account (kept by their DeletionPolicy; delete them by hand if unwanted):");
                for r in left_behind {
                    let _ = writeln!(s, "  {:<12} {:<28} {:<28} {}", r.stack, r.logical_id, r.resource_type, r.physical_id);
                }
            }
            let _ = writeln!(s, "Next: {advice}.");
        }
        Outcome::Recovered { status } => {
            let _ = writeln!(s, "✔ {stack} recovered: {status}. Deploy again to apply the configuration.");
        }
        Outcome::Previewed(changes) => {
            let _ = writeln!(s, "{} change{} previewed; nothing was changed.", changes.len(), if changes.len() == 1 { "" } else { "s" });
        }
        Outcome::Unwatched { reason } => {
            let _ = writeln!(s, "✘ {stack}: {reason}");
        }
        Outcome::StoppedWatching { interrupted } => {
            let why = if *interrupted { "Stopped watching" } else { "Stopped watching after --max-wait" };
            let _ = writeln!(s, "{why}: CloudFormation carries on, nothing was cancelled or rolled back.");
            let _ = writeln!(s, "Resume watching with `pypictl status --watch`.");
        }
    }
    s
}

pub fn root_cause_text(cause: &RootCause) -> String {
    let mut s = format!("  Root cause: {} › {} ({})\n    {}\n", cause.stack, cause.logical_id, cause.resource_type, super::text::one_line(&cause.reason));
    if !cause.stopped_tasks.is_empty() {
        s.push_str("  Why the service's tasks stopped:\n");
        for t in &cause.stopped_tasks {
            let _ = writeln!(s, "    - task {}: {}", t.task_id, super::text::one_line(&t.reason));
        }
    }
    s
}
