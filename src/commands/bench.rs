//! `pypictl bench`: resolves the target (a URL, or the deployment's URL and
//! credentials from its stack outputs and secret), runs the load generator
//! (`crate::bench`) and prints its report.

use anyhow::Result;
use pypictl_stacks::sizing::burst_expectation;

use super::session;
use crate::bench::{self, client::Target, workload};
use crate::cli::{BenchArgs, Global, Output};
use crate::config_file;
use crate::exit::{bad_input, exit};

/// The workload (`--workload`, burst by default). `--profile` is the AWS
/// profile only; a workload's name given to it is a mistake worth naming.
fn resolve_workload(workload: Option<workload::Profile>, global_profile: Option<&str>) -> Result<workload::Profile> {
    if let Some(named) = global_profile.and_then(workload::Profile::parse) {
        return Err(bad_input(format!(
            "--profile {}: --profile is the AWS profile; the workload is chosen with --workload {}",
            named.name(),
            named.name()
        )));
    }
    Ok(workload.unwrap_or(workload::Profile::Burst))
}

pub fn run(global: &Global, args: &BenchArgs) -> Result<()> {
    let profile = resolve_workload(args.workload, global.profile.as_deref())?;
    let flags = workload::Flags {
        concurrency: args.concurrency,
        baseline: args.baseline,
        burst_every: args.burst_every,
        duration: args.duration,
        requests: args.requests,
        timeout: args.timeout,
    };
    let plan = workload::plan(profile, &flags).map_err(bad_input)?;

    let (target, instance_type) = match &args.url {
        Some(url) => {
            let password = std::env::var("PYPICTL_BENCH_PASSWORD").ok().filter(|p| !p.is_empty());
            (Target::parse(url, args.username.as_deref(), password.as_deref()).map_err(bad_input)?, args.instance_type.clone())
        }
        None => {
            if args.username.is_some() {
                return Err(bad_input("--username applies to --url only (the deployment's credentials come from its secret)"));
            }
            let d = config_file::load(&args.config.path)?;
            let stack_name = d.config.stack_name().to_string();
            let rt = session::runtime()?;
            let default_url = d.config.service_urls()[0].clone();
            let target = rt.block_on(async {
                let cloud = session::connect(global, &d.config.region).await?;
                match bench::target_from_stack(&cloud, &stack_name, &default_url).await? {
                    Some(t) => Ok(t),
                    None => {
                        eprintln!("{stack_name} does not exist in {} (deploy it with `pypictl deploy`, or pass --url).", d.config.region);
                        Err(exit(1))
                    }
                }
            })?;
            drop(rt);
            (target, Some(args.instance_type.clone().unwrap_or_else(|| d.config.compute.instance_type.clone())))
        }
    };
    let expectation = instance_type.as_ref().and_then(|it| burst_expectation(it).map(|e| (it.clone(), e)));
    if let (Some(it), None) = (&instance_type, &expectation) {
        eprintln!("note: the sizing guide has no figures for {it}; nothing to compare with.");
    }

    if global.output == Output::Text {
        eprintln!("Benchmarking {} ({} profile, at most {} requests or {})...", target.url(), profile.name(), plan.max_requests, humantime::format_duration(plan.duration));
    }
    let outcome = bench::run(bench::Bench { target, plan, seed: args.seed, expectation }, session::ctrl_c())?;
    if let Some(problem) = &outcome.discovery_problem {
        eprintln!("warning: could not list the packages ({problem}); the run read the index only.");
    }
    let r = &outcome.report;
    if (r.concurrency + r.baseline.unwrap_or(0)) as u64 + 256 > outcome.open_files {
        eprintln!("warning: the open-file limit is {}; some connections may fail to open (raise `ulimit -n`).", outcome.open_files);
    }
    match global.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(r)?),
        Output::Text => print!("{}", bench::report::render(r)),
    }
    if outcome.interrupted {
        eprintln!("Interrupted: the report covers the requests sent until then.");
        return Err(exit(130));
    }
    // The run happened; but if nothing at all succeeded the service was not
    // usable, and scripts should see that in the exit code.
    if r.requests > 0 && r.ok == 0 {
        eprintln!("No request succeeded.");
        return Err(exit(1));
    }
    Ok(())
}
