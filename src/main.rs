//! pypictl: run a private Python package index (pypiserver) on AWS.

mod cli;
mod commands;
mod config_file;
mod exit;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match commands::run(cli) {
        Ok(()) => 0,
        Err(err) => exit::report(&err),
    };
    std::process::exit(code);
}
