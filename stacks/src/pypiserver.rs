//! The container contract: how the pypiserver image is started. The task
//! definition is built from this, and the contract test starts a local
//! pypiserver from the very same entry point, command and environment.
//!
//! Facts about the image (pypiserver 2.4.2) that shape it:
//! - any command replaces the image's default `run -p 8080 --server
//!   gunicorn`, so `--server gunicorn` is always passed (without it the
//!   server silently falls back to waitress, one process);
//! - the image's gunicorn.conf.py sets one gevent worker: the worker count and
//!   class go through `GUNICORN_CMD_ARGS`;
//! - `--backend simple-dir` (consistent across workers and replicas) instead
//!   of the default cached-dir;
//! - `--disable-fallback`: a missing name is never redirected to pypi.org.

use crate::config::Config;

pub const IMAGE_REPOSITORY: &str = "docker.io/pypiserver/pypiserver";
/// The container's name in the task, and its host name for the proxy
/// sidecar (a container link): pypiserver publishes no port.
pub const CONTAINER_NAME: &str = "pypiserver";
/// uid/gid of the `pypiserver` user in the image; the EFS access point
/// creates and owns the package directory as this user.
pub const PYPISERVER_UID: u32 = 9898;
pub const PYPISERVER_GID: u32 = 9898;
pub const CONTAINER_PORT: u32 = 8080;
/// Where the packages are mounted in the container.
pub const PACKAGES_DIR: &str = "/data/packages";
/// A writable in-memory scratch mount (the root file system is read-only).
pub const SCRATCH_DIR: &str = "/tmp";
pub const SCRATCH_MIB: u32 = 32;
pub const HTPASSWD_FILE: &str = "/tmp/pypiserver.htpasswd";

/// Environment variables the credentials arrive in (from Secrets Manager).
pub const USERNAME_VAR: &str = "PYPI_USERNAME";
pub const PASSWORD_VAR: &str = "PYPI_PASSWORD";

pub fn image(cfg: &Config) -> String {
    format!("{IMAGE_REPOSITORY}:{}", cfg.service.image_tag)
}

/// The PyPI release of pypiserver that an image tag runs (`v2.4.2` → `2.4.2`).
pub fn package_version(image_tag: &str) -> Option<&str> {
    let v = image_tag.strip_prefix('v').unwrap_or(image_tag);
    v.chars().next().filter(char::is_ascii_digit).map(|_| v)
}

/// The start script (`pypiserver/start.sh`): writes the htpasswd file from
/// the injected credentials, drops the password from the environment and
/// execs `pypi-server run`, its fixed arguments there, the configuration's
/// ([`server_flags`]) as the script's own arguments (`"$@"`). Everything else
/// it reads comes from the environment ([`environment`] and the two
/// secrets), so the contract test runs it unchanged with its own paths and
/// port.
///
/// The password is hashed as `{SHA}`: pypiserver verifies the hash on every
/// request, uncached, and the password is a 40-character random string
/// (~250 bits), so a slow hash buys no security and costs latency (bcrypt
/// cost 12 alone caps a 2-core server under 5 req/s). See docs/architecture.md,
/// "Credentials and the hashing choice".
pub const START_SCRIPT: &str = include_str!("pypiserver/start.sh");

/// The entry point: a POSIX shell running the command's [`START_SCRIPT`].
pub fn entry_point() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

/// The `pypi-server run` flags that follow from the configuration.
pub fn server_flags(cfg: &Config) -> Vec<String> {
    if cfg.service.allow_public_fallback {
        vec![]
    } else {
        vec!["--disable-fallback".into()]
    }
}

/// The container's command: [`START_SCRIPT`], then its `$0` (the
/// container's name, for error messages) and its arguments, [`server_flags`].
pub fn command(cfg: &Config) -> Vec<String> {
    [START_SCRIPT.to_string(), CONTAINER_NAME.to_string()].into_iter().chain(server_flags(cfg)).collect()
}

/// Non-secret environment of the container, in order.
pub fn environment(gunicorn_workers: u32) -> Vec<(String, String)> {
    vec![
        ("PYPISERVER_HOST".into(), "0.0.0.0".into()),
        ("PYPISERVER_PORT".into(), CONTAINER_PORT.to_string()),
        ("PACKAGES_DIR".into(), PACKAGES_DIR.into()),
        ("HTPASSWD_FILE".into(), HTPASSWD_FILE.into()),
        // Sync workers queue fairly under bursts with simple-dir; gevent
        // workers give long tails and connection resets.
        (
            "GUNICORN_CMD_ARGS".into(),
            format!("--workers {gunicorn_workers} --worker-class sync --timeout 60 --graceful-timeout 30"),
        ),
    ]
}

/// The container health check: `/health` answers without credentials.
pub fn health_check_command() -> Vec<String> {
    vec![
        "CMD".into(),
        "python".into(),
        "-c".into(),
        "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PYPISERVER_PORT'] + '/health', timeout=10)".into(),
    ]
}
