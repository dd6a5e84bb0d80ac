//! pypictl: run a private Python package index (pypiserver) on AWS.

use clap::Parser;
use pypictl::{cli, commands, exit};

fn main() {
    let cli = cli::Cli::parse();
    let code = match commands::run(cli) {
        Ok(()) => 0,
        Err(err) => exit::report(&err),
    };
    std::process::exit(code);
}
