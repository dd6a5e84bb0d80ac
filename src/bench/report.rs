//! Counting outcomes and latencies, and the report: its JSON object and its
//! table. Pure: the driver records, this module summarizes.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use pypictl_stacks::sizing::BurstExpectation;
use serde::Serialize;

use super::workload::{Op, Plan};

/// How one request ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 1xx-3xx: a successful answer (pypiserver redirects nothing it serves
    /// to the bench; a 3xx still means the server answered).
    Ok,
    Http4xx,
    Http5xx,
    /// No complete answer within --timeout.
    Timeout,
    /// Could not connect, or the connection broke before a complete answer.
    Connection,
}

impl Outcome {
    pub fn of_status(status: u16) -> Outcome {
        match status {
            500.. => Outcome::Http5xx,
            400..=499 => Outcome::Http4xx,
            _ => Outcome::Ok,
        }
    }
}

/// Latencies in microseconds, 1 µs to the longest allowed timeout, 3
/// significant digits: 0.1 % error, fixed memory whatever the count.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid")
}

#[derive(Clone, Debug)]
struct PerOp {
    latency: Histogram<u64>,
    ok: u64,
    http_4xx: u64,
    http_5xx: u64,
    timeout: u64,
    connection: u64,
}

impl PerOp {
    fn new() -> PerOp {
        PerOp { latency: histogram(), ok: 0, http_4xx: 0, http_5xx: 0, timeout: 0, connection: 0 }
    }

    fn requests(&self) -> u64 {
        self.ok + self.errors()
    }

    fn errors(&self) -> u64 {
        self.http_4xx + self.http_5xx + self.timeout + self.connection
    }
}

/// Everything the run saw.
#[derive(Clone, Debug)]
pub struct Recorder {
    ops: BTreeMap<Op, PerOp>,
    all: Histogram<u64>,
    pub bytes_received: u64,
    pub uploaded: Vec<String>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder { ops: BTreeMap::new(), all: histogram(), bytes_received: 0, uploaded: Vec::new() }
    }
}

impl Recorder {
    /// Latency counts for answers (ok, 4xx, 5xx): a timeout's "latency" is
    /// the flag's value and a refused connection's is not the server's.
    pub fn record(&mut self, op: Op, outcome: Outcome, latency: Duration) {
        let e = self.ops.entry(op).or_insert_with(PerOp::new);
        match outcome {
            Outcome::Ok => e.ok += 1,
            Outcome::Http4xx => e.http_4xx += 1,
            Outcome::Http5xx => e.http_5xx += 1,
            Outcome::Timeout => e.timeout += 1,
            Outcome::Connection => e.connection += 1,
        }
        if matches!(outcome, Outcome::Ok | Outcome::Http4xx | Outcome::Http5xx) {
            let us = (latency.as_micros() as u64).clamp(1, 3_600_000_000);
            e.latency.saturating_record(us);
            self.all.saturating_record(us);
        }
    }

    pub fn requests(&self) -> u64 {
        self.ops.values().map(PerOp::requests).sum()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

fn latency(h: &Histogram<u64>) -> Option<Latency> {
    if h.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Some(Latency {
        p50: ms(h.value_at_quantile(0.50)),
        p95: ms(h.value_at_quantile(0.95)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
    })
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Errors {
    pub http_4xx: u64,
    pub http_5xx: u64,
    pub timeout: u64,
    pub connection: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.http_4xx + self.http_5xx + self.timeout + self.connection
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpCounts {
    pub requests: u64,
    pub ok: u64,
    pub errors: Errors,
}

/// The sizing guide's figures and how the run compares.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub instance_type: String,
    pub profile: String,
    /// True: the guide's stress-test result; false: its stated expectation.
    pub measured: bool,
    pub burst_requests: u32,
    pub expected_p95_ms: Option<u64>,
    pub expected_p99_ms: Option<u64>,
    pub expected_throughput_rps: Option<f64>,
    pub expected_error_rate_pct: f64,
    /// One line per figure the guide gives: "P95 1234 ms vs ≤ 14000 ms: better".
    pub verdicts: Vec<String>,
}

/// The report: `--output json` prints exactly this object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub url: String,
    pub profile: String,
    pub concurrency: usize,
    pub baseline: Option<usize>,
    pub burst_every_s: Option<f64>,
    pub max_requests: u64,
    pub max_duration_s: f64,
    pub timeout_s: f64,
    pub seed: u64,
    pub discovered_projects: usize,
    pub discovered_files: usize,
    /// Requests sent (and ended: each has exactly one outcome).
    pub requests: u64,
    pub ok: u64,
    /// From the first request to the last answer.
    pub duration_s: f64,
    pub throughput_rps: f64,
    pub error_rate_pct: f64,
    /// Per operation that ran, and "all": milliseconds, answers only.
    pub latency_ms: BTreeMap<String, Latency>,
    pub operations: BTreeMap<String, OpCounts>,
    pub errors: Errors,
    pub bytes_received: u64,
    pub uploads: u64,
    pub client_cpu_ms: f64,
    pub client_cpu_ms_per_request: f64,
    /// Client CPU time over wall time: near 100 % the client, not the
    /// server, limited the run.
    pub client_cpu_pct: f64,
    pub expectation: Option<Comparison>,
}

pub struct RunFacts<'a> {
    pub url: &'a str,
    pub plan: &'a Plan,
    pub seed: u64,
    pub projects: usize,
    pub files: usize,
    pub wall: Duration,
    pub cpu: Duration,
    pub expectation: Option<(String, BurstExpectation)>,
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

pub fn report(rec: &Recorder, facts: &RunFacts) -> Report {
    let plan = facts.plan;
    let mut latency_ms = BTreeMap::new();
    let mut operations = BTreeMap::new();
    let mut errors = Errors::default();
    for (op, e) in &rec.ops {
        if let Some(l) = latency(&e.latency) {
            latency_ms.insert(op.name().to_string(), l);
        }
        let errs = Errors { http_4xx: e.http_4xx, http_5xx: e.http_5xx, timeout: e.timeout, connection: e.connection };
        errors.http_4xx += e.http_4xx;
        errors.http_5xx += e.http_5xx;
        errors.timeout += e.timeout;
        errors.connection += e.connection;
        operations.insert(op.name().to_string(), OpCounts { requests: e.requests(), ok: e.ok, errors: errs });
    }
    if let Some(l) = latency(&rec.all) {
        latency_ms.insert("all".to_string(), l);
    }
    let requests = rec.requests();
    let ok = requests - errors.total();
    let secs = facts.wall.as_secs_f64();
    let throughput = if secs > 0.0 { requests as f64 / secs } else { 0.0 };
    let error_rate = if requests > 0 { errors.total() as f64 * 100.0 / requests as f64 } else { 0.0 };
    let cpu_ms = facts.cpu.as_secs_f64() * 1000.0;
    let burst = plan.profile == super::workload::Profile::Burst;
    let mut r = Report {
        url: facts.url.to_string(),
        profile: plan.profile.name().to_string(),
        concurrency: plan.concurrency,
        baseline: burst.then_some(plan.baseline),
        burst_every_s: burst.then_some(plan.burst_every.as_secs_f64()),
        max_requests: plan.max_requests,
        max_duration_s: plan.duration.as_secs_f64(),
        timeout_s: plan.timeout.as_secs_f64(),
        seed: facts.seed,
        discovered_projects: facts.projects,
        discovered_files: facts.files,
        requests,
        ok,
        duration_s: round(secs, 3),
        throughput_rps: round(throughput, 2),
        error_rate_pct: round(error_rate, 3),
        latency_ms,
        operations,
        errors,
        bytes_received: rec.bytes_received,
        uploads: rec.uploaded.len() as u64,
        client_cpu_ms: round(cpu_ms, 1),
        client_cpu_ms_per_request: if requests > 0 { round(cpu_ms / requests as f64, 4) } else { 0.0 },
        client_cpu_pct: if secs > 0.0 { round(cpu_ms / 10.0 / secs, 1) } else { 0.0 },
        expectation: None,
    };
    r.expectation = facts.expectation.as_ref().map(|(it, e)| compare(&r, it, e));
    r
}

/// Compares with the guide's figures. Latency and errors: lower is better;
/// throughput: the guide's figure is what the server sustained under the
/// burst, so more is better.
pub fn compare(r: &Report, instance_type: &str, e: &BurstExpectation) -> Comparison {
    let mut verdicts = Vec::new();
    let all = r.latency_ms.get("all");
    let word = |good: bool| if good { "as expected or better" } else { "worse than the guide" };
    if let (Some(want), Some(l)) = (e.p95_ms, all) {
        verdicts.push(format!("P95 {:.0} ms vs {} ms: {}", l.p95, want, word(l.p95 <= want as f64)));
    }
    if let (Some(want), Some(l)) = (e.p99_ms, all) {
        verdicts.push(format!("P99 {:.0} ms vs {} ms: {}", l.p99, want, word(l.p99 <= want as f64)));
    }
    if let Some(want) = e.throughput_rps {
        verdicts.push(format!("throughput {:.1} req/s vs {want} req/s: {}", r.throughput_rps, word(r.throughput_rps >= want)));
    }
    verdicts.push(format!("errors {:.3} % vs {} %: {}", r.error_rate_pct, e.error_rate_pct, word(r.error_rate_pct <= e.error_rate_pct)));
    Comparison {
        instance_type: instance_type.to_string(),
        profile: e.profile.to_string(),
        measured: e.measured,
        burst_requests: e.burst_requests,
        expected_p95_ms: e.p95_ms,
        expected_p99_ms: e.p99_ms,
        expected_throughput_rps: e.throughput_rps,
        expected_error_rate_pct: e.error_rate_pct,
        verdicts,
    }
}

/// The text report: a table per operation, then totals and the comparison.
pub fn render(r: &Report) -> String {
    use comfy_table::{presets::UTF8_FULL, CellAlignment, ContentArrangement, Table};
    let mut t = Table::new();
    t.load_preset(UTF8_FULL).set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(["operation", "requests", "ok", "4xx", "5xx", "timeout", "conn", "p50 ms", "p95 ms", "p99 ms", "max ms"]);
    let ms = |v: f64| if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") };
    let mut rows: Vec<(&str, &OpCounts)> = Op::ALL.iter().filter_map(|o| r.operations.get(o.name()).map(|c| (o.name(), c))).collect();
    let total = OpCounts { requests: r.requests, ok: r.ok, errors: r.errors.clone() };
    rows.push(("all", &total));
    for (name, c) in rows {
        let mut row = vec![name.to_string(), c.requests.to_string(), c.ok.to_string()];
        row.extend([c.errors.http_4xx, c.errors.http_5xx, c.errors.timeout, c.errors.connection].map(|n| n.to_string()));
        match r.latency_ms.get(name) {
            Some(l) => row.extend([l.p50, l.p95, l.p99, l.max].map(ms)),
            None => row.extend(std::iter::repeat_n("-".to_string(), 4)),
        }
        t.add_row(row);
    }
    for i in 1..11 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = String::new();
    let shape = match (r.baseline, r.burst_every_s) {
        (Some(b), Some(every)) => format!("{} clients, a burst of {} every {every} s", b, r.concurrency),
        _ => format!("{} clients", r.concurrency),
    };
    out.push_str(&format!("pypictl bench: {} profile against {} ({shape}); {} projects, {} files found\n", r.profile, r.url, r.discovered_projects, r.discovered_files));
    out.push_str(&format!("{t}\n"));
    out.push_str(&format!(
        "{} requests in {:.1} s: {:.1} req/s, {:.2} % errors, {} received{}\n",
        r.requests,
        r.duration_s,
        r.throughput_rps,
        r.error_rate_pct,
        bytes(r.bytes_received),
        if r.uploads > 0 { format!(", {} uploads", r.uploads) } else { String::new() }
    ));
    out.push_str(&format!(
        "Client CPU: {:.1} ms in all, {:.3} ms per request, {:.0} % of one core{}\n",
        r.client_cpu_ms,
        r.client_cpu_ms_per_request,
        r.client_cpu_pct,
        if r.client_cpu_pct >= 80.0 { " (the client may have limited the run)" } else { "" }
    ));
    match &r.expectation {
        Some(c) => {
            let kind = if c.measured { "stress-tested result" } else { "expectation" };
            out.push_str(&format!("Sizing guide ({} profile, 2 x {}, {kind} for a {}-request burst):\n", c.profile, c.instance_type, c.burst_requests));
            for v in &c.verdicts {
                out.push_str(&format!("  {v}\n"));
            }
            if r.profile != "burst" {
                out.push_str("  (the guide's figures are for a burst; this run was not one)\n");
            }
        }
        None => out.push_str("Sizing guide: no figures to compare with (pass --instance-type for a deployment of a sized profile).\n"),
    }
    out
}

fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload::{plan, Flags, Profile};

    fn facts<'a>(p: &'a Plan, wall: Duration, expectation: Option<(String, BurstExpectation)>) -> RunFacts<'a> {
        RunFacts { url: "http://127.0.0.1:1/", plan: p, seed: 7, projects: 2, files: 3, wall, cpu: Duration::from_millis(50), expectation }
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut rec = Recorder::default();
        for ms in 1..=1000u64 {
            rec.record(Op::Download, Outcome::Ok, Duration::from_millis(ms));
        }
        let p = plan(Profile::Steady, &Flags::default()).unwrap();
        let r = report(&rec, &facts(&p, Duration::from_secs(10), None));
        let l = &r.latency_ms["download"];
        // 3 significant digits: within 0.1 %.
        for (got, want) in [(l.p50, 500.0), (l.p95, 950.0), (l.p99, 990.0), (l.max, 1000.0)] {
            assert!((got - want).abs() <= want * 0.001 + 0.001, "{got} vs {want}");
        }
        assert_eq!(r.latency_ms["all"], *l);
        assert_eq!((r.requests, r.ok, r.throughput_rps), (1000, 1000, 100.0));
        assert_eq!((r.client_cpu_ms, r.client_cpu_ms_per_request), (50.0, 0.05));
    }

    #[test]
    fn counts_add_up_by_class_and_operation() {
        let mut rec = Recorder::default();
        let d = Duration::from_millis(5);
        rec.record(Op::Index, Outcome::Ok, d);
        rec.record(Op::Index, Outcome::of_status(401), d);
        rec.record(Op::Project, Outcome::of_status(503), d);
        rec.record(Op::Download, Outcome::Timeout, d);
        rec.record(Op::Download, Outcome::Connection, d);
        rec.record(Op::Upload, Outcome::of_status(201), d);
        let p = plan(Profile::Upload, &Flags::default()).unwrap();
        let r = report(&rec, &facts(&p, Duration::from_secs(1), None));
        assert_eq!(r.requests, 6);
        assert_eq!(r.errors, Errors { http_4xx: 1, http_5xx: 1, timeout: 1, connection: 1 });
        assert_eq!(r.ok + r.errors.total(), r.requests);
        assert_eq!(r.operations.values().map(|o| o.requests).sum::<u64>(), r.requests);
        assert_eq!(r.operations["download"].ok, 0);
        assert!(!r.latency_ms.contains_key("download"), "no answers, no latency");
        assert!((r.error_rate_pct - 66.667).abs() < 0.001);
        assert_eq!((r.baseline, r.burst_every_s), (None, None));
    }

    #[test]
    fn json_has_the_documented_keys() {
        let mut rec = Recorder::default();
        rec.record(Op::Index, Outcome::Ok, Duration::from_millis(3));
        let p = plan(Profile::Burst, &Flags::default()).unwrap();
        let v = serde_json::to_value(report(&rec, &facts(&p, Duration::from_secs(1), None))).unwrap();
        for k in ["url", "profile", "concurrency", "requests", "ok", "duration_s", "throughput_rps", "error_rate_pct", "latency_ms", "operations", "errors", "client_cpu_ms_per_request", "expectation"] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["errors"], serde_json::json!({"http_4xx": 0, "http_5xx": 0, "timeout": 0, "connection": 0}));
        assert_eq!(v["latency_ms"]["all"].as_object().unwrap().keys().collect::<Vec<_>>(), ["p50", "p95", "p99", "max"]);
        assert_eq!(v["baseline"], 3);
    }

    #[test]
    fn comparison_with_the_stress_tested_baseline() {
        let mut rec = Recorder::default();
        for _ in 0..99 {
            rec.record(Op::Download, Outcome::Ok, Duration::from_secs(1));
        }
        rec.record(Op::Download, Outcome::of_status(502), Duration::from_secs(30));
        let p = plan(Profile::Burst, &Flags::default()).unwrap();
        let e = pypictl_stacks::sizing::burst_expectation("c6a.xlarge").unwrap();
        let r = report(&rec, &facts(&p, Duration::from_secs(10), Some(("c6a.xlarge".into(), e))));
        let c = r.expectation.clone().unwrap();
        assert_eq!(c.verdicts.len(), 4);
        assert!(c.verdicts[0].starts_with("P95 1000 ms vs 14000 ms: as expected or better"), "{:?}", c.verdicts);
        assert!(c.verdicts[1].ends_with("worse than the guide"), "P99 30 s: {:?}", c.verdicts);
        assert!(c.verdicts[2].starts_with("throughput 10.0 req/s vs 20 req/s: worse"), "{:?}", c.verdicts);
        assert!(c.verdicts[3].starts_with("errors 1.000 % vs 0.05 %: worse"), "{:?}", c.verdicts);
        let text = render(&r);
        assert!(text.contains("Sizing guide (heavy profile, 2 x c6a.xlarge, stress-tested result for a 510-request burst)"), "{text}");
    }

    #[test]
    fn table_lists_each_operation_and_the_total() {
        let mut rec = Recorder::default();
        rec.record(Op::Index, Outcome::Ok, Duration::from_millis(2));
        rec.record(Op::Download, Outcome::Timeout, Duration::from_millis(2));
        let p = plan(Profile::Steady, &Flags::default()).unwrap();
        let text = render(&report(&rec, &facts(&p, Duration::from_secs(1), None)));
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('│')).collect();
        assert_eq!(rows.len(), 4, "header, index, download, all:\n{text}");
        assert!(rows[2].contains("download") && rows[2].contains(" - "), "{text}");
        assert!(text.contains("2 requests in 1.0 s: 2.0 req/s, 50.00 % errors"), "{text}");
    }
}
