//! Presentation: renderers of the engine's progress and prompts.
//!
//! Two renderers of the same [`Progress`](crate::engine::progress::Progress)
//! stream: [`tty::TtyRenderer`], the live view a user watches on a terminal,
//! and [`plain::PlainRenderer`], one line per event for CI logs and pipes.
//! [`sink`] picks one.

use std::io::IsTerminal;

use crate::engine::progress::{Progress, Sink};

pub mod creds;
pub mod doctor;
pub mod plain;
pub mod preview;
pub mod prompt;
pub mod report;
pub mod size;
pub mod upgrade;
pub(crate) mod text;
pub mod tty;

/// How progress is shown (`--progress`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// The live view on a terminal, one line per event otherwise (or when `CI` is set)
    #[default]
    Auto,
    /// The live view on stderr (drawn only where stderr is a terminal)
    Bar,
    /// One line per event on stdout
    Events,
}

/// A retried call, as a line of its own on stderr: a user waiting on a
/// throttled or failing call sees why and for how long. (Retries while a
/// stack is watched are on the watch's progress line instead.)
pub fn retry_notice(what: &str, err: &crate::engine::model::CloudError, pause: std::time::Duration, attempt: u32) {
    eprintln!("{}", retry_text(what, err, pause, attempt));
}

pub fn retry_text(what: &str, err: &crate::engine::model::CloudError, pause: std::time::Duration, attempt: u32) -> String {
    format!(
        "  … {}: {}; retrying in {} s (attempt {attempt} of {})",
        what.replace('_', " "),
        text::one_line(&err.to_string()),
        pause.as_secs_f64().ceil() as u64,
        crate::engine::retry::ATTEMPTS
    )
}

/// The renderer for `mode`. `Auto` avoids the live view in CI even when a
/// runner allocates a terminal: redrawn lines make unreadable logs.
pub fn sink(mode: ProgressMode) -> Box<dyn Sink + Send> {
    if live(mode) {
        Box::new(tty::TtyRenderer::stderr())
    } else {
        Box::new(plain::PlainRenderer::new(std::io::stdout()))
    }
}

/// A sink for commands whose stdout is data (`creds --rotate` prints the
/// new credentials there): the plain lines go to stderr.
pub fn sink_beside_data(mode: ProgressMode) -> Box<dyn Sink + Send> {
    if live(mode) {
        Box::new(tty::TtyRenderer::stderr())
    } else {
        Box::new(plain::PlainRenderer::new(std::io::stderr()))
    }
}

fn live(mode: ProgressMode) -> bool {
    match mode {
        ProgressMode::Auto => std::io::stderr().is_terminal() && std::env::var_os("CI").is_none_or(|v| v.is_empty()),
        ProgressMode::Bar => true,
        ProgressMode::Events => false,
    }
}

/// So that the chosen renderer (a `Box<dyn Sink>`) can be passed where a
/// `Sink` is expected.
impl<S: Sink + ?Sized> Sink for Box<S> {
    fn emit(&mut self, progress: Progress) {
        (**self).emit(progress)
    }
    fn finish(&mut self) {
        (**self).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::CloudError;

    #[test]
    fn a_retry_reads_as_a_sentence() {
        let line = retry_text("create_change_set", &CloudError::throttled(), std::time::Duration::from_millis(1500), 2);
        assert_eq!(line, "  … create change set: Throttling: Rate exceeded; retrying in 2 s (attempt 2 of 10)");
    }
}
