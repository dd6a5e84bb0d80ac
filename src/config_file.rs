//! Reading pypictl.toml: parse, validate, report every problem at once.

use std::path::Path;

use anyhow::Result;
use pypictl_stacks::{Config, Deployment};

use crate::exit::bad_input;

pub fn read(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            bad_input(format!("{}: no such file (run `pypictl init` to write one, or pass -c <file>)", path.display()))
        } else {
            bad_input(format!("{}: {e}", path.display()))
        }
    })?;
    Config::from_toml(&text).map_err(|e| bad_input(format!("{}: {}", path.display(), e.0.trim_end())))
}

/// Validates a configuration; all broken rules are reported together.
pub fn check(path: &Path, config: Config) -> Result<Deployment> {
    Deployment::new(config).map_err(|errors| {
        let mut msg = format!("{} is not valid ({} problem{}):", path.display(), errors.len(), if errors.len() == 1 { "" } else { "s" });
        for e in errors {
            msg.push_str(&format!("\n  - {e}"));
        }
        bad_input(msg)
    })
}

pub fn load(path: &Path) -> Result<Deployment> {
    check(path, read(path)?)
}

pub fn print_warnings(d: &Deployment) {
    for w in &d.warnings {
        eprintln!("warning: {w}");
    }
}
