//! `pypictl destroy`, the engine's side: what goes and what stays, the
//! deletion watched like a deploy, and — only when asked, after a second
//! confirmation — deleting the data CloudFormation keeps.

use std::future::Future;

use anyhow::Result;

use super::cloud::{Clock, RetainedData, Service, Stacks};
use super::model::{request_token, DeleteStack, StackResource, StackSummary, Status};
use super::retry::{OnRetry, Patient};
use super::progress::{Progress, Sink};
use super::rootcause::{self, RootCause};
use super::tail::EventTail;
use super::watch::{WatchEnd, WatchOptions, Watcher};

/// A resource the stack deletion keeps (DeletionPolicy Retain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retained {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub stack: StackSummary,
    /// (nested stack label, its resources)
    pub nested: Vec<(String, Vec<StackResource>)>,
    pub retained: Vec<Retained>,
}

impl Plan {
    pub fn resource_count(&self) -> usize {
        self.nested.iter().map(|(_, r)| r.len()).sum()
    }
}

/// What the deletion will remove and keep. `retained` lists, from the
/// manifest, (nested stack, logical id) of every resource kept on delete.
pub async fn plan<C: Stacks>(cloud: &C, stack_name: &str, retained: &[(String, String)]) -> Result<Option<Plan>> {
    let cloud = &Patient::new(cloud);
    let Some(stack) = cloud.describe_stack(stack_name).await? else { return Ok(None) };
    let mut nested = Vec::new();
    let mut kept = Vec::new();
    for r in cloud.stack_resources(&stack.id).await? {
        if r.resource_type != "AWS::CloudFormation::Stack" {
            continue;
        }
        let Some(id) = r.physical_id.as_deref().filter(|id| id.starts_with("arn:")) else { continue };
        let resources = cloud.stack_resources(id).await?;
        for res in &resources {
            let wanted = retained.iter().any(|(s, l)| *s == r.logical_id && *l == res.logical_id);
            if let (true, Some(physical)) = (wanted, res.physical_id.as_ref()) {
                if !res.status.deleting() {
                    kept.push(Retained { stack: r.logical_id.clone(), logical_id: res.logical_id.clone(), resource_type: res.resource_type.clone(), physical_id: physical.clone() });
                }
            }
        }
        nested.push((r.logical_id, resources));
    }
    // In the manifest's order, whatever order CloudFormation lists them in.
    kept.sort_by_key(|k| retained.iter().position(|(s, l)| *s == k.stack && *l == k.logical_id));
    Ok(Some(Plan { stack, nested, retained: kept }))
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The stacks are gone. `deleted_data` says what retained data was then
    /// deleted; `kept` what remains; `errors` what could not be deleted.
    Deleted { deleted_data: Vec<String>, kept: Vec<Retained>, errors: Vec<String> },
    Failed { status: Status, root_cause: Option<RootCause> },
    StoppedWatching { interrupted: bool },
    /// Watching stopped because the stacks could not be read (why, and how
    /// to resume); the deletion goes on.
    Unwatched { reason: String },
}

pub struct Options {
    /// Delete every retained resource (and what it holds) once the stack is gone.
    pub force_destroy_data: bool,
    /// Delete the retained log buckets (and their logs) once the stack is
    /// gone: `load_balancer.access_log_force_destroy`.
    pub delete_log_buckets: bool,
    pub watch: WatchOptions,
    /// Told about each retry of a single call (the watch reports its own).
    pub on_retry: Option<OnRetry>,
    /// Names this run (the DeleteStack request token).
    pub run: String,
    /// The service role CloudFormation deletes through (`--role-arn`).
    pub role_arn: Option<String>,
}

pub async fn destroy<C, S, F>(cloud: &C, sink: &mut S, plan: &Plan, opts: Options, interrupt: F) -> Result<Outcome>
where
    C: Stacks + Service + RetainedData + Clock,
    S: Sink,
    F: Future<Output = ()>,
{
    let patient = &Patient::observed(cloud, opts.on_retry);
    let name = plan.stack.name.clone();
    sink.emit(Progress::Step(format!("Deleting {name}")));
    let tail = EventTail::after_latest(patient, &plan.stack.id).await?;
    let request = DeleteStack { stack_id: plan.stack.id.clone(), token: request_token(&opts.run, "destroy"), role_arn: opts.role_arn.clone() };
    patient.delete_stack(&request).await?;
    let report = Watcher::new(cloud, sink, &plan.stack.id, &name, tail, opts.watch).run(interrupt).await;
    match report.end {
        WatchEnd::Settled(ref st) if *st == Status::DeleteComplete => {}
        WatchEnd::Settled(st) => {
            let root_cause = rootcause::find(&report.events, &st);
            return Ok(Outcome::Failed { status: st, root_cause });
        }
        WatchEnd::Interrupted => return Ok(Outcome::StoppedWatching { interrupted: true }),
        WatchEnd::TimedOut => return Ok(Outcome::StoppedWatching { interrupted: false }),
        ref end @ WatchEnd::Unreadable { .. } => return Ok(Outcome::Unwatched { reason: end.stopped_text().unwrap_or_default() }),
    }
    // Only now: the log buckets are retained by the templates because the
    // load balancer (and CloudFront, up to hours late) keeps writing into
    // them until it is gone, so emptying them first fails the deletion
    // with BucketNotEmpty. The same holds for a vault's recovery points.
    let doomed = |r: &Retained| opts.force_destroy_data || (opts.delete_log_buckets && r.resource_type == "AWS::S3::Bucket");
    // The key last: the other resources' data is encrypted with it.
    let mut order: Vec<&Retained> = plan.retained.iter().collect();
    order.sort_by_key(|r| r.resource_type == "AWS::KMS::Key");
    let (mut deleted, mut kept, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for r in order {
        if !doomed(r) {
            kept.push(r.clone());
            continue;
        }
        let id = r.physical_id.as_str();
        let result = match r.resource_type.as_str() {
            "AWS::EFS::FileSystem" => patient.delete_file_system(id).await.map(|_| format!("file system {id} deleted")),
            "AWS::Backup::BackupVault" => patient.delete_backup_vault(id).await.map(|n| format!("backup vault {id} deleted with its {n} recovery points")),
            "AWS::SecretsManager::Secret" => patient.delete_secret(id).await.map(|_| format!("secret {id} scheduled for deletion in 7 days")),
            "AWS::KMS::Key" => patient.schedule_key_deletion(id).await.map(|_| format!("KMS key {id} scheduled for deletion in 7 days")),
            "AWS::S3::Bucket" => match patient.empty_bucket(id).await {
                Ok(n) => patient.delete_bucket(id).await.map(|_| format!("bucket {id} deleted with its {n} objects")),
                Err(e) => Err(e),
            },
            _ => {
                kept.push(r.clone());
                continue;
            }
        };
        match result {
            Ok(what) => {
                sink.emit(Progress::Step(what.clone()));
                deleted.push(what);
            }
            Err(e) => {
                errors.push(format!("{} {} ({id}): {e}", r.stack, r.logical_id));
                kept.push(r.clone());
            }
        }
    }
    // What stays, in the plan's order (the manifest's).
    kept.sort_by_key(|k: &Retained| plan.retained.iter().position(|r| r == k));
    Ok(Outcome::Deleted { deleted_data: deleted, kept, errors })
}
