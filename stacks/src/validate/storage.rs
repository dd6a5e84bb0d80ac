//! Storage and backup rules: the EFS file system's lifecycle and
//! throughput, and the AWS Backup plan's retention and cron schedule.

use crate::config::{Config, LifecyclePolicy, ThroughputMode};
use crate::sizing::advice::MAX_PROVISIONED_MIBPS;

use super::{quoted, Checker};

pub const LIFECYCLE_DAYS: [i64; 5] = [7, 14, 30, 60, 90];

/// Checks an AWS cron expression as AWS Backup accepts it:
/// `cron(minutes hours day-of-month month day-of-week year)`. Returns why not.
pub fn check_backup_cron(expr: &str) -> Result<(), String> {
    let inner = expr
        .strip_prefix("cron(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or("must be an AWS cron expression: cron(minutes hours day-of-month month day-of-week year)")?;
    let f: Vec<&str> = inner.split_whitespace().collect();
    if f.len() != 6 {
        return Err(format!("cron() needs 6 fields (minutes hours day-of-month month day-of-week year), found {}", f.len()));
    }
    // AWS Backup runs a plan at most once an hour: minutes is one number.
    match f[0].parse::<u32>() {
        Ok(m) if m <= 59 => {}
        _ => return Err(format!("minutes field `{}` must be a single number 0-59 (AWS Backup runs at most hourly)", f[0])),
    }
    field(f[1], "hours", 0, 23, &[])?;
    field(f[2], "day-of-month", 1, 31, &["?", "L", "W"])?;
    field(f[3], "month", 1, 12, &MONTHS)?;
    field(f[4], "day-of-week", 1, 7, &["?", "L", "#", "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])?;
    field(f[5], "year", 1970, 2199, &[])?;
    if (f[2] == "?") == (f[4] == "?") {
        return Err("exactly one of day-of-month and day-of-week must be `?`".into());
    }
    // AWS Backup accepts a plan whose days of the month none of its months
    // has (`cron(0 2 30 2 ? *)`, February 30), and it never runs: no backup,
    // and no error to notice. Months x days of the month only; fields with
    // `L`, `W` or wrapping ranges are left alone.
    if let (Some(days), Some(months)) = (listed(f[2], 1, 31, &[]), listed(f[3], 1, 12, &MONTHS)) {
        let longest = (1..=12).filter(|m| months & (1 << m) != 0).map(days_in_month).max().unwrap_or(0);
        let first = days.trailing_zeros();
        if first > longest {
            return Err(format!("never runs: none of the months `{}` has a day `{}` (the longest of them has {longest} days)", f[3], f[2]));
        }
    }
    Ok(())
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/// The most days a month has (February: 29, in leap years).
fn days_in_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The values a cron field lists, as bits (bit n for n), when it is made of
/// numbers (or `names`, the first being `lo`), `*`, ranges, lists and steps
/// only; None for anything else (`?`, `L`, `W`, `#`, a range that wraps).
/// `a/n` starts at a and steps by n up to `hi`, as in AWS cron.
fn listed(v: &str, lo: u32, hi: u32, names: &[&str]) -> Option<u64> {
    let num = |e: &str| {
        let n = e.parse::<u32>().ok().or_else(|| names.iter().position(|n| *n == e).map(|i| lo + i as u32))?;
        (lo..=hi).contains(&n).then_some(n)
    };
    let mut bits = 0u64;
    for item in v.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s.parse::<u32>().ok().filter(|s| *s >= 1)?)),
            None => (item, None),
        };
        let (from, to) = match (range, range.split_once('-')) {
            ("*", _) => (lo, hi),
            (_, Some((a, b))) => (num(a)?, num(b)?),
            (a, None) => (num(a)?, if step.is_some() { hi } else { num(a)? }),
        };
        if from > to {
            return None;
        }
        for n in (from..=to).step_by(step.unwrap_or(1) as usize) {
            bits |= 1 << n;
        }
    }
    Some(bits)
}

fn field(v: &str, name: &str, lo: u32, hi: u32, words: &[&str]) -> Result<(), String> {
    let bad = || format!("{name} field `{v}` is not valid (numbers {lo}-{hi}, `*`, ranges a-b, lists a,b, steps /n)");
    if v == "*" || words.contains(&v) {
        return Ok(());
    }
    for item in v.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(s) = step {
            if !s.parse::<u32>().is_ok_and(|n| n >= 1) {
                return Err(bad());
            }
        }
        let ends: Vec<&str> = if range == "*" { vec![] } else { range.split('-').collect() };
        for e in ends {
            let e = e.trim_end_matches(['L', 'W']);
            let e = e.split('#').next().unwrap_or(e);
            let ok = e.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n)) || words.contains(&e);
            if !ok {
                return Err(bad());
            }
        }
    }
    Ok(())
}

/// The EFS file system: lifecycle and throughput.
pub(super) fn storage(c: &mut Checker, cfg: &Config) {
    let st = &cfg.storage;
    match &st.lifecycle_policy {
        LifecyclePolicy::Days(d) if LIFECYCLE_DAYS.contains(d) => {}
        LifecyclePolicy::Word(w) if w == "none" => {}
        LifecyclePolicy::Days(d) => c.fail("storage.lifecycle_policy", d, "must be \"none\" or one of 7, 14, 30, 60, 90 (days before files move to Infrequent Access)"),
        LifecyclePolicy::Word(w) => c.fail("storage.lifecycle_policy", quoted(w), "must be \"none\" or one of 7, 14, 30, 60, 90 (days before files move to Infrequent Access)"),
    }
    match (st.throughput_mode, st.provisioned_throughput_mibps) {
        (ThroughputMode::Provisioned, None) => c.fail("storage.provisioned_throughput_mibps", "(unset)", "is required when storage.throughput_mode = \"provisioned\" (MiB/s)"),
        (ThroughputMode::Provisioned, Some(m)) => c.check((1..=MAX_PROVISIONED_MIBPS).contains(&m), "storage.provisioned_throughput_mibps", m, &format!("must be 1-{MAX_PROVISIONED_MIBPS} MiB/s")),
        (mode, Some(m)) => c.fail("storage.provisioned_throughput_mibps", m, format!("only applies with storage.throughput_mode = \"provisioned\" (it is \"{}\")", mode.as_str())),
        (_, None) => {}
    }
}

/// The AWS Backup plan: retention and schedule.
pub(super) fn backup(c: &mut Checker, cfg: &Config) {
    let b = &cfg.backup;
    if b.enabled {
        c.check(b.retention_days >= 1, "backup.retention_days", b.retention_days, "must be at least 1 day");
        if let Err(rule) = check_backup_cron(&b.schedule) {
            c.fail("backup.schedule", quoted(&b.schedule), rule);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::problem;

    #[test]
    fn aws_backup_cron_expressions() {
        assert!(check_backup_cron("cron(0 2 * * ? *)").is_ok());
        assert!(check_backup_cron("cron(0 3 ? * MON-FRI *)").is_ok());
        assert!(check_backup_cron("cron(30 1 1,15 * ? *)").is_ok());
        assert!(check_backup_cron("cron(0 2 * * * *)").unwrap_err().contains("exactly one"));
        assert!(check_backup_cron("0 2 * * ? *").unwrap_err().contains("AWS cron"));
        assert!(check_backup_cron("cron(0 2 * * ?)").unwrap_err().contains("6 fields"));
        assert!(check_backup_cron("cron(*/5 2 * * ? *)").unwrap_err().contains("minutes"));
        assert!(check_backup_cron("cron(0 25 * * ? *)").unwrap_err().contains("hours"));
        assert!(check_backup_cron("cron(0 2 * 13 ? *)").unwrap_err().contains("month"));
    }

    #[test]
    fn a_backup_schedule_that_never_fires_is_refused() {
        for never in ["cron(0 2 30 2 ? *)", "cron(0 2 31 4 ? *)", "cron(0 2 31 FEB,APR,JUN ? *)", "cron(0 2 30-31 2 ? *)", "cron(0 2 31 4-6/2 ? *)"] {
            let err = check_backup_cron(never).unwrap_err();
            assert!(err.contains("never runs"), "{never}: {err}");
        }
        for fires in [
            "cron(0 2 29 2 ? *)",
            "cron(0 2 31 4,5 ? *)",
            "cron(0 2 30,1 2 ? *)",
            "cron(0 2 31 * ? *)",
            "cron(0 2 L 2 ? *)",
            "cron(0 2 30W 2 ? *)",
            "cron(0 2 31 APR-MAY ? *)",
            "cron(0 2 5/10 2 ? *)",
            "cron(0 2 ? 2 MON *)",
        ] {
            assert_eq!(check_backup_cron(fires), Ok(()), "{fires}");
        }
        assert_eq!(listed("5/10", 1, 31, &[]), Some((1 << 5) | (1 << 15) | (1 << 25)));
        assert_eq!(listed("JAN-MAR", 1, 12, &MONTHS), Some(0b1110));
        let e = problem(|c| c.backup.schedule = "cron(0 2 30 2 ? *)".into());
        assert_eq!(e.key, "backup.schedule");
    }
}
