//! Golden files: every example configuration's synthesized output is kept in
//! fixtures/golden/<example>/. A change in output is a reviewed diff:
//! regenerate with `PYPICTL_UPDATE_GOLDEN=1 cargo test -p pypictl-stacks --test golden`
//! and read the diff before committing it.

mod common;

use std::collections::BTreeSet;

use pypictl_stacks::app::synthesize;

#[test]
fn every_example_matches_its_golden_files() {
    let update = std::env::var_os("PYPICTL_UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, text) in common::examples() {
        let assembly = synthesize(&common::deployment(&text)).unwrap();
        let dir = common::repo_root().join("fixtures/golden").join(&name);
        if update {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
        }
        let mut expected_files = BTreeSet::new();
        for (file, body) in assembly.files() {
            expected_files.insert(file.clone());
            let path = dir.join(&file);
            if update {
                std::fs::write(&path, &body).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(golden) if golden == body => {}
                Ok(golden) => {
                    let diff = similar::TextDiff::from_lines(&golden, &body);
                    failures.push(format!(
                        "{name}/{file} differs from its golden file:\n{}",
                        diff.unified_diff().context_radius(3).header("golden", "synthesized")
                    ));
                }
                Err(e) => failures.push(format!("{name}/{file}: no golden file ({e})")),
            }
        }
        let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        for stale in on_disk.difference(&expected_files) {
            failures.push(format!("{name}/{stale}: golden file no longer synthesized"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended: PYPICTL_UPDATE_GOLDEN=1 cargo test -p pypictl-stacks --test golden, then review the diff.",
        failures.join("\n")
    );
}

#[test]
fn synthesis_is_deterministic() {
    for (_, text) in common::examples() {
        let d = common::deployment(&text);
        let a = synthesize(&d).unwrap().files();
        let b = synthesize(&d).unwrap().files();
        assert_eq!(a, b);
    }
}
