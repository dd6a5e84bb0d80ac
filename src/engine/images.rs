//! The container images of the task definition exist in their registries.
//!
//! A tag that does not exist makes every ECS task fail with
//! CannotPullContainerError, the deployment circuit breaker trips and the
//! deploy fails after a quarter of an hour; a HEAD of the image's manifest
//! (Docker Registry HTTP API v2, the OCI distribution spec) says so in a
//! second. This module holds the pure parts — image references, the bearer
//! challenge, the registries' answers — and the check `deploy` and `doctor`
//! run through the [`Registry`] trait.
//!
//! A manifest that is not there (404, or `MANIFEST_UNKNOWN` /
//! `NAME_UNKNOWN`) is a problem; a registry that does not answer, or answers
//! anything else, only a warning: it cannot tell, and ECS may still pull.

use std::collections::BTreeSet;
use std::fmt;

use pypictl_stacks::app::{synthesize, Assembly};
use pypictl_stacks::{Config, Deployment};
use serde_json::Value;

use super::cloud::Registry;
use super::prereq::Problem;

/// Docker Hub's registry: images named without a registry host live there.
pub const DOCKER_HUB: &str = "registry-1.docker.io";

/// What a manifest request accepts: an OCI image index, an OCI manifest, a
/// Docker manifest list and a Docker image manifest (schema 2). A tag of a
/// multi-architecture image resolves to an index or a list.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// A tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reference {
    Tag(String),
    /// `sha256:<64 hex>` (or another algorithm).
    Digest(String),
}

impl Reference {
    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(t) | Reference::Digest(t) => t,
        }
    }
}

/// A parsed image reference, as ECS (and `docker pull`) reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// The registry's host (and port); `registry-1.docker.io` for Docker Hub.
    pub registry: String,
    /// The repository within it: `pypiserver/pypiserver`, `library/nginx`.
    pub repository: String,
    pub reference: Reference,
    /// As written in the task definition.
    pub original: String,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl ImageRef {
    /// Parses `[registry/]repository[:tag][@digest]`. The first path
    /// component is a registry host when it has a `.` or a `:` or is
    /// `localhost`; otherwise the image is on Docker Hub, where a single
    /// component is an official image (`library/`). Without tag or digest
    /// the tag is `latest`; with both, the digest is what is pulled.
    pub fn parse(image: &str) -> Result<ImageRef, String> {
        let bad = |why: &str| format!("{image:?} is not an image reference: {why}");
        if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("empty, or with spaces"));
        }
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => {
                check_digest(digest).map_err(|why| bad(&why))?;
                (name, Some(digest))
            }
            None => (image, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => (first, rest),
            _ => (DOCKER_HUB, name),
        };
        if registry.is_empty() || !registry.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)) {
            return Err(bad("the registry host is not a host name"));
        }
        // The tag follows the last `:` of the last path component.
        let last = path.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match path[last..].rfind(':') {
            Some(i) => (&path[..last + i], Some(&path[last + i + 1..])),
            None => (path, None),
        };
        for component in repository.split('/') {
            if !is_path_component(component) {
                return Err(bad(&format!("{component:?} is not a repository path component (lowercase letters and digits, separated by '.', '_', '__' or dashes)")));
            }
        }
        if let Some(t) = tag {
            if !is_tag(t) {
                return Err(bad(&format!("{t:?} is not a tag (1-128 of letters, digits, '_', '.' and '-', not starting with '.' or '-')")));
            }
        }
        let hub = ["docker.io", "index.docker.io", DOCKER_HUB].contains(&registry);
        let repository = if hub && !repository.contains('/') { format!("library/{repository}") } else { repository.to_string() };
        let reference = match digest {
            Some(d) => Reference::Digest(d.to_string()),
            None => Reference::Tag(tag.unwrap_or("latest").to_string()),
        };
        Ok(ImageRef { registry: if hub { DOCKER_HUB.to_string() } else { registry.to_string() }, repository, reference, original: image.to_string() })
    }

    /// The manifest's path on the registry: `/v2/<repository>/manifests/<tag or digest>`.
    pub fn manifest_path(&self) -> String {
        format!("/v2/{}/manifests/{}", self.repository, self.reference.as_str())
    }

    /// The same image whatever the spelling (`nginx`, `docker.io/library/nginx:latest`).
    fn key(&self) -> (String, String, Reference) {
        (self.registry.clone(), self.repository.clone(), self.reference.clone())
    }

    /// What the registry lacks, in words: `tag v2.4.3 of pypiserver/pypiserver`.
    fn what(&self) -> String {
        match &self.reference {
            Reference::Tag(t) => format!("tag {t} of {}", self.repository),
            Reference::Digest(d) => format!("manifest {d} of {}", self.repository),
        }
    }
}

fn is_path_component(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else { return false };
    if !alnum(first) || !alnum(last) || !s.chars().all(|c| alnum(c) || "._-".contains(c)) {
        return false;
    }
    // Separators between alphanumeric runs: `.`, `_`, `__`, or dashes.
    s.split(alnum).filter(|sep| !sep.is_empty()).all(|sep| sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-'))
}

fn is_tag(s: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    (1..=128).contains(&s.len()) && s.chars().next().is_some_and(word) && s.chars().all(|c| word(c) || c == '.' || c == '-')
}

fn check_digest(d: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = d.split_once(':') else { return Err(format!("digest {d:?} lacks its algorithm (sha256:...)")) };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
        && algorithm.starts_with(|c: char| c.is_ascii_alphanumeric());
    let hex_ok = match algorithm {
        "sha256" => hex.len() == 64 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "sha512" => hex.len() == 128 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        _ => !hex.is_empty() && hex.chars().all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c)),
    };
    if algorithm_ok && hex_ok {
        Ok(())
    } else {
        Err(format!("{d:?} is not a digest (sha256: and 64 lowercase hex digits)"))
    }
}

/// A `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

/// The Bearer challenge of a `WWW-Authenticate` header (which may carry
/// several challenges, and quoted values with commas); None without one.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let challenges = parse_challenges(header);
    let (_, params) = challenges.into_iter().find(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))?;
    let get = |k: &str| params.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
    let realm = get("realm").filter(|r| !r.is_empty())?;
    Some(Challenge { realm, service: get("service").filter(|s| !s.is_empty()), scope: get("scope").filter(|s| !s.is_empty()) })
}

/// RFC 7235 challenges: `scheme param=value, param="quoted, \"value\"", scheme2 ...`.
fn parse_challenges(header: &str) -> Vec<(String, Vec<(String, String)>)> {
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let token_end = |c: char| c.is_whitespace() || c == ',' || c == '=';
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        let start = i;
        while i < chars.len() && !token_end(chars[i]) {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        if token.is_empty() {
            // A stray `=` (token68 padding): skip it.
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if j < chars.len() && chars[j] == '=' {
            // A parameter of the current challenge.
            i = j + 1;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            let mut value = String::new();
            if i < chars.len() && chars[i] == '"' {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    value.push(chars[i]);
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && chars[i] != ',' && !chars[i].is_whitespace() {
                    value.push(chars[i]);
                    i += 1;
                }
            }
            if let Some((_, params)) = out.last_mut() {
                params.push((token, value));
            }
        } else {
            out.push((token, Vec::new()));
        }
    }
    out
}

/// The token request's query: the challenge's `service` and `scope`; a
/// challenge without a scope gets the pull scope of the image's repository.
pub fn token_query(challenge: &Challenge, image: &ImageRef) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(service) = &challenge.service {
        q.push(("service", service.clone()));
    }
    q.push(("scope", challenge.scope.clone().unwrap_or_else(|| format!("repository:{}:pull", image.repository))));
    q
}

/// The bearer token of a token service's JSON answer: `token`, or OAuth2's
/// `access_token`.
pub fn token_of(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    ["token", "access_token"].iter().find_map(|k| v[k].as_str().filter(|t| !t.is_empty()).map(str::to_string))
}

/// The registry's errors (`{"errors": [{"code", "message"}]}`), if the body
/// has them.
pub fn error_codes(body: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    v["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| Some((e["code"].as_str()?.to_string(), e["message"].as_str().unwrap_or("").to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// What a registry said about a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestAnswer {
    /// 200: it exists; its digest when the registry sent
    /// `Docker-Content-Digest`.
    Found { digest: Option<String> },
    /// 404, or an error `MANIFEST_UNKNOWN` / `NAME_UNKNOWN` (the repository
    /// does not exist): ECS could not pull it.
    Missing { why: String },
    /// Anything else (401 or 403 after the anonymous token, 429, 5xx...):
    /// the registry cannot say.
    Unexpected { status: u16, detail: String },
}

/// Classifies the final answer to a manifest request (after the token
/// dance): its status, `Docker-Content-Digest`, and the body when there is
/// one (a HEAD has none).
pub fn classify(status: u16, digest: Option<&str>, body: &str) -> ManifestAnswer {
    if status == 200 {
        return ManifestAnswer::Found { digest: digest.filter(|d| !d.is_empty()).map(str::to_string) };
    }
    let errors = error_codes(body);
    let said = errors.iter().map(|(code, message)| if message.is_empty() { code.clone() } else { format!("{code}: {message}") }).collect::<Vec<_>>().join("; ");
    if let Some((code, _)) = errors.iter().find(|(code, _)| code == "MANIFEST_UNKNOWN" || code == "NAME_UNKNOWN") {
        return ManifestAnswer::Missing { why: format!("{status} {code}") };
    }
    if status == 404 {
        return ManifestAnswer::Missing { why: if said.is_empty() { "404".to_string() } else { format!("404 {said}") } };
    }
    let detail = if !said.is_empty() {
        said
    } else {
        let text: String = body.trim().chars().take(200).collect();
        text
    };
    ManifestAnswer::Unexpected { status, detail }
}

/// The images of every ECS task definition of the assembly
/// (`ContainerDefinitions[].Image`, today in the `service` nested stack),
/// distinct, in order.
pub fn of_assembly(assembly: &Assembly) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for nested in &assembly.nested {
        let Ok(template) = serde_json::from_str::<Value>(&nested.body) else { continue };
        let Some(resources) = template["Resources"].as_object() else { continue };
        for resource in resources.values().filter(|r| r["Type"] == "AWS::ECS::TaskDefinition") {
            for container in resource["Properties"]["ContainerDefinitions"].as_array().into_iter().flatten() {
                if let Some(image) = container["Image"].as_str() {
                    if !out.iter().any(|i| i == image) {
                        out.push(image.to_string());
                    }
                }
            }
        }
    }
    out
}

/// The images of the configuration's synthesized task definition.
pub fn of_config(config: &Config) -> Result<Vec<String>, String> {
    let d = Deployment::new(config.clone()).map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))?;
    Ok(of_assembly(&synthesize(&d)?))
}

/// What the check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// The images that exist, as written.
    pub found: Vec<String>,
    /// Images that do not exist (or are not image references).
    pub problems: Vec<Problem>,
    /// Images that could not be checked, and why.
    pub warnings: Vec<String>,
}

/// Whether `image` is pypiserver's, whose tag is `service.image_tag`.
fn is_configured(image: &ImageRef) -> bool {
    let pypiserver = ImageRef::parse(&format!("{}:x", pypictl_stacks::pypiserver::IMAGE_REPOSITORY)).expect("pypictl's image reference parses");
    (image.registry.as_str(), image.repository.as_str()) == (pypiserver.registry.as_str(), pypiserver.repository.as_str())
}

fn fix_for(image: &ImageRef) -> String {
    if is_configured(image) {
        format!(
            "set `service.image_tag` in pypictl.toml to a tag that exists (https://hub.docker.com/r/pypiserver/pypiserver/tags; pypictl's default is \"{}\"), or `pypictl upgrade --image-tag <tag>`",
            pypictl_stacks::config::DEFAULT_IMAGE_TAG
        )
    } else {
        format!("{image} is pinned by pypictl, not by pypictl.toml: check {} (or the registry PYPICTL_REGISTRY_URL points at) and report it; pypiserver's tag is `service.image_tag`", image.registry)
    }
}

/// Asks the registry for each distinct image's manifest, one after the
/// other. After a registry gave no answer, its other images are not asked
/// (each would wait as long again).
pub async fn check<R: Registry>(registry: &R, images: &[String]) -> Checked {
    let mut checked = Checked::default();
    let mut seen = BTreeSet::new();
    let mut silent: Vec<(String, String)> = Vec::new();
    for written in images {
        let image = match ImageRef::parse(written) {
            Ok(image) => image,
            Err(why) => {
                checked.problems.push(Problem { what: format!("container image {why}"), fix: "set `service.image_tag` in pypictl.toml to a valid tag of pypiserver/pypiserver".into() });
                continue;
            }
        };
        if !seen.insert(image.key()) {
            continue;
        }
        if let Some((_, earlier)) = silent.iter().find(|(host, _)| *host == image.registry) {
            checked.warnings.push(format!("could not check that container image {image} exists: {} did not answer for {earlier}", image.registry));
            continue;
        }
        match registry.manifest(&image).await {
            Ok(ManifestAnswer::Found { .. }) => checked.found.push(image.original.clone()),
            Ok(ManifestAnswer::Missing { why }) => checked.problems.push(Problem {
                what: format!("container image {image} does not exist: {} has no {} ({why}); every ECS task would fail with CannotPullContainerError", image.registry, image.what()),
                fix: fix_for(&image),
            }),
            Ok(ManifestAnswer::Unexpected { status, detail }) => {
                let hint = match status {
                    401 | 403 => " (anonymous pulls refused: a private repository, or one that does not exist)",
                    429 => " (rate limited)",
                    500..=599 => " (a server error)",
                    _ => "",
                };
                let detail = if detail.is_empty() { String::new() } else { format!(": {detail}") };
                checked.warnings.push(format!("could not check that container image {image} exists: {} answered {status}{hint}{detail}", image.registry));
            }
            Err(reason) => {
                checked.warnings.push(format!("could not check that container image {image} exists: no answer from {}: {reason}", image.registry));
                silent.push((image.registry.clone(), image.original.clone()));
            }
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> (String, String, Reference) {
        let i = ImageRef::parse(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(i.original, s);
        (i.registry, i.repository, i.reference)
    }

    fn tag(t: &str) -> Reference {
        Reference::Tag(t.into())
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_names() {
        assert_eq!(parse("nginx"), (DOCKER_HUB.into(), "library/nginx".into(), tag("latest")));
        assert_eq!(parse("nginx:1.28.0"), (DOCKER_HUB.into(), "library/nginx".into(), tag("1.28.0")));
        assert_eq!(parse("pypiserver/pypiserver:v2.4.2"), (DOCKER_HUB.into(), "pypiserver/pypiserver".into(), tag("v2.4.2")));
        assert_eq!(parse("docker.io/pypiserver/pypiserver:v2.4.2"), (DOCKER_HUB.into(), "pypiserver/pypiserver".into(), tag("v2.4.2")));
        assert_eq!(parse("docker.io/nginx"), (DOCKER_HUB.into(), "library/nginx".into(), tag("latest")));
        assert_eq!(parse("index.docker.io/library/nginx:1"), (DOCKER_HUB.into(), "library/nginx".into(), tag("1")));
        // The same image, however spelled.
        assert_eq!(ImageRef::parse("nginx").unwrap().key(), ImageRef::parse("docker.io/library/nginx:latest").unwrap().key());
    }

    #[test]
    fn registry_hosts() {
        assert_eq!(parse("public.ecr.aws/nginx/nginx:1.28.0"), ("public.ecr.aws".into(), "nginx/nginx".into(), tag("1.28.0")));
        assert_eq!(parse("localhost/app"), ("localhost".into(), "app".into(), tag("latest")));
        // A port is the registry's, not a tag.
        assert_eq!(parse("localhost:5000/team/app"), ("localhost:5000".into(), "team/app".into(), tag("latest")));
        assert_eq!(parse("registry.example.com:5000/team/app:1.0"), ("registry.example.com:5000".into(), "team/app".into(), tag("1.0")));
        assert_eq!(parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b/c:x_y-z.1"), ("123456789012.dkr.ecr.us-east-1.amazonaws.com".into(), "a/b/c".into(), tag("x_y-z.1")));
        // Without a dot, a colon or `localhost`, the first component is a Docker Hub namespace.
        assert_eq!(parse("team/app:2"), (DOCKER_HUB.into(), "team/app".into(), tag("2")));
    }

    #[test]
    fn digests() {
        assert_eq!(parse(&format!("nginx@{DIGEST}")), (DOCKER_HUB.into(), "library/nginx".into(), Reference::Digest(DIGEST.into())));
        // Tag and digest: the digest is pulled.
        assert_eq!(parse(&format!("public.ecr.aws/nginx/nginx:1.28.0@{DIGEST}")).2, Reference::Digest(DIGEST.into()));
        assert_eq!(parse(&format!("localhost:5000/app@{DIGEST}")), ("localhost:5000".into(), "app".into(), Reference::Digest(DIGEST.into())));
        let i = ImageRef::parse(&format!("nginx@{DIGEST}")).unwrap();
        assert_eq!(i.manifest_path(), format!("/v2/library/nginx/manifests/{DIGEST}"));
        for bad in ["nginx@sha256:abc", "nginx@0123", "nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_references() {
        for bad in ["", "Nginx", "nginx:", "nginx:-x", "nginx:.x", "a//b", "/nginx", "nginx/", "a b", "nginx:v1:2", "a..b", "a_-b", "-a", "a-"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} parses");
        }
        assert!(ImageRef::parse(&format!("nginx:{}", "a".repeat(129))).is_err());
        for good in ["a__b", "a--b", "a.b_c-d", "a0/b1"] {
            assert!(ImageRef::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn manifest_paths() {
        assert_eq!(ImageRef::parse("docker.io/pypiserver/pypiserver:v2.4.2").unwrap().manifest_path(), "/v2/pypiserver/pypiserver/manifests/v2.4.2");
        assert_eq!(ImageRef::parse("nginx").unwrap().manifest_path(), "/v2/library/nginx/manifests/latest");
    }

    #[test]
    fn bearer_challenges() {
        let c = parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#).unwrap();
        assert_eq!(c, Challenge { realm: "https://auth.docker.io/token".into(), service: Some("registry.docker.io".into()), scope: Some("repository:library/nginx:pull".into()) });
        // ECR Public's scope is `aws`.
        let c = parse_challenge(r#"Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws""#).unwrap();
        assert_eq!((c.realm.as_str(), c.scope.as_deref()), ("https://public.ecr.aws/token/", Some("aws")));
        // Case, spaces, a quoted comma, an escaped quote, unquoted values, another scheme first.
        let c = parse_challenge(r#"Basic realm="Registry", bearer  REALM = "http://127.0.0.1:9/token" , Service=reg.test, scope="repository:a/b:pull,push", error="say \"no\"""#).unwrap();
        assert_eq!(c, Challenge { realm: "http://127.0.0.1:9/token".into(), service: Some("reg.test".into()), scope: Some("repository:a/b:pull,push".into()) });
        assert_eq!(parse_challenge(r#"Basic realm="Registry""#), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None, "no realm");
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn token_requests_and_answers() {
        let image = ImageRef::parse("pypiserver/pypiserver:v2.4.2").unwrap();
        let c = Challenge { realm: "r".into(), service: Some("registry.docker.io".into()), scope: Some("repository:pypiserver/pypiserver:pull".into()) };
        assert_eq!(token_query(&c, &image), [("service", "registry.docker.io".to_string()), ("scope", "repository:pypiserver/pypiserver:pull".to_string())]);
        let c = Challenge { realm: "r".into(), service: None, scope: None };
        assert_eq!(token_query(&c, &image), [("scope", "repository:pypiserver/pypiserver:pull".to_string())]);

        assert_eq!(token_of(r#"{"token":"abc","access_token":"abc","expires_in":300}"#).as_deref(), Some("abc"));
        assert_eq!(token_of(r#"{"access_token":"xyz"}"#).as_deref(), Some("xyz"));
        assert_eq!(token_of(r#"{"token":""}"#), None);
        assert_eq!(token_of("<html>"), None);
    }

    #[test]
    fn answers() {
        let digest = "sha256:abc";
        assert_eq!(classify(200, Some(digest), ""), ManifestAnswer::Found { digest: Some(digest.into()) });
        assert_eq!(classify(200, None, ""), ManifestAnswer::Found { digest: None });
        assert_eq!(classify(404, None, ""), ManifestAnswer::Missing { why: "404".into() });
        let unknown = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v2.4.3"}}]}"#;
        assert_eq!(classify(404, None, unknown), ManifestAnswer::Missing { why: "404 MANIFEST_UNKNOWN".into() });
        // A registry that says so with another status.
        let name = r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#;
        assert_eq!(classify(401, None, name), ManifestAnswer::Missing { why: "401 NAME_UNKNOWN".into() });
        assert_eq!(classify(403, None, unknown), ManifestAnswer::Missing { why: "403 MANIFEST_UNKNOWN".into() });
        // Refused, rate limited, broken: the registry cannot say.
        let unauthorized = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
        assert_eq!(classify(401, None, unauthorized), ManifestAnswer::Unexpected { status: 401, detail: "UNAUTHORIZED: authentication required".into() });
        assert_eq!(classify(429, None, r#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#), ManifestAnswer::Unexpected { status: 429, detail: "TOOMANYREQUESTS".into() });
        assert_eq!(classify(500, None, "  oops \n"), ManifestAnswer::Unexpected { status: 500, detail: "oops".into() });
        assert_eq!(classify(502, None, ""), ManifestAnswer::Unexpected { status: 502, detail: String::new() });
    }

    #[test]
    fn the_pypiserver_image_is_the_configured_one() {
        assert!(is_configured(&ImageRef::parse("docker.io/pypiserver/pypiserver:v9").unwrap()));
        assert!(is_configured(&ImageRef::parse("pypiserver/pypiserver").unwrap()));
        assert!(!is_configured(&ImageRef::parse("public.ecr.aws/nginx/nginx:1.28.0").unwrap()));
        assert!(fix_for(&ImageRef::parse("pypiserver/pypiserver:v2.4.3").unwrap()).contains("`service.image_tag`"));
    }

    #[test]
    fn the_images_of_the_task_definition() {
        let cfg = Config::from_toml(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/examples/heavy.toml")).unwrap()).unwrap();
        let images = of_config(&cfg).unwrap();
        assert_eq!(images, [format!("{}:{}", pypictl_stacks::pypiserver::IMAGE_REPOSITORY, cfg.service.image_tag), pypictl_stacks::proxy::IMAGE.to_string()]);
    }
}
