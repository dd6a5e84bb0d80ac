//! Helpers shared by the CLI's integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Answers yes to every question, without a terminal: what `--yes` does.
pub struct Yes;

impl pypictl::engine::deploy::Interaction for Yes {
    fn interactive(&self) -> bool {
        false
    }
    fn confirm(&mut self, _: &str) -> bool {
        true
    }
    fn show_changes(&mut self, _: &str, _: &[pypictl::engine::changeset::Change]) {}
}

/// The engine tests' deploy options: 1 s polls, a fixed change set name.
pub fn deploy_options(yes: bool) -> pypictl::engine::deploy::DeployOptions {
    pypictl::engine::deploy::DeployOptions {
        yes,
        no_rollback: false,
        allow_replace_stateful: false,
        watch: pypictl::engine::watch::WatchOptions::default(),
        poll: std::time::Duration::from_secs(1),
        change_set_name: "pypictl-test".into(),
        on_retry: None,
        rollback_skip_failed: false,
        role_arn: None,
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn pypictl() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("pypictl").expect("the pypictl binary is built");
    // Tests never reach AWS: no credentials, no endpoints from the environment.
    for var in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CI"] {
        cmd.env_remove(var);
    }
    // Nor a container registry: the image check (deploy, diff, upgrade,
    // doctor) finds a closed port on loopback, a warning. A test that needs
    // answers sets its own registry double (tests/it/registry.rs).
    cmd.env("PYPICTL_REGISTRY_URL", "http://127.0.0.1:9");
    cmd
}

/// pypictl pointed at an endpoint on 127.0.0.1 (`AWS_ENDPOINT_URL`) with
/// dummy credentials and no AWS configuration of this machine's.
pub fn pypictl_at(url: &str) -> assert_cmd::Command {
    let mut cmd = pypictl();
    cmd.env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .timeout(std::time::Duration::from_secs(600));
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

/// moto's server with pypictl's harness extensions (scripts/moto/), on
/// 127.0.0.1 and a free port, stopped when dropped.
pub struct Moto {
    child: std::process::Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Runs `body` (Python with boto3 clients `cfn`, `ecs`, `ec2`, `secrets`,
    /// `efs` and `backup` on this emulator) and returns the JSON it assigns
    /// to `out`: what a user would read with the AWS CLI.
    pub fn boto(&self, body: &str) -> serde_json::Value {
        let script = format!(
            "import json, boto3\n\
             kw = dict(endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             cfn, ecs, ec2, secrets, efs, backup = (boto3.client(s, **kw) for s in ('cloudformation', 'ecs', 'ec2', 'secretsmanager', 'efs', 'backup'))\n\
             {body}\n\
             print(json.dumps(out, default=str))\n",
            url = self.url
        );
        let out = std::process::Command::new(tools().join("moto/bin/python"))
            .arg("-c")
            .arg(&script)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}\n{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    /// The account a user has before deploying (scripts/moto/seed.py).
    pub fn seed(&self) -> serde_json::Value {
        let out = std::process::Command::new(tools().join("moto/bin/python"))
            .arg(repo_root().join("scripts/moto/seed.py"))
            .arg(&self.url)
            .output()
            .unwrap();
        assert!(out.status.success(), "seed failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// seed()'s account plus what `pypictl init` must explain: a VPC without
    /// DNS hostnames, one with subnets in a single AZ, a private zone
    /// (scripts/moto/seed_init.py).
    pub fn seed_init(&self) -> serde_json::Value {
        let out = std::process::Command::new(tools().join("moto/bin/python"))
            .arg(repo_root().join("scripts/moto/seed_init.py"))
            .arg(&self.url)
            .output()
            .unwrap();
        assert!(out.status.success(), "seed_init failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// pypictl pointed at this emulator with dummy credentials.
    pub fn pypictl(&self) -> assert_cmd::Command {
        pypictl_at(&self.url)
    }

    /// An example configuration with the seeded account's ids.
    pub fn config(&self, seed: &serde_json::Value, example_name: &str, dir: &Path) -> PathBuf {
        let mut text = std::fs::read_to_string(example(example_name)).unwrap();
        let list = |v: &serde_json::Value| serde_json::to_string(v).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            let line = if line.starts_with("vpc_id = ") {
                format!("vpc_id = {}", seed["vpc_id"])
            } else if line.starts_with("load_balancer_subnets = ") {
                format!("load_balancer_subnets = {}", list(&seed["load_balancer_subnets"]))
            } else if line.starts_with("asg_subnets = ") {
                format!("asg_subnets = {}", list(&seed["asg_subnets"]))
            } else if line.starts_with("zone_id = ") {
                format!("zone_id = {}", seed["zone_id"])
            } else if line.starts_with("zone_name = ") {
                format!("zone_name = {}", seed["zone_name"])
            } else {
                line.to_string()
            };
            out.push_str(&line);
            out.push('\n');
        }
        text = out;
        let path = dir.join(format!("{example_name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Signals a process group (a server and its workers).
pub fn signal_group(pgid: u32, signal: libc::c_int) {
    let pgid = libc::pid_t::try_from(pgid).expect("pid fits");
    assert!(pgid > 1, "refusing to signal process group {pgid}");
    // SAFETY: killpg only sends a signal; the group is the server's own.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// pypiserver 2.4.2 from the pinned tools on 127.0.0.1 and a free port,
/// authenticating every action as the deployed service does, with an
/// htpasswd for `username`/`password`. Stopped (its process group) when
/// dropped.
pub struct PypiServer {
    child: std::process::Child,
    pub port: u16,
    pub packages: PathBuf,
    pub dir: tempfile::TempDir,
}

impl PypiServer {
    // The child is reaped by Drop.
    #[allow(clippy::zombie_processes)]
    pub fn start(username: &str, password: &str, packages: &[(String, Vec<u8>)]) -> PypiServer {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let pk = dir.path().join("packages");
        std::fs::create_dir_all(&pk).unwrap();
        for (name, bytes) in packages {
            std::fs::write(pk.join(name), bytes).unwrap();
        }
        let htpasswd = dir.path().join("htpasswd");
        let made = std::process::Command::new(tool("pypi", "python"))
            .args(["-c", "import sys; from passlib.apache import HtpasswdFile as H; h = H(sys.argv[1], new=True); h.set_password(sys.argv[2], sys.argv[3]); h.save()"])
            .arg(&htpasswd)
            .args([username, password])
            .output()
            .unwrap();
        assert!(made.status.success(), "htpasswd: {}", String::from_utf8_lossy(&made.stderr));
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = std::process::Command::new(tool("pypi", "pypi-server"))
            .args(["run", "-p", &port.to_string(), "-i", "127.0.0.1", "--disable-fallback", "-a", "download,list,update", "-P"])
            .arg(&htpasswd)
            .arg(&pk)
            .env("HOME", dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("pypi-server starts");
        let server = PypiServer { child, port, packages: pk, dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            assert!(std::time::Instant::now() < deadline, "pypiserver did not listen within 30 s:\n{}", server.log());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn stored(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.packages).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

impl Drop for PypiServer {
    fn drop(&mut self) {
        signal_group(self.child.id(), libc::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        signal_group(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Moto {
    /// [`Moto::start`] with extra environment for the server process, e.g.
    /// `PYPICTL_MOTO_FAIL_RESOURCES` (read by the harness, not by pypictl):
    /// setting it in the test process instead would reach the servers of the
    /// tests running alongside.
    // The child is reaped by Moto's Drop (or killed before a panic).
    #[allow(clippy::zombie_processes)]
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let python = tools().join("moto/bin/python");
        assert!(python.exists(), "{} is missing: run `bash scripts/tools.sh`", python.display());
        let dir = tempfile::tempdir().unwrap();
        let url_file = dir.path().join("url");
        let log = std::fs::File::create(dir.path().join("moto.log")).unwrap();
        let mut child = std::process::Command::new(&python)
            .arg(repo_root().join("scripts/moto/pypictl_moto.py"))
            .args(["--port", "0", "--url-file"])
            .arg(&url_file)
            .envs(env.iter().copied())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("moto starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(url) = std::fs::read_to_string(&url_file).ok().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) {
                assert!(url.starts_with("http://127.0.0.1:"), "moto must listen on loopback: {url}");
                return Moto { child, url, dir };
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("moto did not start:\n{}", std::fs::read_to_string(dir.path().join("moto.log")).unwrap_or_default());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// A finished command's stdout.
pub fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// A finished command's stderr.
pub fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// The stack label, logical id and status of each `--progress events` line.
pub fn events(out: &str) -> Vec<(String, String, String)> {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 5 && f[0].len() == 8 && f[0].as_bytes()[2] == b':').then(|| (f[1].to_string(), f[2].to_string(), f[4].to_string()))
        })
        .collect()
}

/// Index of the first event (stack, logical id, status) at or after `from`.
pub fn find_from(events: &[(String, String, String)], from: usize, stack: &str, logical_id: &str, status: &str) -> Option<usize> {
    events
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, (s, l, st))| (s.as_str(), l.as_str(), st.as_str()) == (stack, logical_id, status))
        .map(|(i, _)| i)
}

/// Index of the first event (stack, logical id, status); panics without one.
pub fn position(events: &[(String, String, String)], stack: &str, logical_id: &str, status: &str) -> usize {
    find_from(events, 0, stack, logical_id, status).unwrap_or_else(|| panic!("no event {stack} › {logical_id} {status} among {events:?}"))
}
