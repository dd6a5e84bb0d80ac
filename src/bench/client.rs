//! The load generator's I/O: one hyper client with a connection pool, driven
//! by a current-thread runtime. Hundreds of requests in flight cost a task
//! and a socket each, not a thread, so one core keeps up with a server that
//! answers in milliseconds; the report prints the client's own CPU time to
//! show it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;

use super::report::{Outcome, Recorder};
use super::wheel;
use super::workload::{links, pick, resolve, Budget, Op, Plan, Rng};

/// Where the bench sends requests. The password lives only in the prebuilt
/// Authorization header; `Display` and `Debug` never show it.
#[derive(Clone)]
pub struct Target {
    scheme: String,
    authority: String,
    /// Ends with '/': the repository URL twine uploads to.
    base_path: String,
    authorization: Option<String>,
    /// For uploads, when they need another credential (the deployment's
    /// publish credential; the read one is refused with 403).
    upload_authorization: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({}, auth: {})", self.url(), self.authorization.is_some())
    }
}

impl Target {
    /// Parses `http(s)://[user[:password]@]host[:port][/path/]`. A path
    /// ending in `simple/` is the index itself: the base is its parent.
    /// Credentials: `username`/`password` win over the URL's userinfo.
    pub fn parse(url: &str, username: Option<&str>, password: Option<&str>) -> Result<Target, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("--url {}: must start with http:// or https://", redact(url)))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!("--url {}: must start with http:// or https://", redact(url)));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err(format!("--url {}: has no host", redact(url)));
        }
        if path.contains(['?', '#']) {
            return Err(format!("--url {}: must be the service's base URL, without a query or fragment", redact(url)));
        }
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let (url_user, url_pass) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((a, b)) => (Some(decode(a)), Some(decode(b))),
                None => (Some(decode(u)), None),
            },
            None => (None, None),
        };
        let user = username.map(str::to_string).or(url_user);
        let pass = password.map(str::to_string).or(url_pass);
        let authorization = match (user, pass) {
            (Some(u), Some(p)) => Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))),
            (None, None) => None,
            (Some(_), None) => return Err("--username given without a password: set PYPICTL_BENCH_PASSWORD or put it in --url".into()),
            (None, Some(_)) => return Err("a password without a username: pass --username or put it in --url".into()),
        };
        let mut base_path = path.to_string();
        if !base_path.ends_with('/') {
            base_path.push('/');
        }
        if let Some(parent) = base_path.strip_suffix("simple/") {
            base_path = parent.to_string();
        }
        Ok(Target { scheme: scheme.to_string(), authority: host.to_string(), base_path, authorization, upload_authorization: None })
    }

    /// The same target, uploading with `username` and `password`.
    pub fn uploading_as(self, username: &str, password: &str) -> Target {
        let authorization = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")));
        Target { upload_authorization: Some(authorization), ..self }
    }

    /// The base URL, without credentials.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.base_path)
    }

    pub fn index_path(&self) -> String {
        format!("{}simple/", self.base_path)
    }

    fn uri(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.authority, path)
    }
}

/// The URL with any userinfo replaced, for error messages.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((s, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(i) => format!("{s}://(credentials)@{}", &rest[i + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

type HyperClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The pooled HTTP client.
pub struct Http {
    client: HyperClient,
    target: Target,
}

/// How a request that got no answer failed.
#[derive(Debug)]
pub enum Failure {
    Timeout,
    Connection(String),
}

pub struct Answer {
    pub status: u16,
    pub bytes: u64,
    /// Kept only when asked for (discovery reads pages; the run does not).
    pub body: Option<Vec<u8>>,
}

impl Http {
    pub fn new(target: Target, pool: usize, timeout: Duration) -> Result<Http> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(b) => b,
            // No system certificates: fine for plain HTTP replicas, not for HTTPS.
            Err(_) if target.scheme == "http" => {
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .context("TLS setup")?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls)
            }
            Err(e) => return Err(anyhow!("no trusted root certificates for {}: {e}", target.url())),
        };
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            // Keep every connection a burst opened: the baseline reuses them,
            // as pip's keep-alive connections do behind the ALB.
            .pool_max_idle_per_host(pool)
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        Ok(Http { client, target })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// One request, the whole answer read (its size counted; kept if
    /// `keep`). Never retried: a failure is reported as it happened.
    pub async fn send(&self, method: Method, path: &str, body: Option<(String, Vec<u8>)>, keep: bool) -> Result<Answer, Failure> {
        let upload = method != Method::GET && method != Method::HEAD;
        let mut req = Request::builder().method(method).uri(self.target.uri(path)).header("user-agent", concat!("pypictl-bench/", env!("CARGO_PKG_VERSION")));
        if let Some(a) = self.target.upload_authorization.as_ref().filter(|_| upload).or(self.target.authorization.as_ref()) {
            req = req.header("authorization", a);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                req = req.header("content-type", content_type);
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req.body(body).map_err(|e| Failure::Connection(e.to_string()))?;
        let resp = self.client.request(req).await.map_err(|e| Failure::Connection(error_chain(&e)))?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut bytes = 0u64;
        let mut kept = keep.then(Vec::new);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Failure::Connection(error_chain(&e)))?;
            if let Some(data) = frame.data_ref() {
                bytes += data.len() as u64;
                if let Some(k) = kept.as_mut() {
                    k.extend_from_slice(data);
                }
            }
        }
        Ok(Answer { status, bytes, body: kept })
    }

    /// `send` within `limit`.
    pub async fn send_within(&self, limit: Duration, method: Method, path: &str, body: Option<(String, Vec<u8>)>, keep: bool) -> Result<Answer, Failure> {
        match tokio::time::timeout(limit, self.send(method, path, body, keep)).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Timeout),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// What discovery found: project pages and files to download (paths).
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub projects: Vec<String>,
    pub files: Vec<String>,
    /// Why the index could not be read, if it could not.
    pub problem: Option<String>,
}

/// Pages read at most while discovering: bounded whatever the index holds.
pub const MAX_PROJECTS: usize = 200;

/// Reads /simple/ and up to MAX_PROJECTS project pages, 16 at a time.
/// Discovery is not part of the measurement; a failure leaves the run to
/// read the index and count what the server answers.
pub async fn discover(http: &Arc<Http>, timeout: Duration) -> Catalogue {
    let index = http.target().index_path();
    let page = match http.send_within(timeout, Method::GET, &index, None, true).await {
        Ok(a) if a.status == 200 => a.body.unwrap_or_default(),
        Ok(a) => return Catalogue { problem: Some(format!("GET {index} answered HTTP {}", a.status)), ..Catalogue::default() },
        Err(Failure::Timeout) => return Catalogue { problem: Some(format!("GET {index} timed out")), ..Catalogue::default() },
        Err(Failure::Connection(e)) => return Catalogue { problem: Some(format!("GET {index} failed: {e}")), ..Catalogue::default() },
    };
    let mut projects: Vec<String> = links(&String::from_utf8_lossy(&page)).iter().map(|l| resolve(&index, l)).filter(|p| p.starts_with(&index) && p.len() > index.len()).collect();
    projects.dedup();
    projects.truncate(MAX_PROJECTS);
    let mut files = Vec::new();
    let mut set = tokio::task::JoinSet::new();
    let mut pending = projects.clone().into_iter();
    loop {
        while set.len() < 16 {
            let Some(p) = pending.next() else { break };
            let http = http.clone();
            set.spawn(async move {
                match http.send_within(timeout, Method::GET, &p, None, true).await {
                    Ok(a) if a.status == 200 => links(&String::from_utf8_lossy(&a.body.unwrap_or_default())).iter().map(|l| resolve(&p, l)).collect(),
                    _ => Vec::new(),
                }
            });
        }
        match set.join_next().await {
            Some(Ok(found)) => files.extend(found),
            Some(Err(_)) => {}
            None => break,
        }
    }
    // Wheels are what pip downloads; sdists only when a server has nothing else.
    files.sort();
    files.dedup();
    if files.iter().any(|f| f.ends_with(".whl")) {
        files.retain(|f| f.ends_with(".whl"));
    }
    Catalogue { projects, files, problem: None }
}

/// One request to send, chosen by `Shared::next`.
struct Next {
    op: Op,
    method: Method,
    path: String,
    /// (content type, body) of an upload.
    body: Option<(String, Vec<u8>)>,
    /// The uploaded file's name.
    upload: Option<String>,
}

/// State shared by the run's tasks (one thread: Rc and RefCell).
struct Shared {
    plan: Plan,
    http: Arc<Http>,
    catalogue: Catalogue,
    start: Instant,
    deadline: Instant,
    budget: RefCell<Budget>,
    rng: RefCell<Rng>,
    rec: RefCell<Recorder>,
    stop: Cell<bool>,
    last_end: Cell<Instant>,
    run_id: String,
    upload_seq: Cell<u64>,
}

impl Shared {
    /// Takes a request from the budget and chooses it; None: the run is over.
    fn next(&self) -> Option<Next> {
        let in_time = !self.stop.get() && Instant::now() < self.deadline;
        if !self.budget.borrow_mut().take(in_time) {
            return None;
        }
        let mut rng = self.rng.borrow_mut();
        let (projects, files) = (&self.catalogue.projects, &self.catalogue.files);
        let op = pick(self.plan.profile, rng.below(100) as u32, projects.len(), files.len());
        let get = |path: String| Next { op, method: Method::GET, path, body: None, upload: None };
        Some(match op {
            Op::Index => get(self.http.target().index_path()),
            Op::Project => get(projects[rng.below(projects.len())].clone()),
            Op::Download => get(files[rng.below(files.len())].clone()),
            Op::Upload => {
                // A fresh version of this run's own project each time: uploads
                // never collide with each other, other runs or real packages.
                let seq = self.upload_seq.get() + 1;
                self.upload_seq.set(seq);
                let w = wheel::build(&format!("pypictl-bench-{}", self.run_id), &format!("0.0.{seq}"));
                let boundary = format!("pypictl-bench-{}-{seq}", self.run_id);
                Next { op, method: Method::POST, path: self.http.target().base_path.clone(), body: Some(wheel::upload_form(&w, &boundary)), upload: Some(w.filename.clone()) }
            }
        })
    }

    fn exhausted(&self) -> bool {
        self.stop.get() || Instant::now() >= self.deadline || self.budget.borrow().issued() >= self.plan.max_requests
    }
}

/// Sends one request if the budget allows; false when the run is over.
async fn one(s: &Shared) -> bool {
    let Some(Next { op, method, path, body, upload }) = s.next() else { return false };
    let t0 = Instant::now();
    let result = s.http.send_within(s.plan.timeout, method, &path, body, false).await;
    let elapsed = t0.elapsed();
    let mut rec = s.rec.borrow_mut();
    let outcome = match &result {
        Ok(a) => {
            rec.bytes_received += a.bytes;
            Outcome::of_status(a.status)
        }
        Err(Failure::Timeout) => Outcome::Timeout,
        Err(Failure::Connection(_)) => Outcome::Connection,
    };
    if let (Outcome::Ok, Some(f)) = (outcome, upload) {
        rec.uploaded.push(f);
    }
    rec.record(op, outcome, elapsed);
    s.last_end.set(s.last_end.get().max(Instant::now()));
    true
}

/// What the run produced.
pub struct Run {
    pub recorder: Recorder,
    /// From the first request to the last answer.
    pub wall: Duration,
    pub interrupted: bool,
}

/// Runs the plan: looping clients and, for bursts, `concurrency` one-shot
/// requests at each burst time. Must run inside a `LocalSet`. Ends when the
/// time or the request budget is spent (or on `interrupt`) and every request
/// in flight has ended, which `timeout` bounds.
pub async fn run<F>(http: Arc<Http>, plan: &Plan, catalogue: Catalogue, seed: u64, run_id: String, interrupt: F) -> Run
where
    F: std::future::Future<Output = ()> + 'static,
{
    let start = Instant::now();
    let s = Rc::new(Shared {
        plan: plan.clone(),
        http,
        catalogue,
        start,
        deadline: start + plan.duration,
        budget: RefCell::new(Budget::new(plan.max_requests)),
        rng: RefCell::new(Rng::new(seed)),
        rec: RefCell::new(Recorder::default()),
        stop: Cell::new(false),
        last_end: Cell::new(start),
        run_id,
        upload_seq: Cell::new(0),
    });
    let watcher = {
        let s = s.clone();
        tokio::task::spawn_local(async move {
            interrupt.await;
            s.stop.set(true);
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..plan.looping_clients() {
        let s = s.clone();
        tasks.push(tokio::task::spawn_local(async move { while one(&s).await {} }));
    }
    let bursts = {
        let s = s.clone();
        tokio::task::spawn_local(async move {
            let mut fired = Vec::new();
            for at in s.plan.burst_times() {
                // Wait for the burst in short steps, so a spent budget or an
                // interrupt ends the run without sleeping out the period.
                while Instant::now() < s.start + at {
                    if s.exhausted() {
                        return fired;
                    }
                    tokio::time::sleep_until((s.start + at).min(Instant::now() + Duration::from_millis(100))).await;
                }
                if s.exhausted() {
                    break;
                }
                for _ in 0..s.plan.concurrency {
                    let s = s.clone();
                    fired.push(tokio::task::spawn_local(async move {
                        one(&s).await;
                    }));
                }
            }
            fired
        })
    };
    for t in tasks {
        let _ = t.await;
    }
    if let Ok(fired) = bursts.await {
        for t in fired {
            let _ = t.await;
        }
    }
    watcher.abort();
    let wall = s.last_end.get().saturating_duration_since(start);
    let interrupted = s.stop.get();
    let recorder = s.rec.borrow().clone();
    Run { recorder, wall, interrupted }
}

/// CPU time (user + system) this process has used.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Raises the open-file limit towards what `sockets` connections need (a
/// burst of 510 opens 510 sockets; the usual soft limit is 1024). Returns
/// the limit in force.
pub fn raise_open_files(sockets: usize) -> u64 {
    let want = sockets as u64 + 256;
    // SAFETY: getrlimit/setrlimit read and write the struct they are given.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < want {
            let new = libc::rlimit { rlim_cur: want.min(lim.rlim_max), rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) == 0 {
                return new.rlim_cur;
            }
        }
        lim.rlim_cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_takes_credentials_from_flags_or_userinfo_and_hides_them() {
        let t = Target::parse("https://u:p%40ss@pypi.example.com/simple/", None, None).unwrap();
        assert_eq!(t.url(), "https://pypi.example.com/");
        assert_eq!(t.index_path(), "/simple/");
        let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("u:p@ss"));
        assert_eq!(t.authorization.as_deref(), Some(expected.as_str()));
        assert!(!format!("{t:?}").contains("p@ss") && !format!("{t:?}").contains("p%40ss"));

        let t = Target::parse("http://127.0.0.1:8080/pypi", Some("me"), Some("pw")).unwrap();
        assert_eq!((t.url().as_str(), t.index_path().as_str()), ("http://127.0.0.1:8080/pypi/", "/pypi/simple/"));
        assert!(Target::parse("http://h/", None, None).unwrap().authorization.is_none());
        assert!(Target::parse("http://h/", Some("me"), None).unwrap_err().contains("PYPICTL_BENCH_PASSWORD"));
        let e = Target::parse("ftp://u:secret@h/", None, None).unwrap_err();
        assert!(e.starts_with("--url ftp://(credentials)@h/: must start with http") && !e.contains("secret"), "{e}");
    }
}
