//! The README is the lobby: its Quick start is exactly the two commands, it
//! stays short, and the pointers into it still lead somewhere. The commented
//! example configuration it used to hold now lives in docs/configuration.md:
//! it is valid and its defaults are pypictl's defaults.

use crate::common;

fn read(path: &str) -> String {
    std::fs::read_to_string(common::repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn configuration_example() -> String {
    let doc = read("docs/configuration.md");
    let after = doc.split("<!-- example-config -->").nth(1).expect("docs/configuration.md marks its example configuration");
    let start = after.find("```toml\n").expect("a toml block follows the marker") + "```toml\n".len();
    let end = after[start..].find("```").unwrap();
    after[start..start + end].to_string()
}

#[test]
fn the_readme_configuration_example_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pypictl.toml");
    std::fs::write(&path, configuration_example()).unwrap();
    common::pypictl().args(["synth", "-c"]).arg(&path).arg("-o").arg(dir.path().join("out")).assert().success();
}

#[test]
fn the_readme_configuration_example_states_the_real_defaults() {
    use pypictl_stacks::Config;
    let documented = Config::from_toml(&configuration_example()).unwrap();
    // The same file with only the required keys parses to the same configuration.
    let required = std::fs::read_to_string(common::repo_root().join("fixtures/required-keys.toml")).unwrap();
    assert_eq!(documented, Config::from_toml(&required).unwrap());
}

/// The Quick start is the two commands, verbatim: the main job against the
/// local emulator, and every test (what CI runs).
#[test]
fn the_readme_quick_start_is_the_two_commands() {
    let readme = read("README.md");
    let quick = readme.split("\n## Quick start\n").nth(1).expect("the README has a Quick start");
    let quick = &quick[..quick.find("\n## ").unwrap_or(quick.len())];
    let start = quick.find("```sh\n").expect("a sh block in the Quick start") + "```sh\n".len();
    let end = quick[start..].find("```").unwrap();
    let commands: Vec<&str> = quick[start..start + end].lines().collect();
    assert_eq!(
        commands,
        [
            "bash scripts/demo.sh     # the main job: deploy the stress-tested \"heavy\" example to a local AWS emulator",
            "bash scripts/test.sh     # every test (installs its pinned tools into .tools/ first)",
        ]
    );
    for script in ["scripts/demo.sh", "scripts/test.sh"] {
        assert!(common::repo_root().join(script).is_file(), "{script}");
    }
    assert!(read(".ci/run").lines().any(|l| l.trim() == "exec bash scripts/test.sh"), ".ci/run runs the README's test command");
}

#[test]
fn the_readme_is_a_lobby() {
    let lines = read("README.md").lines().count();
    assert!(lines <= 300, "the README has {lines} lines: the reference belongs in docs/");
}

/// The commented pypictl.toml the wizard writes points at the README's
/// "Configuration" section: that section exists and leads to the reference.
#[test]
fn the_readme_sections_that_files_point_to_exist() {
    let readme = read("README.md");
    for entry in std::fs::read_dir(common::repo_root().join("fixtures/init")).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for pointer in text.split("README's \"").skip(1) {
            let title = &pointer[..pointer.find('"').unwrap()];
            let section = readme.split(&format!("\n## {title}\n")).nth(1);
            let section = section.unwrap_or_else(|| panic!("{} points to the README's {title:?} section, which is gone", entry.path().display()));
            let section = &section[..section.find("\n## ").unwrap_or(section.len())];
            assert!(section.contains("](docs/"), "the README's {title:?} section leads nowhere: {section}");
        }
    }
}
