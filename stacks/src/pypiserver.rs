//! The container contract: how the pypiserver image is started. The task
//! definition is built from this, and the contract test starts a local
//! pypiserver from the very same entry point, command and environment.
//!
//! The container runs our own program, [`PROGRAM`] (`pypiserver/serve.py`),
//! instead of `pypi-server run`: pypiserver 2.4.2's own app (`simple-dir`
//! backend, no fallback unless configured) under gunicorn exactly as
//! `pypi-server run --server gunicorn` runs it, with what pypi-server cannot
//! do:
//! - two credentials, read (list, download) and publish (also upload), each
//!   accepting two passwords during a rotation (htpasswd holds one per user);
//! - immutable files: an upload is written under [`INCOMING`] and hard-linked
//!   to its name, an existing name refused (409) atomically across replicas;
//!   `remove_pkg` refused (405) unless `credentials.publish_can_delete`;
//! - every temporary file (bottle spools request bodies and form parts to
//!   `tempfile`) in [`INCOMING`] on the package volume, never in the 32 MiB
//!   scratch tmpfs;
//! - `/health` answers 200 only while an upload could be written there.
//!
//! Facts about the image that shape it: its Python has pypiserver and
//! gunicorn; its `gunicorn.conf.py` sets one gevent worker, so the worker
//! count and class go through `GUNICORN_CMD_ARGS`, which overrides it.

use crate::components::credentials::Role;
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
/// gunicorn's worker heartbeat files; nothing else (see [`INCOMING`]).
pub const SCRATCH_MIB: u32 = 32;
/// The upload scratch directory, inside [`PACKAGES_DIR`] (so on EFS in the
/// task, on the same mount as the packages, which a hard link needs):
/// pypiserver's temporary files. A dot name, so neither pypiserver's
/// listing, the indexer nor the proxy's `/packages/` shows it. (The proxy
/// buffers request bodies elsewhere: `crate::proxy::UPLOAD_BUFFER_DIR`.)
pub const INCOMING: &str = ".incoming";
/// Where what the pages say about each file is recorded, inside
/// [`PACKAGES_DIR`] (a dot name: never listed): `<file>.sha256` holding
/// `<size> <sha256 hex> <METADATA's sha256 hex or -> <Requires-Python
/// percent-encoded or ->`, and for a wheel `<file>.metadata`, its METADATA
/// (PEP 658; the proxy serves it at the wheel's URL + `.metadata`). Written
/// by pypiserver when it stores an upload (and for files it finds without
/// one), read by every task's page indexer: a file is hashed and opened once
/// for the whole service instead of once per task start.
pub const DIGESTS: &str = ".digests";
/// The change log, inside [`PACKAGES_DIR`] (a dot name: never listed): one
/// line per stored or removed file (`+ <file>` / `- <file>`, the name
/// percent-encoded), appended by pypiserver under an exclusive lock once the
/// file and its record are in place. Every task's indexer reads what was
/// appended since its last look, once a second: how an upload through one
/// instance reaches the pages of every other within seconds, although NFS
/// lets an instance cache a directory's listing for up to a minute (see
/// `crate::indexer::WALK_SECONDS`).
pub const CHANGES: &str = ".changes.log";
/// What a request body may carry beyond the largest file (MB): the
/// multipart framing and the form's metadata fields (the long description
/// above all, a README of a few hundred KB at most in practice), and a
/// signature or attestation beside the file.
pub const METADATA_ALLOWANCE_MB: u32 = 8;

pub fn image(cfg: &Config) -> String {
    format!("{IMAGE_REPOSITORY}:{}", cfg.service.image_tag)
}

/// The PyPI release of pypiserver that an image tag runs (`v2.4.2` → `2.4.2`).
pub fn package_version(image_tag: &str) -> Option<&str> {
    let v = image_tag.strip_prefix('v').unwrap_or(image_tag);
    v.chars().next().filter(char::is_ascii_digit).map(|_| v)
}

/// The program (Python 3, run by the image's interpreter), carried in the
/// container's command. It reads the two secrets named by its arguments
/// (`<role>=<variable>`), keeps salted SHA-256 digests of the passwords and
/// re-executes itself without the secrets in its environment. A salted fast
/// hash is sound for generated random passwords (see docs/architecture.md,
/// "Credentials and the hashing choice") and costs microseconds per request.
pub const PROGRAM: &str = include_str!("pypiserver/serve.py");

/// The entry point: the image's Python running the command's [`PROGRAM`]
/// (no shell needed in the image).
pub fn entry_point() -> Vec<String> {
    vec!["python".into(), "-u".into(), "-c".into()]
}

/// The container's command: [`PROGRAM`], then one `<role>=<variable>` per
/// credential, the variable ECS injects that role's secret in.
pub fn command(_cfg: &Config) -> Vec<String> {
    std::iter::once(PROGRAM.to_string()).chain(credential_args()).collect()
}

/// `<role>=<variable>` for each role: how the proxy's start script and
/// [`PROGRAM`] learn where the secrets are.
pub fn credential_args() -> impl Iterator<Item = String> {
    Role::ALL.into_iter().map(|r| format!("{}={}", r.as_str(), r.env_var()))
}

/// The largest request body an upload may be (MB): the largest file plus
/// [`METADATA_ALLOWANCE_MB`]. The proxy's `client_max_body_size`.
pub fn max_body_mb(max_upload_mb: u32) -> u32 {
    max_upload_mb + METADATA_ALLOWANCE_MB
}

/// gunicorn's `--timeout` for a sync worker: it must cover an upload from
/// the proxy handing over the (already buffered) body to the stored file,
/// during which the worker sends no heartbeat. The file crosses the package
/// volume about five times (bottle spools the body, the form parser copies
/// the part, the store copies it once more and reads each back), so it
/// allows 60 s for any request plus half a second per MB of the largest
/// file: the whole pipeline at 2 MB/s, well below EFS's per-client rates.
/// 110 s at the default 100 MB, 572 s at `MAX_UPLOAD_MB_LIMIT`.
pub fn worker_timeout_seconds(max_upload_mb: u32) -> u32 {
    60 + max_upload_mb.div_ceil(2)
}

/// How long storing the largest upload takes once the proxy has all of it,
/// as pypictl plans for it: the load balancer (and CloudFront) wait that
/// long for the answer with no byte moving on the client's connection. The
/// same five passes over the package volume at an effective 10 MB/s (EFS
/// gives a client well above 50 MB/s), plus 10 s: 20 s at the default
/// 100 MB, 113 s at `MAX_UPLOAD_MB_LIMIT`. An answer later than the load
/// balancer's idle timeout is a 504 for an upload that is stored anyway,
/// whose retry is then refused with 409 (files are immutable).
pub fn upload_store_seconds(max_upload_mb: u32) -> u32 {
    10 + max_upload_mb.div_ceil(10)
}

/// Non-secret environment of the container, in order.
pub fn environment(cfg: &Config, gunicorn_workers: u32) -> Vec<(String, String)> {
    let max_upload_mb = cfg.service.max_upload_mb;
    vec![
        ("PYPISERVER_HOST".into(), "0.0.0.0".into()),
        ("PYPISERVER_PORT".into(), CONTAINER_PORT.to_string()),
        ("PACKAGES_DIR".into(), PACKAGES_DIR.into()),
        ("INCOMING".into(), INCOMING.into()),
        ("DIGESTS".into(), DIGESTS.into()),
        ("CHANGES".into(), CHANGES.into()),
        ("MAX_UPLOAD_MB".into(), max_upload_mb.to_string()),
        ("MAX_BODY_MB".into(), max_body_mb(max_upload_mb).to_string()),
        ("ALLOW_DELETE".into(), cfg.credentials.publish_can_delete.to_string()),
        // A missing name is never redirected to pypi.org unless configured.
        ("DISABLE_FALLBACK".into(), (!cfg.service.allow_public_fallback).to_string()),
        // The root file system is read-only.
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        // Sync workers queue fairly under bursts with simple-dir; gevent
        // workers give long tails and connection resets. The proxy buffers
        // request bodies, so a slow client never holds a sync worker.
        (
            "GUNICORN_CMD_ARGS".into(),
            format!(
                "--workers {gunicorn_workers} --worker-class sync --timeout {} --graceful-timeout 30",
                worker_timeout_seconds(max_upload_mb)
            ),
        ),
    ]
}

/// The container health check: `/health` answers without credentials, 200
/// only while an upload could be written.
pub fn health_check_command() -> Vec<String> {
    vec![
        "CMD".into(),
        "python".into(),
        "-c".into(),
        "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PYPISERVER_PORT'] + '/health', timeout=10)".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_MAX_UPLOAD_MB, MAX_UPLOAD_MB_LIMIT};

    #[test]
    fn the_worker_timeout_covers_the_largest_upload_and_stale_files_are_older() {
        assert_eq!(worker_timeout_seconds(1), 61);
        assert_eq!(worker_timeout_seconds(DEFAULT_MAX_UPLOAD_MB), 110);
        assert_eq!(worker_timeout_seconds(MAX_UPLOAD_MB_LIMIT), 572);
        // The program deletes temporary files older than this: no worker
        // can still be writing them.
        let stale: u32 = PROGRAM.lines().find_map(|l| l.strip_prefix("STALE_SECONDS = ")).unwrap().parse().unwrap();
        assert!(stale > 2 * worker_timeout_seconds(MAX_UPLOAD_MB_LIMIT));
    }

    #[test]
    fn the_command_names_each_secret_and_the_scratch_directory_is_hidden() {
        let cfg = Config::from_toml(include_str!("../../fixtures/required-keys.toml")).unwrap();
        let command = command(&cfg);
        assert_eq!(command[1..], ["read=PYPI_READ_CREDENTIALS", "publish=PYPI_PUBLISH_CREDENTIALS"]);
        assert!(INCOMING.starts_with('.'), "dot paths are not listed");
        assert!(DIGESTS.starts_with('.') && CHANGES.starts_with('.'), "dot paths are not listed");
        let env = environment(&cfg, 4);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("ALLOW_DELETE"), Some("false"));
        assert_eq!(get("DISABLE_FALLBACK"), Some("true"));
        assert_eq!((get("MAX_UPLOAD_MB"), get("MAX_BODY_MB")), (Some("100"), Some("108")));
        assert_eq!(get("GUNICORN_CMD_ARGS"), Some("--workers 4 --worker-class sync --timeout 110 --graceful-timeout 30"));
    }
}
