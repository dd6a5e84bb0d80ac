//! The container-image check (`deploy`, `doctor`) against a registry double
//! on 127.0.0.1: a small HTTP/1.1 server in this file implementing the
//! Docker Registry v2 / OCI distribution flow for Docker Hub and ECR Public
//! — a HEAD of a manifest without a token is answered 401 with a Bearer
//! challenge pointing at the double's own `/token`; `/token` hands out a
//! JSON token; the HEAD with the token is answered 200 for a known tag or
//! digest, 404 with the spec's `MANIFEST_UNKNOWN` (or `NAME_UNKNOWN`) error
//! otherwise. The real client ([`HttpRegistry`]) reaches it through its
//! `PYPICTL_REGISTRY_URL` override; the registry a request stands for is in
//! the `X-Pypictl-Registry` header.
//!
//! The engine is driven directly (the check, the Deployer with the scripted
//! cloud, doctor); one CLI test runs `pypictl --yes deploy` with a typo tag
//! against moto.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use pypictl::aws::registry::{HttpRegistry, REGISTRY_HEADER};
use pypictl::engine::deploy::{Deployer, Outcome};
use pypictl::engine::doctor::{self, names::IMAGES, Options, Status};
use pypictl::engine::images::{self, ImageRef, ManifestAnswer};
use pypictl::engine::progress::{Progress, Recorder};
use pypictl_test_support::ScriptedCloud;
use pypictl_stacks::app::{synthesize, Assembly};
use pypictl_stacks::{Config, Deployment};

use crate::common;

const DOCKER_HUB: &str = "registry-1.docker.io";
const ECR_PUBLIC: &str = "public.ecr.aws";
const PYPISERVER: &str = "docker.io/pypiserver/pypiserver";
const NGINX: &str = "public.ecr.aws/nginx/nginx:1.28.0";
const DIGEST: &str = "sha256:6a0a4e2b7f6d1c0e9b8a7f6e5d4c3b2a19081726354453627180918a2b3c4d5e";

/// How the double answers manifest requests.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// The v2 flow: challenge, token, 200 or 404.
    Registry,
    /// Every manifest request gets this status (no challenge).
    Status(u16),
    /// Token handed out, but the authenticated manifest request is refused
    /// (401) with this error code in the body (a GET's; a HEAD has none).
    Refuse(&'static str),
    /// Reads the request and never answers.
    Silent,
}

/// A request the double saw.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    registry: Option<String>,
    accept: String,
    bearer: Option<String>,
}

struct Double {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Double {
    fn start(mode: Mode) -> Double {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st, u) = (seen.clone(), stop.clone(), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (s, st, u) = (s.clone(), st.clone(), u.clone());
                std::thread::spawn(move || serve(stream, mode, &u, &s, &st));
            }
        });
        Double { url, seen, stop, port }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn token_requests(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path.starts_with("/token")).collect()
    }

    fn manifest_requests(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path.starts_with("/v2/")).collect()
    }

    fn client(&self) -> HttpRegistry {
        HttpRegistry::new(Some(self.url.clone()))
    }
}

impl Drop for Double {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// What the registries hold: (registry, repository) → tags and digests.
fn catalogue() -> BTreeMap<(&'static str, &'static str), Vec<&'static str>> {
    BTreeMap::from([
        ((DOCKER_HUB, "pypiserver/pypiserver"), vec!["v2.4.2", "v2.4.1", "latest", DIGEST]),
        ((ECR_PUBLIC, "nginx/nginx"), vec!["1.28.0", "stable"]),
    ])
}

fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

fn respond(stream: &mut TcpStream, status: u16, headers: &[(&str, String)], body: &str, head: bool) {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Other",
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    if !head {
        out.push_str(body);
    }
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

fn errors(code: &str, message: &str) -> String {
    serde_json::json!({"errors": [{"code": code, "message": message, "detail": null}]}).to_string()
}

fn serve(mut stream: TcpStream, mode: Mode, url: &str, seen: &Mutex<Vec<Seen>>, stop: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let (path, query) = target.split_once('?').map_or((target.clone(), String::new()), |(p, q)| (p.to_string(), q.to_string()));
    let query: Vec<(String, String)> = query.split('&').filter(|kv| !kv.is_empty()).map(|kv| kv.split_once('=').map_or((decode(kv), String::new()), |(k, v)| (decode(k), decode(v)))).collect();
    let request = Seen {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        registry: headers.get(&REGISTRY_HEADER.to_ascii_lowercase()).cloned(),
        accept: headers.get("accept").cloned().unwrap_or_default(),
        bearer: headers.get("authorization").and_then(|a| a.strip_prefix("Bearer ")).map(str::to_string),
    };
    seen.lock().unwrap().push(request.clone());
    let head = method == "HEAD";

    if mode == Mode::Silent {
        for _ in 0..600 {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        return;
    }

    // The token service: an anonymous token for what was asked.
    if path == "/token" || path == "/token/" {
        let get = |k: &str| query.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let token = format!("token:{}:{}", get("service"), get("scope"));
        let body = serde_json::json!({"token": token, "access_token": token, "expires_in": 300, "issued_at": "2026-11-20T10:00:00Z"}).to_string();
        respond(&mut stream, 200, &[("Content-Type", "application/json".into())], &body, head);
        return;
    }

    let Some(rest) = path.strip_prefix("/v2/") else {
        respond(&mut stream, 404, &[], "", head);
        return;
    };
    if let Mode::Status(status) = mode {
        respond(&mut stream, status, &[("Content-Type", "text/plain".into())], "the double is broken on purpose", head);
        return;
    }
    let Some((repository, reference)) = rest.split_once("/manifests/") else {
        respond(&mut stream, 404, &[], "", head);
        return;
    };
    let registry = request.registry.clone().unwrap_or_default();
    let (service, scope, realm) = match registry.as_str() {
        ECR_PUBLIC => ("public.ecr.aws".to_string(), "aws".to_string(), format!("{url}/token/")),
        _ => ("registry.docker.io".to_string(), format!("repository:{repository}:pull"), format!("{url}/token")),
    };
    // Docker Hub's token is for one repository; ECR Public's for every one.
    let valid = format!("token:{service}:{scope}");
    if request.bearer.as_deref() != Some(valid.as_str()) {
        let challenge = format!(r#"Bearer realm="{realm}",service="{service}",scope="{scope}""#);
        respond(&mut stream, 401, &[("WWW-Authenticate", challenge), ("Content-Type", "application/json".into())], &errors("UNAUTHORIZED", "authentication required"), head);
        return;
    }
    if let Mode::Refuse(code) = mode {
        respond(&mut stream, 401, &[("Content-Type", "application/json".into())], &errors(code, "refused"), head);
        return;
    }
    let catalogue = catalogue();
    let known = catalogue.iter().find(|((r, repo), _)| *r == registry && *repo == repository).map(|(_, refs)| refs);
    match known {
        None => respond(&mut stream, 404, &[("Content-Type", "application/json".into())], &errors("NAME_UNKNOWN", "repository name not known to registry"), head),
        Some(refs) if refs.contains(&reference) => {
            let body = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}).to_string();
            respond(
                &mut stream,
                200,
                &[("Content-Type", "application/vnd.oci.image.index.v1+json".into()), ("Docker-Content-Digest", DIGEST.into())],
                &body,
                head,
            );
        }
        Some(_) => respond(&mut stream, 404, &[("Content-Type", "application/json".into())], &errors("MANIFEST_UNKNOWN", "manifest unknown"), head),
    }
}

fn pypiserver(tag: &str) -> String {
    format!("{PYPISERVER}:{tag}")
}

fn heavy(tag: &str) -> (Deployment, Assembly) {
    let mut cfg = Config::from_toml(&std::fs::read_to_string(common::example("heavy")).unwrap()).unwrap();
    cfg.service.image_tag = tag.into();
    let d = Deployment::new(cfg).unwrap();
    let a = synthesize(&d).unwrap();
    (d, a)
}

// The client and the check ----------------------------------------------------

#[tokio::test]
async fn existing_images_pass_after_the_token_dance() {
    let double = Double::start(Mode::Registry);
    let registry = double.client();
    let (_, assembly) = heavy("v2.4.2");
    let wanted = images::of_assembly(&assembly);
    assert_eq!(wanted, [pypiserver("v2.4.2"), NGINX.to_string()], "pypiserver (also the indexer's) and nginx, once each");

    let checked = images::check(&registry, &wanted).await;
    assert!(checked.problems.is_empty() && checked.warnings.is_empty(), "{checked:?}");
    assert_eq!(checked.found, wanted);

    // Each image: HEAD without a token (401), the token, HEAD with it (200).
    let tokens = double.token_requests();
    assert_eq!(tokens.len(), 2, "one anonymous token per image: {tokens:#?}");
    let q = |s: &Seen| s.query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    assert_eq!(q(&tokens[0]), "service=registry.docker.io&scope=repository:pypiserver/pypiserver:pull");
    assert_eq!(q(&tokens[1]), "service=public.ecr.aws&scope=aws", "ECR Public's own scope, from its challenge");
    assert!(tokens.iter().all(|t| t.method == "GET" && t.bearer.is_none()), "anonymous");
    let manifests = double.manifest_requests();
    assert_eq!(
        manifests.iter().map(|m| format!("{} {} {} {}", m.method, m.registry.as_deref().unwrap_or("-"), m.path, if m.bearer.is_some() { "token" } else { "-" })).collect::<Vec<_>>(),
        [
            "HEAD registry-1.docker.io /v2/pypiserver/pypiserver/manifests/v2.4.2 -",
            "HEAD registry-1.docker.io /v2/pypiserver/pypiserver/manifests/v2.4.2 token",
            "HEAD public.ecr.aws /v2/nginx/nginx/manifests/1.28.0 -",
            "HEAD public.ecr.aws /v2/nginx/nginx/manifests/1.28.0 token",
        ]
    );
    for m in &manifests {
        for media_type in images::MANIFEST_MEDIA_TYPES {
            assert!(m.accept.contains(media_type), "Accept lacks {media_type}: {}", m.accept);
        }
    }
    assert!(images::MANIFEST_MEDIA_TYPES.contains(&"application/vnd.oci.image.index.v1+json"));
}

#[tokio::test]
async fn a_tag_that_does_not_exist_is_a_problem_naming_the_image() {
    let double = Double::start(Mode::Registry);
    let registry = double.client();
    let image = ImageRef::parse(&pypiserver("v2.4.3")).unwrap();
    use pypictl::engine::cloud::Registry as _;
    assert_eq!(registry.manifest(&image).await, Ok(ManifestAnswer::Missing { why: "404".into() }), "a HEAD's 404 has no body");

    let checked = images::check(&registry, &[pypiserver("v2.4.3"), NGINX.to_string()]).await;
    assert_eq!(checked.found, [NGINX]);
    assert!(checked.warnings.is_empty(), "{checked:?}");
    assert_eq!(checked.problems.len(), 1, "{checked:?}");
    let p = &checked.problems[0];
    assert!(p.what.contains("docker.io/pypiserver/pypiserver:v2.4.3 does not exist"), "{}", p.what);
    assert!(p.what.contains("tag v2.4.3 of pypiserver/pypiserver"), "{}", p.what);
    assert!(p.fix.contains("`service.image_tag`") && p.fix.contains("\"v2.4.2\""), "{}", p.fix);
}

#[tokio::test]
async fn digests_and_unknown_repositories() {
    let double = Double::start(Mode::Registry);
    let registry = double.client();
    let by_digest = format!("{PYPISERVER}@{DIGEST}");
    let other_digest = format!("{PYPISERVER}@sha256:{}", "0".repeat(64));
    let checked = images::check(&registry, &[by_digest.clone(), other_digest.clone(), "public.ecr.aws/nginx/nginxx:1.28.0".into()]).await;
    assert_eq!(checked.found, [by_digest]);
    assert_eq!(checked.problems.len(), 2, "{checked:?}");
    assert!(checked.problems[0].what.contains(&format!("{other_digest} does not exist")), "{:?}", checked.problems);
    assert!(checked.problems[1].what.contains("nginx/nginxx"), "{:?}", checked.problems);
    assert!(checked.problems[1].fix.contains("pinned by pypictl"), "{:?}", checked.problems);
    assert!(double.manifest_requests().iter().any(|m| m.path == format!("/v2/pypiserver/pypiserver/manifests/{DIGEST}")));
}

#[tokio::test]
async fn a_refusal_after_the_token_is_read_from_the_body() {
    // Docker Hub answers a repository that does not exist (or is private)
    // with 401 UNAUTHORIZED even with the anonymous token: it cannot say.
    let double = Double::start(Mode::Refuse("UNAUTHORIZED"));
    let checked = images::check(&double.client(), &[pypiserver("v2.4.2")]).await;
    assert!(checked.problems.is_empty(), "{checked:?}");
    assert_eq!(checked.warnings.len(), 1, "{checked:?}");
    assert!(checked.warnings[0].contains("answered 401") && checked.warnings[0].contains("UNAUTHORIZED: refused"), "{}", checked.warnings[0]);
    assert!(double.manifest_requests().iter().any(|m| m.method == "GET" && m.bearer.is_some()), "the body comes from a GET");

    // A registry that says NAME_UNKNOWN with a 401: the image does not exist.
    let double = Double::start(Mode::Refuse("NAME_UNKNOWN"));
    let checked = images::check(&double.client(), &[pypiserver("v2.4.2")]).await;
    assert_eq!(checked.problems.len(), 1, "{checked:?}");
    assert!(checked.problems[0].what.contains("(401 NAME_UNKNOWN)"), "{}", checked.problems[0].what);
}

#[tokio::test]
async fn an_unreachable_registry_is_a_warning() {
    let closed = common::free_port();
    let registry = HttpRegistry::new(Some(format!("http://127.0.0.1:{closed}")));
    let checked = images::check(&registry, &[pypiserver("v2.4.2"), NGINX.to_string()]).await;
    assert!(checked.problems.is_empty() && checked.found.is_empty(), "{checked:?}");
    assert_eq!(checked.warnings.len(), 2, "{checked:?}");
    assert!(checked.warnings[0].starts_with(&format!("could not check that container image {} exists: no answer from registry-1.docker.io: the connection was refused", pypiserver("v2.4.2"))), "{}", checked.warnings[0]);
    assert!(checked.warnings[1].contains(NGINX), "{}", checked.warnings[1]);
}

#[tokio::test]
async fn a_registry_answering_500_is_a_warning() {
    let double = Double::start(Mode::Status(500));
    let checked = images::check(&double.client(), &[pypiserver("v2.4.3")]).await;
    assert!(checked.problems.is_empty() && checked.found.is_empty(), "{checked:?}");
    assert_eq!(checked.warnings.len(), 1);
    assert!(checked.warnings[0].contains("registry-1.docker.io answered 500 (a server error)"), "{}", checked.warnings[0]);
    assert!(double.token_requests().is_empty());
}

#[tokio::test]
async fn a_registry_that_never_answers_times_out_as_a_warning() {
    let double = Double::start(Mode::Silent);
    let registry = double.client().with_budget(Duration::from_millis(500));
    let started = std::time::Instant::now();
    // Two images of one registry: after the first times out, the second is not asked.
    let checked = images::check(&registry, &[pypiserver("v2.4.2"), pypiserver("v2.4.1")]).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(checked.problems.is_empty(), "{checked:?}");
    assert_eq!(checked.warnings.len(), 2, "{checked:?}");
    assert!(checked.warnings[0].contains("no answer within 0.5 s"), "{}", checked.warnings[0]);
    assert!(checked.warnings[1].contains(&format!("registry-1.docker.io did not answer for {}", pypiserver("v2.4.2"))), "{}", checked.warnings[1]);
    assert_eq!(double.manifest_requests().len(), 1);
}

// The deploy engine ------------------------------------------------------------



fn timeline(name: &str) -> ScriptedCloud {
    let path = common::repo_root().join("fixtures/timelines").join(format!("{name}.json"));
    ScriptedCloud::from_json(&std::fs::read_to_string(path).unwrap())
}

async fn deploy<R: pypictl::engine::cloud::Registry>(cloud: &ScriptedCloud, registry: &R, tag: &str) -> (Outcome, Vec<Progress>) {
    let (d, a) = heavy(tag);
    let mut sink = Recorder::default();
    let outcome = Deployer { cloud, registry, sink: &mut sink, interaction: &mut common::Yes, opts: common::deploy_options(true) }.deploy(&a, &d.config, std::future::pending()).await.unwrap();
    (outcome, sink.items)
}

#[tokio::test(start_paused = true)]
async fn deploy_stops_on_a_typo_before_changing_anything() {
    let double = Double::start(Mode::Registry);
    let cloud = timeline("create-success");
    let (outcome, progress) = deploy(&cloud, &double.client(), "v2.4.3").await;
    let Outcome::Prerequisites(problems) = &outcome else { panic!("{outcome:?}") };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].what.contains("docker.io/pypiserver/pypiserver:v2.4.3 does not exist"), "{}", problems[0].what);
    assert!(problems[0].fix.contains("`service.image_tag`"), "{}", problems[0].fix);
    assert!(progress.contains(&Progress::Step(format!("Checking the container images: {}, {NGINX}", pypiserver("v2.4.3")))), "{progress:?}");
    // Nothing was staged, created or changed; the stack was not even read.
    assert!(cloud.log.borrow().is_empty(), "{:?}", cloud.log.borrow());
    for api in ["DescribeStacks", "CreateChangeSet", "PutObject", "CreateStack"] {
        assert_eq!(cloud.count(api), 0, "{api}");
    }
    // The account's problems and the images' are reported together.
    let mut script: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(common::repo_root().join("fixtures/timelines/create-success.json")).unwrap()).unwrap();
    script["account"] = serde_json::json!({"dns_hostnames": false});
    let cloud = ScriptedCloud::new(serde_json::from_value(script).unwrap());
    let (outcome, _) = deploy(&cloud, &double.client(), "v2.4.3").await;
    let Outcome::Prerequisites(problems) = &outcome else { panic!("{outcome:?}") };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].what.contains("enableDnsHostnames") && problems[1].what.contains("v2.4.3"), "{problems:?}");
    let (message, code) = (pypictl::ui::report::outcome("pypi", &outcome), pypictl::commands::deploy::exit_code(&outcome));
    assert_eq!(code, 2);
    assert!(message.contains("docker.io/pypiserver/pypiserver:v2.4.3") && message.contains("fix: set `service.image_tag`"), "{message}");
}

#[tokio::test(start_paused = true)]
async fn deploy_goes_on_when_the_images_exist_or_cannot_be_checked() {
    let double = Double::start(Mode::Registry);
    let cloud = timeline("create-success");
    let (outcome, progress) = deploy(&cloud, &double.client(), "v2.4.2").await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert!(!progress.iter().any(|p| matches!(p, Progress::Warning(_))), "{progress:?}");
    assert_eq!(double.token_requests().len(), 2);

    // A registry that cannot be reached: a warning, and the deploy goes on.
    let closed = HttpRegistry::new(Some(format!("http://127.0.0.1:{}", common::free_port())));
    let cloud = timeline("create-success");
    let (outcome, progress) = deploy(&cloud, &closed, "v2.4.3").await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let warnings: Vec<&String> = progress.iter().filter_map(|p| if let Progress::Warning(w) = p { Some(w) } else { None }).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("v2.4.3") && warnings[0].contains("no answer from registry-1.docker.io"), "{warnings:?}");

    // The same with a registry answering 500.
    let broken = Double::start(Mode::Status(500));
    let cloud = timeline("create-success");
    let (outcome, progress) = deploy(&cloud, &broken.client(), "v2.4.2").await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert_eq!(progress.iter().filter(|p| matches!(p, Progress::Warning(w) if w.contains("answered 500"))).count(), 2, "{progress:?}");
}

#[tokio::test(start_paused = true)]
async fn the_scripted_registry_answers_from_the_script() {
    let mut script: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(common::repo_root().join("fixtures/timelines/create-success.json")).unwrap()).unwrap();
    script["images"] = serde_json::json!({ pypiserver("v2.4.2"): "missing", NGINX: "error: connection reset" });
    let cloud = ScriptedCloud::new(serde_json::from_value(script).unwrap());
    let (outcome, progress) = deploy(&cloud, &cloud, "v2.4.2").await;
    let Outcome::Prerequisites(problems) = &outcome else { panic!("{outcome:?}") };
    assert!(problems.len() == 1 && problems[0].what.contains(&pypiserver("v2.4.2")), "{problems:?}");
    assert!(progress.iter().any(|p| matches!(p, Progress::Warning(w) if w.contains(NGINX) && w.contains("connection reset"))), "{progress:?}");
    assert_eq!(cloud.count("HEAD manifest"), 2);
}

// doctor -------------------------------------------------------------------------

fn healthy() -> ScriptedCloud {
    ScriptedCloud::new(serde_json::from_value(common::read_json(&common::repo_root().join("fixtures/doctor/healthy.json"))).unwrap())
}

#[tokio::test(start_paused = true)]
async fn doctor_checks_the_images() {
    let double = Double::start(Mode::Registry);
    let (d, _) = heavy("v2.4.2");
    let cloud = healthy();
    let report = doctor::diagnose_with(&cloud, &cloud, &double.client(), &d.config, &Options::default()).await;
    let c = report.get(IMAGES).unwrap();
    assert_eq!(c.status, Status::Pass, "{c:?}");
    assert_eq!(c.detail, format!("all 2 images exist: {}, {NGINX}", pypiserver("v2.4.2")));
    assert_eq!(report.checks.last().unwrap().name, IMAGES);

    let (d, _) = heavy("v2.4.3");
    let report = doctor::diagnose_with(&cloud, &cloud, &double.client(), &d.config, &Options::default()).await;
    let c = report.get(IMAGES).unwrap();
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(c.detail.contains("docker.io/pypiserver/pypiserver:v2.4.3 does not exist"), "{}", c.detail);
    let fix = c.fix.as_deref().unwrap();
    assert!(fix.contains("`service.image_tag`") && fix.contains("`pypictl deploy`"), "{fix}");
    assert!(report.failed());

    let closed = HttpRegistry::new(Some(format!("http://127.0.0.1:{}", common::free_port())));
    let report = doctor::diagnose_with(&cloud, &cloud, &closed, &d.config, &Options::default()).await;
    let c = report.get(IMAGES).unwrap();
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.fix.as_deref().unwrap().contains("`service.image_tag`"), "{c:?}");
    assert!(!report.failed(), "{}", report.to_text());
}

// The CLI --------------------------------------------------------------------------

/// `pypictl --yes deploy` with `image_tag = "v2.4.3"` against moto (seeded,
/// so that every account prerequisite is met) and the double: exit 2 naming
/// the image, and no stack at all — not even the staging bucket's.
#[test]
fn the_cli_refuses_a_typo_tag_and_creates_nothing() {
    let double = Double::start(Mode::Registry);
    let moto = common::Moto::start();
    let seed = moto.seed();
    let work = tempfile::tempdir().unwrap();
    let config = moto.config(&seed, "heavy", work.path());
    let mut text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains("[service]"), "the example has no [service] table");
    text.push_str("\n[service]\nimage_tag = \"v2.4.3\"\n");
    std::fs::write(&config, text).unwrap();

    let a = moto.pypictl().env("PYPICTL_REGISTRY_URL", &double.url).args(["--yes", "deploy", "--progress", "events", "-c"]).arg(&config).assert().code(2);
    let (out, err) = (String::from_utf8_lossy(&a.get_output().stdout).into_owned(), String::from_utf8_lossy(&a.get_output().stderr).into_owned());
    assert!(err.contains("container image docker.io/pypiserver/pypiserver:v2.4.3 does not exist"), "{out}\n{err}");
    assert!(err.contains("fix: set `service.image_tag`"), "{err}");
    assert_eq!(err.matches("\n  - ").count(), 1, "the image is the only problem:\n{err}");
    assert!(out.contains("==> Checking the container images: docker.io/pypiserver/pypiserver:v2.4.3, public.ecr.aws/nginx/nginx:1.28.0"), "{out}");
    assert!(!double.token_requests().is_empty(), "the binary did the token dance");

    // Nothing was created: no stack of any name.
    let list = std::process::Command::new(common::tools().join("moto/bin/python"))
        .args(["-c", "import boto3, sys; c = boto3.client('cloudformation', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing'); print(len([s for s in c.list_stacks()['StackSummaries'] if s['StackStatus'] != 'DELETE_COMPLETE']))"])
        .arg(&moto.url)
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "0", "stacks were created");

    // A bad override is bad input.
    moto.pypictl().env("PYPICTL_REGISTRY_URL", "ftp://x").args(["--yes", "deploy", "-c"]).arg(&config).assert().code(2);
}
