//! The proxy sidecar: nginx in front of pypiserver in the same ECS task. The
//! task definition is built from this, and the contract test starts a local
//! nginx from the very same entry point, command and environment.
//!
//! Why: pypiserver pays two costs on every request, uncached — the directory
//! scan of simple-dir (linear in files, plus a digest of every listed file)
//! and the password-hash check — and a burst queues behind them (the
//! reference: P95 14 s at 510 concurrent). cached-dir would be fast but is
//! inconsistent across workers and replicas. The proxy keeps pypiserver
//! consistent (simple-dir, no fallback) and takes the bulk of the traffic:
//! - it checks the credentials itself, against a salted SHA-1 (`{SSHA}`) of
//!   the generated password, computed at container start from the injected
//!   secret (see docs/architecture.md, "Credentials and the hashing choice": sound for a random 32+ character
//!   password, and microseconds per request);
//! - `/packages/<file>` is served straight from the shared package directory
//!   (read-only mount): uploaded files are immutable;
//! - `/simple/` pages are the page indexer's while its lease holds
//!   (`crate::indexer`); otherwise pypiserver's answers (pages, 404s,
//!   redirects), cached for 2 s, one request per page refreshing it
//!   (`proxy_cache_lock`, stale served while `updating`), so an upload
//!   through any replica is listed by every replica within that TTL plus one
//!   pypiserver request;
//! - everything else (uploads, the `/` page) goes to pypiserver, request
//!   bodies streamed, not buffered;
//! - `/health` (no credentials, for the ALB) is pypiserver's, cached for 2 s,
//!   so it is answered at once during a burst.
//!
//! The start script and nginx's configuration are files beside this one
//! (`proxy/start.sh`, `proxy/nginx.conf`), carried in the container's
//! command; the configuration's `${NAME}` placeholders are filled from the
//! environment at container start.
//!
//! Facts about the image (the official nginx image, Debian bookworm based)
//! the start script relies on: `/bin/sh` (dash), coreutils (`head`,
//! `sha1sum`, `base64`, `cut`, `tr`, `id`, `printenv`), `grep`, `sed` (both
//! essential Debian packages), `curl` (health check). Its own entry point
//! (`/docker-entrypoint.sh`, whose `20-envsubst-on-templates.sh` fills
//! `/etc/nginx/templates/*.template`) is not used: the configuration is not
//! a file in the image, and the htpasswd must be written before nginx
//! starts. nginx runs as a non-root user with the root file system
//! read-only, so its configuration, htpasswd, pid, temp files and cache live
//! in a tmpfs at [`RUN_DIR`].

use crate::config::Config;

/// Pinned official image, from ECR Public so pulls are not rate limited.
///
/// Where the tag's existence was checked: nginx publishes to ECR Public with
/// `sync-awsecr.sh` in github.com/nginx/docker-nginx (read at commit
/// 025c52f4168ed96e503e165741b0ba39ca80bd76). It pushes the full version
/// (`1.28.0`, the Debian variant: the start script's tools), and aliases
/// `1.28`, `stable`, `1.28-bookworm`, `stable-bookworm`; never
/// `<full version>-<suite>` (its alias loops skip the first element), so
/// `1.28.0-bookworm` does not exist there. No digest is pinned: ECR Public
/// cannot be reached from where pypictl is built to establish one; `deploy`
/// and `doctor` check before every deploy that the tag resolves.
pub const IMAGE: &str = "public.ecr.aws/nginx/nginx:1.28.0";
pub const CONTAINER_NAME: &str = "proxy";
/// The port the load balancer's targets are: the proxy's.
pub const PROXY_PORT: u32 = 8000;
/// Scratch tmpfs: configuration, htpasswd, pid, temp files, page cache.
pub const RUN_DIR: &str = "/tmp";
pub const RUN_MIB: u32 = 64;
/// Hard memory limit and soft reservation of the proxy container (MiB).
/// The reservation is carved out of the task's sized reservation, so the
/// sizing formulas still describe the whole task; see `proxy_share`.
pub const PROXY_MEMORY_MIB: u32 = 128;
pub const PROXY_MEMORY_RESERVATION_MIB: u32 = 32;
/// CPU units of the proxy, carved out of the task's sized CPU.
pub const PROXY_CPU_UNITS: u32 = 64;
/// The upstream as the proxy reaches it through the task's container link.
pub fn upstream() -> String {
    format!("{}:{}", crate::pypiserver::CONTAINER_NAME, crate::pypiserver::CONTAINER_PORT)
}

/// How the task's sized CPU units and memory reservation are shared:
/// (pypiserver, proxy). The proxy takes a fixed small share (at most half).
pub fn proxy_share(total: u32, proxy: u32) -> (u32, u32) {
    let p = proxy.min(total / 2);
    (total - p, p)
}

/// The start script (`proxy/start.sh`): writes the `{SSHA}` htpasswd from
/// the injected credentials, drops the password from the environment, writes
/// [`NGINX_CONF`] (its first argument) with its placeholders filled from the
/// environment, execs nginx in the foreground.
///
/// Everything it reads comes from the environment ([`environment`] and the
/// two secrets), so the contract test runs it unchanged with its own paths
/// and ports. The password only ever goes through shell builtins (`printf`)
/// into a pipe, never into a process's arguments.
pub const START_SCRIPT: &str = include_str!("proxy/start.sh");

/// nginx's configuration (`proxy/nginx.conf`); each `${NAME}` in it is
/// filled by [`START_SCRIPT`] from the environment variable `NAME`.
pub const NGINX_CONF: &str = include_str!("proxy/nginx.conf");

/// The entry point: a POSIX shell running the command's [`START_SCRIPT`].
pub fn entry_point() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

/// The container's command: [`START_SCRIPT`], then its `$0` (the
/// container's name, for error messages) and its argument, [`NGINX_CONF`].
pub fn command() -> Vec<String> {
    vec![START_SCRIPT.into(), CONTAINER_NAME.into(), NGINX_CONF.into()]
}

/// Non-secret environment of the container, in order.
pub fn environment(cfg: &Config) -> Vec<(String, String)> {
    vec![
        ("PROXY_HOST".into(), "0.0.0.0".into()),
        ("PROXY_PORT".into(), PROXY_PORT.to_string()),
        ("UPSTREAM".into(), upstream()),
        ("PACKAGES_DIR".into(), crate::pypiserver::PACKAGES_DIR.into()),
        ("RUN_DIR".into(), RUN_DIR.into()),
        ("PAGES_DIR".into(), crate::indexer::PAGES_DIR.into()),
        // Longer than the load balancer's idle timeout, so the ALB, never the
        // target, closes an idle connection (no 502 on a reused connection).
        ("KEEPALIVE_SECONDS".into(), (cfg.load_balancer.idle_timeout_seconds + 5).to_string()),
    ]
}

/// The container health check: the proxy answers `/health` (pypiserver's,
/// from its short cache).
pub fn health_check_command() -> Vec<String> {
    vec!["CMD-SHELL".into(), "curl -fsS -o /dev/null --max-time 10 \"http://127.0.0.1:${PROXY_PORT}/health\" || exit 1".into()]
}
