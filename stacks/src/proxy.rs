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
//! - it checks the credentials itself: each accepted `Authorization` header
//!   (both roles' `password` and, during a rotation, `pending_password`) is
//!   an entry of a `map` the start script writes at container start, whose
//!   value is the role; the read credential may list and download, any other
//!   method needs the publish one (403 before the body is read);
//! - `/packages/<file>` is served straight from the shared package directory
//!   (read-only mount): uploaded files are immutable;
//! - `/simple/` pages are the page indexer's while its lease holds
//!   (`crate::indexer`); otherwise pypiserver's answers (pages, 404s,
//!   redirects), cached for 2 s, one request per page refreshing it
//!   (`proxy_cache_lock`, stale served while `updating`), so an upload
//!   through any replica is listed by every replica within that TTL plus one
//!   pypiserver request;
//! - everything else (uploads, the `/` page) goes to pypiserver, request
//!   bodies buffered whole first (in [`UPLOAD_BUFFER_DIR`], on EFS), so a
//!   slow client never holds one of gunicorn's sync workers, and a body cut
//!   off never reaches pypiserver;
//! - `/health` (no credentials, for the ALB) is pypiserver's, cached for 2 s,
//!   so it is answered at once during a burst.
//!
//! The start script and nginx's configuration are files beside this one
//! (`proxy/start.sh`, `proxy/nginx.conf`), carried in the container's
//! command; the configuration's `${NAME}` placeholders are filled from the
//! environment at container start.
//!
//! Facts about the image (the official nginx image, Debian bookworm based)
//! the start script relies on: `/bin/sh` (dash), coreutils (`base64`, `tr`,
//! `id`, `printenv`, `mktemp`), `grep`, `sed` (both essential Debian
//! packages), `curl` (health check). Its own entry point
//! (`/docker-entrypoint.sh`, whose `20-envsubst-on-templates.sh` fills
//! `/etc/nginx/templates/*.template`) is not used: the configuration is not
//! a file in the image, and the credentials map must be written before nginx
//! starts. nginx runs as a non-root user with the root file system
//! read-only, so its configuration, credentials map, pid, temp files and
//! cache live in a tmpfs at [`RUN_DIR`]; request bodies, up to the largest
//! upload, in [`UPLOAD_BUFFER_DIR`].
//!
//! Only features of both nginx 1.22 (the contract test's, Debian bookworm)
//! and 1.28 (the image's) are used: no njs, no third-party module.

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
/// Scratch tmpfs: configuration, credentials map, pid, temp files, page cache.
pub const RUN_DIR: &str = "/tmp";
pub const RUN_MIB: u32 = 64;
/// Where nginx buffers request bodies: in the task, a read-write mount of
/// the file system's upload buffers directory, beside the packages
/// (`components::storage::UPLOAD_BUFFERS_PATH`; EFS: room for the largest
/// uploads, which the tmpfs has not).
pub const UPLOAD_BUFFER_DIR: &str = "/data/upload-buffers";
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

/// The start script (`proxy/start.sh`): writes the credentials map (mode
/// 0600, in [`RUN_DIR`]) from the secrets its arguments name, drops the
/// secrets from the environment, writes [`NGINX_CONF`] (its first argument)
/// with its placeholders filled from the environment, execs nginx in the
/// foreground.
///
/// The map has one entry per accepted (username, password): a case-sensitive
/// anchored regex of the whole `Authorization` header (`Basic
/// base64(user:password)`; nginx lowercases plain string keys, and base64 is
/// case-sensitive), whose value is the role. It holds the credentials
/// encoded, as htpasswd held a hash: readable by nginx's user only, in a
/// tmpfs. The secrets only go through shell builtins (`printf`) into pipes,
/// never into a process's arguments.
///
/// Everything it reads comes from the environment ([`environment`] and the
/// two secrets), so the contract test runs it unchanged with its own paths
/// and ports.
pub const START_SCRIPT: &str = include_str!("proxy/start.sh");

/// nginx's configuration (`proxy/nginx.conf`); each `${NAME}` in it is
/// filled by [`START_SCRIPT`] from the environment variable `NAME`.
pub const NGINX_CONF: &str = include_str!("proxy/nginx.conf");

/// The entry point: a POSIX shell running the command's [`START_SCRIPT`].
pub fn entry_point() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

/// The container's command: [`START_SCRIPT`], then its `$0` (the
/// container's name, for error messages) and its arguments, [`NGINX_CONF`]
/// and one `<role>=<variable>` per credential, the variable ECS injects that
/// role's secret in.
pub fn command() -> Vec<String> {
    [START_SCRIPT.into(), CONTAINER_NAME.into(), NGINX_CONF.into()].into_iter().chain(crate::pypiserver::credential_args()).collect()
}

/// Non-secret environment of the container, in order.
pub fn environment(cfg: &Config) -> Vec<(String, String)> {
    vec![
        ("PROXY_HOST".into(), "0.0.0.0".into()),
        ("PROXY_PORT".into(), PROXY_PORT.to_string()),
        ("UPSTREAM".into(), upstream()),
        ("PACKAGES_DIR".into(), crate::pypiserver::PACKAGES_DIR.into()),
        // Where pypiserver records each wheel's METADATA (PEP 658), under PACKAGES_DIR.
        ("DIGESTS".into(), crate::pypiserver::DIGESTS.into()),
        ("RUN_DIR".into(), RUN_DIR.into()),
        ("PAGES_DIR".into(), crate::indexer::PAGES_DIR.into()),
        // Longer than the load balancer's idle timeout, so the ALB, never the
        // target, closes an idle connection (no 502 on a reused connection).
        ("KEEPALIVE_SECONDS".into(), (cfg.load_balancer.idle_timeout_seconds + 5).to_string()),
        ("UPLOAD_BUFFER_DIR".into(), UPLOAD_BUFFER_DIR.into()),
        // client_max_body_size: the largest file and the form around it.
        ("MAX_BODY_MB".into(), crate::pypiserver::max_body_mb(cfg.service.max_upload_mb).to_string()),
        // How long nginx waits for pypiserver's answer to an upload: longer
        // than a worker may take (gunicorn's timeout), so the answer, or the
        // worker's end, comes from pypiserver.
        ("UPLOAD_TIMEOUT_SECONDS".into(), (crate::pypiserver::worker_timeout_seconds(cfg.service.max_upload_mb) + 10).to_string()),
    ]
}

/// The container health check: the proxy answers `/health` (pypiserver's,
/// from its short cache), and it can buffer an upload (a file can be
/// created in [`UPLOAD_BUFFER_DIR`]).
pub fn health_check_command() -> Vec<String> {
    vec![
        "CMD-SHELL".into(),
        concat!(
            "curl -fsS -o /dev/null --max-time 10 \"http://127.0.0.1:${PROXY_PORT}/health\"",
            " && probe=\"$(mktemp -p \"$UPLOAD_BUFFER_DIR\" proxy-health.XXXXXX)\" && rm -f \"$probe\" || exit 1"
        )
        .into(),
    ]
}
