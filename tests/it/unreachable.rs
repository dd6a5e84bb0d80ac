//! An AWS endpoint that cannot be reached ends the command within 10 s with
//! exit 1, naming the endpoint, the cause in plain words and what to check
//! (not two minutes of retries and then the SDK's "dispatch failure"). Both
//! endpoints are on 127.0.0.1: a closed port, and a listener that accepts
//! connections and never answers.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common;

const LIMIT: Duration = Duration::from_secs(10);

/// Runs `args` against `url`; returns stderr after checking the exit code
/// and the time taken.
fn run_against(url: &str, args: &[&str]) -> String {
    let started = Instant::now();
    let out = common::pypictl_at(url).args(args).timeout(Duration::from_secs(60)).output().unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{args:?} exits 1: {stderr}");
    assert!(took <= LIMIT, "{args:?} took {took:?} (limit {LIMIT:?}): {stderr}");
    for must in [&format!("cannot reach AWS at {url}"), "--endpoint-url", "AWS_ENDPOINT_URL", "network", "region"] {
        assert!(stderr.contains(must), "{args:?}: {must:?} missing from: {stderr}");
    }
    assert!(!stderr.contains("dispatch failure"), "plain words, not the SDK's: {stderr}");
    stderr
}

#[test]
fn a_closed_port_fails_at_once_in_plain_words() {
    let url = format!("http://127.0.0.1:{}", common::free_port());
    let heavy = common::example("heavy");
    let heavy = heavy.to_str().unwrap();
    for args in [vec!["--yes", "deploy", "-c", heavy], vec!["status", "-c", heavy], vec!["creds", "-c", heavy]] {
        let stderr = run_against(&url, &args);
        assert!(stderr.contains("the connection was refused"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_server_that_never_answers_fails_within_the_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accept every connection and hold it open, silent, until the test ends
    // (bounded: the listener thread stops after 60 s at most).
    std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let mut held = Vec::new();
        let end = Instant::now() + Duration::from_secs(60);
        while Instant::now() < end {
            match listener.accept() {
                Ok((conn, _)) => held.push(conn),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let heavy = common::example("heavy");
    let stderr = run_against(&url, &["--yes", "deploy", "-c", heavy.to_str().unwrap()]);
    assert!(stderr.contains("no answer within"), "{stderr}");
}
