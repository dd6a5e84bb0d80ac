//! Checks 4 (`efs_io_limit`, `efs_burst_credits`): EFS `PercentIOLimit`
//! against the throughput alarm's threshold and, in bursting mode,
//! `BurstCreditBalance` against the burst-credit alarm's.

use pypictl_stacks::alarms::AlarmId;
use pypictl_stacks::outputs::RootOutput;
use pypictl_stacks::sizing::advice::{throughput_fix, ELASTIC_THROUGHPUT};

use super::names::{EFS_BURST_CREDITS, EFS_IO_LIMIT};
use super::{Check, Context};
use crate::engine::cloud::Service;

/// `PercentIOLimit` (Maximum) from which the check fails: requests are being
/// throttled. (Above the throughput alarm's threshold it warns.)
pub const IO_LIMIT_FAIL_PERCENT: f64 = 95.0;

pub(super) async fn efs_checks<C: Service>(cloud: &C, ctx: &Context<'_>) -> (Check, Check) {
    let Some(fs) = ctx.output(RootOutput::FileSystemId) else {
        return (ctx.missing(EFS_IO_LIMIT, RootOutput::FileSystemId), ctx.missing(EFS_BURST_CREDITS, RootOutput::FileSystemId));
    };
    let storage = &ctx.cfg.storage;
    let throughput = AlarmId::EfsThroughput.spec();
    let io = match cloud.metric(&ctx.alarm_query(AlarmId::EfsThroughput, &[fs])).await {
        Err(e) => Check::unreadable(EFS_IO_LIMIT, "PercentIOLimit", &e, "cloudwatch:GetMetricData"),
        Ok(None) => Check::skip(EFS_IO_LIMIT, format!("no PercentIOLimit data for {fs} in the last hour")),
        Ok(Some(v)) => {
            let detail = format!("{fs} peaked at {v:.1} % of its I/O limit in the last hour");
            if v >= IO_LIMIT_FAIL_PERCENT {
                Check::fail(EFS_IO_LIMIT, format!("{detail}: requests are being throttled"), throughput_fix(ctx.cfg))
            } else if throughput.breached(ctx.cfg, v) {
                Check::warn(EFS_IO_LIMIT, format!("{detail} (above {} %)", throughput.threshold(ctx.cfg)), throughput_fix(ctx.cfg))
            } else {
                Check::pass(EFS_IO_LIMIT, detail)
            }
        }
    };
    let burst = AlarmId::EfsBurstCredits.spec();
    let credits = if !burst.applies(ctx.cfg) {
        Check::pass(EFS_BURST_CREDITS, format!("storage.throughput_mode = \"{}\": no burst credits to run out of", storage.throughput_mode.as_str()))
    } else {
        let threshold = burst.threshold(ctx.cfg);
        match cloud.metric(&ctx.alarm_query(AlarmId::EfsBurstCredits, &[fs])).await {
            Err(e) => Check::unreadable(EFS_BURST_CREDITS, "BurstCreditBalance", &e, "cloudwatch:GetMetricData"),
            Ok(None) => Check::skip(EFS_BURST_CREDITS, format!("no BurstCreditBalance data for {fs} in the last hour")),
            Ok(Some(v)) if burst.breached(ctx.cfg, v) => Check::fail(
                EFS_BURST_CREDITS,
                format!("{fs}'s burst credits fell to {} in the last hour, below monitoring.efs_burst_credit_threshold ({})", bytes(v), bytes(threshold as f64)),
                format!("{ELASTIC_THROUGHPUT} (elastic throughput has no credits to run out of)"),
            ),
            Ok(Some(v)) => Check::pass(EFS_BURST_CREDITS, format!("{fs}'s lowest burst credit balance in the last hour: {} (threshold {})", bytes(v), bytes(threshold as f64))),
        }
    };
    (io, credits)
}

fn bytes(v: f64) -> String {
    if v >= 1e12 {
        format!("{:.2} TB", v / 1e12)
    } else if v >= 1e9 {
        format!("{:.1} GB", v / 1e9)
    } else {
        format!("{:.0} MB", v / 1e6)
    }
}
