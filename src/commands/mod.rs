//! One module per subcommand.

mod size;
mod synth;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Synth(args) => synth::run(&cli.global, &args),
        Command::Size(args) => size::run(&cli.global, &args),
    }
}
