//! The page indexer: a third container in the task, beside pypiserver and
//! the proxy, that keeps static PEP 503 pages of the package directory so
//! reads do not pay pypiserver's per-request directory scan. The task
//! definition is built from this, and the contract test starts the same
//! program with the same environment.
//!
//! It runs the pypiserver image's own Python and pypiserver modules
//! (`indexer.py`, carried in the task definition as the command): one walk of
//! the package directory per [`INTERVAL_SECONDS`]; when the listed files
//! changed, its one tree of pages updated in place, page by page, each in
//! PEP 503 HTML and in PEP 691 JSON (pypiserver's files, names and order;
//! the project's own pages, with sha256 hashes, `requires-python` and the
//! PEP 658/714 metadata of each wheel), written into the task's shared
//! pages volume and published. The proxy serves `/simple/` and `/simple/<name>/`
//! from it and falls back to pypiserver (fresh, authoritative) when a page is
//! not there — a project not yet indexed, a missing name (pypiserver's 404),
//! a non-normalized name (pypiserver's redirect) — or when the indexer's
//! lease ran out: pages are published under `live-<epoch second>` links the
//! indexer renews only while its last scan is at most [`LEASE_SECONDS`] old,
//! so a stopped or stuck indexer costs speed, never freshness.
//!
//! Not essential: if it exits, the task keeps serving through pypiserver;
//! ECS restarts it (container restart policy).

/// The program (Python 3, run by the pypiserver image's interpreter).
pub const PROGRAM: &str = include_str!("indexer.py");
pub const CONTAINER_NAME: &str = "indexer";
/// The task volume shared by the indexer (read-write) and the proxy
/// (read-only): a task-scoped Docker volume in memory (tmpfs), owned by the
/// pypiserver uid.
pub const VOLUME_NAME: &str = "pages";
pub const PAGES_DIR: &str = "/pages";
/// One tree of pages: about 8 KiB per project (its HTML and JSON pages; a
/// tmpfs charges a page per file) plus the root index: about 7,500 projects.
pub const PAGES_MIB: u32 = 64;
/// One directory walk per interval; a file is listed after two walks saw it
/// unchanged (a file copied in other than by an upload may be half-written).
pub const INTERVAL_SECONDS: u32 = 1;
/// How long published pages stay served after the indexer's last completed
/// walk. Static pages are at most INTERVAL + LEASE old.
pub const LEASE_SECONDS: u32 = 3;
pub const MEMORY_MIB: u32 = 128;
pub const MEMORY_RESERVATION_MIB: u32 = 32;
pub const CPU_UNITS: u32 = 32;

/// The entry point: the image's Python running [`PROGRAM`].
pub fn entry_point() -> Vec<String> {
    vec!["python".into(), "-u".into(), "-c".into()]
}

/// Non-secret environment of the container, in order. It gets no secrets.
pub fn environment() -> Vec<(String, String)> {
    vec![
        ("PACKAGES_DIR".into(), crate::pypiserver::PACKAGES_DIR.into()),
        ("PAGES_DIR".into(), PAGES_DIR.into()),
        ("DIGESTS".into(), crate::pypiserver::DIGESTS.into()),
        ("INDEX_INTERVAL_SECONDS".into(), INTERVAL_SECONDS.to_string()),
        ("INDEX_LEASE_SECONDS".into(), LEASE_SECONDS.to_string()),
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
    ]
}

/// Healthy while it holds the lease (a page tree is published for now).
pub fn health_check_command() -> Vec<String> {
    vec![
        "CMD".into(),
        "python".into(),
        "-c".into(),
        "import os, time; os.stat(os.path.join(os.environ['PAGES_DIR'], 'live-%d' % time.time()))".into(),
    ]
}
