//! Helpers shared by the CLI's integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn pypictl() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("pypictl").expect("the pypictl binary is built");
    // Tests never reach AWS: no credentials, no endpoints from the environment.
    for var in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CI"] {
        cmd.env_remove(var);
    }
    cmd
}

pub fn example(name: &str) -> PathBuf {
    repo_root().join("fixtures/examples").join(format!("{name}.toml"))
}

pub fn example_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("fixtures/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The pinned Python tools (scripts/tools.sh). Missing tools fail the test
/// loudly: a skipped check is not a passing one.
pub fn tools() -> PathBuf {
    let dir = std::env::var_os("PYPICTL_TOOLS").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".tools"));
    assert!(
        dir.join("lint/bin/cfn-lint").exists() && dir.join("pypi/bin/pypi-server").exists(),
        "the pinned test tools are not installed in {}: run `bash scripts/test.sh` (or `bash scripts/tools.sh` first)",
        dir.display()
    );
    dir
}

pub fn tool(set: &str, name: &str) -> PathBuf {
    let path = tools().join(set).join("bin").join(name);
    assert!(path.exists(), "{} is missing: run `bash scripts/tools.sh`", path.display());
    path
}

/// Synthesizes an example into `dir`.
pub fn synth(example_name: &str, dir: &Path) {
    pypictl().args(["synth", "-c"]).arg(example(example_name)).arg("-o").arg(dir).assert().success();
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}
