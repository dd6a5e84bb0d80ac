//! What the engine reports while it works. The engine emits; a renderer
//! (`crate::ui`) shows it: live on a terminal, one plain line per event in CI.
//! The same stream drives both, so what CI prints and what a user sees agree.

use super::model::{Millis, ServiceSnapshot, StackEvent, StoppedTask};

/// A stack being watched, as the renderer names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchedStack {
    /// The label shown: the root stack's name, or a nested stack's logical id
    /// in the root template (e.g. `Storage`).
    pub label: String,
    /// 0 for the root, 1 for its nested stacks.
    pub depth: usize,
    /// Resources the operation touches in this stack, when known (from the
    /// manifest or the change set); the renderer shows done / total.
    pub total: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// A step of the command, e.g. "Uploading templates".
    Step(String),
    /// Something the user should know that does not stop the command.
    Warning(String),
    /// Watching begins (or a nested stack appears): the stacks so far.
    Stack(WatchedStack),
    /// A new stack event, in chronological order.
    Event { stack: String, event: StackEvent },
    /// The ECS service's tasks during a rollout (sent when they change).
    Tasks { service: String, snapshot: ServiceSnapshot },
    /// A task of the service stopped, with its reason.
    TaskStopped { service: String, task: StoppedTask },
    /// A poll failed and will be retried after a pause (throttling, network).
    Retrying { what: String, reason: String, delay_ms: u64 },
    /// The clock moved: renderers refresh elapsed times from this.
    Tick { now: Millis },
}

/// Receives the engine's progress.
pub trait Sink {
    fn emit(&mut self, progress: Progress);
    /// The watch is over: clear live lines, flush.
    fn finish(&mut self) {}
}

/// Collects progress in memory (tests, JSON output).
#[derive(Debug, Default)]
pub struct Recorder {
    pub items: Vec<Progress>,
}

impl Sink for Recorder {
    fn emit(&mut self, progress: Progress) {
        self.items.push(progress);
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn emit(&mut self, progress: Progress) {
        (**self).emit(progress)
    }
    fn finish(&mut self) {
        (**self).finish()
    }
}
