//! One plain line per event, for CI logs and pipes: no escape codes, no
//! carriage returns, nothing redrawn. Every line stands alone, so a log
//! viewer that shows only the tail (or greps it) still makes sense.
//!
//! ```text
//! 09:21:14  Storage     MountTarget2                  AWS::EFS::MountTarget  CREATE_FAILED  Resource handler returned message: ...
//! ```

use std::collections::HashMap;
use std::io::Write;

use super::text::{clock, one_line, seconds};
use crate::engine::model::{Millis, ServiceSnapshot};
use crate::engine::progress::{Progress, Sink};

/// Width of the logical id column: fits every logical id pypictl synthesizes
/// (the longest, `LoadBalancerSecurityGroup`, has 25 characters) and most
/// nested stacks' own names (`pypi-Storage-1A2B3C4D5E6F`). Longer ids push
/// the rest of their line right rather than being cut.
pub const LOGICAL_ID_WIDTH: usize = 28;

pub struct PlainRenderer<W: Write> {
    out: W,
    /// Width of the longest stack label announced so far.
    label_width: usize,
    last_tick: Option<Millis>,
    last_event: Option<Millis>,
    /// The last Tasks line printed per service (without its time), to print
    /// only changes: snapshots arrive on every poll during a rollout.
    tasks: HashMap<String, String>,
}

impl<W: Write> PlainRenderer<W> {
    pub fn new(out: W) -> Self {
        PlainRenderer { out, label_width: 0, last_tick: None, last_event: None, tasks: HashMap::new() }
    }

    /// The writer back, e.g. the `Vec<u8>` a test rendered into.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn line(&mut self, text: &str) {
        // Progress output must never abort a deploy: a closed pipe or a full
        // disk loses log lines, not the operation.
        let _ = self.out.write_all(format!("{text}\n").as_bytes());
        let _ = self.out.flush();
    }

    /// The time to print for items that carry none: the engine's clock when
    /// it has ticked, else the last event's time.
    fn now(&self) -> Millis {
        self.last_tick.or(self.last_event).unwrap_or(0)
    }
}

/// `running 1/2, pending 1, failed 0, rollout IN_PROGRESS`
fn tasks_text(s: &ServiceSnapshot) -> String {
    let mut text = format!("running {}/{}, pending {}, failed {}", s.running, s.desired, s.pending, s.failed);
    if let Some(state) = &s.rollout_state {
        text.push_str(&format!(", rollout {}", one_line(state)));
    }
    text
}

impl<W: Write> Sink for PlainRenderer<W> {
    fn emit(&mut self, progress: Progress) {
        match progress {
            Progress::Step(text) => self.line(&format!("==> {}", one_line(&text))),
            Progress::Warning(text) => self.line(&format!("warning: {}", one_line(&text))),
            Progress::Stack(stack) => self.label_width = self.label_width.max(stack.label.chars().count()),
            Progress::Event { stack, event } => {
                self.last_event = Some(event.timestamp);
                let mut text = format!(
                    "{}  {:lw$}  {:LOGICAL_ID_WIDTH$}  {}  {}",
                    clock(event.timestamp),
                    one_line(&stack),
                    one_line(&event.logical_id),
                    one_line(&event.resource_type),
                    one_line(event.status.as_str()),
                    lw = self.label_width,
                );
                if let Some(reason) = event.reason.as_deref().map(one_line).filter(|r| !r.is_empty()) {
                    text.push_str("  ");
                    text.push_str(&reason);
                }
                self.line(&text);
            }
            Progress::Tasks { service, snapshot } => {
                let text = tasks_text(&snapshot);
                if self.tasks.get(&service) != Some(&text) {
                    self.line(&format!("{}  {}  tasks  {text}", clock(self.now()), one_line(&service)));
                    self.tasks.insert(service, text);
                }
            }
            Progress::TaskStopped { service, task } => self.line(&format!(
                "{}  {}  task {} stopped: {}",
                clock(task.stopped_at),
                one_line(&service),
                one_line(&task.task_id),
                one_line(&task.reason)
            )),
            Progress::Retrying { what, reason, delay_ms } => self.line(&format!(
                "note: {} failed ({}); retrying in {}",
                one_line(&what),
                one_line(&reason),
                seconds(delay_ms)
            )),
            Progress::Tick { now } => self.last_tick = Some(now),
        }
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}
