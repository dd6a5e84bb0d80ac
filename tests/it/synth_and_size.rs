//! `pypictl synth` and `pypictl size` as a user runs them.

use crate::common;

use common::pypictl;
use serde_json::Value;

#[test]
fn synth_writes_the_root_every_nested_template_and_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let assert = pypictl().args(["synth", "-c"]).arg(common::example("heavy")).arg("-o").arg(&out).assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.starts_with("Synthesized pypi (us-east-1): 9 nested stacks"), "{stdout}");
    assert!(stdout.contains("storage") && stdout.contains("storage.template.json"), "{stdout}");

    let manifest = common::read_json(&out.join("manifest.json"));
    assert_eq!(manifest["root"]["file"], "root.template.json");
    let stacks = manifest["stacks"].as_array().unwrap();
    assert_eq!(stacks.len(), 9);
    for s in stacks {
        let file = out.join(s["file"].as_str().unwrap());
        let body = std::fs::read_to_string(&file).unwrap();
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(body.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(s["sha256"].as_str().unwrap(), digest, "{}", file.display());
        assert!(s["parameters"].is_object());
    }
    let service = stacks.iter().find(|s| s["name"] == "service").unwrap();
    assert_eq!(service["parameters"]["SecretArn"], serde_json::json!({"Fn::GetAtt": ["Credentials", "Outputs.SecretArn"]}));
    assert!(out.join("root.template.json").exists());
}

#[test]
fn synth_is_byte_identical_across_runs_and_needs_no_credentials() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for dir in [a.path(), b.path()] {
        pypictl()
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["synth", "-c"])
            .arg(common::example("all-features"))
            .arg("-o")
            .arg(dir)
            .assert()
            .success();
    }
    let mut names: Vec<_> = std::fs::read_dir(a.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names.len(), 13, "root, 10 nested templates, the staging stack, manifest");
    for name in names {
        assert_eq!(std::fs::read(a.path().join(&name)).unwrap(), std::fs::read(b.path().join(&name)).unwrap(), "{name:?}");
    }
}

#[test]
fn synth_defaults_to_pypictl_toml_and_pypictl_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(common::example("light"), dir.path().join("pypictl.toml")).unwrap();
    pypictl().current_dir(dir.path()).arg("synth").assert().success();
    assert!(dir.path().join("pypictl.out/manifest.json").exists());
}

const SIZE_KEYS: [&str; 20] = [
    "instance_type", "vcpus", "memory_mib", "gunicorn_workers", "container_cpu", "container_memory",
    "container_memory_reservation", "available_ram_mb", "available_cpu_units", "tasks_per_instance_ram",
    "tasks_per_instance_cpu", "tasks_per_instance", "task_min_count", "task_max_count", "asg_min_size", "asg_max_size",
    "spare_task_slots_at_max", "deployment_min_healthy_percent", "monthly_cost_usd", "indexer_memory_reservation",
];
const INDEX_KEYS: [&str; 5] = ["expected_projects", "expected_files", "pages_mib", "process_mib", "memory_mib"];

fn size_json(args: &[&str], cwd: &std::path::Path) -> Value {
    let out = pypictl().current_dir(cwd).arg("size").args(args).args(["--output", "json"]).assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn size_json_has_exactly_the_documented_keys() {
    let empty = tempfile::tempdir().unwrap();
    let v = size_json(&["--instance-type", "t3.small"], empty.path());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).filter(|k| !["cost", "index"].contains(k)).collect();
    assert_eq!(keys, SIZE_KEYS);
    let index: Vec<&str> = v["index"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(index, INDEX_KEYS);
    assert_eq!((v["index"]["expected_projects"].as_u64(), v["index"]["pages_mib"].as_u64(), v["index"]["memory_mib"].as_u64()), (Some(5000), Some(64), Some(144)));
    assert_eq!(v["indexer_memory_reservation"], 128, "the limit less 16 MiB: ECS wants the limit above the reservation");
    assert_eq!(v["tasks_per_instance"], 3);
    assert_eq!((v["task_min_count"].as_u64(), v["task_max_count"].as_u64()), (Some(6), Some(12)));
    assert_eq!(v["asg_min_size"], 2, "no config file: 2 instances");
    assert_eq!(v["cost"]["ec2_usd"], 30.37);
}

#[test]
fn size_flags_override_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let heavy = common::example("heavy");
    let v = size_json(&["-c", heavy.to_str().unwrap()], dir.path());
    assert_eq!((v["instance_type"].as_str(), v["task_min_count"].as_u64()), (Some("c6a.xlarge"), Some(12)));
    let v = size_json(&["-c", heavy.to_str().unwrap(), "--instance-type", "c6a.2xlarge", "--container-memory", "1024"], dir.path());
    assert_eq!(v["gunicorn_workers"], 8);
    assert_eq!(v["container_cpu"], 1240);
    assert_eq!(v["tasks_per_instance"], 6);
    assert_eq!(v["task_min_count"], 12);
    assert_eq!(v["asg_max_size"], 4, "the file's max_size stays");
}

#[test]
fn size_text_is_a_readable_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = pypictl().current_dir(dir.path()).args(["size", "--instance-type", "c6a.xlarge"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for needle in ["c6a.xlarge", "4 vCPU, 8192 MiB", "min(19 by RAM, 6 by CPU)", "12 .. 24", "$245.58", "sizing guide figures"] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn size_rejects_bad_flags_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = pypictl().current_dir(dir.path()).args(["size", "--instance-type", "c6a.huge"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--instance-type") && stderr.contains("c6a.huge"), "{stderr}");
    let out = pypictl().current_dir(dir.path()).args(["size", "--instance-type", "t3.micro", "--container-memory", "1024"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no task fits"));
    let out = pypictl().current_dir(dir.path()).arg("size").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--instance-type"));
    let heavy = common::example("heavy");
    let out = pypictl().args(["size", "-c"]).arg(&heavy).args(["--instance-type", "x1.huge"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`compute.instance_type` = \"x1.huge\""));
}

/// 3 x 1431655766 is no u32 (the 75 % reservation overflowed: exit 101, a
/// panic); u32::MAX is more than ECS's int32 `memory` (Amazon ECS API
/// reference, ContainerDefinition). Both are bad input, with or without a file.
#[test]
fn size_refuses_huge_container_memory_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let heavy = common::example("heavy");
    for (memory, says) in [("1431655766", "no task fits"), ("4294967295", "at most 2147483647")] {
        let out = pypictl().current_dir(dir.path()).args(["size", "--instance-type", "c6a.xlarge", "--container-memory", memory]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{memory}: {stderr}");
        assert!(stderr.contains(&format!("--container-memory {memory}")) && stderr.contains(says), "{memory}: {stderr}");
        let out = pypictl().args(["size", "-c"]).arg(&heavy).args(["--container-memory", memory]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{memory}: {stderr}");
        assert!(stderr.contains(&format!("`service.container_memory` = {memory}")) && stderr.contains(says), "{memory}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// At task_max_count the heavy example fills its 4 instances (24 slots for
/// 24 tasks): `size` says a deployment there replaces one task at a time;
/// without a maximum set, a spare instance leaves room instead.
#[test]
fn size_shows_the_deploy_headroom() {
    let dir = tempfile::tempdir().unwrap();
    let out = pypictl().current_dir(dir.path()).args(["size", "-c"]).arg(common::example("heavy")).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("deploy headroom") && text.contains("0 slots") && text.contains("min healthy 95 %"), "{text}");
    let v = size_json(&["--instance-type", "c6a.xlarge"], dir.path());
    assert_eq!((v["asg_max_size"].as_u64(), v["spare_task_slots_at_max"].as_i64(), v["deployment_min_healthy_percent"].as_u64()), (Some(5), Some(6), Some(100)));
}

/// `service.expected_projects` sizes each task's pages volume and page
/// indexer: shown by `size`, written into the task definition, and a
/// warning when the task's reservation cannot hold the indexer.
#[test]
fn size_shows_the_index_sized_for_the_expected_projects() {
    let dir = tempfile::tempdir().unwrap();
    let heavy = std::fs::read_to_string(common::example("heavy")).unwrap();
    let write = |name: &str, service: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{heavy}\n[service]\n{service}\n")).unwrap();
        path
    };
    let small = write("small.toml", "expected_projects = 50000");
    let out = pypictl().current_dir(dir.path()).args(["size", "-c"]).arg(&small).assert().success();
    let (text, err) = (String::from_utf8_lossy(&out.get_output().stdout).to_string(), String::from_utf8_lossy(&out.get_output().stderr).to_string());
    for needle in ["expected projects", "50000", "200000 files planned", "index pages", "496 MiB", "indexer memory", "752 MiB"] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(err.contains("warning: service.expected_projects = 50000") && err.contains("reserve at least 1504 MB"), "{err}");

    let big = write("big.toml", "container_memory = 2048\nexpected_projects = 50000");
    let out = pypictl().current_dir(dir.path()).args(["size", "-c"]).arg(&big).assert().success();
    assert!(!String::from_utf8_lossy(&out.get_output().stderr).contains("expected_projects"), "a reservation of 1536 MB holds its 736");
    let templates = dir.path().join("out");
    pypictl().current_dir(dir.path()).args(["synth", "-c"]).arg(&big).arg("-o").arg(&templates).assert().success();
    let service = common::read_json(&templates.join("service.template.json"));
    let task = &service["Resources"]["TaskDefinition"]["Properties"];
    let indexer = task["ContainerDefinitions"].as_array().unwrap().iter().find(|c| c["Name"] == "indexer").unwrap();
    assert_eq!((indexer["Memory"].as_u64(), indexer["MemoryReservation"].as_u64()), (Some(752), Some(736)));
    let pages = task["Volumes"].as_array().unwrap().iter().find(|v| v["Name"] == "pages").unwrap();
    assert!(pages["DockerVolumeConfiguration"]["DriverOpts"]["o"].as_str().unwrap().starts_with("size=496m,"), "{pages}");
}
