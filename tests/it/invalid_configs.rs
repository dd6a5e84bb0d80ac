//! Bad configuration is refused before anything happens: exit code 2, a
//! message naming the key, the value and the rule, and nothing written.
//! One file per rule in fixtures/invalid/, its first line `# expect: <key>`.

use crate::common;

use common::pypictl;

#[test]
fn every_invalid_config_exits_2_naming_the_key() {
    let dir = common::repo_root().join("fixtures/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 25, "at least 25 invalid configurations, one per rule");
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let key = text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).unwrap_or_else(|| panic!("{}: first line must be `# expect: <key>`", file.display()));
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("templates");
        for args in [vec!["synth", "-o", target.to_str().unwrap()], vec!["size"]] {
            let output = pypictl().args(&args[..1]).arg("-c").arg(&file).args(&args[1..]).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            let named = stderr.contains(&format!("`{key}`"));
            if output.status.code() != Some(2) || !named {
                failures.push(format!("{} ({}): exit {:?}, expected 2 naming `{key}`:\n{stderr}", file.display(), args[0], output.status.code()));
            }
            assert!(output.stdout.is_empty(), "{}: nothing on stdout for a bad configuration", file.display());
        }
        assert!(!target.exists(), "{}: nothing may be written for a bad configuration", file.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn all_problems_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pypictl.toml");
    let text = std::fs::read_to_string(common::example("heavy")).unwrap()
        .replace("instance_type = \"c6a.xlarge\"", "instance_type = \"c6a.xlarge\"\nroot_volume_size = 8")
        .replace("alarm_emails = [\"ops@example.com\", \"oncall@example.com\"]", "alarm_emails = [\"nope\"]");
    std::fs::write(&path, text).unwrap();
    let out = pypictl().args(["synth", "-c"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 problems"), "{stderr}");
    assert!(stderr.contains("`compute.root_volume_size` = 8: must be at least 30 GiB"), "{stderr}");
    assert!(stderr.contains("`monitoring.alarm_emails[0]` = \"nope\""), "{stderr}");
}

/// A long bad value is quoted up to 200 characters, then an ellipsis: the
/// message stays readable.
#[test]
fn long_values_are_quoted_up_to_200_characters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pypictl.toml");
    // 5006 characters once TOML has read the `\u0085` escape.
    let command = format!("echo {}\\u0085", "y".repeat(5000));
    let text = std::fs::read_to_string(common::example("light")).unwrap().replace("min_size = 2\n", &format!("min_size = 2\nextra_commands = [\"{command}\"]\n"));
    std::fs::write(&path, text).unwrap();
    let out = pypictl().args(["synth", "-c"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let quoted = format!("`compute.extra_commands[0]` = \"echo {}\"… (5006 characters): contains U+0085", "y".repeat(195));
    assert!(stderr.contains(&quoted), "{stderr}");
    assert!(stderr.len() < 1000, "{stderr}");
}

#[test]
fn a_missing_config_file_is_bad_usage() {
    let dir = tempfile::tempdir().unwrap();
    let out = pypictl().current_dir(dir.path()).arg("synth").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pypictl.toml: no such file (run `pypictl init`"));
}

/// `--role-arn` that is not an IAM role ARN: exit 2 naming the flag, the
/// value and the rule, before any AWS call (the endpoint is unreachable).
#[test]
fn a_bad_role_arn_is_refused_before_anything_happens() {
    for command in ["deploy", "destroy", "diff", "upgrade"] {
        let out = crate::common::pypictl_at("http://127.0.0.1:9")
            .args([command, "--role-arn", "arn:aws:iam::123:user/ci", "-c"])
            .arg(crate::common::example("light"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(stderr.contains("--role-arn") && stderr.contains("arn:aws:iam::123:user/ci") && stderr.contains("not an IAM role ARN"), "{command}: {stderr}");
    }
}
