//! `pypictl bench`: the reference's stress test as a load generator.
//!
//! - [`workload`]: profiles, operation mix, schedule and bounds (pure);
//! - [`report`]: outcomes, latency percentiles, the report (pure);
//! - [`wheel`]: tiny wheels built in memory for the upload profile (pure);
//! - [`client`]: the hyper client and the driver (I/O).

pub mod client;
pub mod report;
pub mod wheel;
pub mod workload;

use pypictl_stacks::outputs::RootOutput;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use pypictl_stacks::sizing::BurstExpectation;

use client::{Catalogue, Http, Target};
use report::{Report, RunFacts};
use workload::Plan;

/// The deployment's target: the first of the root stack's `PypiServerUrls`
/// (else `default_url`, the configuration's first URL) with the read
/// credential, uploading with the publish one, both read as `pypictl creds`
/// reads them. None: no such stack.
pub async fn target_from_stack<C>(cloud: &C, stack_name: &str, default_url: &str) -> Result<Option<Target>>
where
    C: crate::engine::cloud::Stacks + crate::engine::cloud::Secrets,
{
    use crate::engine::creds::{self, Role};
    let Some((stack, read)) = creds::read(cloud, stack_name, Role::Read).await? else { return Ok(None) };
    let Some((_, publish)) = creds::read(cloud, stack_name, Role::Publish).await? else { return Ok(None) };
    let url = stack.output(RootOutput::PypiServerUrls).and_then(|u| u.split(',').next()).map(str::trim).filter(|u| !u.is_empty()).unwrap_or(default_url).to_string();
    let target = Target::parse(&url, Some(&read.username), Some(&read.password)).map_err(|e| anyhow::anyhow!("{stack_name}'s service URL: {e}"))?;
    Ok(Some(target.uploading_as(&publish.username, &publish.password)))
}

/// A bench to run.
pub struct Bench {
    pub target: Target,
    pub plan: Plan,
    pub seed: Option<u64>,
    /// The deployment's instance type and the guide's figures for it.
    pub expectation: Option<(String, BurstExpectation)>,
}

/// The result, with what discovery had to say.
pub struct Outcome {
    pub report: Report,
    pub discovery_problem: Option<String>,
    pub interrupted: bool,
    pub open_files: u64,
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
}

/// Runs the bench on a current-thread runtime of its own: discovery, then
/// the measured run. `interrupt` stops issuing requests (Ctrl-C).
pub fn run<F>(b: Bench, interrupt: F) -> Result<Outcome>
where
    F: std::future::Future<Output = ()> + 'static,
{
    let seed = b.seed.unwrap_or_else(now_nanos);
    // Unique per run even for the same seed: upload names must never collide.
    let run_id = format!("{:x}{:x}", now_nanos() % 0xffff_ffff, std::process::id());
    let open_files = client::raise_open_files(b.plan.concurrency + b.plan.baseline);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let url = b.target.url();
    let http = Arc::new(Http::new(b.target, b.plan.concurrency + b.plan.baseline, b.plan.timeout)?);
    let plan = b.plan.clone();
    let (catalogue, run, cpu) = local.block_on(&rt, async move {
        let catalogue: Catalogue = client::discover(&http, plan.timeout).await;
        // Only the measured run's CPU counts: per request, after discovery.
        let cpu0 = client::cpu_time();
        let run = client::run(http, &plan, catalogue.clone(), seed, run_id, interrupt).await;
        (catalogue, run, client::cpu_time().saturating_sub(cpu0))
    });
    let facts = RunFacts {
        url: &url,
        plan: &b.plan,
        seed,
        projects: catalogue.projects.len(),
        files: catalogue.files.len(),
        wall: run.wall,
        cpu,
        expectation: b.expectation,
    };
    let report = report::report(&run.recorder, &facts);
    Ok(Outcome { report, discovery_problem: catalogue.problem, interrupted: run.interrupted, open_files })
}
