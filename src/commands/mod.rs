//! One module per subcommand.

mod deploy;
mod destroy;
mod session;
mod size;
mod status;
mod synth;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Synth(args) => synth::run(&cli.global, &args),
        Command::Size(args) => size::run(&cli.global, &args),
        Command::Deploy(args) => deploy::run(&cli.global, &args),
        Command::Status(args) => status::run(&cli.global, &args),
        Command::Destroy(args) => destroy::run(&cli.global, &args),
    }
}
