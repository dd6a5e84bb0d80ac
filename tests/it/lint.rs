//! Every template of every example passes AWS's own template linter
//! (cfn-lint, every level including informational) and the checkov security
//! scanner with zero failed checks. Every checkov suppression in a template
//! must be needed: removing the suppressions fails exactly the suppressed
//! checks. Tools are the pinned ones from scripts/tools.sh.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn synth_all(root: &Path) -> Vec<PathBuf> {
    let mut templates = Vec::new();
    for name in common::example_names() {
        let dir = root.join(&name);
        common::synth(&name, &dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".template.json"))
            .collect();
        files.sort();
        templates.extend(files);
    }
    templates
}

fn cfn_lint(files: &[PathBuf]) -> std::process::Output {
    Command::new(common::tool("lint", "cfn-lint"))
        .args(["--include-checks", "I", "--format", "parseable", "--"])
        .args(files)
        .output()
        .expect("cfn-lint runs")
}

#[test]
fn cfn_lint_reports_nothing_at_any_level() {
    let dir = tempfile::tempdir().unwrap();
    let files = synth_all(dir.path());
    assert!(files.len() >= 50, "{} templates", files.len());
    let out = cfn_lint(&files);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.trim().is_empty(), "cfn-lint findings:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn cfn_lint_can_fail() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.template.json");
    std::fs::write(&bad, r#"{"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketEncryptionn": {}}}}}"#).unwrap();
    let out = cfn_lint(&[bad]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("E3002"));
}

/// (file relative to the scan root, resource, check id) of each result.
type Finding = (String, String, String);

fn checkov(dir: &Path) -> (Vec<Finding>, Vec<Finding>, u64) {
    let out = Command::new(common::tool("lint", "checkov"))
        .args(["--framework", "cloudformation", "--output", "json", "--skip-download", "-d"])
        .arg(dir)
        .env("BC_API_KEY", "")
        .output()
        .expect("checkov runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("checkov JSON ({e}):\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let report = if report.is_array() { report[0].clone() } else { report };
    let findings = |kind: &str| -> Vec<Finding> {
        report["results"][kind]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| (c["file_path"].as_str().unwrap().to_string(), c["resource"].as_str().unwrap().to_string(), c["check_id"].as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let passed = report["summary"]["passed"].as_u64().unwrap_or(0);
    (findings("failed_checks"), findings("skipped_checks"), passed)
}

fn strip_checkov_skips(from: &Path, to: &Path) {
    for entry in walk(from) {
        let rel = entry.strip_prefix(from).unwrap();
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let mut t = common::read_json(&entry);
        if let Some(resources) = t.get_mut("Resources").and_then(Value::as_object_mut) {
            for r in resources.values_mut() {
                if let Some(md) = r.get_mut("Metadata").and_then(Value::as_object_mut) {
                    md.remove("checkov");
                }
            }
        }
        std::fs::write(dest, serde_json::to_string_pretty(&t).unwrap()).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.to_string_lossy().ends_with(".template.json") {
            out.push(p);
        }
    }
    out
}

#[test]
fn checkov_fails_no_check_and_every_suppression_is_needed_and_justified() {
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("templates");
    let files = synth_all(&with);

    let (failed, skipped, passed) = checkov(&with);
    assert!(passed > 400, "checkov scanned the templates ({passed} passed checks)");
    assert!(failed.is_empty(), "checkov failed checks: {failed:#?}");

    // Every suppression carries its justification next to it.
    for f in &files {
        let t = common::read_json(f);
        for (id, r) in t["Resources"].as_object().unwrap() {
            for skip in r["Metadata"]["checkov"]["skip"].as_array().into_iter().flatten() {
                let why = skip["comment"].as_str().unwrap_or("");
                assert!(why.len() > 30, "{}: {id} skips {} without a justification", f.display(), skip["id"]);
            }
        }
    }

    let stripped = dir.path().join("stripped");
    strip_checkov_skips(&with, &stripped);
    let (failed_without, _, _) = checkov(&stripped);
    let skipped: BTreeSet<Finding> = skipped.into_iter().collect();
    let failed_without: BTreeSet<Finding> = failed_without.into_iter().collect();
    assert_eq!(skipped, failed_without, "suppressions must match exactly the checks that fail without them");
    assert!(!skipped.is_empty());
}

#[test]
fn checkov_can_fail() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.template.json"),
        r#"{"Resources": {"Open": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "open", "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]}}}}"#,
    )
    .unwrap();
    let (failed, _, _) = checkov(dir.path());
    assert!(failed.iter().any(|(_, _, id)| id == "CKV_AWS_24"), "{failed:?}");
}
