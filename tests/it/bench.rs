//! `pypictl bench --url` against a real pypiserver 2.4.2 (the pinned tools)
//! on 127.0.0.1, seeded with wheels built by the bench's own generator; and
//! against a closed port and a server that never answers, for the error
//! classes. Every run is capped by --requests and --duration and the command
//! by a timeout.

use crate::common;

use std::net::TcpListener;
use std::time::Duration;

use common::PypiServer;
use serde_json::Value;

const USER: &str = "bench";
const PASSWORD: &str = "s3cret-p@ss";

fn packages() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in ["alpha", "beta-two", "gamma"] {
        for version in ["1.0", "1.1"] {
            let w = pypictl::bench::wheel::build(name, version);
            out.push((w.filename, w.bytes));
        }
    }
    out
}

fn bench(url: &str, password: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = common::pypictl();
    cmd.arg("bench").args(["--url", url]).args(args).timeout(Duration::from_secs(120));
    match password {
        Some(p) => cmd.env("PYPICTL_BENCH_PASSWORD", p),
        None => cmd.env_remove("PYPICTL_BENCH_PASSWORD"),
    };
    cmd.output().unwrap()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("JSON ({e}):\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The counts add up: per class, per operation, and ok + errors.
fn assert_consistent(r: &Value) {
    for k in ["url", "profile", "concurrency", "requests", "ok", "duration_s", "throughput_rps", "error_rate_pct", "latency_ms", "operations", "errors", "client_cpu_ms_per_request", "expectation"] {
        assert!(r.get(k).is_some(), "missing {k}: {r:#}");
    }
    let n = |v: &Value| v.as_u64().unwrap();
    let errors = &r["errors"];
    let total_errors: u64 = ["http_4xx", "http_5xx", "timeout", "connection"].iter().map(|k| n(&errors[k])).sum();
    assert_eq!(n(&r["ok"]) + total_errors, n(&r["requests"]), "{r:#}");
    let ops = r["operations"].as_object().unwrap();
    assert_eq!(ops.values().map(|o| n(&o["requests"])).sum::<u64>(), n(&r["requests"]));
    assert_eq!(ops.values().map(|o| n(&o["ok"])).sum::<u64>(), n(&r["ok"]));
    for class in ["http_4xx", "http_5xx", "timeout", "connection"] {
        assert_eq!(ops.values().map(|o| n(&o["errors"][class])).sum::<u64>(), n(&errors[class]), "{class}");
    }
    for (op, l) in r["latency_ms"].as_object().unwrap() {
        let v = |k: &str| l[k].as_f64().unwrap();
        assert!(v("p50") <= v("p95") && v("p95") <= v("p99") && v("p99") <= v("max"), "{op}: {l}");
    }
    assert!(r["client_cpu_ms_per_request"].as_f64().unwrap() >= 0.0);
}

#[test]
fn steady_sends_exactly_the_requested_number_across_the_mix() {
    let server = PypiServer::start(USER, PASSWORD, &packages());
    let out = bench(&server.url(), Some(PASSWORD), &["--username", USER, "--workload", "steady", "--concurrency", "4", "--requests", "57", "--duration", "60s", "--seed", "3", "--output", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = json(&out);
    assert_consistent(&r);
    assert_eq!((r["requests"].as_u64(), r["ok"].as_u64()), (Some(57), Some(57)), "{r:#}\n{}", server.log());
    assert_eq!((r["profile"].as_str(), r["discovered_projects"].as_u64(), r["discovered_files"].as_u64()), (Some("steady"), Some(3), Some(6)));
    for op in ["index", "project", "download", "all"] {
        assert!(r["latency_ms"][op]["p99"].as_f64().unwrap() > 0.0, "{op}: {r:#}");
    }
    assert!(r["operations"].get("upload").is_none(), "steady reads only");
    assert!(r["bytes_received"].as_u64().unwrap() > 0);
    assert_eq!(r["expectation"], Value::Null, "no instance type, no comparison");
}

#[test]
fn burst_fires_the_burst_every_period_over_the_baseline_and_compares_with_the_guide() {
    let server = PypiServer::start(USER, PASSWORD, &packages());
    let url = format!("http://{USER}:{}@127.0.0.1:{}/simple/", "s3cret-p%40ss", server.port);
    let out = bench(
        &url,
        None,
        &["--workload", "burst", "--concurrency", "25", "--baseline", "2", "--burst-every", "1s", "--duration", "2500ms", "--timeout", "30s", "--instance-type", "c6a.xlarge"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("burst profile against http://127.0.0.1:"), "{text}");
    assert!(text.contains("(2 clients, a burst of 25 every 1 s); 3 projects, 6 files found"), "{text}");
    for row in ["│ index", "│ project", "│ download", "│ all"] {
        assert!(text.contains(row), "{row}:\n{text}");
    }
    assert!(text.contains("Sizing guide (heavy profile, 2 x c6a.xlarge, stress-tested result for a 510-request burst):"), "{text}");
    assert!(text.contains("  P95 ") && text.contains("  throughput ") && text.contains("  errors "), "{text}");
    assert!(!text.contains("s3cret") && !stderr(&out).contains("s3cret"), "the password is never printed");

    let out = bench(
        &url,
        None,
        &["--workload", "burst", "--concurrency", "25", "--baseline", "0", "--burst-every", "1s", "--duration", "2500ms", "--timeout", "30s", "--output", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r = json(&out);
    assert_consistent(&r);
    // Bursts at 0, 1 and 2 s, no baseline: exactly three bursts of 25.
    assert_eq!(r["requests"].as_u64(), Some(75), "{r:#}");
    assert_eq!(r["ok"].as_u64(), Some(75), "{r:#}");
    assert_eq!((r["baseline"].as_u64(), r["burst_every_s"].as_f64()), (Some(0), Some(1.0)));
    let d = r["duration_s"].as_f64().unwrap();
    assert!((2.0..30.0).contains(&d), "from the first request to the last answer: {d}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cret"));
}

#[test]
fn upload_profile_uploads_fresh_wheels_that_the_index_then_lists() {
    let server = PypiServer::start(USER, PASSWORD, &packages());
    let before = server.stored().len();
    let out = bench(&server.url(), Some(PASSWORD), &["--username", USER, "--workload", "upload", "--concurrency", "3", "--requests", "40", "--seed", "11", "--output", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = json(&out);
    assert_consistent(&r);
    assert_eq!(r["requests"].as_u64(), Some(40));
    let uploads = r["operations"]["upload"]["ok"].as_u64().unwrap();
    assert!(uploads > 0 && uploads == r["uploads"].as_u64().unwrap(), "{r:#}");
    assert_eq!(r["operations"]["upload"]["requests"].as_u64(), Some(uploads), "every upload accepted: {r:#}\n{}", server.log());
    let stored = server.stored();
    assert_eq!(stored.len() - before, uploads as usize, "{stored:?}");
    let new: Vec<&String> = stored.iter().filter(|f| f.starts_with("pypictl_bench_")).collect();
    assert_eq!(new.len(), uploads as usize);

    // Visible through the index, with the credentials.
    let project = new[0].split('-').next().unwrap().replace('_', "-");
    let token = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    };
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(20))).build().into();
    let mut page = agent.get(&format!("{}simple/{project}/", server.url())).header("Authorization", format!("Basic {token}")).call().unwrap();
    assert_eq!(page.status(), 200);
    let html = page.body_mut().read_to_string().unwrap();
    for f in &new {
        assert!(html.contains(f.as_str()), "{f} listed:\n{html}");
    }

    // A second run uploads under another name: no collision, no 409.
    let again = bench(&server.url(), Some(PASSWORD), &["--username", USER, "--workload", "upload", "--concurrency", "2", "--requests", "20", "--seed", "11", "--output", "json"]);
    let r2 = json(&again);
    assert_eq!(r2["errors"]["http_4xx"].as_u64(), Some(0), "{r2:#}");
}

#[test]
fn a_wrong_password_is_counted_as_4xx() {
    let server = PypiServer::start(USER, PASSWORD, &packages());
    let out = bench(&server.url(), Some("wrong"), &["--username", USER, "--workload", "steady", "--concurrency", "2", "--requests", "12", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "nothing succeeded: exit 1, report printed\n{}", stderr(&out));
    let r = json(&out);
    assert_consistent(&r);
    assert_eq!((r["requests"].as_u64(), r["errors"]["http_4xx"].as_u64()), (Some(12), Some(12)), "{r:#}");
    assert!(stderr(&out).contains("could not list the packages (GET /simple/ answered HTTP 40"), "{}", stderr(&out));
    assert!(r["latency_ms"]["index"]["p50"].as_f64().is_some(), "4xx are answers: their latency counts");
}

#[test]
fn a_closed_port_is_counted_as_connection_errors() {
    let port = common::free_port();
    let out = bench(&format!("http://127.0.0.1:{port}/"), None, &["--workload", "steady", "--concurrency", "2", "--requests", "7", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = json(&out);
    assert_consistent(&r);
    assert_eq!((r["requests"].as_u64(), r["errors"]["connection"].as_u64()), (Some(7), Some(7)), "{r:#}");
    assert!(r["latency_ms"].as_object().unwrap().is_empty(), "no answers, no latencies");
}

#[test]
fn a_server_that_never_answers_is_counted_as_timeouts() {
    // Listening but never accepting: the kernel completes the handshakes,
    // nobody ever answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let out = bench(&format!("http://127.0.0.1:{port}/"), None, &["--workload", "steady", "--concurrency", "3", "--requests", "6", "--timeout", "300ms", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = json(&out);
    assert_consistent(&r);
    assert_eq!((r["requests"].as_u64(), r["errors"]["timeout"].as_u64()), (Some(6), Some(6)), "{r:#}");
    assert!(stderr(&out).contains("GET /simple/ timed out"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(30), "bounded by the timeout: {:?}", started.elapsed());
    drop(silent);
}

#[test]
fn the_duration_bounds_a_run_without_a_request_cap() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let out = bench(&format!("http://127.0.0.1:{port}/"), None, &["--workload", "steady", "--concurrency", "2", "--duration", "500ms", "--timeout", "400ms", "--output", "json"]);
    let r = json(&out);
    let n = r["requests"].as_u64().unwrap();
    // Each client starts a request, waits 400 ms, starts one more before 500 ms.
    assert!((2..=4).contains(&n), "{r:#}");
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(silent);
}

#[test]
fn bad_flags_exit_2_naming_the_flag_value_and_rule() {
    let cases: [(&[&str], &str); 6] = [
        (&["--concurrency", "0"], "--concurrency 0: must be 1 to 5000"),
        (&["--requests", "0"], "--requests 0: must be 1 to 1000000"),
        (&["--duration", "2h"], "--duration 2h: must be more than 0 and at most 1h"),
        (&["--workload", "steady", "--baseline", "2"], "--baseline and --burst-every apply to --workload burst only, not steady"),
        (&["--profile", "burst"], "--profile burst: --profile is the AWS profile; the workload is chosen with --workload burst"),
        (&["--username", "me"], "--username given without a password"),
    ];
    for (args, message) in cases {
        let out = bench("http://127.0.0.1:9/", None, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let out = bench("ftp://u:hunter2@127.0.0.1/", None, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--url ftp://(credentials)@127.0.0.1/: must start with http:// or https://"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2"));
}

#[test]
fn without_url_the_target_is_the_stacks_url_with_the_secrets_credentials() {
    // Reads go with the read credential, uploads with the publish one: this
    // pypiserver knows only the read user, so every upload must be refused
    // while every read succeeds.
    use pypictl::bench::{self, workload};
    use pypictl_test_support::ScriptedCloud;
    let password = "st@ck:p/ss%word";
    let server = PypiServer::start("pypi-1a2b3c4d", password, &packages());
    let cloud = ScriptedCloud::new(
        serde_json::from_value(serde_json::json!({
            "stack_name": "pypi",
            "initial": {"status": "UPDATE_COMPLETE", "outputs": {
                "PypiUserSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-1-AbCdEf",
                "PypiPublishSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-publish-1-GhIjKl",
                "PypiServerUrls": format!("{},https://pypi.example.com/", server.url())}},
            "secret": {"username": "pypi-1a2b3c4d", "password": password},
            "secrets": {"arn:aws:secretsmanager:us-east-1:123456789012:secret:pypictl/pypi/credentials-publish-1-GhIjKl": {"username": "pypi-1a2b3c4d-publish", "password": "publish:p@ss"}},
        }))
        .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = rt.block_on(bench::target_from_stack(&cloud, "pypi", "https://unused.example.com/")).unwrap().unwrap();
    drop(rt);
    assert_eq!(target.url(), server.url());
    assert!(!format!("{target:?}").contains(password));
    assert!(!format!("{target:?}").contains("publish:p@ss"));
    let f = workload::Flags { concurrency: Some(2), requests: Some(10), ..Default::default() };
    let plan = workload::plan(workload::Profile::Steady, &f).unwrap();
    let out = bench::run(bench::Bench { target: target.clone(), plan, seed: Some(1), expectation: None }, std::future::pending()).unwrap();
    assert_eq!(out.discovery_problem, None);
    assert_eq!((out.report.requests, out.report.ok, out.report.discovered_projects), (10, 10, 3));
    let f = workload::Flags { concurrency: Some(2), requests: Some(40), ..Default::default() };
    let plan = workload::plan(workload::Profile::Upload, &f).unwrap();
    let out = bench::run(bench::Bench { target, plan, seed: Some(1), expectation: None }, std::future::pending()).unwrap();
    let uploads = &out.report.operations["upload"];
    assert!(uploads.requests > 0 && uploads.ok == 0, "uploads carry the publish credential, which this server refuses: {uploads:?}");
    let reads: u64 = out.report.operations.iter().filter(|(op, _)| op.as_str() != "upload").map(|(_, c)| c.ok).sum();
    assert_eq!(reads, out.report.requests - uploads.requests, "every read, with the read credential, succeeds");

    let none = ScriptedCloud::new(serde_json::from_value(serde_json::json!({"stack_name": "pypi"})).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert!(rt.block_on(bench::target_from_stack(&none, "pypi", "https://x.example.com/")).unwrap().is_none());
}
