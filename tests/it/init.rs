//! `pypictl init` end to end: the wizard driven through a pseudo-terminal
//! (rexpect) against moto on 127.0.0.1, and the non-interactive path.
//! Every written file must pass `pypictl synth`, and the two paths must
//! write the same bytes for the same answers.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Moto;
use rexpect::process::wait::WaitStatus;
use rexpect::session::PtySession;
use serde_json::Value;

/// Seconds any one expected text may take to appear (moto answers in ms;
/// the first call of a debug binary is the slow part).
const TIMEOUT_MS: u64 = 60_000;
const DOWN: &str = "j";
const ENTER: &str = "\r";

/// An AWS config with two profiles, in a temp HOME.
fn aws_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config"), "[default]\nregion = us-east-1\n\n[profile other]\nregion = eu-west-1\n").unwrap();
    std::fs::write(
        home.path().join("credentials"),
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n[other]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    home
}

fn init_command(moto: &Moto, home: &Path, cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("pypictl"));
    c.arg("init").args(args).current_dir(cwd);
    for var in ["AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CI"] {
        c.env_remove(var);
    }
    c.env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", home)
        .env("TERM", "xterm")
        .env("CLICOLOR", "0");
    c
}

struct Wizard {
    p: PtySession,
}

impl Wizard {
    fn spawn(cmd: Command) -> Wizard {
        Wizard { p: rexpect::session::spawn_command(cmd, Some(TIMEOUT_MS)).expect("pypictl init starts on a pty") }
    }

    /// Waits for `text`; on a timeout, fails with what was on the screen.
    fn expect(&mut self, text: &str) -> String {
        match self.p.exp_string(text) {
            Ok(before) => before,
            Err(e) => panic!("waiting for {text:?}: {e}"),
        }
    }

    fn send(&mut self, keys: &str) {
        self.p.send(keys).unwrap();
        self.p.flush().unwrap();
    }

    /// At a prompt: waits for it, then sends the keys.
    fn answer(&mut self, prompt: &str, keys: &str) -> String {
        let before = self.expect(prompt);
        self.send(keys);
        before
    }

    fn down(n: usize) -> String {
        DOWN.repeat(n)
    }

    fn exit_code(mut self) -> i32 {
        let _ = self.p.exp_eof();
        match self.p.process.wait().unwrap() {
            WaitStatus::Exited(_, code) => code,
            WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
            other => panic!("unexpected wait status {other:?}"),
        }
    }
}

/// The seeded VPCs are listed by Name: bad-dns, bad-one-az, pypictl-seed,
/// then moto's unnamed default VPC.
const GOOD_VPC_INDEX: usize = 2;

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

fn csv(v: &Value) -> String {
    v.as_array().unwrap().iter().map(s).collect::<Vec<_>>().join(",")
}

fn synth_passes(moto: &Moto, file: &Path) {
    let out = file.parent().unwrap().join("synth.out");
    moto.pypictl().arg("synth").arg("-c").arg(file).arg("-o").arg(&out).assert().success();
    assert!(out.join("manifest.json").exists());
}

/// `pypictl init --non-interactive` with `flags`, written to `dir`.
fn non_interactive(moto: &Moto, dir: &Path, flags: &[String]) -> String {
    moto.pypictl().current_dir(dir).args(["init", "--non-interactive", "--yes"]).args(flags).assert().success();
    std::fs::read_to_string(dir.join("pypictl.toml")).unwrap()
}

/// The flags that answer every question but the workload, as the wizard
/// answers them in these tests.
fn flags_but_workload(seed: &Value) -> Vec<String> {
    [
        "--region", "us-east-1",
        "--vpc-id", &s(&seed["vpc_id"]),
        "--lb-subnets", &csv(&seed["load_balancer_subnets"]),
        "--instance-subnets", &csv(&seed["asg_subnets"]),
        "--zone-id", &s(&seed["zone_id"]),
        "--zone-name", "example.com",
        "--dns-names", "pypi",
        "--scheme", "internet-facing",
        "--alarm-email", "ops@example.com",
        "--backup", "on",
        "--image-tag", "v2.4.2",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect()
}

fn no_stray_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
}

#[test]
fn happy_path_writes_a_file_that_synthesizes_and_matches_the_non_interactive_one() {
    let moto = Moto::start();
    let seed = moto.seed_init();
    let home = aws_home();
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wizard::spawn(init_command(&moto, home.path(), dir.path(), &[]));

    let profiles = w.answer("AWS profile", ENTER);
    assert!(profiles.contains("a few questions"), "{profiles}");
    w.answer("AWS region", ENTER);
    w.expect("Account 123456789012");
    let vpcs = w.answer("VPC", &(Wizard::down(GOOD_VPC_INDEX) + ENTER));
    let _ = vpcs;
    let lb = w.answer("Load-balancer subnets", ENTER);
    let _ = lb;
    w.answer("Instance subnets", ENTER);
    w.expect("Hosted zone");
    // Public and private zones are listed, public first.
    w.expect("example.com");
    w.expect("internal.example");
    w.send(ENTER);
    w.answer("DNS names inside example.com", &format!("pypi{ENTER}"));
    w.expect("https://pypi.example.com/");
    w.answer("Load balancer", ENTER);
    w.expect("Workload");
    for text in ["t3.small", "$ 47.87", "c6a.large", "c6a.xlarge", "$245.58", "c6a.2xlarge", "$477.96", "Custom"] {
        w.expect(text);
    }
    w.send(ENTER);
    w.answer("Alarm emails", &format!("not-an-email{ENTER}"));
    w.expect("is not an email address");
    // dialoguer keeps the rejected text: erase it and type a good one.
    w.send(&"\x7f".repeat(20));
    w.send(&format!("ops@example.com{ENTER}"));
    w.answer("Back up the packages", ENTER);
    w.answer("Keep each backup for", ENTER);
    w.answer("Backup schedule", ENTER);
    w.answer("pypiserver image tag", ENTER);
    w.expect("Summary");
    w.answer("Write pypictl.toml?", ENTER);
    w.expect("Wrote pypictl.toml");
    w.answer("Run `pypictl deploy` now?", ENTER);
    assert_eq!(w.exit_code(), 0);

    let file = dir.path().join("pypictl.toml");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains(&format!("vpc_id = \"{}\"", s(&seed["vpc_id"]))), "{written}");
    assert!(written.contains("instance_type = \"t3.small\""), "{written}");
    synth_passes(&moto, &file);

    let other = tempfile::tempdir().unwrap();
    let mut flags = flags_but_workload(&seed);
    flags.extend(["--workload".to_string(), "light".to_string()]);
    assert_eq!(non_interactive(&moto, other.path(), &flags), written, "interactive and non-interactive files differ");
}

#[test]
fn each_profile_choice_matches_its_non_interactive_file() {
    let moto = Moto::start();
    let seed = moto.seed_init();
    let home = aws_home();
    for (i, key) in ["light", "medium", "heavy", "very-heavy"].iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut flags = flags_but_workload(&seed);
        flags.extend(["--profile".to_string(), "default".to_string()]);
        let args: Vec<&str> = flags.iter().map(String::as_str).collect();
        let mut w = Wizard::spawn(init_command(&moto, home.path(), dir.path(), &args));
        // Only the workload is asked: every other answer came as a flag.
        let before = w.answer("Workload", &(Wizard::down(i) + ENTER));
        assert!(!before.contains("Load-balancer subnets"), "a question with a flag was asked:\n{before}");
        w.answer("Write pypictl.toml?", ENTER);
        w.answer("Run `pypictl deploy` now?", ENTER);
        assert_eq!(w.exit_code(), 0, "{key}");
        let file = dir.path().join("pypictl.toml");
        let written = std::fs::read_to_string(&file).unwrap();
        synth_passes(&moto, &file);

        let other = tempfile::tempdir().unwrap();
        let mut flags = flags_but_workload(&seed);
        flags.extend(["--workload".to_string(), key.to_string()]);
        assert_eq!(non_interactive(&moto, other.path(), &flags), written, "{key}: the two paths differ");
    }
}

#[test]
fn custom_type_shows_the_capacity_preview() {
    let moto = Moto::start();
    let seed = moto.seed_init();
    let home = aws_home();
    let dir = tempfile::tempdir().unwrap();
    let mut flags = flags_but_workload(&seed);
    flags.extend(["--profile".to_string(), "default".to_string()]);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut w = Wizard::spawn(init_command(&moto, home.path(), dir.path(), &args));
    w.answer("Workload", &(Wizard::down(4) + ENTER));
    w.answer("Instance type", &format!("{}m7g.large{ENTER}", "\x7f".repeat(12)));
    w.answer("Container memory (MB)", &format!("{}768{ENTER}", "\x7f".repeat(6)));
    // The `size` table for m7g.large (2 vCPU, 8 GiB) with 768 MB containers.
    for text in ["m7g.large", "6", "940 units", "576 MB", "tasks / instance", "monthly cost"] {
        w.expect(text);
    }
    w.answer("Use this size?", ENTER);
    w.answer("Write pypictl.toml?", ENTER);
    w.answer("Run `pypictl deploy` now?", ENTER);
    assert_eq!(w.exit_code(), 0);
    let file = dir.path().join("pypictl.toml");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("instance_type = \"m7g.large\"") && written.contains("container_memory = 768"), "{written}");
    synth_passes(&moto, &file);

    let other = tempfile::tempdir().unwrap();
    let mut flags = flags_but_workload(&seed);
    flags.extend(["--instance-type", "m7g.large", "--container-memory", "768"].map(String::from));
    assert_eq!(non_interactive(&moto, other.path(), &flags), written);
}

#[test]
fn vpc_without_dns_hostnames_is_explained_and_ctrl_c_midway_writes_nothing() {
    let moto = Moto::start();
    let _seed = moto.seed_init();
    let home = aws_home();
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wizard::spawn(init_command(&moto, home.path(), dir.path(), &["--profile", "default", "--region", "us-east-1"]));
    w.answer("VPC", ENTER); // bad-dns
    let why = w.answer("What now?", ENTER); // Choose another VPC
    assert!(why.contains("enableDnsHostnames off"), "{why}");
    assert!(why.contains("aws ec2 modify-vpc-attribute") && why.contains("--enable-dns-hostnames"), "{why}");
    w.answer("VPC", &(Wizard::down(GOOD_VPC_INDEX) + ENTER));
    w.expect("Load-balancer subnets");
    w.p.send_control('c').unwrap();
    w.expect("Interrupted: nothing was written.");
    assert_eq!(w.exit_code(), 130);
    assert_eq!(no_stray_files(dir.path()), Vec::<PathBuf>::new(), "Ctrl-C left files behind");
}

#[test]
fn subnets_in_one_az_are_refused_with_the_reason() {
    let moto = Moto::start();
    let seed = moto.seed_init();
    let home = aws_home();
    let dir = tempfile::tempdir().unwrap();
    let mut flags = flags_but_workload(&seed);
    // Let the wizard ask for the VPC and subnets; everything else from flags.
    let skip = ["--vpc-id", "--lb-subnets", "--instance-subnets"];
    let mut kept = Vec::new();
    let mut it = flags.drain(..);
    while let Some(f) = it.next() {
        let v = it.next().unwrap();
        if !skip.contains(&f.as_str()) {
            kept.extend([f, v]);
        }
    }
    kept.extend(["--workload".to_string(), "light".to_string(), "--profile".to_string(), "default".to_string()]);
    let args: Vec<&str> = kept.iter().map(String::as_str).collect();
    let mut w = Wizard::spawn(init_command(&moto, home.path(), dir.path(), &args));

    w.answer("VPC", &(Wizard::down(1) + ENTER)); // bad-one-az
    let why = w.expect("What now?");
    assert!(why.contains("all in us-east-1a") && why.contains("at least 2 availability zones"), "{why}");
    assert!(why.contains("aws ec2 create-subnet"), "{why}");
    // The only way on is another VPC.
    assert!(!w.expect("Choose another VPC").contains("Use it anyway"));
    w.send(ENTER);
    w.answer("VPC", &(Wizard::down(GOOD_VPC_INDEX - 1) + ENTER));
    // Keep only the first public subnet: one zone is refused.
    w.answer("Load-balancer subnets", &format!("{DOWN} {ENTER}"));
    w.expect("are all in us-east-1a: an ALB needs subnets in at least 2 availability zones");
    w.answer("Load-balancer subnets", ENTER);
    w.answer("Instance subnets", ENTER);
    w.answer("Write pypictl.toml?", ENTER);
    w.answer("Run `pypictl deploy` now?", ENTER);
    assert_eq!(w.exit_code(), 0);
    let written = std::fs::read_to_string(dir.path().join("pypictl.toml")).unwrap();
    assert!(written.contains(&format!("load_balancer_subnets = {}", seed["load_balancer_subnets"]).replace(",", ", ")), "{written}");
}

#[test]
fn an_existing_file_is_kept_on_ctrl_c_and_needs_force_without_a_terminal() {
    let moto = Moto::start();
    let seed = moto.seed_init();
    let home = aws_home();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pypictl.toml");
    std::fs::write(&file, "# mine\n").unwrap();

    let mut w = Wizard::spawn(init_command(&moto, home.path(), dir.path(), &["--profile", "default", "--region", "us-east-1"]));
    w.answer("pypictl.toml exists. Replace it", "y");
    w.expect("VPC");
    w.p.send_control('c').unwrap();
    assert_eq!(w.exit_code(), 130);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    assert_eq!(no_stray_files(dir.path()), vec![file.clone()]);

    let mut flags = flags_but_workload(&seed);
    let out = moto.pypictl().current_dir(dir.path()).args(["init", "--non-interactive"]).args(&flags).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("pypictl.toml exists: pass --force"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    flags.push("--force".into());
    moto.pypictl().current_dir(dir.path()).args(["init", "--non-interactive"]).args(&flags).assert().success();
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("# pypictl.toml"));
}

#[test]
fn without_a_terminal_missing_answers_are_named_and_bad_ones_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::pypictl()
        .current_dir(dir.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .args(["init", "--vpc-id", "vpc-0a1b2c3d4e5f60718"])
        .write_stdin("")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    for flag in ["--region", "--lb-subnets", "--instance-subnets", "--zone-id", "--zone-name", "--alarm-email"] {
        assert!(err.contains(flag), "{flag} not named: {err}");
    }
    assert!(!err.contains("--vpc-id"), "{err}");

    let out = common::pypictl()
        .current_dir(dir.path())
        .args(["init", "--non-interactive", "--region", "us-east-1", "--vpc-id", "vpc-0a1b2c3d4e5f60718"])
        .args(["--lb-subnets", "subnet-0aa11bb22cc33dd44", "--instance-subnets", "subnet-01234567890abcdef"])
        .args(["--zone-id", "Z0123", "--zone-name", "example.com", "--alarm-email", "ops@example.com"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("--lb-subnets (network.load_balancer_subnets)") && err.contains("at least 2"), "{err}");
    assert_eq!(no_stray_files(dir.path()), Vec::<PathBuf>::new());
}
