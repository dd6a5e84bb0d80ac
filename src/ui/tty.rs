//! The live view on a terminal: one line per stack (what is done, how long it
//! has taken, what is in progress), the ECS service's tasks during a rollout,
//! and above them the lines worth keeping: steps, warnings, failures, stopped
//! tasks.
//!
//! ```text
//! ==> Executing the change set: creating stack pypi
//! task 9c1f0e7d2b8a stopped: Essential container in task exited; pypiserver: exit code 1
//! ⠹ pypi            2/4   2m 14s  Storage, Service
//!   ✔ Encryption    2/2   1m 08s  CREATE_COMPLETE
//!   ✔ Network       7/7      12s  CREATE_COMPLETE
//!   ⠼ Storage       2/4      58s  MountTarget1, MountTarget2
//!   ⠇ Service       4/7      58s  Service
//!   ⠇ ECS pypiserver-development: running 1/2, pending 0, failed 1
//! ```
//!
//! Everything shown is computed from the progress stream alone (elapsed
//! times from event timestamps and `Tick`, spinners advanced by events and
//! ticks, no steady-tick thread), so the same stream always draws the same
//! screen, and a test can snapshot it. The flip side: the view moves only
//! when the engine emits, so it should `Tick` on every poll.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressState, ProgressStyle};

use super::text::{duration, one_line, seconds};
use crate::engine::model::{Millis, Status, ServiceSnapshot, StackEvent};
use crate::engine::progress::{Progress, Sink, WatchedStack};

/// Spinner frames; the last one is what a line still in progress shows once
/// the watch is over (interrupted, or the command stopped watching).
const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "•"];

/// Characters of logical ids listed on a stack line before the rest is
/// summarised as `+N`: keeps a line within 100 columns at depth 1 with a
/// typical label. On narrower terminals indicatif cuts the end of the line.
const IN_PROGRESS_BUDGET: usize = 40;

pub struct TtyRenderer {
    multi: MultiProgress,
    stacks: Vec<StackLine>,
    services: Vec<ServiceLine>,
    /// Failures already printed (event ids): each is printed once, even if
    /// the engine passes an event on twice.
    printed: HashSet<String>,
    /// The latest time known: a `Tick`, or the newest event.
    now: Millis,
    /// Width of the widest `indent + label`, to align the columns after it.
    label_width: usize,
    /// Whether colours follow stderr's terminal (see `console::colors_enabled_stderr`).
    for_stderr: bool,
    finished: bool,
}

/// How a line's marker looks: a spinner while its stack works, a mark once done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Look {
    /// Announced, no event yet.
    Waiting,
    Running,
    /// Still working, but something failed: it is rolling back or about to.
    Troubled,
    Done,
    Failed,
}

impl Look {
    fn animated(self) -> bool {
        matches!(self, Look::Running | Look::Troubled)
    }

    fn color_and_ticks(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Look::Waiting => ("dim", &["·", "·"]),
            Look::Running => ("cyan", SPINNER),
            Look::Troubled => ("yellow", SPINNER),
            Look::Done => ("green", &["✔", "✔"]),
            Look::Failed => ("red", &["✘", "✘"]),
        }
    }
}

/// Values for the template's custom keys, shared with the style's closures so
/// that updating a line does not mean rebuilding its style.
#[derive(Default)]
struct Columns {
    counts: String,
    elapsed: String,
}

struct Resource {
    logical_id: String,
    status: Status,
    /// When it last entered an *_IN_PROGRESS status: in-progress ids are
    /// listed oldest first, so the list does not reshuffle as events arrive.
    since: Millis,
}

struct StackLine {
    label: String,
    depth: usize,
    total: Option<usize>,
    /// The stack's own latest status.
    status: Option<Status>,
    /// A failure or rollback happened in this stack during the watch: it ends
    /// with ✘ whatever its final status (a nested stack created, then deleted
    /// by its parent's rollback, ends DELETE_COMPLETE).
    troubled: bool,
    /// The stack itself was created or updated during the watch, so a later
    /// delete is a rollback, not the operation asked for.
    built: bool,
    first: Option<Millis>,
    last: Millis,
    resources: Vec<Resource>,
    columns: Arc<Mutex<Columns>>,
    bar: ProgressBar,
    /// The style currently set, to set it again only when it changes.
    styled: Option<(Look, usize)>,
}

struct ServiceLine {
    service: String,
    snapshot: ServiceSnapshot,
    bar: ProgressBar,
    styled: Option<Look>,
}

impl TtyRenderer {
    /// Draws to `target`: `ProgressDrawTarget::stderr()` in real use, an
    /// in-memory terminal in tests. Colours follow stdout's `console`
    /// settings, like indicatif's own for a target that is not stderr.
    pub fn new(target: ProgressDrawTarget) -> Self {
        TtyRenderer {
            multi: MultiProgress::with_draw_target(target),
            stacks: Vec::new(),
            services: Vec::new(),
            printed: HashSet::new(),
            now: Millis::MIN,
            label_width: 0,
            for_stderr: false,
            finished: false,
        }
    }

    /// The live view on stderr, so that stdout stays for data.
    pub fn stderr() -> Self {
        TtyRenderer { for_stderr: true, ..TtyRenderer::new(ProgressDrawTarget::stderr()) }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        let style = if self.for_stderr { style.for_stderr() } else { style };
        style.apply_to(text).to_string()
    }

    /// A line above the live lines, kept in the terminal's scrollback.
    fn print(&self, line: String) {
        if self.multi.is_hidden() {
            // indicatif hides its output when stderr is not a terminal (or
            // TERM=dumb); failures and warnings must reach the user anyway.
            eprintln!("{}", console::strip_ansi_codes(&line));
        } else {
            let _ = self.multi.println(line);
        }
    }

    /// Draws every line now, bypassing indicatif's rate limit: otherwise the
    /// last update of a burst could stay undrawn until the next poll.
    fn draw(&self) {
        if let Some(bar) = self.stacks.first().map(|s| &s.bar).or(self.services.first().map(|s| &s.bar)) {
            bar.force_draw();
        }
    }

    fn stack_index(&mut self, label: &str) -> usize {
        match self.stacks.iter().position(|s| s.label == label) {
            Some(i) => i,
            None => {
                // An event from a stack never announced: show it rather than drop it.
                let depth = usize::from(!self.stacks.is_empty());
                self.announce(WatchedStack { label: label.to_string(), depth, total: None });
                self.stacks.len() - 1
            }
        }
    }

    fn announce(&mut self, watched: WatchedStack) {
        let i = match self.stacks.iter().position(|s| s.label == watched.label) {
            Some(i) => {
                let stack = &mut self.stacks[i];
                stack.depth = watched.depth;
                stack.total = watched.total;
                // The indent may have changed: restyle.
                stack.styled = None;
                i
            }
            None => {
                // Stacks go above the ECS lines, in the order announced.
                let bar = ProgressBar::new_spinner().with_prefix(watched.label.clone()).with_finish(ProgressFinish::AndLeave);
                let bar = self.multi.insert(self.stacks.len(), bar);
                self.stacks.push(StackLine::new(watched, bar));
                self.stacks.len() - 1
            }
        };
        let width = self.stacks.iter().map(|s| 2 * s.depth + s.label.chars().count()).max().unwrap_or(0);
        if width != self.label_width {
            // Every line's columns move: restyle them all.
            self.label_width = width;
            for stack in &mut self.stacks {
                stack.refresh(self.now, width, false);
            }
        } else {
            self.stacks[i].refresh(self.now, width, false);
        }
    }

    fn event(&mut self, label: String, event: StackEvent) {
        if event.status.failed() {
            self.print_failure(&label, &event);
        }
        self.now = self.now.max(event.timestamp);
        let i = self.stack_index(&label);
        let stack = &mut self.stacks[i];
        stack.record(&event);
        stack.refresh(self.now, self.label_width, true);
    }

    fn print_failure(&mut self, label: &str, event: &StackEvent) {
        let key = if event.id.is_empty() {
            format!("{label}\n{}\n{}\n{}", event.logical_id, event.status, event.timestamp)
        } else {
            event.id.clone()
        };
        if !self.printed.insert(key) {
            return;
        }
        let reason = event.reason.as_deref().map(one_line).filter(|r| !r.is_empty());
        // The stack's own failure names the stack once: its logical id is only
        // the stack's generated name, and its type is obvious.
        let mut text = if event.is_about_stack() {
            format!("✘ {}", one_line(label))
        } else {
            format!("✘ {} {} ({})", one_line(label), one_line(&event.logical_id), one_line(&event.resource_type))
        };
        if let Some(reason) = reason {
            let _ = write!(text, ": {reason}");
        }
        self.print(self.paint(Style::new().red(), &text));
    }

    fn tasks(&mut self, service: String, snapshot: ServiceSnapshot) {
        let i = match self.services.iter().position(|s| s.service == service) {
            Some(i) => i,
            None => {
                let bar = ProgressBar::new_spinner()
                    .with_prefix(format!("ECS {}:", one_line(&service)))
                    .with_finish(ProgressFinish::AndLeave);
                let bar = self.multi.add(bar);
                self.services.push(ServiceLine { service, snapshot: snapshot.clone(), bar, styled: None });
                self.services.len() - 1
            }
        };
        let line = &mut self.services[i];
        line.snapshot = snapshot;
        line.refresh(true);
    }

    fn tick(&mut self, now: Millis) {
        self.now = self.now.max(now);
        for stack in self.stacks.iter_mut().filter(|s| s.look().animated()) {
            stack.refresh(self.now, self.label_width, true);
        }
        for service in self.services.iter_mut().filter(|s| s.look().animated()) {
            service.refresh(true);
        }
    }
}

impl StackLine {
    fn new(watched: WatchedStack, bar: ProgressBar) -> Self {
        StackLine {
            label: watched.label,
            depth: watched.depth,
            total: watched.total,
            status: None,
            troubled: false,
            built: false,
            first: None,
            last: Millis::MIN,
            resources: Vec::new(),
            columns: Arc::default(),
            bar,
            styled: None,
        }
    }

    fn record(&mut self, event: &StackEvent) {
        self.first = Some(self.first.map_or(event.timestamp, |t| t.min(event.timestamp)));
        self.last = self.last.max(event.timestamp);
        let s = &event.status;
        if event.is_about_stack() {
            if s.unsuccessful() || (self.built && s.deleting()) {
                self.troubled = true;
            }
            let name = s.as_str();
            self.built |= name.starts_with("CREATE_") || name.starts_with("UPDATE_") || name.starts_with("IMPORT_");
            self.status = Some(s.clone());
            return;
        }
        self.troubled |= s.failed();
        match self.resources.iter_mut().find(|r| r.logical_id == event.logical_id) {
            Some(r) => {
                if s.in_progress() && !r.status.in_progress() {
                    r.since = event.timestamp;
                }
                r.status = s.clone();
            }
            None => self.resources.push(Resource {
                logical_id: event.logical_id.clone(),
                status: s.clone(),
                since: event.timestamp,
            }),
        }
    }

    fn look(&self) -> Look {
        let working = match &self.status {
            None if self.resources.is_empty() => return Look::Waiting,
            None => true,
            Some(s) => s.in_progress(),
        };
        match (working, self.troubled) {
            (true, false) => Look::Running,
            (true, true) => Look::Troubled,
            (false, false) => Look::Done,
            (false, true) => Look::Failed,
        }
    }

    fn style(&self, look: Look, label_width: usize) -> ProgressStyle {
        let (color, ticks) = look.color_and_ticks();
        let template = format!(
            "{indent}{{spinner:.{color}}} {{prefix:{width}.bold}}  {{counts:>5}}  {{elapsed:>7}}  {{wide_msg:.dim}}",
            indent = "  ".repeat(self.depth),
            width = label_width.saturating_sub(2 * self.depth),
        );
        let (counts, elapsed) = (self.columns.clone(), self.columns.clone());
        ProgressStyle::with_template(&template)
            .expect("the stack line template is valid")
            .tick_strings(ticks)
            .with_key("counts", move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&counts.lock().unwrap().counts);
            })
            .with_key("elapsed", move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&elapsed.lock().unwrap().elapsed);
            })
    }

    /// What the end of the line says: the ids in progress while working, the
    /// final status once done.
    fn message(&self, look: Look) -> String {
        let status = self.status.as_ref().map_or("", |s| s.as_str());
        match look {
            Look::Waiting => "waiting".to_string(),
            Look::Done | Look::Failed => status.to_string(),
            Look::Running | Look::Troubled => {
                let mut working: Vec<&Resource> =
                    self.resources.iter().filter(|r| r.status.in_progress()).collect();
                working.sort_by_key(|r| r.since);
                let ids = budgeted(working.iter().map(|r| r.logical_id.as_str()), IN_PROGRESS_BUDGET);
                // The ordinary statuses go without saying; a rollback or a
                // cleanup is worth reading.
                if matches!(self.status, None | Some(Status::CreateInProgress | Status::UpdateInProgress)) {
                    ids
                } else {
                    format!("{status}  {ids}").trim_end().to_string()
                }
            }
        }
    }

    /// Updates the line's columns and redraws it; `advance` also moves its
    /// spinner one frame.
    fn refresh(&mut self, now: Millis, label_width: usize, advance: bool) {
        let look = self.look();
        if self.styled != Some((look, label_width)) {
            self.bar.set_style(self.style(look, label_width));
            self.styled = Some((look, label_width));
        }
        let done = self.resources.iter().filter(|r| r.status.complete() || r.status.failed()).count();
        let total = self.total.unwrap_or(0).max(self.resources.len());
        let end = if look.animated() { now.max(self.last) } else { self.last };
        {
            let mut columns = self.columns.lock().unwrap();
            columns.counts = format!("{done}/{total}");
            columns.elapsed = self.first.map(|first| duration(end - first)).unwrap_or_default();
        }
        if advance && look.animated() {
            self.bar.tick();
        }
        self.bar.set_message(self.message(look));
    }
}

impl ServiceLine {
    fn look(&self) -> Look {
        match self.snapshot.rollout_state.as_deref() {
            Some("COMPLETED") => Look::Done,
            Some("FAILED") => Look::Failed,
            _ if self.snapshot.failed > 0 => Look::Troubled,
            _ => Look::Running,
        }
    }

    fn refresh(&mut self, advance: bool) {
        let look = self.look();
        if self.styled != Some(look) {
            let (color, ticks) = look.color_and_ticks();
            // Indented like a nested stack: the tasks belong to the Service stack.
            let template = format!("  {{spinner:.{color}}} {{prefix:.bold}} {{wide_msg}}");
            let style = ProgressStyle::with_template(&template).expect("the tasks line template is valid");
            self.bar.set_style(style.tick_strings(ticks));
            self.styled = Some(look);
        }
        let s = &self.snapshot;
        if advance && look.animated() {
            self.bar.tick();
        }
        self.bar.set_message(format!("running {}/{}, pending {}, failed {}", s.running, s.desired, s.pending, s.failed));
    }
}

/// `A, B, C +2`: as many items as fit in `budget` characters (at least one),
/// then how many were left out.
fn budgeted<'a>(items: impl ExactSizeIterator<Item = &'a str>, budget: usize) -> String {
    let count = items.len();
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if !out.is_empty() && out.len() + 2 + item.len() > budget {
            let _ = write!(out, " +{}", count - i);
            break;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    out
}

impl Sink for TtyRenderer {
    fn emit(&mut self, progress: Progress) {
        if self.finished {
            return;
        }
        match progress {
            Progress::Step(text) => {
                let line = format!("{} {}", self.paint(Style::new().cyan().bold(), "==>"), self.paint(Style::new().bold(), &one_line(&text)));
                self.print(line);
            }
            Progress::Warning(text) => {
                let line = format!("{} {}", self.paint(Style::new().yellow().bold(), "warning:"), one_line(&text));
                self.print(line);
            }
            Progress::Stack(watched) => self.announce(watched),
            Progress::Event { stack, event } => self.event(stack, event),
            Progress::Tasks { service, snapshot } => self.tasks(service, snapshot),
            Progress::TaskStopped { task, .. } => {
                let text = format!("task {} stopped: {}", one_line(&task.task_id), one_line(&task.reason));
                self.print(self.paint(Style::new().yellow(), &text));
            }
            Progress::Retrying { what, reason, delay_ms } => {
                let text = format!("note: {} failed ({}); retrying in {}", one_line(&what), one_line(&reason), seconds(delay_ms));
                self.print(self.paint(Style::new().dim(), &text));
            }
            Progress::Tick { now } => self.tick(now),
        }
        self.draw();
    }

    /// Leaves the final state on screen: the lines are the deploy's summary.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        for stack in &mut self.stacks {
            stack.refresh(self.now, self.label_width, false);
            stack.bar.finish();
        }
        for service in &mut self.services {
            service.refresh(false);
            service.bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::budgeted;

    #[test]
    fn in_progress_ids_fit_their_budget() {
        let ids = ["LoadBalancerSecurityGroup", "InstanceSecurityGroup", "FileSystemSecurityGroup"];
        assert_eq!(budgeted(ids.iter().copied(), 100), ids.join(", "));
        assert_eq!(budgeted(ids.iter().copied(), 50), "LoadBalancerSecurityGroup, InstanceSecurityGroup +1");
        // The first id is always shown, however long.
        assert_eq!(budgeted(ids.iter().copied(), 10), "LoadBalancerSecurityGroup +2");
        assert_eq!(budgeted([].iter().copied(), 10), "");
    }
}
