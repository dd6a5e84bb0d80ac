//! [`Registry`]: anonymous manifest requests to container registries (Docker
//! Registry HTTP API v2 / OCI distribution spec), as `docker pull` makes
//! them before it downloads anything:
//!
//! 1. `HEAD https://<registry>/v2/<repository>/manifests/<tag or digest>`,
//!    accepting OCI image indexes and manifests and Docker manifest lists
//!    and manifests;
//! 2. on `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`:
//!    `GET <realm>?service=…&scope=…` without credentials, and the same
//!    HEAD again with `Authorization: Bearer <token>`;
//! 3. a final 400, 401, 403 or 405 is asked again as a GET, whose JSON
//!    body says why (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, `UNAUTHORIZED`...):
//!    a HEAD answer has no body (and a registry may not allow HEAD).
//!
//! Every image gets at most [`BUDGET`] for all of its requests.
//!
//! `PYPICTL_REGISTRY_URL` (tests, a mirror): every registry is reached at
//! that base URL instead, the path unchanged, and every request carries the
//! registry it stands for in [`REGISTRY_HEADER`] (`registry-1.docker.io`,
//! `public.ecr.aws`). The token realm is whatever the answer names.

use std::time::{Duration, Instant};

use crate::engine::cloud::Registry;
use crate::engine::images::{self, ImageRef, ManifestAnswer, MANIFEST_MEDIA_TYPES};

/// Replaces every registry's base URL (`http://127.0.0.1:5000`).
pub const REGISTRY_URL_ENV: &str = "PYPICTL_REGISTRY_URL";
/// With [`REGISTRY_URL_ENV`]: the registry host a request stands for.
pub const REGISTRY_HEADER: &str = "X-Pypictl-Registry";
/// The time one image's requests (manifest, token, manifest again) may take.
pub const BUDGET: Duration = Duration::from_secs(10);
/// The most of a token or error body read.
const MAX_BODY: u64 = 1 << 20;

/// A client without credentials.
pub struct HttpRegistry {
    agent: ureq::Agent,
    base_url: Option<String>,
    budget: Duration,
}

/// One answer: status, `Docker-Content-Digest`, `WWW-Authenticate`, body.
struct Answer {
    status: u16,
    digest: Option<String>,
    challenge: Option<String>,
    body: String,
}

impl HttpRegistry {
    /// Each registry at `https://<host>`, or every one at `base_url`.
    pub fn new(base_url: Option<String>) -> HttpRegistry {
        let base_url = base_url.map(|u| u.trim().trim_end_matches('/').to_string());
        // A registry on this machine (a test double) is never behind the
        // environment's proxy (HTTPS_PROXY...), which would take the
        // request elsewhere.
        let loopback = base_url.as_deref().is_some_and(|u| {
            let host = u.split("://").nth(1).unwrap_or("").split('/').next().unwrap_or("");
            let host = host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h);
            ["127.0.0.1", "localhost", "[::1]"].contains(&host)
        });
        let mut config = ureq::Agent::config_builder().http_status_as_error(false).user_agent(format!("pypictl/{}", env!("CARGO_PKG_VERSION")));
        if loopback {
            config = config.proxy(None);
        }
        HttpRegistry { agent: config.build().into(), base_url, budget: BUDGET }
    }

    /// Another time limit per image than [`BUDGET`].
    pub fn with_budget(mut self, budget: Duration) -> HttpRegistry {
        self.budget = budget;
        self
    }

    /// The registries, or `PYPICTL_REGISTRY_URL` when set (an http:// or
    /// https:// URL: anything else is bad input).
    pub fn from_env() -> anyhow::Result<HttpRegistry> {
        match std::env::var(REGISTRY_URL_ENV) {
            Ok(u) if !u.trim().is_empty() => {
                let u = u.trim();
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(crate::exit::bad_input(format!("{REGISTRY_URL_ENV}={u}: must be an http:// or https:// URL")));
                }
                Ok(HttpRegistry::new(Some(u.to_string())))
            }
            _ => Ok(HttpRegistry::new(None)),
        }
    }

    fn manifest_url(&self, image: &ImageRef) -> String {
        match &self.base_url {
            Some(base) => format!("{base}{}", image.manifest_path()),
            None => format!("https://{}{}", image.registry, image.manifest_path()),
        }
    }

    /// A manifest request (HEAD, or GET for the body), with the token once there is one.
    fn manifest_request(&self, head: bool, url: &str, bearer: Option<&str>, image: &ImageRef, deadline: Instant) -> Result<Answer, String> {
        let mut request = if head { self.agent.head(url) } else { self.agent.get(url) };
        request = request.header("Accept", MANIFEST_MEDIA_TYPES.join(", "));
        if let Some(token) = bearer {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        self.send(request, head, image, deadline)
    }

    /// The anonymous token request: `GET <realm>?service=…&scope=…`.
    fn token_request(&self, realm: &str, query: &[(&str, String)], image: &ImageRef, deadline: Instant) -> Result<Answer, String> {
        let mut request = self.agent.get(realm).header("Accept", "application/json");
        for (k, v) in query {
            request = request.query(k, v);
        }
        self.send(request, false, image, deadline)
    }

    /// Sends within the image's deadline; Err when no answer came.
    fn send(&self, mut request: ureq::RequestBuilder<ureq::typestate::WithoutBody>, head: bool, image: &ImageRef, deadline: Instant) -> Result<Answer, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no answer within {} s", self.budget.as_secs_f64()));
        }
        if self.base_url.is_some() {
            request = request.header(REGISTRY_HEADER, image.registry.as_str());
        }
        // A CLI checks one image at a time: blocking here is fine (as in probe.rs).
        let mut response = request.config().timeout_global(Some(left)).build().call().map_err(|e| self.describe(e))?;
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (digest, challenge) = (header("Docker-Content-Digest"), header("WWW-Authenticate"));
        let status = response.status().as_u16();
        let body = if head { String::new() } else { response.body_mut().with_config().limit(MAX_BODY).read_to_string().unwrap_or_default() };
        Ok(Answer { status, digest, challenge, body })
    }

    fn describe(&self, e: ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(_) => format!("no answer within {} s", self.budget.as_secs_f64()),
            ureq::Error::HostNotFound => "the host name does not resolve (DNS)".into(),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => "the connection was refused: nothing listens at that address and port".into(),
            ureq::Error::ConnectionFailed => "no connection could be opened".into(),
            other => other.to_string(),
        }
    }

    fn ask(&self, image: &ImageRef) -> Result<ManifestAnswer, String> {
        let deadline = Instant::now() + self.budget;
        let url = self.manifest_url(image);
        let mut answer = self.manifest_request(true, &url, None, image, deadline)?;
        let mut token = None;
        if answer.status == 401 {
            if let Some(challenge) = answer.challenge.as_deref().and_then(images::parse_challenge) {
                if !(challenge.realm.starts_with("https://") || challenge.realm.starts_with("http://")) {
                    return Ok(ManifestAnswer::Unexpected { status: 401, detail: format!("a bearer challenge whose realm is not a URL: {:?}", challenge.realm) });
                }
                let reply = self.token_request(&challenge.realm, &images::token_query(&challenge, image), image, deadline)?;
                let Some(t) = (reply.status == 200).then(|| images::token_of(&reply.body)).flatten() else {
                    let what = if reply.status == 200 { "no token".to_string() } else { reply.status.to_string() };
                    return Ok(ManifestAnswer::Unexpected { status: 401, detail: format!("the token service {} answered {what}", challenge.realm) });
                };
                answer = self.manifest_request(true, &url, Some(&t), image, deadline)?;
                token = Some(t);
            }
        }
        if matches!(answer.status, 400 | 401 | 403 | 405) {
            // A HEAD has no body: the GET's says why (and a registry
            // without HEAD answers the GET).
            if let Ok(full) = self.manifest_request(false, &url, token.as_deref(), image, deadline) {
                return Ok(images::classify(full.status, full.digest.as_deref(), &full.body));
            }
        }
        Ok(images::classify(answer.status, answer.digest.as_deref(), &answer.body))
    }
}

impl Registry for HttpRegistry {
    async fn manifest(&self, image: &ImageRef) -> Result<ManifestAnswer, String> {
        self.ask(image)
    }
}
