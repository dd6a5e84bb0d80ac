//! Presentation: renderers of the engine's progress and prompts.
//!
//! Two renderers of the same [`Progress`](crate::engine::progress::Progress)
//! stream: [`tty::TtyRenderer`], the live view a user watches on a terminal,
//! and [`plain::PlainRenderer`], one line per event for CI logs and pipes.
//! [`sink`] picks one.

use std::io::IsTerminal;

use crate::engine::progress::{Progress, Sink};

pub mod creds;
pub mod plain;
pub mod preview;
pub mod prompt;
pub mod report;
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
