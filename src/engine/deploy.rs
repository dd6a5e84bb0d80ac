//! `pypictl deploy`, the engine's side: prerequisites, the stack's current
//! state (stuck stacks get a clear way out), staging, the change set and its
//! preview, confirmation, execution and the live watch, and the verdict with
//! its root cause.

use pypictl_stacks::outputs::RootOutput;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::Result;
use pypictl_stacks::app::{Assembly, STAGING_BUCKET_PARAM};
use pypictl_stacks::Config;

use super::changeset::{self, Change, Created, Risk};
use super::cloud::{Account, Clock, Registry, Service, Stacks};
use super::images;
use super::model::{request_token, Status, ChangeSetKind, ChangeSetRequest, CloudError, ContinueRollback, DeleteStack, ErrorKind, Execute, StackSummary, StoppedTask};
use super::prereq::{self, Problem};
use super::retry::{OnRetry, Patient};
use super::progress::{Progress, Sink};
use super::rollback;
use super::rootcause::{self, RootCause};
use super::assets;
use super::tail::EventTail;
use super::watch::{WatchEnd, WatchOptions, WatchReport, Watcher};

/// Questions and the change preview: a terminal, or a script in tests.
pub trait Interaction {
    /// Whether a person can answer.
    fn interactive(&self) -> bool;
    fn confirm(&mut self, question: &str) -> bool;
    /// Shows the changes of the change set about to be executed.
    fn show_changes(&mut self, stack: &str, changes: &[Change]);
}

#[derive(Clone, Debug)]
pub struct DeployOptions {
    pub yes: bool,
    pub no_rollback: bool,
    pub allow_replace_stateful: bool,
    pub watch: WatchOptions,
    /// Delay between reads of a change set or a settling stack.
    pub poll: Duration,
    /// A name for this run's change set (unique per run).
    pub change_set_name: String,
    /// Told about each retry of a single call (the watch reports its own).
    pub on_retry: Option<OnRetry>,
    /// On a stack in UPDATE_ROLLBACK_FAILED: continue the rollback skipping
    /// the resources whose rollback failed.
    pub rollback_skip_failed: bool,
    /// The service role CloudFormation acts through.
    pub role_arn: Option<String>,
}

/// What happened. Exit codes are the command's business.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The account lacks something: nothing was changed.
    Prerequisites(Vec<Problem>),
    /// The stack is in a state that needs a person (and none could answer,
    /// or they said no): nothing was changed.
    Stuck { status: Status, advice: String },
    NoChanges,
    /// Replacing or removing stateful resources, not allowed: nothing changed.
    Refused(Vec<Change>),
    /// No terminal to confirm on, and no --yes: nothing changed.
    NeedsConfirmation,
    /// The user said no: nothing changed.
    Declined,
    Succeeded { status: Status, outputs: Vec<(String, String)> },
    /// `left_behind`: resources the rollback kept (DeletionPolicy Retain,
    /// DELETE_SKIPPED), which stay in the account.
    Failed { status: Status, root_cause: Option<RootCause>, advice: String, left_behind: Vec<LeftBehind> },
    /// A stuck stack was recovered; deploy again to apply the configuration.
    Recovered { status: Status },
    /// Watching stopped (Ctrl-C or --max-wait); CloudFormation goes on.
    StoppedWatching { interrupted: bool },
    /// Watching stopped because the stacks could not be read (why, and how
    /// to resume); CloudFormation goes on.
    Unwatched { reason: String },
    /// `diff`: the changes a deploy would make (nothing was changed).
    Previewed(Vec<Change>),
}

/// How long abandoning a first deploy's change set waits for its empty
/// stack to be deleted (usually seconds).
const ABANDON_WAIT: Duration = Duration::from_secs(300);

/// A resource a failed operation left in the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftBehind {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
}

/// A stack of this name that another service or environment deployed (its
/// `pypictl:*` tags say which): deploying would turn it into this one.
/// `stack_name` defaults to `service_name`, so two environments of one
/// service meet here unless one of them sets its own.
fn other_deployment(stack: &StackSummary, cfg: &Config) -> Option<Problem> {
    let tag = |k: &str| stack.tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let (service, environment) = (tag(SERVICE_TAG)?, tag(ENVIRONMENT_TAG)?);
    (service != cfg.service_name || environment != cfg.environment).then(|| Problem {
        what: format!(
            "stack {} belongs to service {service}, environment {environment} (its tags); this configuration is service {}, environment {}",
            stack.name, cfg.service_name, cfg.environment
        ),
        fix: format!("set stack_name = \"{}-{}\" in pypictl.toml to deploy this one beside it", cfg.service_name, cfg.environment),
    })
}

const SERVICE_TAG: &str = "pypictl:service";
const ENVIRONMENT_TAG: &str = "pypictl:environment";

fn tags(cfg: &Config) -> Vec<(String, String)> {
    vec![
        (SERVICE_TAG.into(), cfg.service_name.clone()),
        (ENVIRONMENT_TAG.into(), cfg.environment.clone()),
        ("managed-by".into(), "pypictl".into()),
    ]
}

/// Resources per stack label, for the live view's done / total.
fn totals(assembly: &Assembly) -> HashMap<String, usize> {
    let mut t: HashMap<String, usize> = assembly.nested.iter().map(|n| (n.logical_id.clone(), n.template.resource_count())).collect();
    t.insert(assembly.stack_name.clone(), assembly.nested.len());
    t
}

pub struct Deployer<'a, C, R, S, I> {
    pub cloud: &'a C,
    /// Where the task definition's images are looked up.
    pub registry: &'a R,
    pub sink: &'a mut S,
    pub interaction: &'a mut I,
    pub opts: DeployOptions,
}

impl<C: Stacks + Service + Account + Clock, R: Registry, S: Sink, I: Interaction> Deployer<'_, C, R, S, I> {
    /// Deploys the assembly. `interrupt` resolving (Ctrl-C) stops watching,
    /// and nothing else.
    pub async fn deploy<F: Future<Output = ()>>(&mut self, assembly: &Assembly, cfg: &Config, interrupt: F) -> Result<Outcome> {
        self.run(assembly, cfg, interrupt, false).await
    }

    /// The change set's preview, without executing it: the change set (and
    /// a first deploy's empty stack) is deleted afterwards. Outcomes:
    /// `Previewed`, `NoChanges`, `Prerequisites` or `Stuck`.
    pub async fn diff(&mut self, assembly: &Assembly, cfg: &Config) -> Result<Outcome> {
        self.run(assembly, cfg, std::future::pending(), true).await
    }

    async fn run<F: Future<Output = ()>>(&mut self, assembly: &Assembly, cfg: &Config, interrupt: F, preview: bool) -> Result<Outcome> {
        let mut interrupt = std::pin::pin!(interrupt);
        let name = assembly.stack_name.clone();
        let cloud = &Patient::observed(self.cloud, self.opts.on_retry);

        self.sink.emit(Progress::Step(format!("Checking prerequisites in {}", cfg.region)));
        let checked = prereq::check(cloud, cfg).await?;
        self.sink.emit(Progress::Step(format!("Account {} as {}", checked.identity.account, checked.identity.arn)));
        for w in &checked.warnings {
            self.sink.emit(Progress::Warning(w.clone()));
        }
        // A tag that does not exist fails every task only after a quarter
        // of an hour (CannotPullContainerError, the circuit breaker): the
        // registries say so now. No answer is only a warning.
        let wanted = images::of_assembly(assembly);
        self.sink.emit(Progress::Step(format!("Checking the container images: {}", wanted.join(", "))));
        let found = images::check(self.registry, &wanted).await;
        for w in &found.warnings {
            self.sink.emit(Progress::Warning(w.clone()));
        }
        let problems: Vec<Problem> = checked.problems.into_iter().chain(found.problems).collect();
        if !problems.is_empty() {
            return Ok(Outcome::Prerequisites(problems));
        }

        // The stack as it is now decides what can be done.
        let mut existing = cloud.describe_stack(&name).await?;
        if let Some(problem) = existing.as_ref().and_then(|s| other_deployment(s, cfg)) {
            return Ok(Outcome::Prerequisites(vec![problem]));
        }
        // A deletion under way (a `destroy`, an abandoned first change set):
        // wait for it, then create the stack anew.
        if let Some(s) = existing.as_ref().filter(|s| s.status == Status::DeleteInProgress) {
            self.sink.emit(Progress::Step(format!("{name} is being deleted (DELETE_IN_PROGRESS): waiting for the deletion, then creating it")));
            let tail = EventTail::after_latest(cloud, &s.id).await?;
            let report = self.watch(&s.id, &name, tail, assembly, interrupt.as_mut()).await;
            if let Some(stop) = self.deletion_end(&report) {
                return Ok(stop);
            }
            existing = None;
        }
        // A deployment made before the credentials were split: its one
        // credential becomes the read one, and uploads with it are refused.
        if let Some(s) = existing.as_ref().filter(|s| s.output(RootOutput::PypiUserSecretArn).is_some() && s.output(RootOutput::PypiPublishSecretArn).is_none()) {
            self.sink.emit(Progress::Warning(format!(
                "{}: this update gives the service separate read and publish credentials. The current credential becomes the read credential: uploads with it are refused (403) once the tasks roll over. After the deploy, give the jobs that publish the new publish credential: `pypictl creds --publish`",
                s.name
            )));
        }
        // Rollback disabled (--no-rollback) and the operation failed:
        // CloudFormation updates such a stack only with DisableRollback
        // ("preserve successfully provisioned resources"), so this one keeps it.
        let mut disable_rollback = self.opts.no_rollback;
        let kind = match &existing {
            None => ChangeSetKind::Create,
            Some(s) if s.status == Status::ReviewInProgress => ChangeSetKind::Create,
            Some(s) if s.status.rollback_disabled_failure() => {
                if !disable_rollback {
                    self.sink.emit(Progress::Step(format!(
                        "{name} is in {} (rollback was disabled): this update keeps what was provisioned (DisableRollback), as CloudFormation requires; to roll back instead: `aws cloudformation rollback-stack --stack-name {name}`",
                        s.status
                    )));
                }
                disable_rollback = true;
                ChangeSetKind::Update
            }
            Some(s) if preview && (s.status.in_progress() || s.status.unsuccessful() && !matches!(s.status, Status::UpdateRollbackComplete | Status::UpdateRollbackCompleteCleanupInProgress)) => {
                return Ok(Outcome::Stuck {
                    status: s.status.clone(),
                    advice: "no change set can be made now; `pypictl status --watch` shows what is going on, `pypictl deploy` offers the way out".into(),
                });
            }
            Some(s) if s.status.in_progress() => {
                self.sink.emit(Progress::Step(format!("{name} is {}: watching that operation instead of starting another", s.status)));
                return self.attach(s, assembly, interrupt.as_mut()).await;
            }
            Some(s) if s.status == Status::RollbackComplete || s.status == Status::RollbackFailed => {
                let question = format!("{name} failed to create and is in {}; it cannot be updated. Delete it and create it again?", s.status);
                if !self.consent(&question) {
                    return Ok(Outcome::Stuck {
                        status: s.status.clone(),
                        advice: format!("a stack in {} can only be deleted: run `pypictl destroy` (retained data stays), or deploy again with --yes to delete and recreate it", s.status),
                    });
                }
                self.sink.emit(Progress::Step(format!("Deleting {name} ({})", s.status)));
                let tail = EventTail::after_latest(cloud, &s.id).await?;
                cloud.delete_stack(&self.delete_request(&s.id, "delete-failed-stack")).await?;
                let report = self.watch(&s.id, &name, tail, assembly, interrupt.as_mut()).await;
                if let Some(stop) = self.deletion_end(&report) {
                    return Ok(stop);
                }
                ChangeSetKind::Create
            }
            Some(s) if s.status == Status::UpdateRollbackFailed => return self.continue_rollback(s, assembly, interrupt.as_mut()).await,
            Some(s) if s.status == Status::DeleteFailed => {
                return Ok(Outcome::Stuck {
                    status: s.status.clone(),
                    advice: Status::DeleteFailed.remedy().unwrap_or_default().into(),
                })
            }
            Some(_) => ChangeSetKind::Update,
        };

        let bucket = assets::ensure_bucket(cloud, self.sink, &assembly.staging_body, &self.opts.change_set_name, self.opts.poll).await?;
        let uploaded = assets::upload(cloud, &bucket, assembly).await?;
        self.sink.emit(Progress::Step(format!(
            "Staged templates in s3://{bucket}/ ({} uploaded, {} unchanged)",
            uploaded.uploaded, uploaded.unchanged
        )));

        self.sink.emit(Progress::Step(format!("Creating change set {}", self.opts.change_set_name)));
        let partition = assets::partition_of(&checked.identity.arn);
        let request = ChangeSetRequest {
            stack_name: name.clone(),
            change_set_name: self.opts.change_set_name.clone(),
            kind,
            template_url: assets::template_url(&bucket, &cfg.region, partition, &assembly.root_asset_key()),
            parameters: [(STAGING_BUCKET_PARAM.to_string(), bucket.clone())].into_iter().chain(checked.parameters.iter().cloned()).collect(),
            tags: tags(cfg),
            description: format!("pypictl deploy of {}", cfg.service_name),
            client_token: request_token(&self.opts.change_set_name, "create-change-set"),
            role_arn: self.opts.role_arn.clone(),
        };
        let cs = match changeset::create(cloud, &request, self.opts.poll).await? {
            Created::NoChanges { id, stack_id } => {
                self.abandon(&id, kind, &stack_id).await?;
                return Ok(Outcome::NoChanges);
            }
            Created::Failed { id, stack_id, reason } => {
                // Nothing is left behind: neither the failed change set nor
                // a first deploy's empty stack.
                self.abandon(&id, kind, &stack_id).await?;
                return Err(CloudError::new(ErrorKind::Invalid, "ChangeSetFailed", format!("the change set failed: {reason}")).into());
            }
            Created::Ready(cs) => cs,
        };
        let changes = changeset::expand(cloud, &cs, &name).await?;
        self.interaction.show_changes(&name, &changes);
        let stop = if preview {
            Some(Outcome::Previewed(changes))
        } else {
            let mut losing: Vec<Change> = Vec::new();
            for c in &changes {
                match changeset::replacement_risk(&c.change) {
                    Risk::Certain => losing.push(c.clone()),
                    Risk::Uncertain(why) => self.sink.emit(Progress::Warning(format!("{} {} ({}) may be replaced: {why}", c.stack, c.change.logical_id, c.change.resource_type))),
                    Risk::None => {}
                }
            }
            if !losing.is_empty() && !self.opts.allow_replace_stateful {
                Some(Outcome::Refused(losing))
            } else if self.opts.yes {
                None
            } else if !self.interaction.interactive() {
                Some(Outcome::NeedsConfirmation)
            } else if !self.interaction.confirm(&format!("Deploy these changes to {name}?")) {
                Some(Outcome::Declined)
            } else {
                None
            }
        };
        if let Some(outcome) = stop {
            self.abandon(&cs.id, kind, &cs.stack_id).await?;
            return Ok(outcome);
        }

        let stack_id = cs.stack_id.clone();
        let tail = EventTail::after_latest(cloud, &stack_id).await?;
        self.sink.emit(Progress::Step(format!("Deploying {name}")));
        let execute = Execute { change_set_id: cs.id.clone(), disable_rollback, token: request_token(&self.opts.change_set_name, "execute") };
        cloud.execute_change_set(&execute).await?;
        let report = self.watch(&stack_id, &name, tail, assembly, interrupt.as_mut()).await;
        Ok(self.verdict(&stack_id, report).await)
    }

    /// Not going ahead: deletes the change set and, for a first deploy, the
    /// empty stack (REVIEW_IN_PROGRESS) CloudFormation made to hold it —
    /// and waits until that stack is gone, so that the next command (`diff
    /// && deploy`) does not meet it in DELETE_IN_PROGRESS.
    async fn abandon(&mut self, change_set_id: &str, kind: ChangeSetKind, stack_id: &str) -> Result<()> {
        let cloud = &Patient::observed(self.cloud, self.opts.on_retry);
        cloud.delete_change_set(change_set_id).await?;
        if kind != ChangeSetKind::Create || stack_id.is_empty() {
            return Ok(());
        }
        // A REVIEW_IN_PROGRESS stack holds change sets and nothing else.
        cloud.delete_stack(&self.delete_request(stack_id, "abandon")).await?;
        let deadline = tokio::time::Instant::now() + ABANDON_WAIT;
        loop {
            match cloud.describe_stack(stack_id).await? {
                None => return Ok(()),
                Some(s) if s.status == Status::DeleteComplete => return Ok(()),
                Some(s) if s.status.terminal() && s.status != Status::ReviewInProgress => {
                    anyhow::bail!("the empty stack {} of the abandoned change set could not be deleted: {}{}", s.name, s.status, s.reason.map(|r| format!(" ({r})")).unwrap_or_default())
                }
                Some(_) if tokio::time::Instant::now() >= deadline => {
                    self.sink.emit(Progress::Warning(format!("the empty stack of the abandoned change set is still being deleted after {} s; CloudFormation goes on", ABANDON_WAIT.as_secs())));
                    return Ok(());
                }
                Some(_) => tokio::time::sleep(self.opts.poll).await,
            }
        }
    }

    /// DeleteStack of this run: `why` tells its deletions apart (a run may
    /// delete an old stack, then abandon the new one's change set), each
    /// keeping one token across its retries.
    fn delete_request(&self, stack_id: &str, why: &str) -> DeleteStack {
        DeleteStack { stack_id: stack_id.to_string(), token: request_token(&self.opts.change_set_name, why), role_arn: self.opts.role_arn.clone() }
    }

    /// After watching a deletion: None when the stack is gone (go on and
    /// create it), else the outcome to stop with.
    fn deletion_end(&self, report: &WatchReport) -> Option<Outcome> {
        match &report.end {
            WatchEnd::Settled(st) if *st == Status::DeleteComplete => None,
            WatchEnd::Settled(st) => Some(self.failed(st.clone(), report, "the old stack could not be deleted; see the cause above".into())),
            WatchEnd::Interrupted | WatchEnd::TimedOut => Some(Outcome::StoppedWatching { interrupted: report.end == WatchEnd::Interrupted }),
            end @ WatchEnd::Unreadable { .. } => Some(Outcome::Unwatched { reason: end.stopped_text().unwrap_or_default() }),
        }
    }

    /// UPDATE_ROLLBACK_FAILED: shows what blocked the rollback, and continues
    /// it — skipping those resources with --rollback-skip-failed.
    async fn continue_rollback<F: Future<Output = ()>>(&mut self, s: &StackSummary, assembly: &Assembly, interrupt: Pin<&mut F>) -> Result<Outcome> {
        let name = assembly.stack_name.clone();
        let cloud = &Patient::observed(self.cloud, self.opts.on_retry);
        let blockers = rollback::blockers(cloud, &s.id).await?;
        for b in &blockers {
            self.sink.emit(Progress::Warning(format!("could not roll back {} {} ({}): {}", b.stack, b.logical_id, b.resource_type, b.reason)));
        }
        let skip: Vec<String> = if self.opts.rollback_skip_failed { blockers.iter().map(|b| b.skip_name.clone()).collect() } else { Vec::new() };
        let question = if skip.is_empty() {
            format!(
                "{name} is in UPDATE_ROLLBACK_FAILED: a resource could not be rolled back{}. Continue the rollback?",
                s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            )
        } else {
            format!("{name} is in UPDATE_ROLLBACK_FAILED. Continue the rollback, skipping {} (left as they are, marked UPDATE_COMPLETE)?", skip.join(", "))
        };
        if !self.consent(&question) {
            return Ok(Outcome::Stuck { status: s.status.clone(), advice: rollback::advice(&blockers, "then deploy again with --yes to continue the rollback") });
        }
        self.sink.emit(Progress::Step(if skip.is_empty() {
            format!("Continuing the rollback of {name}")
        } else {
            format!("Continuing the rollback of {name}, skipping {}", skip.join(", "))
        }));
        let tail = EventTail::after_latest(cloud, &s.id).await?;
        let request = ContinueRollback { stack_id: s.id.clone(), skip, token: request_token(&self.opts.change_set_name, "continue-rollback"), role_arn: self.opts.role_arn.clone() };
        cloud.continue_update_rollback(&request).await?;
        let report = self.watch(&s.id, &name, tail, assembly, interrupt).await;
        Ok(match report.end {
            WatchEnd::Settled(st) if st == Status::UpdateRollbackComplete => Outcome::Recovered { status: st },
            WatchEnd::Settled(ref st) => {
                let again = rollback::blockers(cloud, &s.id).await.unwrap_or_default();
                self.failed(st.clone(), &report, rollback::advice(&again, "then deploy again to retry"))
            }
            end @ WatchEnd::Unreadable { .. } => Outcome::Unwatched { reason: end.stopped_text().unwrap_or_default() },
            end => Outcome::StoppedWatching { interrupted: end == WatchEnd::Interrupted },
        })
    }

    /// --yes, or a person who says yes.
    fn consent(&mut self, question: &str) -> bool {
        self.opts.yes || (self.interaction.interactive() && self.interaction.confirm(question))
    }

    async fn attach<F: Future<Output = ()>>(&mut self, s: &StackSummary, assembly: &Assembly, interrupt: F) -> Result<Outcome> {
        let tail = EventTail::after_latest(&Patient::observed(self.cloud, self.opts.on_retry), &s.id).await?;
        let cloud = self.cloud;
        let mut watcher = Watcher::new(cloud, &mut *self.sink, &s.id, &assembly.stack_name, tail, self.opts.watch.clone_with_totals(totals(assembly)));
        watcher.adopt_running_nested().await?;
        let report = watcher.run(interrupt).await;
        Ok(self.verdict(&s.id, report).await)
    }

    async fn watch<F: Future<Output = ()>>(&mut self, stack_id: &str, label: &str, tail: EventTail, assembly: &Assembly, interrupt: Pin<&mut F>) -> WatchReport {
        let opts = self.opts.watch.clone_with_totals(totals(assembly));
        Watcher::new(self.cloud, &mut *self.sink, stack_id, label, tail, opts).run(interrupt).await
    }

    async fn verdict(&mut self, stack_id: &str, report: WatchReport) -> Outcome {
        match report.end.clone() {
            WatchEnd::Interrupted => Outcome::StoppedWatching { interrupted: true },
            WatchEnd::TimedOut => Outcome::StoppedWatching { interrupted: false },
            end @ WatchEnd::Unreadable { .. } => Outcome::Unwatched { reason: end.stopped_text().unwrap_or_default() },
            WatchEnd::Settled(st) if st == Status::CreateComplete || st == Status::UpdateComplete => {
                let outputs = Patient::observed(self.cloud, self.opts.on_retry).describe_stack(stack_id).await.ok().flatten().map(|s| s.outputs).unwrap_or_default();
                Outcome::Succeeded { status: st, outputs }
            }
            WatchEnd::Settled(st) => {
                let advice = match &st {
                    Status::UpdateRollbackFailed => {
                        let blockers = rollback::blockers(&Patient::observed(self.cloud, self.opts.on_retry), stack_id).await.unwrap_or_default();
                        rollback::advice(&blockers, "then `pypictl deploy` offers to continue the rollback")
                    }
                    other => other.remedy().unwrap_or("the stack was rolled back to its previous state: fix the cause and deploy again").to_string(),
                };
                let mut outcome = self.failed(st, &report, advice);
                if let Outcome::Failed { root_cause: Some(cause), .. } = &mut outcome {
                    if cause.resource_type == "AWS::ECS::Service" && cause.stopped_tasks.is_empty() {
                        cause.stopped_tasks = latest_stopped(&report.stopped_tasks);
                    }
                }
                outcome
            }
        }
    }

    fn failed(&self, status: Status, report: &WatchReport, advice: String) -> Outcome {
        let mut root_cause = rootcause::find(&report.events, &status);
        let left_behind = rootcause::left_behind(&report.events)
            .into_iter()
            .map(|s| LeftBehind { stack: s.stack, logical_id: s.event.logical_id, resource_type: s.event.resource_type, physical_id: s.event.physical_id })
            .collect();
        if let Some(cause) = root_cause.as_mut() {
            if cause.resource_type == "AWS::ECS::Service" {
                cause.stopped_tasks = latest_stopped(&report.stopped_tasks);
            }
        }
        Outcome::Failed { status, root_cause, advice, left_behind }
    }
}

/// The few most recent stopped tasks, newest first, distinct reasons.
fn latest_stopped(tasks: &[StoppedTask]) -> Vec<StoppedTask> {
    let mut sorted: Vec<StoppedTask> = tasks.to_vec();
    sorted.sort_by_key(|t| std::cmp::Reverse(t.stopped_at));
    let mut seen = std::collections::HashSet::new();
    sorted.into_iter().filter(|t| seen.insert(t.reason.clone())).take(5).collect()
}

impl WatchOptions {
    fn clone_with_totals(&self, totals: HashMap<String, usize>) -> WatchOptions {
        let mut o = self.clone();
        if o.totals.is_empty() {
            o.totals = totals;
        }
        o
    }
}
