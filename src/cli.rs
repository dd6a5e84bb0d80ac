//! Command-line interface: global flags follow the AWS CLI's conventions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "pypictl", version, about = "Run a private Python package index (pypiserver) on AWS", max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// AWS profile from your AWS config
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (overrides pypictl.toml's `region` for AWS calls)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Endpoint of an AWS emulator, e.g. http://127.0.0.1:5000
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// More detail (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Output format where the output is data
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Answer yes to confirmations (for CI)
    #[arg(long, global = true)]
    pub yes: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a commented pypictl.toml: discovers VPCs, subnets and zones, picks a size
    Init(Box<InitArgs>),
    /// Write the CloudFormation templates to disk (no AWS calls)
    Synth(SynthArgs),
    /// Print the capacity and cost plan
    Size(SizeArgs),
    /// Deploy (create or update) the service: preview, confirm, watch live
    Deploy(DeployArgs),
    /// Show the stacks, the service's tasks, target health and firing alarms
    Status(StatusArgs),
    /// Delete the stacks; the file system, backups, secret and key are kept
    Destroy(DestroyArgs),
    /// Print a credential (read by default, --publish) with ready pip / twine / uv / poetry configuration
    Creds(CredsArgs),
    /// Change instance type, image tag, container memory or counts, safely
    Upgrade(UpgradeArgs),
    /// Preview what `deploy` would change, without changing anything
    Diff(DiffArgs),
    /// Find what is wrong with a deployment and say how to fix it
    Doctor(DoctorArgs),
    /// Load-test the service: the reference's burst stress test, steady load or uploads
    #[command(after_help = "The password for --url: PYPICTL_BENCH_PASSWORD or the URL's userinfo. It is never printed.")]
    Bench(BenchArgs),
    /// Print the least-privilege IAM policy deploy, status, diff, creds, upgrade, doctor and destroy need
    IamPolicy(IamPolicyArgs),
    /// Print the shell completion script (bash, zsh or fish) to stdout
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct ConfigArg {
    /// Configuration file
    #[arg(short = 'c', long = "config", default_value = "pypictl.toml")]
    pub path: PathBuf,
}

/// `--role-arn`: CloudFormation acts through a service role.
#[derive(Args, Debug, Clone, Default)]
pub struct RoleArg {
    /// IAM role CloudFormation acts through (a service role, as the CDK's
    /// bootstrap makes): the deployer then needs little more than
    /// CloudFormation, the staging bucket and iam:PassRole on it. `pypictl
    /// iam-policy` prints both policies.
    #[arg(long = "role-arn", value_name = "ARN", value_parser = parse_role_arn)]
    pub role_arn: Option<String>,
}

/// The account of an IAM role ARN, `arn:<partition>:iam::<12-digit
/// account>:role/<path/name>`; None when the value is not one.
pub fn role_account(value: &str) -> Option<&str> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|n| !n.is_empty());
    if ok { Some(parts[4]) } else { None }
}

fn parse_role_arn(value: &str) -> Result<String, String> {
    match role_account(value) {
        Some(_) => Ok(value.to_string()),
        None => Err(format!("{value:?} is not an IAM role ARN (arn:aws:iam::<12-digit account id>:role/<name>)")),
    }
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Directory to write the templates and manifest.json to
    #[arg(short = 'o', long = "out", default_value = "pypictl.out")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct SizeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Instance type to plan for (overrides compute.instance_type)
    #[arg(long)]
    pub instance_type: Option<String>,
    /// Container memory limit in MB (overrides service.container_memory)
    #[arg(long)]
    pub container_memory: Option<u32>,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Keep failed resources as they are instead of rolling back (to debug)
    #[arg(long)]
    pub no_rollback: bool,
    /// How to show progress: live view on a terminal, or one line per event
    #[arg(long, value_enum, default_value_t = crate::ui::ProgressMode::Auto)]
    pub progress: crate::ui::ProgressMode,
    /// Stop watching after this long (e.g. 45m); the deployment goes on
    #[arg(long, value_parser = humantime::parse_duration)]
    pub max_wait: Option<std::time::Duration>,
    /// Allow replacing or removing the file system, backup vault, secret or key (loses data)
    #[arg(long)]
    pub allow_replace_stateful: bool,
    /// With the stack in UPDATE_ROLLBACK_FAILED: continue the rollback skipping the
    /// resources that failed to roll back (ResourcesToSkip; they are left as they are)
    #[arg(long)]
    pub rollback_skip_failed: bool,
    #[command(flatten)]
    pub role: RoleArg,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// If an operation is in progress, watch it until it settles
    #[arg(long)]
    pub watch: bool,
    /// How to show progress while watching
    #[arg(long, value_enum, default_value_t = crate::ui::ProgressMode::Auto)]
    pub progress: crate::ui::ProgressMode,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also delete the retained file system, backup vault (and its recovery points), secret and key
    #[arg(long)]
    pub force_destroy_data: bool,
    #[command(flatten)]
    pub role: RoleArg,
    /// How to show progress
    #[arg(long, value_enum, default_value_t = crate::ui::ProgressMode::Auto)]
    pub progress: crate::ui::ProgressMode,
}

#[derive(Args, Debug)]
pub struct CredsArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// What to print
    #[arg(long, value_enum, default_value_t = crate::ui::creds::Format::Text)]
    pub format: crate::ui::creds::Format,
    /// The publish credential (upload) instead of the read credential (list and download)
    #[arg(long)]
    pub publish: bool,
    /// Set a new random password for the credential and roll the service onto it, without an outage
    #[arg(long)]
    pub rotate: bool,
    /// How to show progress while rotating
    #[arg(long, value_enum, default_value_t = crate::ui::ProgressMode::Auto)]
    pub progress: crate::ui::ProgressMode,
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub role: RoleArg,
    /// New EC2 instance type (compute.instance_type)
    #[arg(long)]
    pub instance_type: Option<String>,
    /// New pypiserver image tag (service.image_tag)
    #[arg(long)]
    pub image_tag: Option<String>,
    /// New container memory limit in MB (service.container_memory)
    #[arg(long)]
    pub container_memory: Option<u32>,
    /// New minimum task count (service.task_min_count)
    #[arg(long)]
    pub task_min: Option<u32>,
    /// New maximum task count (service.task_max_count)
    #[arg(long)]
    pub task_max: Option<u32>,
    /// New minimum instance count (compute.min_size)
    #[arg(long)]
    pub asg_min: Option<u32>,
    /// New maximum instance count (compute.max_size)
    #[arg(long)]
    pub asg_max: Option<u32>,
    /// How to show progress
    #[arg(long, value_enum, default_value_t = crate::ui::ProgressMode::Auto)]
    pub progress: crate::ui::ProgressMode,
    /// Stop watching after this long; the upgrade goes on
    #[arg(long, value_parser = humantime::parse_duration)]
    pub max_wait: Option<std::time::Duration>,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub role: RoleArg,
    /// Show only security-relevant changes (IAM, security groups, policies, keys)
    #[arg(long)]
    pub security_only: bool,
    /// Exit 1 when there are changes (for CI)
    #[arg(long)]
    pub fail: bool,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Service base URL (http or https); without it, the deployment in pypictl.toml with its credentials
    #[arg(long)]
    pub url: Option<String>,
    /// Username for --url (the password comes from PYPICTL_BENCH_PASSWORD or the URL)
    #[arg(long)]
    pub username: Option<String>,
    /// Workload: burst (the reference's stress test), steady or upload
    #[arg(long, value_enum)]
    pub workload: Option<crate::bench::workload::Profile>,
    /// Burst size (burst; default 510) or number of clients (steady, upload; default 10)
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Clients running under the bursts (burst only; default 3)
    #[arg(long)]
    pub baseline: Option<usize>,
    /// Time between bursts, the first at once (burst only; default 60s)
    #[arg(long, value_parser = humantime::parse_duration)]
    pub burst_every: Option<std::time::Duration>,
    /// No request starts after this (default 60s, at most 1h)
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Send at most this many requests (default 100000, at most 1000000)
    #[arg(long)]
    pub requests: Option<u64>,
    /// A request without a complete answer by then counts as a timeout (default 60s)
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Instance type to compare with the sizing guide (default: the configuration's, without --url)
    #[arg(long)]
    pub instance_type: Option<String>,
    /// Seed of the operation mix, to repeat a run's sequence
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scheme {
    /// Reachable from the internet (public subnets, an internet gateway)
    InternetFacing,
    /// Reachable only inside the VPC
    Internal,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum WorkloadArg {
    Light,
    Medium,
    Heavy,
    VeryHeavy,
    /// --instance-type and --container-memory of your own
    Custom,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// Every question of the wizard has a flag: given, it is not asked.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// File to write
    #[arg(short = 'c', long = "config", default_value = "pypictl.toml")]
    pub path: PathBuf,
    /// Ask nothing: answers from flags, defaults where a question has one
    #[arg(long)]
    pub non_interactive: bool,
    /// Overwrite an existing file without asking
    #[arg(long)]
    pub force: bool,
    /// Name of the service and its root stack [default: pypiserver]
    #[arg(long)]
    pub service_name: Option<String>,
    /// Environment tag [default: development]
    #[arg(long)]
    pub environment: Option<String>,
    /// VPC to deploy into
    #[arg(long)]
    pub vpc_id: Option<String>,
    /// Load-balancer subnets, comma-separated (at least 2 availability zones)
    #[arg(long, value_delimiter = ',')]
    pub lb_subnets: Vec<String>,
    /// Instance subnets, comma-separated (one per availability zone)
    #[arg(long, value_delimiter = ',')]
    pub instance_subnets: Vec<String>,
    /// Route53 hosted zone id
    #[arg(long)]
    pub zone_id: Option<String>,
    /// The hosted zone's domain (non-interactive: no AWS call looks it up)
    #[arg(long)]
    pub zone_name: Option<String>,
    /// DNS labels inside the zone, comma-separated [default: pypiserver]
    #[arg(long, value_delimiter = ',')]
    pub dns_names: Vec<String>,
    /// Load balancer scheme [default: internet-facing]
    #[arg(long, value_enum)]
    pub scheme: Option<Scheme>,
    /// Workload profile from the sizing guide [default: light]
    #[arg(long, value_enum)]
    pub workload: Option<WorkloadArg>,
    /// Instance type of a custom workload
    #[arg(long)]
    pub instance_type: Option<String>,
    /// Container memory (MB) of a custom workload [default: 512]
    #[arg(long)]
    pub container_memory: Option<u32>,
    /// Alarm email addresses, comma-separated or repeated
    #[arg(long = "alarm-email", value_delimiter = ',')]
    pub alarm_emails: Vec<String>,
    /// AWS Backup of the file system [default: on]
    #[arg(long, value_enum)]
    pub backup: Option<OnOff>,
    /// Days to keep each backup [default: 7]
    #[arg(long)]
    pub backup_retention_days: Option<u32>,
    /// When backups run, an AWS cron expression [default: cron(0 2 * * ? *)]
    #[arg(long)]
    pub backup_schedule: Option<String>,
    /// pypiserver image tag [default: the pinned, tested version]
    #[arg(long)]
    pub image_tag: Option<String>,
    /// Run `pypictl deploy` once the file is written (non-interactive)
    #[arg(long)]
    pub deploy: bool,
}

/// Whose policy `pypictl iam-policy` prints.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyFor {
    /// The user or CI role running pypictl
    Deployer,
    /// The CloudFormation service role (--role-arn): what CloudFormation does with the templates
    CloudformationRole,
}

#[derive(Args, Debug)]
pub struct IamPolicyArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// CloudFormation service role the deployments use: the deployer then needs pypictl's own calls, the staging bucket's stack and iam:PassRole on it
    #[arg(long, value_name = "ARN", value_parser = parse_role_arn)]
    pub role_arn: Option<String>,
    /// Whose policy to print [default: deployer]
    #[arg(long = "for", value_enum, value_name = "WHO")]
    pub for_: Option<PolicyFor>,
}

/// The shells `pypictl completions` writes a script for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {}
