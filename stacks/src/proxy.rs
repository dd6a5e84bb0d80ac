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
//!   secret (see the README, "Credentials": sound for a random 32+ character
//!   password, and microseconds per request);
//! - `/packages/<file>` is served straight from the shared package directory
//!   (read-only mount): uploaded files are immutable;
//! - `/simple/` pages (and their 404s and redirects) are cached for
//!   [`SIMPLE_CACHE_SECONDS`], one request per page refreshes it
//!   (`proxy_cache_lock`, stale served while `updating`), so an upload
//!   through any replica is listed by every replica within that TTL plus one
//!   pypiserver request;
//! - everything else (uploads, the `/` page) goes to pypiserver, request
//!   bodies streamed, not buffered;
//! - `/health` (no credentials, for the ALB) is pypiserver's, cached for
//!   [`HEALTH_CACHE_SECONDS`], so it is answered at once during a burst.
//!
//! Facts about the image (the official nginx image, Debian bookworm based)
//! the start script relies on: `/bin/sh` (dash), coreutils (`head`,
//! `sha1sum`, `base64`, `cut`, `tr`, `id`), `curl` (health check); nginx runs as a
//! non-root user with the root file system read-only, so its configuration,
//! htpasswd, pid, temp files and cache live in a tmpfs at [`RUN_DIR`].

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
/// How long a `/simple/` page (or its 404) is served from the cache before
/// one request refreshes it. Bounds cross-replica visibility of an upload.
pub const SIMPLE_CACHE_SECONDS: u32 = 2;
pub const HEALTH_CACHE_SECONDS: u32 = 2;
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

/// The entry point: a POSIX shell running [`start_script`].
pub fn entry_point() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

/// The container's command: write the `{SSHA}` htpasswd from the injected
/// credentials, drop the password from the environment, write nginx's
/// configuration from the environment, exec nginx in the foreground.
///
/// Everything it reads comes from the environment ([`environment`] and the
/// two secrets), so the contract test runs it unchanged with its own paths
/// and ports. The password only ever goes through shell builtins (`printf`)
/// into a pipe, never into a process's arguments.
pub fn start_script() -> String {
    let user = crate::pypiserver::USERNAME_VAR;
    let pass = crate::pypiserver::PASSWORD_VAR;
    let simple = SIMPLE_CACHE_SECONDS;
    let health = HEALTH_CACHE_SECONDS;
    // pypiserver's /simple/ answers (pages, 404s, redirects), cached briefly.
    let from_pypiserver = format!(
        r#"      proxy_pass http://pypiserver;
      proxy_cache pages;
      proxy_cache_key \$http_host\$request_uri;
      proxy_ignore_headers Cache-Control Expires Set-Cookie;
      proxy_cache_valid 200 301 302 303 404 {simple}s;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10s;
      proxy_cache_use_stale updating;
      proxy_cache_background_update on;
"#
    );
    format!(
        r#"set -eu
umask 077
mkdir -p "$RUN_DIR/cache" "$RUN_DIR/temp"
salt="$(head -c 12 /dev/urandom | base64 | cut -c1-16)"
digest="$(printf '%s%s' "${pass}" "$salt" | sha1sum | cut -c1-40)"
ssha="$({{ while [ -n "$digest" ]; do rest="${{digest#??}}"; printf "\\$(printf %03o "0x${{digest%"$rest"}}")"; digest="$rest"; done; printf '%s' "$salt"; }} | base64 | tr -d '\n')"
printf '%s:{{SSHA}}%s\n' "${user}" "$ssha" > "$RUN_DIR/htpasswd"
unset {pass} digest ssha
# The task runs nginx as the package files' owner (never root); started as
# root elsewhere, the workers keep that user rather than nginx's "nobody".
workers_user=""
[ "$(id -u)" -ne 0 ] || workers_user="user root root;"
cat > "$RUN_DIR/nginx.conf" <<EOF
$workers_user
worker_processes auto;
pid $RUN_DIR/nginx.pid;
events {{ worker_connections 8192; }}
http {{
  default_type application/octet-stream;
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout $KEEPALIVE_SECONDS;
  keepalive_requests 100000;
  client_max_body_size 0;
  client_body_temp_path $RUN_DIR/temp/body;
  proxy_temp_path $RUN_DIR/temp/proxy;
  fastcgi_temp_path $RUN_DIR/temp/fastcgi;
  uwsgi_temp_path $RUN_DIR/temp/uwsgi;
  scgi_temp_path $RUN_DIR/temp/scgi;
  proxy_cache_path $RUN_DIR/cache levels=1:2 keys_zone=pages:4m max_size=16m inactive=10m use_temp_path=off;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host \$http_host;
  proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto \$http_x_forwarded_proto;
  proxy_connect_timeout 5s;
  proxy_read_timeout 120s;
  proxy_send_timeout 120s;
  upstream pypiserver {{ server $UPSTREAM; keepalive 16; }}
  # The current epoch second, for the indexer's lease links.
  map \$msec \$lease_second {{ "~^(?<second>[0-9]+)[.]" \$second; default none; }}
  server {{
    listen $PROXY_HOST:$PROXY_PORT backlog=4096;
    auth_basic "pypiserver";
    auth_basic_user_file $RUN_DIR/htpasswd;
    location = /health {{
      auth_basic off;
      proxy_pass http://pypiserver;
      proxy_cache pages;
      proxy_cache_valid 200 {health}s;
      proxy_cache_lock on;
      proxy_cache_use_stale updating;
      proxy_cache_background_update on;
    }}
    # The indexer's pages while its lease holds (live-<this second>), the
    # root index and normalized project names only; anything else, or a page
    # not there, is pypiserver's answer.
    location = /simple/ {{
      root $PAGES_DIR;
      default_type "text/html; charset=UTF-8";
      add_header X-Pypictl-Page static;
      try_files /live-\$lease_second/simple/index.html @simple;
    }}
    location ~ "^/simple/(?<project>[a-z0-9]+(-[a-z0-9]+)*)/\$" {{
      root $PAGES_DIR;
      default_type "text/html; charset=UTF-8";
      add_header X-Pypictl-Page static;
      try_files /live-\$lease_second/simple/\$project/index.html @simple;
    }}
    location /simple/ {{
{from_pypiserver}    }}
    location @simple {{
{from_pypiserver}    }}
    location = /packages/ {{
      proxy_pass http://pypiserver;
    }}
    location /packages/ {{
      alias $PACKAGES_DIR/;
      location ~ /\. {{ return 404; }}
    }}
    location / {{
      proxy_pass http://pypiserver;
      proxy_request_buffering off;
    }}
  }}
}}
EOF
exec nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e stderr -g 'daemon off;'
"#
    )
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
