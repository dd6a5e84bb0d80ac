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
/// How often the indexer reads the change log (`crate::pypiserver::CHANGES`):
/// an upload, through any instance, is on this task's pages within about
/// this long plus the time to write a page.
pub const INTERVAL_SECONDS: u32 = 1;
/// How often it walks the whole package directory, for what the change log
/// does not say (files copied in other than by an upload, the first
/// listing): a file found that way is listed after two walks saw it
/// unchanged (it may be half-written), the second one [`INTERVAL_SECONDS`]
/// after the first. Not once a second: a walk costs NFS metadata
/// operations per file, paid for in EFS I/O by every task. And a walk could
/// not be fresher anyway: NFS lets each instance cache a directory's
/// attributes, hence its listing, for `acdirmin`–`acdirmax` (30–60 s by
/// default, nfs(5)); the change log is read fresh (close-to-open), so
/// uploads do not wait for it.
pub const WALK_SECONDS: u32 = 60;
/// How long a change the log reported overrides what a walk lists: longer
/// than NFS may keep a directory listing cached (acdirmax, 60 s).
pub const LOGGED_CHANGE_SECONDS: u32 = 180;
/// How long published pages stay served after the indexer's last completed
/// look at the change log. Static pages are at most INTERVAL + LEASE behind
/// the log.
pub const LEASE_SECONDS: u32 = 3;
/// The sizing guide's default of `service.expected_projects`.
pub const DEFAULT_EXPECTED_PROJECTS: u32 = 5_000;
/// The most `service.expected_projects` may be (the pages volume and the
/// indexer's memory grow with it: 2 GiB at this bound).
pub const MAX_EXPECTED_PROJECTS: u32 = 200_000;
/// Files per project the sizing plans for: a few versions, a wheel and an
/// sdist each (50,000 projects, 200,000 files).
pub const FILES_PER_PROJECT: u32 = 4;
/// Pages volume per project: its HTML and JSON pages take a 4 KiB tmpfs page
/// each (a page holds about 10 files' links), plus its lines in the root
/// index pages (≈ 100 bytes, twice while the root is replaced): 8.2 KiB,
/// planned as 10.
pub const PAGES_KIB_PER_PROJECT: u32 = 10;
/// The indexer's Python process: the interpreter with pypiserver's modules,
/// plus what it keeps per file (its path, state and record; at its peak,
/// while the first two walks compare every file, `scripts/perf/index_scale.py`
/// measured 220 MiB at 200,000 files: about 1 KiB per file).
pub const PROCESS_BASE_MIB: u32 = 48;
pub const PROCESS_KIB_PER_FILE: u32 = 1;

/// The pages volume and the indexer's memory for an expected project count.
/// tmpfs pages are charged to the memory cgroup of the container that
/// writes them (Linux kernel documentation, "Control Group v2", memory:
/// shmem/tmpfs pages are charged to the cgroup that first touches them), so
/// the indexer's hard limit holds its process *and* its pages; they cannot
/// be reclaimed (no swap), so nearly all of it is reserved
/// ([`IndexSizing::reservation_mib`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IndexSizing {
    pub expected_projects: u32,
    pub expected_files: u64,
    /// The pages volume (tmpfs size).
    pub pages_mib: u32,
    /// The indexer's process (planned).
    pub process_mib: u32,
    /// The indexer's hard limit: process + pages.
    pub memory_mib: u32,
}

/// What the hard limit keeps above the reservation: ECS refuses a container
/// whose `memory` is not greater than its `memoryReservation` ("If you
/// specify both, memory must be greater than memoryReservation", Amazon ECS
/// API reference, ContainerDefinition).
pub const LIMIT_HEADROOM_MIB: u32 = 16;

impl IndexSizing {
    /// The indexer's memory reservation: its hard limit less
    /// [`LIMIT_HEADROOM_MIB`] (the process is planned generously).
    pub fn reservation_mib(&self) -> u32 {
        self.memory_mib - LIMIT_HEADROOM_MIB
    }
}

/// KiB → MiB, rounded up to a multiple of 16.
fn mib_16(kib: u64) -> u32 {
    u32::try_from(kib.div_ceil(1024).div_ceil(16) * 16).expect("bounded by MAX_EXPECTED_PROJECTS")
}

pub fn sizing(expected_projects: u32) -> IndexSizing {
    let projects = u64::from(expected_projects.min(MAX_EXPECTED_PROJECTS));
    let files = projects * u64::from(FILES_PER_PROJECT);
    let pages_mib = mib_16(projects * u64::from(PAGES_KIB_PER_PROJECT)).max(16);
    let process_mib = mib_16(u64::from(PROCESS_BASE_MIB) * 1024 + files * u64::from(PROCESS_KIB_PER_FILE));
    IndexSizing { expected_projects, expected_files: files, pages_mib, process_mib, memory_mib: pages_mib + process_mib }
}
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
        ("CHANGES".into(), crate::pypiserver::CHANGES.into()),
        ("INDEX_INTERVAL_SECONDS".into(), INTERVAL_SECONDS.to_string()),
        ("INDEX_WALK_SECONDS".into(), WALK_SECONDS.to_string()),
        ("INDEX_LOGGED_CHANGE_SECONDS".into(), LOGGED_CHANGE_SECONDS.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizing guide's figures (docs/sizing.md, "The page indexer").
    #[test]
    fn pages_and_memory_grow_with_the_projects() {
        let s = sizing(DEFAULT_EXPECTED_PROJECTS);
        assert_eq!((s.expected_files, s.pages_mib, s.process_mib, s.memory_mib), (20_000, 64, 80, 144));
        let s = sizing(10_000);
        assert_eq!((s.pages_mib, s.process_mib, s.memory_mib), (112, 96, 208));
        let s = sizing(50_000);
        assert_eq!((s.expected_files, s.pages_mib, s.process_mib, s.memory_mib), (200_000, 496, 256, 752));
        assert_eq!(sizing(1).pages_mib, 16, "at least 16 MiB");
        assert!(sizing(1).reservation_mib() < sizing(1).memory_mib);
        let s = sizing(MAX_EXPECTED_PROJECTS);
        assert!(s.memory_mib < 4096, "{s:?}");
    }
}
