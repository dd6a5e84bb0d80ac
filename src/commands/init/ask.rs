//! The wizard's prompts (dialoguer, on stderr), and Ctrl-C: at any moment it
//! ends the wizard with exit 130, the cursor restored and no file written.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::Result;
use dialoguer::{theme::ColorfulTheme, Confirm, Input, MultiSelect, Select};

/// Set once the wizard is over, so that Ctrl-C during the `deploy` it
/// starts is `deploy`'s to handle.
static DONE: AtomicBool = AtomicBool::new(false);
/// Only one thread reports the interruption and exits.
static ABORTING: AtomicBool = AtomicBool::new(false);
/// A temporary file being written, removed on Ctrl-C.
pub static TEMP_FILE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Ends the process as Ctrl-C should: cursor back, no temporary file left.
fn abort() -> ! {
    if ABORTING.swap(true, Ordering::SeqCst) {
        // The other thread is already exiting.
        std::thread::sleep(std::time::Duration::from_secs(10));
        std::process::exit(130);
    }
    let _ = console::Term::stderr().show_cursor();
    if let Ok(mut temp) = TEMP_FILE.lock() {
        if let Some(p) = temp.take() {
            let _ = std::fs::remove_file(p);
        }
    }
    eprintln!("\nInterrupted: nothing was written.");
    std::process::exit(130);
}

/// Handles SIGINT from now on (registered before this returns, so no
/// Ctrl-C slips through to the default action mid-prompt).
pub fn install_ctrl_c() -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut sig = rt.block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) })?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            while sig.recv().await.is_some() {
                if !DONE.load(Ordering::SeqCst) {
                    abort();
                }
            }
        })
    });
    Ok(())
}

pub fn done() {
    DONE.store(true, Ordering::SeqCst);
}

fn on_error(e: dialoguer::Error) -> anyhow::Error {
    let dialoguer::Error::IO(io) = &e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        abort();
    }
    let _ = console::Term::stderr().show_cursor();
    anyhow::anyhow!("the terminal closed at a question: {e}")
}

fn theme() -> ColorfulTheme {
    ColorfulTheme::default()
}

pub fn select(prompt: &str, items: &[String], default: usize) -> Result<usize> {
    Select::with_theme(&theme()).with_prompt(prompt).items(items).default(default).max_length(12).interact().map_err(on_error)
}

pub fn multi_select(prompt: &str, items: &[String], checked: &[bool]) -> Result<Vec<usize>> {
    MultiSelect::with_theme(&theme()).with_prompt(prompt).items(items).defaults(checked).max_length(12).interact().map_err(on_error)
}

pub fn confirm(prompt: &str, default: bool) -> Result<bool> {
    Confirm::with_theme(&theme()).with_prompt(prompt).default(default).interact().map_err(on_error)
}

/// A line of text, re-asked until `check` accepts it.
pub fn text(prompt: &str, default: Option<&str>, check: impl Fn(&str) -> Result<(), String>) -> Result<String> {
    let theme = theme();
    let mut input = Input::<String>::with_theme(&theme).with_prompt(prompt);
    if let Some(d) = default {
        input = input.default(d.to_string());
    }
    input
        .validate_with(|s: &String| check(s.trim()))
        .interact_text()
        .map(|s| s.trim().to_string())
        .map_err(on_error)
}

/// A comma-separated list.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}
