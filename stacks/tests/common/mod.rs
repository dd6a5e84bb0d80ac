//! Helpers shared by the core's integration tests: the example
//! configurations in fixtures/examples.

#![allow(dead_code)]

use std::path::PathBuf;

use pypictl_stacks::app::{synthesize, Assembly};
use pypictl_stacks::{Config, Deployment};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// (name, TOML text) of every example configuration, sorted by name.
pub fn examples() -> Vec<(String, String)> {
    let dir = repo_root().join("fixtures/examples");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    assert!(out.len() >= 6, "expected the six example configurations in {}", dir.display());
    out
}

pub fn deployment(text: &str) -> Deployment {
    let cfg = Config::from_toml(text).expect("example parses");
    Deployment::new(cfg).unwrap_or_else(|e| panic!("example is valid: {e:?}"))
}

pub fn example(name: &str) -> Assembly {
    let (_, text) = examples().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no example {name}"));
    synthesize(&deployment(&text)).expect("synthesizes")
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("templates are JSON")
}
