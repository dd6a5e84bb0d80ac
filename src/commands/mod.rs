//! One module per subcommand.

mod bench;
mod completions;
mod creds;
pub mod deploy;
mod destroy;
mod diff;
mod doctor;
mod iam_policy;
mod init;
mod session;
mod size;
mod status;
mod synth;
pub mod upgrade;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init(args) => init::run(&cli.global, &args),
        Command::Synth(args) => synth::run(&cli.global, &args),
        Command::Size(args) => size::run(&cli.global, &args),
        Command::Deploy(args) => deploy::run(&cli.global, &args),
        Command::Status(args) => status::run(&cli.global, &args),
        Command::Destroy(args) => destroy::run(&cli.global, &args),
        Command::Upgrade(args) => upgrade::run(&cli.global, &args),
        Command::Diff(args) => diff::run(&cli.global, &args),
        Command::Creds(args) => creds::run(&cli.global, &args),
        Command::Doctor(args) => doctor::run(&cli.global, &args),
        Command::Bench(args) => bench::run(&cli.global, &args),
        Command::IamPolicy(args) => iam_policy::run(&cli.global, &args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => completions::man(&args),
    }
}
