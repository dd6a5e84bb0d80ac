//! Day two on the wire: the compiled binary against moto's server on
//! 127.0.0.1 (scripts/moto/), after a real `pypictl deploy`:
//! - `creds` in every format, each parsed by the parser its client uses;
//! - `creds --rotate` of the read credential, in two phases: the new password
//!   stored as `pending_password` and rolled out (tasks accept both), then
//!   made the `password` and rolled out again (tasks accept only it), with a
//!   client reading the secret and calling the service every 200 ms that is
//!   never refused; no instance replaced; the old password refused at the end;
//! - `creds --rotate --publish`: the same for the publish credential, the
//!   read credential untouched, uploads working throughout;
//! - a rotation whose first rollout fails (the harness's fault: the ECS
//!   circuit breaker and its rollback): exit 1, the secret back to the old
//!   password alone, which the service still accepts;
//! - `doctor` against that service before and after the rotation;
//! - `diff` and `upgrade` (the launch template carries the new type).
//!
//! The service is scripts/moto/service_double.py: tasks per ECS deployment,
//! each with the credentials both secrets held when it started (as ECS
//! injects secrets at task start), answering round robin while an old and a
//! new deployment are both listed, in front of one local pypiserver; it logs
//! which task answered each request (requests.log) and each task's start
//! (tasks.log).

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{repo_root, stderr, stdout, tool, tools, Moto};
use serde_json::{json, Value};


fn deploy(moto: &Moto, example: &str, dir: &Path) -> PathBuf {
    let seed = moto.seed();
    let config = moto.config(&seed, example, dir);
    succeed(moto, &["--yes", "deploy", "--progress", "events"], &config, &[]);
    config
}

/// Runs pypictl with `args`, `-c config` and `env`; it must succeed.
/// Returns its stdout and stderr.
fn succeed(moto: &Moto, args: &[&str], config: &Path, env: &[(&str, &str)]) -> (String, String) {
    let a = moto.pypictl().envs(env.iter().copied()).args(args).arg("-c").arg(config).assert();
    let (out, err) = (stdout(&a), stderr(&a));
    assert!(a.get_output().status.success(), "pypictl {args:?} failed:\n{out}\n{err}\n{}", moto.log());
    (out, err)
}


/// Parses INI text with the parser pip and twine use (RawConfigParser: no
/// interpolation, so a `%` in a password stays as it is): section → key → value.
fn ini(text: &str) -> Value {
    let out = Command::new(tool("pypi", "python"))
        .args(["-c", "import configparser, json, sys\np = configparser.RawConfigParser()\np.read_string(sys.stdin.read())\nprint(json.dumps({s: dict(p[s]) for s in p.sections()}))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "not INI:\n{text}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn creds(moto: &Moto, config: &Path, format: &str) -> String {
    creds_of(moto, config, &[], format)
}

/// `pypictl creds [extra] --format FORMAT`; it must succeed.
fn creds_of(moto: &Moto, config: &Path, extra: &[&str], format: &str) -> String {
    let a = moto
        .pypictl()
        .arg("creds")
        .args(extra)
        .args(["--format", format, "-c"])
        .arg(config)
        .assert();
    assert!(a.get_output().status.success(), "{}", stderr(&a));
    stdout(&a)
}

/// scripts/moto/service_double.py, stopped when dropped.
struct ServiceDouble {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl ServiceDouble {
    // The child is reaped by Drop.
    #[allow(clippy::zombie_processes)]
    fn start(moto: &Moto) -> ServiceDouble {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(tools().join("moto/bin/python"))
            .arg(repo_root().join("scripts/moto/service_double.py"))
            .args([&moto.url, "pypi"])
            .arg(tool("pypi", "pypi-server"))
            .arg(dir.path())
            .args(["--max-seconds", "600"])
            // Its own process group, which Drop stops as a whole.
            .process_group(0)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(url) = std::fs::read_to_string(dir.path().join("url")) {
                assert!(url.starts_with("http://127.0.0.1:"), "{url}");
                return ServiceDouble { child, url, dir };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the service double did not start: {}",
            std::fs::read_to_string(dir.path().join("pypiserver.log")).unwrap_or_default()
        );
    }

    /// A JSON-lines log of the double's (requests.log, tasks.log).
    fn log(&self, name: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
            .collect()
    }

    /// The status of `n` GETs of `path` in a row: as many tasks answer as
    /// the double runs (round robin), so a password one task refuses shows.
    fn statuses(&self, path: &str, auth: Option<(&str, &str)>, n: usize) -> Vec<u16> {
        (0..n).map(|_| http_status(&self.url, path, auth)).collect()
    }
}

impl Drop for ServiceDouble {
    /// Stops the double and the pypiserver it started: the whole process
    /// group (a SIGKILL of the double alone would leave pypiserver running).
    fn drop(&mut self) {
        common::signal_group(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        common::signal_group(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// The HTTP status of a GET of `base` + `path` (`base` ends with `/`).
fn http_status(base: &str, path: &str, auth: Option<(&str, &str)>) -> u16 {
    let mut req = agent().get(format!("{}{}", base, path.trim_start_matches('/')));
    if let Some((u, p)) = auth {
        req = req.header("Authorization", basic(u, p));
    }
    req.call().unwrap_or_else(|e| panic!("GET {base}{path}: {e}")).status().as_u16()
}

/// Uploads a file as twine does (multipart/form-data, `:action` =
/// `file_upload`) and returns the HTTP status.
fn upload(base: &str, auth: (&str, &str), filename: &str) -> u16 {
    let boundary = "pypictl-test-boundary-7d1c";
    let mut body = Vec::new();
    for (name, value) in [(":action", "file_upload"), ("protocol_version", "1")] {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(b"not really a tarball, pypiserver stores what it is given\n");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    agent()
        .post(base)
        .header("Authorization", basic(auth.0, auth.1))
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .send(&body[..])
        .unwrap_or_else(|e| panic!("POST {base}: {e}"))
        .status()
        .as_u16()
}

/// A secret's current value, read from moto directly as a client would
/// (Secrets Manager's JSON protocol). moto checks no signature, but it picks
/// the service from the Authorization header's credential scope (without
/// one, the request goes to S3).
fn secret_value(moto_url: &str, arn: &str) -> Result<Value, String> {
    let mut r = agent()
        .post(moto_url)
        .header("X-Amz-Target", "secretsmanager.GetSecretValue")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send(serde_json::json!({ "SecretId": arn }).to_string())
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("GetSecretValue: HTTP {status}: {text}"));
    }
    let answer: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    serde_json::from_str(answer["SecretString"].as_str().ok_or("no SecretString")?).map_err(|e| e.to_string())
}

/// The root stack's outputs.
fn outputs(moto: &Moto) -> Value {
    moto.boto("out = {x['OutputKey']: x['OutputValue'] for x in cfn.describe_stacks(StackName='pypi')['Stacks'][0]['Outputs']}")
}

/// What the service, the instances and both secrets look like.
fn snapshot(moto: &Moto) -> Value {
    moto.boto(
        "o = {x['OutputKey']: x['OutputValue'] for x in cfn.describe_stacks(StackName='pypi')['Stacks'][0]['Outputs']}\n\
         svc = ecs.describe_services(cluster=o['EcsClusterName'], services=[o['EcsServiceName']])['services'][0]\n\
         ids = sorted(i['InstanceId'] for r in ec2.describe_instances()['Reservations'] for i in r['Instances'] if i['State']['Name'] == 'running')\n\
         value = lambda k: json.loads(secrets.get_secret_value(SecretId=o[k])['SecretString'])\n\
         out = {'deployment': svc['deployments'][0]['id'], 'deployments': [(d['id'], d['status'], d.get('rolloutState')) for d in svc['deployments']], \
                'instances': ids, 'read': value('PypiUserSecretArn'), 'publish': value('PypiPublishSecretArn')}",
    )
}

/// One round of the client loop: the password the secret held, the
/// service's answer to it, and during a rotation the pending password and
/// the service's answers to it, twice: with tasks of two deployments
/// answering in turn, one of the two reaches a task of each.
#[derive(Debug, Clone)]
struct Seen {
    at: Duration,
    password: String,
    status: u16,
    pending: Option<(String, [u16; 2])>,
}

impl Seen {
    /// Whether some task accepted the pending password `new` this round.
    fn pending_accepted(&self, new: &str) -> bool {
        self.pending.as_ref().is_some_and(|(p, st)| p == new && st.iter().any(|s| *s < 400))
    }
}

/// A client that, every 200 ms until stopped (at most 5 minutes, 1500
/// rounds), reads the secret's current value from moto and calls the
/// service with its `password` (`path`: GET; None: an upload as `username`)
/// — and with `pending_password` too (twice), when there is one.
struct Clients {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<Vec<Seen>, String>>>,
}

impl Clients {
    fn start(moto: &Moto, arn: &str, service_url: &str, path: Option<&'static str>) -> Clients {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, moto_url, arn, base) = (stop.clone(), moto.url.clone(), arn.to_string(), service_url.to_string());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut seen = Vec::new();
            for round in 0..1500 {
                if flag.load(Ordering::SeqCst) || started.elapsed() > Duration::from_secs(300) {
                    break;
                }
                let value = secret_value(&moto_url, &arn)?;
                let user = value["username"].as_str().ok_or("no username")?.to_string();
                let call = |password: &str, minor: u32| match path {
                    Some(p) => http_status(&base, p, Some((&user, password))),
                    None => upload(&base, (&user, password), &format!("loop_pkg-{round}.{minor}.tar.gz")),
                };
                let password = value["password"].as_str().ok_or("no password")?.to_string();
                let status = call(&password, 0);
                let pending = value["pending_password"].as_str().filter(|p| !p.is_empty()).map(|p| (p.to_string(), [call(p, 1), call(p, 2)]));
                seen.push(Seen { at: started.elapsed(), password, status, pending });
                std::thread::sleep(Duration::from_millis(200));
            }
            Ok(seen)
        });
        Clients { stop, thread: Some(thread) }
    }

    fn finish(mut self) -> Vec<Seen> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().expect("the client loop panicked").unwrap_or_else(|e| panic!("the client loop: {e}"))
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The last non-empty line of a command's stderr.
fn last_line(err: &str) -> &str {
    err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default()
}

/// Checks what the clients saw during a rotation from `old` to `new` (phase
/// one: `password` old, `pending_password` new; phase two: `password` new):
/// never refused, both phases seen, and a time when both were accepted.
fn check_clients(seen: &[Seen], old: &str, new: &str) {
    assert!(seen.len() >= 10, "the client loop ran {} rounds: {seen:?}", seen.len());
    let refused: Vec<String> = seen.iter().filter(|s| s.status >= 400).map(|s| format!("HTTP {} after {:?}", s.status, s.at)).collect();
    assert!(refused.is_empty(), "a client using the secret's password was refused during the rotation: {refused:?}");
    assert!(
        seen.iter().all(|s| s.password == old || s.password == new),
        "the secret held a third password"
    );
    assert!(
        seen.iter().any(|s| s.password == old && s.pending.as_ref().is_some_and(|(p, _)| p == new)),
        "phase one (password old, pending_password new) was never seen by the clients"
    );
    assert!(
        seen.iter().any(|s| s.password == new && s.pending.is_none()),
        "phase two (password new alone) was never seen by the clients"
    );
    assert!(
        seen.iter().any(|s| s.password == old && s.status < 400 && s.pending_accepted(new)),
        "at no time did the service accept both the old and the new password: {seen:?}"
    );
    // The secret moves forward only: old, old + pending new, new.
    let first_new = seen.iter().position(|s| s.password == new).unwrap();
    assert!(seen[first_new..].iter().all(|s| s.password == new), "the secret went back to the old password");
}

/// The deployments whose tasks answered `username` with 200 both for the
/// secret's `password` and for its `pending_password` (requests.log): a
/// task that accepted the old and the new password.
fn overlapping_deployments(requests: &[Value], username: &str) -> Vec<String> {
    let mut ids: Vec<String> = requests
        .iter()
        .filter(|r| r["username"] == username && r["status"] == 200 && r["credential"] == "pending_password")
        .map(|r| r["deployment"].as_str().unwrap().to_string())
        .filter(|d| requests.iter().any(|r| r["deployment"] == d.as_str() && r["username"] == username && r["status"] == 200 && r["credential"] == "password"))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn http_checks(moto: &Moto, config: &Path, url: &str) -> Vec<(String, String)> {
    let a = moto
        .pypictl()
        .env("PYPICTL_SERVICE_URL", url)
        .args(["--output", "json", "doctor", "-c"])
        .arg(config)
        .assert();
    let report: Value =
        serde_json::from_str(&stdout(&a)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&a)));
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("HTTP"))
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn creds_in_every_format_then_rotation() {
    let moto = Moto::start();
    let work = tempfile::tempdir().unwrap();
    let config = deploy(&moto, "light", work.path());

    let json: Value =
        serde_json::from_str(&creds(&moto, &config, "json")).expect("--format json is JSON");
    let (username, password) = (
        json["username"].as_str().unwrap().to_string(),
        json["password"].as_str().unwrap().to_string(),
    );
    assert!(
        username.starts_with("pypi-") && password.len() == 40,
        "{username}"
    );
    let with_creds = json["index_url_with_credentials"].as_str().unwrap();
    assert_eq!(json["index_url"], "https://pypi.example.com/simple/");

    let text = creds(&moto, &config, "text");
    assert!(
        text.contains(&format!("Username:    {username}"))
            && text.contains(&format!("Password:    {password}")),
        "{text}"
    );

    // pip.conf: INI as pip reads it, index-url with the percent-encoded password.
    let pip = creds(&moto, &config, "pip");
    let conf = pip.split("# --- or instead").next().unwrap();
    assert_eq!(ini(conf)["global"]["index-url"], with_creds, "{pip}");
    assert!(
        pip.contains(&format!("export PIP_INDEX_URL='{with_creds}'")),
        "{pip}"
    );

    // The publish credential: its own secret, its own user.
    let publish: Value = serde_json::from_str(&creds_of(&moto, &config, &["--publish"], "json")).expect("--publish --format json is JSON");
    let (publisher, publish_password) = (publish["username"].as_str().unwrap().to_string(), publish["password"].as_str().unwrap().to_string());
    assert!(publisher != username && publish_password != password && publish_password.len() == 40, "{publisher}");

    // .pypirc: twine's upload configuration, for the publish credential only,
    // INI as twine reads it.
    let a = moto.pypictl().args(["creds", "--format", "pypirc", "-c"]).arg(&config).assert().code(2);
    assert!(stderr(&a).contains("--publish") && stdout(&a).is_empty(), "{}", stderr(&a));
    let pypirc = ini(&creds_of(&moto, &config, &["--publish"], "pypirc"));
    assert_eq!(pypirc["distutils"]["index-servers"], "pypi-private");
    assert_eq!(
        pypirc["pypi-private"]["repository"],
        "https://pypi.example.com/"
    );
    assert_eq!(
        (
            pypirc["pypi-private"]["username"].as_str().unwrap(),
            pypirc["pypi-private"]["password"].as_str().unwrap()
        ),
        (publisher.as_str(), publish_password.as_str())
    );

    // env: a POSIX shell gets the exact passwords back, each role's own.
    let env = work.path().join("creds.env");
    std::fs::write(&env, creds(&moto, &config, "env")).unwrap();
    let sh = Command::new("sh").arg("-c").arg(r#". "$1" && printf '%s\n%s\n%s' "${TWINE_PASSWORD-unset}" "$UV_INDEX_PYPI_PRIVATE_PASSWORD" "$POETRY_HTTP_BASIC_PYPI_PRIVATE_USERNAME""#).arg("sh").arg(&env).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sh.stdout),
        format!("unset\n{password}\n{username}")
    );
    std::fs::write(&env, creds_of(&moto, &config, &["--publish"], "env")).unwrap();
    let sh = Command::new("sh").arg("-c").arg(r#". "$1" && printf '%s\n%s' "$TWINE_USERNAME" "$TWINE_PASSWORD""#).arg("sh").arg(&env).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sh.stdout),
        format!("{publisher}\n{publish_password}")
    );
    let uv = creds(&moto, &config, "uv");
    assert!(
        uv.contains("[[tool.uv.index]]")
            && uv.contains(&format!(
                "export UV_INDEX_PYPI_PRIVATE_PASSWORD='{password}'"
            )),
        "{uv}"
    );
    let poetry = creds(&moto, &config, "poetry");
    assert!(
        poetry.contains(
            "poetry source add --priority=primary pypi-private https://pypi.example.com/simple/"
        ),
        "{poetry}"
    );

    // The service answers with the secrets' credentials.
    let service = ServiceDouble::start(&moto);
    let checks = http_checks(&moto, &config, &service.url);
    assert!(
        checks.iter().all(|(status, _)| status == "pass"),
        "{checks:?}"
    );
    let before = snapshot(&moto);
    assert_eq!(
        before["read"],
        json!({"username": username, "password": password}),
        "the read secret before the rotation"
    );
    let publish = before["publish"].clone();
    assert_eq!(
        publish,
        json!({"username": publisher, "password": publish_password}),
        "the publish secret before the rotation"
    );
    let arn = outputs(&moto)["PypiUserSecretArn"].as_str().unwrap().to_string();

    // Rotate while a client keeps reading the secret and calling the service.
    let clients = Clients::start(&moto, &arn, &service.url, Some("simple/"));
    std::thread::sleep(Duration::from_millis(600));
    let (out, err) = succeed(&moto, &["--yes", "creds", "--rotate", "--format", "json", "--progress", "events"], &config, &[("PYPICTL_SERVICE_URL", &service.url)]);
    std::thread::sleep(Duration::from_millis(600));
    let seen = clients.finish();

    let rotated: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: stdout:\n{out}\nstderr:\n{err}"));
    let new_password = rotated["password"].as_str().unwrap();
    assert_ne!(new_password, password);
    assert_eq!(rotated["username"], username.as_str());
    assert!(
        last_line(&err).contains("old password is refused"),
        "the last line says the old password is refused:\n{err}"
    );
    assert!(
        !err.contains(new_password) && !err.contains(&password),
        "no password in the progress lines"
    );
    // The clients were never refused, saw both phases, and a time when the
    // service accepted the old and the new password.
    check_clients(&seen, &password, new_password);

    // Now every task refuses the old password and accepts the new one.
    assert_eq!(
        service.statuses("simple/", Some((&username, &password)), 6),
        vec![401; 6],
        "the old password is refused"
    );
    assert_eq!(
        service.statuses("simple/", Some((&username, new_password)), 6),
        vec![200; 6],
        "the new password is accepted"
    );

    let after = snapshot(&moto);
    assert_eq!(
        after["read"],
        json!({"username": username, "password": new_password}),
        "the secret holds the new password alone"
    );
    assert_eq!(after["publish"], publish, "the publish credential is untouched");
    assert_eq!(
        after["instances"], before["instances"],
        "no instance replaced"
    );
    assert!(!before["instances"].as_array().unwrap().is_empty());

    // Two deployments: the first's tasks started with the pending password,
    // the second's with the new password alone, and each ran alongside the
    // tasks it replaced.
    let started = started_deployments(&service.log("tasks.log"), &username);
    let ids: Vec<&str> = started.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(started.len(), 3, "the deployment before and two new ones: {started:?}");
    assert_eq!(ids[0], before["deployment"].as_str().unwrap());
    assert_eq!(ids[2], after["deployment"].as_str().unwrap());
    assert_eq!(
        started.iter().map(|(_, pending)| *pending).collect::<Vec<_>>(),
        vec![false, true, false],
        "the tasks' credentials at their start: {started:?}"
    );
    assert_eq!(
        after["deployments"],
        json!([[ids[2], "PRIMARY", "COMPLETED"]]),
        "the rotation waited for the last rollout"
    );
    let requests = service.log("requests.log");
    assert_eq!(
        overlapping_deployments(&requests, &username),
        vec![ids[1].to_string()],
        "the first new deployment's tasks accepted the old and the new password"
    );
    for pair in [(ids[0], ids[1]), (ids[1], ids[2])] {
        assert!(
            alternated(&requests, pair.0, pair.1),
            "the tasks of {} kept answering after those of {} started: {requests:?}",
            pair.0,
            pair.1
        );
    }

    let again: Value = serde_json::from_str(&creds(&moto, &config, "json")).unwrap();
    assert_eq!(again["password"], new_password);
    let checks = http_checks(&moto, &config, &service.url);
    assert!(
        checks.iter().all(|(status, _)| status == "pass"),
        "the service accepts the new password: {checks:?}"
    );
}

/// The deployments whose tasks started (tasks.log), in order, each with
/// whether its tasks accepted a pending password for `username`.
fn started_deployments(tasks: &[Value], username: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for t in tasks.iter().filter(|t| t["event"] == "started") {
        let id = t["deployment"].as_str().unwrap().to_string();
        let pending = t["pending"][username].as_bool().unwrap_or_else(|| panic!("no user {username} in {t}"));
        match out.iter().find(|(d, _)| *d == id) {
            Some((_, p)) => assert_eq!(*p, pending, "the tasks of {id} read different secrets"),
            None => out.push((id, pending)),
        }
    }
    out
}

/// Whether a task of `old` answered a request after a task of `new` had
/// answered one (requests.log is in order): both served at the same time.
fn alternated(requests: &[Value], old: &str, new: &str) -> bool {
    let first_new = requests.iter().position(|r| r["deployment"] == new);
    let last_old = requests.iter().rposition(|r| r["deployment"] == old);
    matches!((first_new, last_old), (Some(n), Some(o)) if o > n)
}

/// Makes the next deployment of `service` fail (the harness's fault, patch
/// ecs-circuit-breaker) and returns the harness's answer.
fn fail_next_deployment(moto: &Moto, service: &str) -> Value {
    let mut r = agent()
        .post(format!("{}/_pypictl/deployment-faults", moto.url))
        .header("Content-Type", "application/json")
        .send(json!({ "fail_deployment": [service] }).to_string())
        .unwrap();
    assert_eq!(r.status(), 200);
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

#[test]
fn a_failed_rotation_rollout_keeps_the_old_password() {
    let moto = Moto::start();
    let work = tempfile::tempdir().unwrap();
    let config = deploy(&moto, "light", work.path());
    let service = ServiceDouble::start(&moto);
    let before = snapshot(&moto);
    let (username, old) = (
        before["read"]["username"].as_str().unwrap().to_string(),
        before["read"]["password"].as_str().unwrap().to_string(),
    );
    let o = outputs(&moto);
    let name = o["EcsServiceName"].as_str().unwrap();
    assert_eq!(
        fail_next_deployment(&moto, name),
        json!({ "fail_deployment": [name] })
    );

    let clients = Clients::start(&moto, o["PypiUserSecretArn"].as_str().unwrap(), &service.url, Some("simple/"));
    std::thread::sleep(Duration::from_millis(600));
    let a = moto
        .pypictl()
        .env("PYPICTL_SERVICE_URL", &service.url)
        .args(["--yes", "creds", "--rotate", "--progress", "events", "-c"])
        .arg(&config)
        .assert();
    std::thread::sleep(Duration::from_millis(600));
    let seen = clients.finish();
    let (out, err) = (stdout(&a), stderr(&a));
    assert_eq!(a.get_output().status.code(), Some(1), "exit 1:\n{out}\n{err}\n{}", moto.log());
    assert!(
        last_line(&err).contains("old password still works"),
        "the last line says the old password still works:\n{err}"
    );

    // The clients kept the old password, and it kept working.
    assert!(seen.len() >= 5, "{seen:?}");
    let refused: Vec<&Seen> = seen.iter().filter(|s| s.status >= 400).collect();
    assert!(refused.is_empty(), "a client was refused: {refused:?}");
    assert!(seen.iter().all(|s| s.password == old), "the secret's password changed: {seen:?}");
    let new = seen
        .iter()
        .find_map(|s| s.pending.as_ref().map(|(p, _)| p.clone()))
        .expect("the new password was stored as pending_password before the rollout");
    assert!(!err.contains(&old) && !err.contains(&new) && !out.contains(&new), "no password on stderr, not the discarded one anywhere");

    // The secret holds the old password alone; nothing else changed.
    let after = snapshot(&moto);
    assert_eq!(
        after["read"],
        json!({"username": username, "password": old}),
        "the secret is back to the old password, without pending_password"
    );
    assert_eq!(after["publish"], before["publish"]);
    assert_eq!(after["instances"], before["instances"]);
    let faults: Value = serde_json::from_str(
        &agent().get(format!("{}/_pypictl/deployment-faults", moto.url)).call().unwrap().body_mut().read_to_string().unwrap(),
    )
    .unwrap();
    assert_eq!(faults, json!({"fail_deployment": []}), "the rotation's deployment used the fault up");
    let failed = service
        .log("tasks.log")
        .into_iter()
        .filter(|t| t["event"] == "failed to start")
        .count();
    assert!(failed >= 1, "the failing deployment started no task");

    // Every task accepts the old password, now and once ECS's rollback is done.
    assert_eq!(service.statuses("simple/", Some((&username, &old)), 6), vec![200; 6]);
    let settled = moto.boto(&format!(
        "import time\n\
         deadline = time.time() + 60\n\
         while True:\n\
         \x20   svc = ecs.describe_services(cluster={cluster:?}, services=[{name:?}])['services'][0]\n\
         \x20   states = [(d['id'], d.get('rolloutState'), d.get('rolloutStateReason')) for d in svc['deployments']]\n\
         \x20   if len(states) == 1 and states[0][1] == 'COMPLETED' or time.time() > deadline:\n\
         \x20       break\n\
         \x20   time.sleep(0.2)\n\
         out = {{'deployments': states, 'events': [e['message'] for e in svc['events']]}}",
        cluster = o["EcsClusterName"].as_str().unwrap(),
    ));
    let deployments = settled["deployments"].as_array().unwrap();
    assert!(
        deployments.len() == 1 && deployments[0][1] == "COMPLETED" && deployments[0][0] != before["deployment"],
        "ECS rolled back to a new deployment: {settled}"
    );
    assert!(
        settled["events"].as_array().unwrap().iter().any(|e| e.as_str().unwrap().contains("deployment failed")),
        "{settled}"
    );
    assert_eq!(service.statuses("simple/", Some((&username, &old)), 6), vec![200; 6]);
}

#[test]
fn publish_rotation_keeps_uploads_working() {
    let moto = Moto::start();
    let work = tempfile::tempdir().unwrap();
    let config = deploy(&moto, "light", work.path());
    let service = ServiceDouble::start(&moto);
    let before = snapshot(&moto);
    let o = outputs(&moto);
    let (reader, read_password) = (before["read"]["username"].as_str().unwrap().to_string(), before["read"]["password"].as_str().unwrap().to_string());
    let (publisher, old) = (before["publish"]["username"].as_str().unwrap().to_string(), before["publish"]["password"].as_str().unwrap().to_string());

    // The publish user uploads; the read user may list but not upload.
    assert_eq!(upload(&service.url, (&publisher, &old), "before_pkg-1.0.tar.gz"), 200);
    assert_eq!(upload(&service.url, (&reader, &read_password), "refused_pkg-1.0.tar.gz"), 403);
    assert_eq!(upload(&service.url, (&publisher, "not-the-password"), "refused_pkg-1.0.tar.gz"), 401);
    assert_eq!(http_status(&service.url, "simple/before-pkg/", Some((&reader, &read_password))), 200);
    assert_eq!(http_status(&service.url, "simple/refused-pkg/", Some((&reader, &read_password))), 404);

    let uploads = Clients::start(&moto, o["PypiPublishSecretArn"].as_str().unwrap(), &service.url, None);
    let reads = Clients::start(&moto, o["PypiUserSecretArn"].as_str().unwrap(), &service.url, Some("simple/"));
    std::thread::sleep(Duration::from_millis(600));
    let (_, err) = succeed(&moto, &["--yes", "creds", "--rotate", "--publish", "--progress", "events"], &config, &[("PYPICTL_SERVICE_URL", &service.url)]);
    std::thread::sleep(Duration::from_millis(600));
    let (seen, read_seen) = (uploads.finish(), reads.finish());

    let after = snapshot(&moto);
    let new = after["publish"]["password"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(
        after["publish"],
        json!({"username": publisher, "password": new}),
        "the publish secret holds the new password alone"
    );
    assert_eq!(after["read"], before["read"], "the read credential is untouched");
    assert!(last_line(&err).contains("old password is refused"), "{err}");
    assert!(!err.contains(new) && !err.contains(&old), "no password printed");
    check_clients(&seen, &old, new);
    assert!(
        read_seen.len() >= 10 && read_seen.iter().all(|s| s.status == 200 && s.password == read_password),
        "readers kept their password, and it kept working: {read_seen:?}"
    );
    assert_eq!(
        overlapping_deployments(&service.log("requests.log"), &publisher).len(),
        1,
        "one deployment's tasks accepted the old and the new publish password"
    );

    for i in 0..4 {
        assert_eq!(upload(&service.url, (&publisher, &old), &format!("after_pkg-{i}.0.tar.gz")), 401, "the old publish password is refused");
        assert_eq!(upload(&service.url, (&publisher, new), &format!("after_pkg-{i}.1.tar.gz")), 200, "the new publish password uploads");
    }
    assert_eq!(http_status(&service.url, "simple/after-pkg/", Some((&reader, &read_password))), 200);
}

#[test]
fn diff_then_upgrade_the_instance_type() {
    let moto = Moto::start();
    let work = tempfile::tempdir().unwrap();
    let config = deploy(&moto, "light", work.path());
    let diff = |extra: &[&str]| {
        moto.pypictl()
            .args(["diff"])
            .args(extra)
            .arg("-c")
            .arg(&config)
            .assert()
    };
    let change_sets = || {
        moto.boto("out = [c['ChangeSetName'] for c in cfn.list_change_sets(StackName='pypi')['Summaries']]")
    };

    let a = diff(&["--fail"]).code(0);
    assert!(stdout(&a).contains("No changes"), "{}", stdout(&a));

    // A new image tag: a change, shown, not executed, change set deleted.
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        original.replace(
            "[compute]",
            "[service]\nimage_tag = \"v2.4.1\"\n\n[compute]",
        ),
    )
    .unwrap();
    // (moto keeps executed change sets, which AWS removes: compare with before.)
    let before = change_sets();
    let a = diff(&["--fail"]).code(1);
    let out = stdout(&a);
    // moto does not model nested change sets: AWS would list the task
    // definition inside the Service stack; here the stack itself is the change.
    assert!(out.contains("0 to add, 1 to modify, 0 to replace, 0 to remove"), "{out}");
    assert!(out.lines().any(|l| l.contains("modify") && l.contains("Service") && l.contains("AWS::CloudFormation::Stack")), "{out}");
    assert_eq!(
        change_sets(),
        before,
        "the change set is deleted"
    );
    diff(&[]).code(0);
    std::fs::write(&config, &original).unwrap();

    // upgrade: validated first, then previewed, deployed, recorded.
    let a = moto
        .pypictl()
        .args(["--yes", "upgrade", "--instance-type", "c9z.huge", "-c"])
        .arg(&config)
        .assert()
        .code(2);
    assert!(stderr(&a).contains("c9z.huge"), "{}", stderr(&a));
    let (out, _) = succeed(&moto, &["--yes", "upgrade", "--instance-type", "c6a.xlarge", "--progress", "events"], &config, &[]);
    assert!(
        out.contains("t3.small") && out.contains("c6a.xlarge"),
        "before and after:\n{out}"
    );
    let template = moto.boto("lts = ec2.describe_launch_templates()['LaunchTemplates']\n\
         v = ec2.describe_launch_template_versions(LaunchTemplateId=lts[0]['LaunchTemplateId'], Versions=['$Latest'])['LaunchTemplateVersions'][0]\n\
         out = {'count': len(lts), 'type': v['LaunchTemplateData']['InstanceType']}",
    );
    assert_eq!(
        template,
        serde_json::json!({"count": 1, "type": "c6a.xlarge"}),
        "the launch template carries the new type"
    );
    let rewritten = std::fs::read_to_string(&config).unwrap();
    assert!(
        rewritten.contains("instance_type = \"c6a.xlarge\"") && !rewritten.contains("instance_type = \"t3.small\""),
        "{rewritten}"
    );
    assert_eq!(
        rewritten.lines().filter(|l| l.starts_with('#')).count(),
        original.lines().filter(|l| l.starts_with('#')).count(),
        "comments kept"
    );
    let a = diff(&["--fail"]).code(0);
    assert!(
        stdout(&a).contains("No changes"),
        "the recorded config matches what runs:\n{}",
        stdout(&a)
    );
}
