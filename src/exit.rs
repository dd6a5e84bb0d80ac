//! Exit codes: 0 success, 1 the operation failed, 2 bad usage or bad
//! configuration (and nothing was changed).

use std::fmt;

/// An error in what the user asked for: bad flags, a bad pypictl.toml.
/// Reported with exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// A command that has already said what happened and only needs to exit
/// with `code` (1 failed, 2 nothing done for want of a decision or a fix,
/// 130 interrupted).
#[derive(Debug)]
pub struct Exit(pub i32);

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}

pub fn exit(code: i32) -> anyhow::Error {
    anyhow::Error::new(Exit(code))
}

/// Prints the error (its whole chain) and returns the exit code.
pub fn report(err: &anyhow::Error) -> i32 {
    if let Some(bad) = err.downcast_ref::<BadInput>() {
        eprintln!("error: {bad}");
        return 2;
    }
    if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
        return *code;
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    1
}
