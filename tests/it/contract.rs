//! The container contract, with real clients. The container definitions are
//! read from the synthesized task definition, and pypiserver (the PyPI
//! release of the default image tag, from the pinned tools), the proxy (the
//! pinned nginx) and the page indexer are started on 127.0.0.1 exactly that
//! way: the same entry point, command and environment, the two secrets
//! injected whole (their JSON) as ECS injects them, so the containers' own
//! programs read them.
//!
//! pypiserver runs in its own mount namespace (`unshare -rm`) with a real
//! tmpfs of the task's scratch size as its temporary directory, as the
//! task's /tmp is: an upload larger than it must never go there.
//!
//! Only these values differ from the task definition, because a test cannot
//! own the containers' paths and ports: PYPISERVER_HOST and PROXY_HOST
//! (127.0.0.1 instead of 0.0.0.0), PYPISERVER_PORT and PROXY_PORT (free
//! ports), UPSTREAM, PACKAGES_DIR, PAGES_DIR, RUN_DIR and UPLOAD_BUFFER_DIR
//! (temporary paths; the proxy buffers into `upload-buffers` beside the
//! package directory, as the task mounts the file system's `/upload-buffers`
//! beside `/packages`), TMPDIR (pypiserver's scratch
//! tmpfs, the task's /tmp), and PATH, HOME (the tools, a temporary home).

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, signal_group};

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pypictl_stacks::components::credentials::Role;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The read credential's password: every character that breaks naive URL
/// building (pip gets it inside the index URL).
const READ_PASSWORD: &str = "p@ss:w/rd%41 #?+&=x";
/// The publish credential's password: characters that nginx's configuration
/// and the shell treat specially; `user:password` in base64 has a `+`.
const PUBLISH_PASSWORD: &str = "Pub>>{l}i$h,;ok%24";
/// The next passwords during a rotation (`pending_password`).
const READ_PENDING: &str = "N3w{pending}>$x;?";
const PUBLISH_PENDING: &str = "n3w>>publish~?";

/// RFC 3986 userinfo: everything but unreserved characters is encoded.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

const MIB: usize = 1 << 20;

/// One role's credential, as its secret carries it.
#[derive(Clone)]
struct Credential {
    username: String,
    password: String,
    pending: Option<String>,
}

impl Credential {
    fn auth(&self) -> (&str, &str) {
        (&self.username, &self.password)
    }

    /// The secret's value, as ECS injects it (the whole JSON text).
    fn secret(&self) -> String {
        let mut v = serde_json::json!({ "username": self.username, "password": self.password });
        if let Some(p) = &self.pending {
            v["pending_password"] = p.as_str().into();
        }
        v.to_string()
    }
}

#[derive(Clone)]
struct Credentials {
    read: Credential,
    publish: Credential,
}

impl Credentials {
    /// The same credentials during a rotation: each carries its next password.
    fn rotating(&self) -> Credentials {
        let mut c = self.clone();
        c.read.pending = Some(READ_PENDING.into());
        c.publish.pending = Some(PUBLISH_PENDING.into());
        c
    }

    fn passwords(&self) -> [&str; 4] {
        [READ_PASSWORD, PUBLISH_PASSWORD, READ_PENDING, PUBLISH_PENDING]
    }
}

struct Server {
    child: Child,
    port: u16,
    packages: PathBuf,
    /// The server's own scratch directory: the proxy's RUN_DIR, pypiserver's
    /// tmpfs.
    dir: PathBuf,
    /// The proxy's upload buffers (beside the package directory).
    buffers: Option<PathBuf>,
    log: PathBuf,
}

/// Where the proxies buffer request bodies: beside the package directory,
/// as the task's upload-buffers access point is beside its packages one.
fn buffers_dir(packages: &Path) -> PathBuf {
    owned_dir(&packages.parent().unwrap().join("upload-buffers"))
}

impl Drop for Server {
    fn drop(&mut self) {
        signal_group(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        signal_group(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The pinned nginx (scripts/nginx.sh): a missing nginx fails the test.
fn nginx_dir() -> PathBuf {
    let dir = common::tools().join("nginx/usr/sbin");
    assert!(dir.join("nginx").exists(), "{} is missing: run `bash scripts/tools.sh`", dir.display());
    dir
}

/// The task's containers by name.
fn task_containers(out: &Path) -> Vec<Value> {
    let service = common::read_json(&out.join("service.template.json"));
    service["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"].as_array().unwrap().clone()
}

/// pypiserver's container and the credentials (the secrets' usernames, the
/// test's passwords).
fn container_definition(out: &Path) -> (Value, Credentials) {
    let container = task_containers(out).into_iter().find(|c| c["Name"] == "pypiserver").unwrap();
    let creds = common::read_json(&out.join("credentials.template.json"));
    let username = |id: &str| {
        let template = creds["Resources"][id]["Properties"]["GenerateSecretString"]["SecretStringTemplate"].as_str().unwrap();
        serde_json::from_str::<Value>(template).unwrap()["username"].as_str().unwrap().to_string()
    };
    let credential = |id: &str, password: &str| Credential { username: username(id), password: password.into(), pending: None };
    (container, Credentials { read: credential("Credentials", READ_PASSWORD), publish: credential("PublishCredentials", PUBLISH_PASSWORD) })
}

fn env_of(c: &Value, k: &str) -> Option<String> {
    c["Environment"].as_array().unwrap().iter().find(|e| e["Name"] == k).map(|e| e["Value"].as_str().unwrap().to_string())
}

/// A directory for a container's files.
fn owned_dir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    path.to_path_buf()
}

/// Starts a container's entry point + command on 127.0.0.1 (behind
/// `wrapper`, if any) with its environment, the secrets as ECS injects them,
/// and `overrides` (paths, ports) on top; `PATH` is the tools' directories.
fn launch(container: &Value, creds: &Credentials, overrides: &[(&str, String)], path: &[PathBuf], log: &Path, wrapper: &[String]) -> Child {
    let argv: Vec<String> = wrapper
        .iter()
        .cloned()
        .chain(container["EntryPoint"].as_array().unwrap().iter().chain(container["Command"].as_array().unwrap()).map(|v| v.as_str().unwrap().to_string()))
        .collect();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).env_clear();
    for e in container["Environment"].as_array().unwrap() {
        cmd.env(e["Name"].as_str().unwrap(), e["Value"].as_str().unwrap());
    }
    // The secrets, each whole, as ECS injects them at task start (the
    // indexer has none); the command tells the program which is which.
    if let Some(secrets) = container.get("Secrets") {
        let secrets: Vec<&str> = secrets.as_array().unwrap().iter().map(|s| s["Name"].as_str().unwrap()).collect();
        assert_eq!(secrets, [Role::Read.env_var(), Role::Publish.env_var()]);
        let command: Vec<&str> = container["Command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        for role in Role::ALL {
            assert!(command.contains(&format!("{}={}", role.as_str(), role.env_var()).as_str()), "the command names the {} secret", role.as_str());
        }
        cmd.env(Role::Read.env_var(), creds.read.secret()).env(Role::Publish.env_var(), creds.publish.secret());
    }
    for (k, v) in overrides {
        cmd.env(k, v);
    }
    let dirs: Vec<String> = path.iter().map(|p| p.display().to_string()).chain(["/usr/bin".into(), "/bin".into()]).collect();
    cmd.env("PATH", dirs.join(":"));
    let logfile = std::fs::File::create(log).unwrap();
    cmd.stdout(logfile.try_clone().unwrap()).stderr(logfile).process_group(0);
    cmd.spawn().expect("the container's entry point starts")
}

/// The size (MiB) of pypiserver's scratch tmpfs at /tmp in the task.
fn scratch_mib(container: &Value) -> u64 {
    let tmpfs = container["LinuxParameters"]["Tmpfs"].as_array().unwrap();
    tmpfs.iter().find(|t| t["ContainerPath"] == "/tmp").expect("pypiserver's /tmp is a tmpfs")["Size"].as_u64().unwrap()
}

/// `unshare -rm sh -c 'mount tmpfs on $0 && exec "$@"' <dir>` in front of a
/// command: it runs with a real tmpfs of the task's scratch size at `dir`
/// (its TMPDIR), in its own mount namespace, unprivileged. Without unshare
/// the test fails: it is never skipped.
fn with_scratch_tmpfs(container: &Value, dir: &Path) -> Vec<String> {
    with_tmpfs(dir, scratch_mib(container))
}

/// The same with a tmpfs of `mib` MiB at `dir`.
fn with_tmpfs(dir: &Path, mib: u64) -> Vec<String> {
    let unshare = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("unshare (util-linux) is missing: the contract test runs containers with real tmpfs mounts");
    let mount = format!("mount -t tmpfs -o size={mib}m tmpfs \"$0\" && exec \"$@\"");
    vec![unshare.into(), "-rm".into(), "/bin/sh".into(), "-c".into(), mount, dir.display().to_string()]
}

/// pypiserver as the task starts it, on `packages`, its scratch a tmpfs of
/// the task's size.
fn start(container: &Value, creds: &Credentials, work: &Path, packages: &Path) -> Server {
    let work = owned_dir(work);
    let port = free_port();
    let home = owned_dir(&work.join("home"));
    let scratch = owned_dir(&work.join("scratch"));
    let log = work.join("server.log");
    let overrides = [
        ("PYPISERVER_HOST", "127.0.0.1".to_string()),
        ("PYPISERVER_PORT", port.to_string()),
        ("PACKAGES_DIR", packages.display().to_string()),
        ("TMPDIR", scratch.display().to_string()),
        ("HOME", home.display().to_string()),
    ];
    let wrapper = with_scratch_tmpfs(container, &scratch);
    let child = launch(container, creds, &overrides, &[common::tools().join("pypi/bin")], &log, &wrapper);
    let server = Server { child, port, packages: packages.to_path_buf(), dir: scratch, buffers: None, log };
    server.wait_healthy();
    server
}

/// The page indexer as the task starts it: `packages` in, pages into
/// `pages` (its task's volume). It serves nothing: `port` is unused.
fn start_indexer(container: &Value, creds: &Credentials, work: &Path, packages: &Path, pages: &Path) -> Server {
    let work = owned_dir(work);
    let log = work.join("indexer.log");
    let overrides = [
        ("PACKAGES_DIR", packages.display().to_string()),
        ("PAGES_DIR", owned_dir(pages).display().to_string()),
        ("HOME", work.display().to_string()),
    ];
    let child = launch(container, creds, &overrides, &[common::tools().join("pypi/bin")], &log, &[]);
    Server { child, port: 0, packages: packages.to_path_buf(), dir: work, buffers: None, log }
}

/// The proxy sidecar as the task starts it, in front of `upstream`, serving
/// the pages in `pages` (its task's pages volume), buffering request bodies
/// in [`buffers_dir`] (the task's upload-buffers mount).
fn start_proxy(container: &Value, creds: &Credentials, work: &Path, upstream: &Server, pages: &Path) -> Server {
    let run = owned_dir(work);
    let port = free_port();
    let log = work.parent().unwrap().join(format!("{}.log", work.file_name().unwrap().to_string_lossy()));
    let overrides = [
        ("PROXY_HOST", "127.0.0.1".to_string()),
        ("PROXY_PORT", port.to_string()),
        ("UPSTREAM", format!("127.0.0.1:{}", upstream.port)),
        ("PACKAGES_DIR", upstream.packages.display().to_string()),
        ("RUN_DIR", run.display().to_string()),
        ("PAGES_DIR", owned_dir(pages).display().to_string()),
        ("UPLOAD_BUFFER_DIR", buffers_dir(&upstream.packages).display().to_string()),
    ];
    let child = launch(container, creds, &overrides, &[nginx_dir()], &log, &[]);
    let server = Server { child, port, packages: upstream.packages.clone(), dir: run, buffers: Some(buffers_dir(&upstream.packages)), log };
    server.wait_healthy();
    server
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn basic(auth: (&str, &str)) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", auth.0, auth.1)))
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = agent().get(&self.url("/health")).call() {
                if r.status() == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{} did not become healthy in 30 s:\n{}", self.url("/health"), self.log());
    }

    /// GET with credentials: (status, served from the indexer's pages, body).
    fn page(&self, path: &str, auth: (&str, &str)) -> (u16, bool, String) {
        let mut r = agent().get(&self.url(path)).header("Authorization", basic(auth)).call().unwrap();
        let r#static = r.headers().get("x-pypictl-page").is_some_and(|v| v == "static");
        (r.status().as_u16(), r#static, r.body_mut().read_to_string().unwrap())
    }

    /// (status, Location header) of a GET, with or without credentials.
    fn get(&self, path: &str, auth: Option<(&str, &str)>) -> (u16, Option<String>) {
        self.get_with(path, auth, &[])
    }

    /// [`Server::get`] with extra request headers.
    fn get_with(&self, path: &str, auth: Option<(&str, &str)>, headers: &[(&str, &str)]) -> (u16, Option<String>) {
        let mut req = agent().get(&self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(auth) = auth {
            req = req.header("Authorization", basic(auth));
        }
        let r = req.call().unwrap();
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), location)
    }

    /// (status, body) of a GET without credentials.
    fn get_body(&self, path: &str) -> (u16, String) {
        let mut r = agent().get(&self.url(path)).call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
    }

    /// POSTs a form (see [`form`]) to `/`: (status, body).
    fn post_form(&self, auth: (&str, &str), fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (u16, String) {
        let (content_type, body) = form(fields, file);
        let mut r = agent().post(&self.url("/")).header("Authorization", basic(auth)).header("Content-Type", content_type).send(&body[..]).unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
    }

    fn index_url(&self, auth: (&str, &str)) -> String {
        format!("http://{}:{}@127.0.0.1:{}/simple/", utf8_percent_encode(auth.0, USERINFO), utf8_percent_encode(auth.1, USERINFO), self.port)
    }

    /// The package directory's entries but the upload scratch directory.
    fn stored(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.packages)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            // The upload scratch directory and the recorded digests.
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    fn incoming_dir(&self) -> PathBuf {
        self.packages.join(pypictl_stacks::pypiserver::INCOMING)
    }

    /// The upload scratch directories' entries: pypiserver's, and the
    /// proxy's buffers for a proxy.
    fn incoming(&self) -> Vec<String> {
        std::iter::once(self.incoming_dir())
            .chain(self.buffers.clone())
            .flat_map(|dir| std::fs::read_dir(&dir).unwrap().map(move |e| format!("{}/{}", dir.display(), e.unwrap().file_name().to_string_lossy())))
            .collect()
    }

    /// What this server's processes hold open under the upload scratch
    /// directories, unlinked files included ("<path> (deleted)").
    fn holds_open(&self) -> Vec<String> {
        let dirs: Vec<String> = std::iter::once(self.incoming_dir()).chain(self.buffers.clone()).map(|d| format!("{}/", d.display())).collect();
        std::iter::once(self.child.id())
            .chain(descendants(self.child.id()))
            .flat_map(|pid| std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten())
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .map(|target| target.to_string_lossy().into_owned())
            .filter(|target| dirs.iter().any(|dir| target.starts_with(dir.as_str())))
            .collect()
    }

    /// The credentials map the proxy's start script wrote.
    fn credentials_map(&self) -> PathBuf {
        self.dir.join("credentials.map")
    }

    /// (environment, command line) of the server and each of its workers.
    fn processes(&self) -> Vec<(String, String)> {
        let read = |pid: u32, f: &str| String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/{f}")).unwrap_or_default()).into_owned();
        std::iter::once(self.child.id()).chain(descendants(self.child.id())).map(|pid| (read(pid, "environ"), read(pid, "cmdline"))).collect()
    }
}

/// A multipart/form-data body (as twine sends it): the fields, then a file
/// as the `content` part, if any. (Content-Type, body).
fn form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "pypictl-contract-form";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").bytes());
    }
    if let Some((name, bytes)) = file {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Runs a command to completion within `limit`; kills it otherwise.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("command starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Drained while it runs: a chatty command never blocks on a full pipe.
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).unwrap();
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).unwrap();
        buf
    });
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Python tool from the pinned virtualenv, isolated from the machine's
/// pip/twine configuration (no config files, no find-links, no ~/.pypirc).
fn python_tool(home: &Path, program: &str) -> Command {
    let mut cmd = Command::new(common::tool("pypi", program));
    for (k, _) in std::env::vars() {
        if k.starts_with("PIP_") || k.starts_with("TWINE_") || k.starts_with("UV_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home).env("PIP_CONFIG_FILE", "/dev/null").env("PIP_DISABLE_PIP_VERSION_CHECK", "1").env("UV_NO_CONFIG", "1");
    cmd
}

fn build_package(work: &Path, version: &str) -> PathBuf {
    build_package_with(work, version, "")
}

/// An sdist and a wheel of the probe project at `version`; `variant` changes
/// the module's text (other bytes under the same file names).
fn build_package_with(work: &Path, version: &str, variant: &str) -> PathBuf {
    let project = work.join(format!("probe-{version}{variant}"));
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"pypictl-contract-probe\"\nversion = \"{version}\"\nrequires-python = \">=3.8\"\n\n[tool.setuptools]\npy-modules = [\"pypictl_contract_probe\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(project.join("pypictl_contract_probe.py"), format!("VERSION = \"{version}\"\n{variant}")).unwrap();
    let dist = project.join("dist");
    let out = run(
        python_tool(work, "python").args(["-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir"]).arg(&dist).arg(&project),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "build failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dist).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2, "an sdist and a wheel: {files:?}");
    dist
}

/// A valid wheel of `pypictl-contract-big` 1.0.0 into `dir` (nothing else
/// there), carrying `size` random (incompressible) bytes stored
/// uncompressed as `pypictl_contract_big/blob.bin`: the sha256 of those.
fn big_wheel(work: &Path, dir: &Path, size: usize) -> String {
    const WRITE: &str = r#"
import base64, hashlib, os, sys, zipfile
out, size = sys.argv[1], int(sys.argv[2])
name, version = "pypictl_contract_big", "1.0.0"
info = f"{name}-{version}.dist-info"
data = os.urandom(size)
files = {
    f"{name}/__init__.py": b"",
    f"{name}/blob.bin": data,
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: pypictl-contract-big\nVersion: {version}\n".encode(),
    f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: pypictl-contract\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
digest = lambda b: base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join(f"{p},sha256={digest(b)},{len(b)}\n" for p, b in files.items()) + f"{info}/RECORD,,\n"
with zipfile.ZipFile(os.path.join(out, f"{name}-{version}-py3-none-any.whl"), "w", zipfile.ZIP_STORED) as z:
    for p, b in [*files.items(), (f"{info}/RECORD", record.encode())]:
        z.writestr(p, b)
print(hashlib.sha256(data).hexdigest())
"#;
    let out = run(python_tool(work, "python").args(["-c", WRITE]).arg(owned_dir(dir)).arg(size.to_string()), Duration::from_secs(60));
    assert!(out.status.success(), "writing the wheel failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn twine_upload(server: &Server, work: &Path, dist: &Path, auth: (&str, &str)) -> Output {
    let files: Vec<PathBuf> = std::fs::read_dir(dist).unwrap().map(|e| e.unwrap().path()).collect();
    run(
        python_tool(work, "twine")
            .args(["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", &server.url("/"), "-u", auth.0, "-p", auth.1])
            .args(files),
        Duration::from_secs(120),
    )
}

fn output(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn pip_install(work: &Path, site: &Path, index: &str, requirement: &str) -> Output {
    run(
        python_tool(work, "python")
            .args(["-m", "pip", "install", "--no-cache-dir", "--no-deps", "--only-binary", ":all:", "--upgrade", "--target"])
            .arg(site)
            .args(["--index-url", index, requirement]),
        Duration::from_secs(180),
    )
}

fn sha256(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A page's links as (text, href): what it lists, whatever else it says.
fn links(page: &str) -> Vec<(String, String)> {
    page.split("<a href=\"")
        .skip(1)
        .map(|a| {
            let (href, rest) = a.split_once('"').unwrap();
            let text = rest.split_once('>').unwrap().1.split_once("</a>").unwrap().0;
            (text.to_string(), href.to_string())
        })
        .collect()
}

/// Runs check_pages.py (packaging's parsers, every page in both forms and
/// every announced metadata file) against `server`: what it printed.
fn check_pages(work: &Path, server: &Server, auth: (&str, &str)) -> String {
    let out = run(
        python_tool(work, "python").args(["-c", include_str!("check_pages.py"), &server.url("/")]).env("PYPICTL_AUTHORIZATION", basic(auth)),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "the pages do not pass the PEPs' checks:\n{}", output(&out));
    output(&out)
}

/// The direct children of a process.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // pid (comm) state ppid ...; comm may contain spaces.
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse::<u32>().ok()?;
            (ppid == pid).then(|| e.file_name().to_string_lossy().parse().ok()).flatten()
        })
        .collect()
}

fn children_of(pid: u32) -> usize {
    children(pid).len()
}

/// Every process below `pid` (bounded: a server has a few dozen at most).
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = children(pid);
    let mut i = 0;
    while i < found.len() && found.len() < 256 {
        found.extend(children(found[i]));
        i += 1;
    }
    found
}

/// Until `ok` holds, at most `limit`: whether it did.
fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ok()
}

/// Sends the headers of an upload of `declared` bytes and half the body,
/// then hangs up: a client cut off halfway.
fn cut_off_upload(port: u16, auth: (&str, &str), declared: usize) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {}\r\nContent-Type: multipart/form-data; boundary=cut\r\nContent-Length: {declared}\r\n\r\n--cut\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n--cut\r\nContent-Disposition: form-data; name=\"content\"; filename=\"pypictl_contract_cut-1.0.0-py3-none-any.whl\"\r\n\r\n",
        basic(auth)
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut sent = head.len() - head.find("\r\n\r\n").unwrap() - 4;
    let chunk: Vec<u8> = (0..MIB).map(|i| (i * 7919 % 251) as u8).collect();
    while sent < declared / 2 {
        let n = chunk.len().min(declared / 2 - sent);
        s.write_all(&chunk[..n]).unwrap();
        sent += n;
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(s);
}

/// Declares an upload of `declared` bytes, sends no body: the status line's
/// code (a size refused before the body is read).
fn declared_upload_status(port: u16, auth: (&str, &str), declared: usize) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {declared}\r\n\r\n",
        basic(auth)
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut answer = [0u8; 12];
    s.read_exact(&mut answer).unwrap();
    String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
}

/// Runs a container's health check command (`CMD` or `CMD-SHELL`) with the
/// container's environment and `overrides`: whether it passes.
fn health_check_passes(container: &Value, overrides: &[(&str, String)], path: &[PathBuf]) -> bool {
    let check: Vec<String> = container["HealthCheck"]["Command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let mut cmd = match check[0].as_str() {
        "CMD" => {
            let mut c = Command::new(&check[1]);
            c.args(&check[2..]);
            c
        }
        "CMD-SHELL" => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(&check[1]);
            c
        }
        other => panic!("unknown health check form {other}"),
    };
    cmd.env_clear();
    for e in container["Environment"].as_array().unwrap() {
        cmd.env(e["Name"].as_str().unwrap(), e["Value"].as_str().unwrap());
    }
    for (k, v) in overrides {
        cmd.env(k, v);
    }
    let dirs: Vec<String> = path.iter().map(|p| p.display().to_string()).chain(["/usr/bin".into(), "/bin".into()]).collect();
    cmd.env("PATH", dirs.join(":"));
    run(&mut cmd, Duration::from_secs(30)).status.success()
}

/// The proxy's start script with a stand-in `nginx` that records what it is
/// given: (its environment, its arguments).
fn proxy_exec(container: &Value, creds: &Credentials, work: &Path, packages: &Path) -> (String, String) {
    let run_dir = owned_dir(&work.join("run"));
    let bin = owned_dir(&work.join("bin"));
    let stub = bin.join("nginx");
    std::fs::write(&stub, "#!/bin/sh\nenv > \"$RUN_DIR/exec.env\"\nprintf '%s\\n' \"$@\" > \"$RUN_DIR/exec.args\"\n").unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let overrides = [
        ("RUN_DIR", run_dir.display().to_string()),
        ("PACKAGES_DIR", packages.display().to_string()),
        ("PAGES_DIR", owned_dir(&work.join("pages")).display().to_string()),
        ("UPLOAD_BUFFER_DIR", owned_dir(&work.join("incoming")).display().to_string()),
    ];
    let mut child = launch(container, creds, &overrides, &[bin], &work.join("start.log"), &[]);
    let exited = wait_until(Duration::from_secs(30), || child.try_wait().unwrap().is_some());
    if !exited {
        let _ = child.kill();
    }
    assert!(exited && child.wait().unwrap().success(), "the start script ran:\n{}", std::fs::read_to_string(work.join("start.log")).unwrap_or_default());
    (std::fs::read_to_string(run_dir.join("exec.env")).unwrap(), std::fs::read_to_string(run_dir.join("exec.args")).unwrap())
}

/// The secrets never reach a server's environment or command line (checked
/// for the server and every worker).
fn assert_no_secrets(server: &Server, creds: &Credentials, what: &str) {
    let processes = server.processes();
    assert!(processes.len() > 1, "{what}: the server and its workers");
    for (environ, cmdline) in processes {
        for var in [Role::Read.env_var(), Role::Publish.env_var()] {
            assert!(!environ.contains(&format!("{var}=")), "{what}: {var} must not stay in a process's environment");
        }
        for password in creds.passwords() {
            assert!(!environ.contains(password) && !cmdline.contains(password), "{what}: a password must not stay in a process's environment or arguments");
        }
    }
}

#[test]
fn pypiserver_started_as_the_task_definition_starts_it_serves_pip_and_twine() {
    let work = workdir();
    let out = work.path().join("templates");
    common::synth("heavy", &out);
    let (container, creds) = container_definition(&out);
    let (read, publish) = (creds.read.auth(), creds.publish.auth());

    // The tools run the PyPI release of the default image tag.
    let image = container["Image"].as_str().unwrap();
    let tag = image.rsplit_once(':').unwrap().1;
    let version = run(Command::new(common::tool("pypi", "pypi-server")).arg("--version"), Duration::from_secs(30));
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    assert_eq!(format!("v{version}"), tag, "the contract test must run the image's pypiserver version");

    let packages = owned_dir(&work.path().join("packages"));
    // A file stored before digests were recorded (or copied in by other
    // means), untouched for five minutes: pypiserver records its digest.
    let earlier = packages.join("earlier-1.0-py3-none-any.whl");
    std::fs::write(&earlier, b"stored before digests were recorded").unwrap();
    std::fs::File::options().write(true).open(&earlier).unwrap().set_modified(std::time::SystemTime::now() - Duration::from_secs(300)).unwrap();
    let server = start(&container, &creds, &work.path().join("pypiserver"), &packages);
    let recorded = |name: &str| std::fs::read_to_string(packages.join(pypictl_stacks::pypiserver::DIGESTS).join(format!("{name}.sha256"))).unwrap_or_default();
    // "<size> <sha256> <METADATA's sha256 or -> <Requires-Python, percent-encoded, or ->"
    let expected = |name: &str, metadata: &str, python: &str| format!("{} {} {metadata} {python}\n", std::fs::metadata(packages.join(name)).unwrap().len(), sha256(&packages.join(name)));
    // (Not a zip: no metadata to read; listed all the same.)
    let earlier_record = || expected("earlier-1.0-py3-none-any.whl", "-", "-");
    assert!(wait_until(Duration::from_secs(10), || recorded("earlier-1.0-py3-none-any.whl") == earlier_record()), "the digest of a file found without one is recorded:\n{}", server.log());
    std::fs::remove_file(&earlier).unwrap();

    // The secrets are gone from the server's environment (and its workers'),
    // and were never in a command line; the program created the upload
    // scratch directory, hidden, for its owner only.
    assert_no_secrets(&server, &creds, "pypiserver");
    assert!(server.processes()[0].0.contains("PACKAGES_DIR="), "the server's environment is the one it was started with");
    let incoming = std::fs::metadata(server.incoming_dir()).expect("the program creates the upload scratch directory");
    assert!(incoming.is_dir() && incoming.permissions().mode() & 0o777 == 0o700, "{:o}", incoming.permissions().mode());

    // gunicorn runs the sized number of workers (GUNICORN_CMD_ARGS is honoured).
    let gunicorn = env_of(&container, "GUNICORN_CMD_ARGS").unwrap();
    assert!(gunicorn.starts_with("--workers 4 "), "{gunicorn}");
    let timeout = pypictl_stacks::pypiserver::worker_timeout_seconds(env_of(&container, "MAX_UPLOAD_MB").unwrap().parse().unwrap());
    assert!(gunicorn.contains(&format!("--timeout {timeout} ")) && timeout >= 60, "{gunicorn}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while children_of(server.child.id()) < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(children_of(server.child.id()), 4, "gunicorn workers:\n{}", server.log());
    assert!(server.log().contains("Using worker: sync"), "{}", server.log());

    // Authentication: listing needs a credential, /health does not; both
    // roles list.
    assert_eq!(server.get("/simple/", None).0, 401);
    assert_eq!(server.get("/", None).0, 401, "every route but /health");
    assert_eq!(server.get("/health", None).0, 200);
    assert_eq!(server.get("/simple/", Some(read)).0, 200);
    assert_eq!(server.get("/simple/", Some(publish)).0, 200);
    assert_eq!(server.get("/simple/", Some((read.0, "wrong"))).0, 401);
    assert_eq!(server.get("/simple/", Some((read.0, publish.1))).0, 401, "a password belongs to its own username");

    // twine: the read credential is refused (403, nothing stored); the
    // publish credential uploads a fresh sdist and wheel.
    let dist = build_package(work.path(), "0.1.0");
    let refused = twine_upload(&server, work.path(), &dist, read);
    assert!(!refused.status.success() && output(&refused).contains("403"), "the read credential must not upload:\n{}", output(&refused));
    assert!(server.stored().is_empty() && server.incoming().is_empty(), "{:?} {:?}", server.stored(), server.incoming());
    let upload = twine_upload(&server, work.path(), &dist, publish);
    assert!(upload.status.success(), "twine upload failed:\n{}", output(&upload));
    assert_eq!(server.stored(), ["pypictl_contract_probe-0.1.0-py3-none-any.whl", "pypictl_contract_probe-0.1.0.tar.gz"]);
    // Each upload's digest, recorded as it was stored, for every indexer.
    // With what its metadata says: Requires-Python, and a wheel's METADATA
    // recorded beside it (PEP 658), the one inside the wheel.
    let [wheel, sdist] = <[String; 2]>::try_from(server.stored()).unwrap();
    let metadata = packages.join(pypictl_stacks::pypiserver::DIGESTS).join(format!("{wheel}.metadata"));
    let inside = run(
        python_tool(work.path(), "python").args(["-c", "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read('pypictl_contract_probe-0.1.0.dist-info/METADATA'))"]).arg(packages.join(&wheel)),
        Duration::from_secs(30),
    );
    assert_eq!(std::fs::read(&metadata).unwrap(), inside.stdout, "the wheel's own METADATA");
    assert_eq!(recorded(&wheel), expected(&wheel, &sha256(&metadata), "%3E%3D3.8"));
    assert_eq!(recorded(&sdist), expected(&sdist, "-", "%3E%3D3.8"), "an sdist's Requires-Python, from its PKG-INFO");
    assert!(server.incoming().is_empty(), "no temporary file stays behind: {:?}", server.incoming());

    // pip installs it with the read credential, the password percent-encoded
    // in the index URL.
    let site = work.path().join("site");
    let index = server.index_url(read);
    assert!(index.contains("p%40ss%3Aw%2Frd%2541%20%23%3F%2B%26%3Dx@"), "{index}");
    let install = pip_install(work.path(), &site, &index, "pypictl-contract-probe==0.1.0");
    assert!(install.status.success(), "pip install failed:\n{}", output(&install));
    assert_eq!(std::fs::read_to_string(site.join("pypictl_contract_probe.py")).unwrap(), "VERSION = \"0.1.0\"\n");

    // A name that does not exist is not redirected to the public index.
    let (status, location) = server.get("/simple/requests/", Some(read));
    assert_eq!((status, location), (404, None), "a missing name must never be redirected to pypi.org");
    assert_eq!(server.stored().len(), 2);
    let dist2 = build_package(work.path(), "0.2.0");
    assert_refusals(&server, &server, work.path(), &index, &dist, &dist2, &creds);
    assert_eq!(server.stored().len(), 2);
    // (pypiserver matches the name as the file spells it.)
    let removal = [(":action", "remove_pkg"), ("name", "pypictl_contract_probe"), ("version", "0.1.0")];
    assert_eq!(server.post_form(publish, &removal, None).0, 405, "uploaded files are immutable");
    assert_eq!(server.stored().len(), 2);

    // With credentials.publish_can_delete (the all-features example), the
    // publish credential may remove files, the read one still may not.
    let out = work.path().join("templates-deleting");
    common::synth("all-features", &out);
    let (container, creds) = container_definition(&out);
    assert_eq!(env_of(&container, "ALLOW_DELETE").as_deref(), Some("true"));
    let packages = owned_dir(&work.path().join("packages-deleting"));
    let server = start(&container, &creds, &work.path().join("pypiserver-deleting"), &packages);
    let upload = twine_upload(&server, work.path(), &dist, creds.publish.auth());
    assert!(upload.status.success(), "twine upload failed:\n{}", output(&upload));
    assert_eq!(server.post_form(creds.read.auth(), &removal, None).0, 403, "the read credential removes nothing");
    assert_eq!(server.stored().len(), 2);
    let records = packages.join(pypictl_stacks::pypiserver::DIGESTS);
    assert_eq!(walk(&records).len(), 3, "two digests and the wheel's METADATA: {:?}", walk(&records));
    assert_eq!(server.post_form(creds.publish.auth(), &removal, None).0, 200, "{}", server.log());
    assert!(server.stored().is_empty(), "{:?}", server.stored());
    assert!(walk(&records).is_empty(), "their records go with them: {:?}", walk(&records));
}

/// What the index refuses: pip finding a name it does not have, uploading
/// `new` (through `upload_to`) with a wrong password or with the read
/// credential — nothing stored, as `storage` shows — and uploading an
/// existing file (`dist`) again (409).
fn assert_refusals(upload_to: &Server, storage: &Server, work: &Path, index: &str, dist: &Path, new: &Path, creds: &Credentials) {
    let missing = run(
        python_tool(work, "python")
            .args(["-m", "pip", "download", "--no-cache-dir", "--no-deps", "--dest"])
            .arg(work.join("dl"))
            .args(["--index-url", index, "requests"]),
        Duration::from_secs(120),
    );
    assert!(!missing.status.success(), "pip must not find a name the private index does not have");

    let stored = storage.stored();
    let refused = twine_upload(upload_to, work, new, (&creds.publish.username, "not-the-password"));
    assert!(!refused.status.success() && output(&refused).contains("401"), "an upload with a wrong password must fail:\n{}", output(&refused));
    let refused = twine_upload(upload_to, work, new, creds.read.auth());
    assert!(!refused.status.success() && output(&refused).contains("403"), "the read credential must not upload:\n{}", output(&refused));
    assert_eq!(storage.stored(), stored, "nothing stored by a refused upload");
    assert!(storage.incoming().is_empty(), "nothing left behind by a refused upload: {:?}", storage.incoming());

    // Files are immutable, for twine too.
    let again = twine_upload(upload_to, work, dist, creds.publish.auth());
    assert!(!again.status.success() && output(&again).contains("409"), "re-uploading an existing file must be refused with 409:\n{}", output(&again));
}

/// GET with credentials until the page lists `needle`, served from the
/// indexer's pages (`Some(true)`), from pypiserver (`Some(false)`) or either
/// (`None`), or `limit` passes: how long it took.
fn wait_page(server: &Server, path: &str, auth: (&str, &str), needle: &str, from_pages: Option<bool>, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let (status, r#static, body) = server.page(path, auth);
        if status == 200 && body.contains(needle) && from_pages.is_none_or(|want| want == r#static) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The proxy's credentials map: one anchored, case-sensitive regex entry per
/// accepted password, its role as the value, mode 0600, no password in it;
/// each entry decodes to `username:password`.
fn assert_credentials_map(proxy: &Server, creds: &Credentials) -> String {
    let path = proxy.credentials_map();
    let map = std::fs::read_to_string(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    for password in creds.passwords() {
        assert!(!map.contains(password), "no password in plain text in the map");
    }
    let mut entries = Vec::new();
    for line in map.lines() {
        let (key, role) = line.strip_suffix(';').and_then(|l| l.rsplit_once(' ')).unwrap_or_else(|| panic!("{line}"));
        let token = key.strip_prefix("\"~^Basic\\ ").and_then(|k| k.strip_suffix("$\"")).unwrap_or_else(|| panic!("an anchored regex of the header: {line}"));
        assert!(!token.replace("\\+", "").contains(['+', '.', '*', '?', '(', '[', '|', '^', '$']), "regex metacharacters are escaped: {line}");
        let decoded = base64::engine::general_purpose::STANDARD.decode(token.replace("\\+", "+")).unwrap();
        entries.push((String::from_utf8(decoded).unwrap(), role.to_string()));
    }
    let mut expected = Vec::new();
    for (credential, role) in [(&creds.read, "read"), (&creds.publish, "publish")] {
        for p in std::iter::once(&credential.password).chain(&credential.pending) {
            expected.push((format!("{}:{p}", credential.username), role.to_string()));
        }
    }
    assert_eq!(entries, expected);
    map
}

#[test]
fn the_proxy_sidecar_started_as_the_task_definition_starts_it_serves_pip_and_twine_consistently_across_replicas() {
    let work = workdir();
    let out = work.path().join("templates");
    common::synth("heavy", &out);
    let containers = task_containers(&out);
    let (pypi, creds) = container_definition(&out);
    let (read, publish) = (creds.read.auth(), creds.publish.auth());
    let proxy = containers.iter().find(|c| c["Name"] == "proxy").expect("the task runs the proxy sidecar").clone();

    // The task's wiring: the load balancer reaches the proxy only; the proxy
    // reaches pypiserver through its link; pypiserver publishes no port.
    assert!(pypi.get("PortMappings").is_none(), "pypiserver must be reachable only from the proxy");
    assert_eq!(proxy["Links"], serde_json::json!(["pypiserver"]));
    assert_eq!(proxy["DependsOn"], serde_json::json!([{"ContainerName": "pypiserver", "Condition": "HEALTHY"}]));
    let env = env_of;
    assert_eq!(env(&proxy, "UPSTREAM").as_deref(), Some("pypiserver:8080"));
    assert_eq!(env(&proxy, "PACKAGES_DIR"), env(&pypi, "PACKAGES_DIR"), "the proxy serves files from pypiserver's directory");
    assert_eq!(env(&proxy, "MAX_BODY_MB"), env(&pypi, "MAX_BODY_MB"), "the proxy and pypiserver agree on the largest body");
    assert_eq!(proxy["MountPoints"][0]["ReadOnly"], true);
    assert_eq!(proxy["User"], "9898:9898", "nginx runs unprivileged, as the owner of the package files");
    assert_eq!(proxy["ReadonlyRootFilesystem"], true);
    // The page indexer: pypiserver's image (its code reads the directory),
    // no secrets, no port, not essential (the proxy falls back to
    // pypiserver); its pages volume is the proxy's, read-only there.
    let indexer = containers.iter().find(|c| c["Name"] == "indexer").expect("the task runs the page indexer").clone();
    assert_eq!(indexer["Image"], pypi["Image"], "the indexer runs pypiserver's own code");
    assert_eq!(indexer["Essential"], false);
    assert!(indexer.get("Secrets").is_none() && indexer.get("PortMappings").is_none());
    assert_eq!(indexer["User"], "9898:9898");
    assert_eq!(env(&indexer, "PACKAGES_DIR"), env(&pypi, "PACKAGES_DIR"));
    assert_eq!(env(&indexer, "PAGES_DIR"), env(&proxy, "PAGES_DIR"));
    let mount = |c: &Value, volume: &str| c["MountPoints"].as_array().unwrap().iter().find(|m| m["SourceVolume"] == volume).cloned().unwrap();
    assert_eq!((mount(&indexer, "pages")["ReadOnly"].clone(), mount(&proxy, "pages")["ReadOnly"].clone()), (Value::Bool(false), Value::Bool(true)));
    assert_eq!(mount(&indexer, "packages")["ReadOnly"], true, "the indexer never writes packages");
    assert_eq!(Some(mount(&indexer, "pages")["ContainerPath"].as_str().unwrap().to_string()), env(&proxy, "PAGES_DIR"));
    let service = common::read_json(&out.join("service.template.json"));
    let volumes = service["Resources"]["TaskDefinition"]["Properties"]["Volumes"].as_array().unwrap();
    let pages = &volumes.iter().find(|v| v["Name"] == "pages").unwrap()["DockerVolumeConfiguration"];
    assert_eq!((pages["Scope"].as_str(), pages["DriverOpts"]["type"].as_str()), (Some("task"), Some("tmpfs")), "a task-scoped volume in memory");
    assert!(pages["DriverOpts"]["o"].as_str().unwrap().contains("uid=9898,gid=9898"), "writable by the indexer's user");
    let lb = &service["Resources"]["Service"]["Properties"]["LoadBalancers"][0];
    assert_eq!((lb["ContainerName"].as_str(), lb["ContainerPort"].as_u64()), (Some("proxy"), proxy["PortMappings"][0]["ContainerPort"].as_u64()));
    // The proxy buffers request bodies in a read-write mount where
    // UPLOAD_BUFFER_DIR says.
    let buffer = proxy["MountPoints"].as_array().unwrap().iter().find(|m| Some(m["ContainerPath"].as_str().unwrap().to_string()) == env(&proxy, "UPLOAD_BUFFER_DIR"));
    assert_eq!(buffer.map(|m| m["ReadOnly"].clone()), Some(Value::Bool(false)), "the upload buffer is a writable mount");

    // Two replicas (pypiserver + proxy each) sharing one package directory,
    // as two tasks share the EFS directory.
    let packages = owned_dir(&work.path().join("packages"));
    let pypi_a = start(&pypi, &creds, &work.path().join("pypiserver-a"), &packages);
    let pypi_b = start(&pypi, &creds, &work.path().join("pypiserver-b"), &packages);
    // Each task has its own indexer and pages volume.
    let (pages_a, pages_b) = (work.path().join("pages-a"), work.path().join("pages-b"));
    let indexer_a = start_indexer(&indexer, &creds, &work.path().join("indexer-a"), &packages, &pages_a);
    let indexer_b = start_indexer(&indexer, &creds, &work.path().join("indexer-b"), &packages, &pages_b);
    let a = start_proxy(&proxy, &creds, &work.path().join("proxy-a"), &pypi_a, &pages_a);
    let b = start_proxy(&proxy, &creds, &work.path().join("proxy-b"), &pypi_b, &pages_b);

    // The proxy's credentials map: every accepted header, readable by its
    // owner only; the secrets are gone from nginx's environment.
    let map = assert_credentials_map(&a, &creds);
    assert!(map.contains("\\+"), "the publish entry's `+` is escaped (the test's password makes one): {map}");
    assert_no_secrets(&a, &creds, "nginx");
    assert!(std::fs::read_to_string(format!("/proc/{}/cmdline", a.child.id())).unwrap().starts_with("nginx"), "the script execs nginx");
    // nginx overwrites its environment's memory with its process titles, so
    // what the script hands it is recorded by a stand-in nginx instead.
    let (environ, args) = proxy_exec(&proxy, &creds, &work.path().join("proxy-exec"), &packages);
    assert!(environ.contains("RUN_DIR=") && args.contains("daemon off;"), "{environ}\n{args}");
    for var in [Role::Read.env_var(), Role::Publish.env_var()] {
        assert!(!environ.contains(&format!("{var}=")), "{var} must be gone from the environment nginx gets");
    }
    for password in creds.passwords() {
        assert!(!environ.contains(password) && !args.contains(password), "no password in what nginx gets");
    }

    // Authentication at the proxy: /health needs none, everything else does,
    // with the challenge pip needs; the header is matched exactly.
    assert_eq!(a.get("/health", None).0, 200);
    assert_eq!(a.get("/simple/", None).0, 401);
    let challenge = agent().get(&a.url("/simple/")).call().unwrap();
    assert_eq!(challenge.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).as_deref(), Some("Basic realm=\"pypiserver\""));
    assert_eq!(a.get("/packages/anything.whl", None).0, 401);
    assert_eq!(a.get("/packages/.incoming/", None).0, 401);
    assert_eq!(a.get("/", None).0, 401);
    assert_eq!(a.get("/simple/", Some((read.0, "wrong"))).0, 401);
    assert_eq!(a.get("/simple/", Some((read.0, &READ_PASSWORD[..READ_PASSWORD.len() - 1]))).0, 401);
    assert_eq!(a.get("/simple/", Some((publish.0, read.1))).0, 401, "a password belongs to its own username");
    let token = basic(read).strip_prefix("Basic ").unwrap().to_string();
    for header in [format!("Basic {}", token.to_lowercase()), format!("Basic {}", token.to_uppercase()), format!("Basic {token}x"), format!("xBasic {token}")] {
        assert_eq!(a.get_with("/simple/", None, &[("Authorization", &header)]).0, 401, "{header}: base64 is case-sensitive, the match anchored");
    }
    assert_eq!(a.get("/simple/", Some(read)).0, 200);
    assert_eq!(a.get("/simple/", Some(publish)).0, 200);

    // Replica B has already cached "no such project" when the upload lands.
    assert_eq!(b.get("/simple/pypictl-contract-probe/", Some(read)), (404, None));

    // The indexers have published their first page tree (the empty index):
    // /simple/ is served from it, as pypiserver would answer it.
    for (proxy, upstream) in [(&a, &pypi_a), (&b, &pypi_b)] {
        let page = wait_page(proxy, "/simple/", read, "Simple Index", Some(true), Duration::from_secs(10));
        assert!(page.is_some(), "the indexer publishes its pages within seconds:\n{}", indexer_a.log());
        assert_eq!(links(&proxy.page("/simple/", read).2), links(&upstream.page("/simple/", read).2), "the static index lists what pypiserver lists");
    }
    assert_eq!(a.get("/simple/", None).0, 401, "static pages need credentials too");

    // twine: refused for the read credential (403 at the proxy, nothing
    // stored, nothing buffered); the publish credential uploads a new project
    // through replica A's proxy.
    let dist = build_package(work.path(), "0.1.0");
    let refused = twine_upload(&a, work.path(), &dist, read);
    assert!(!refused.status.success() && output(&refused).contains("403"), "the read credential must not upload:\n{}", output(&refused));
    assert!(a.stored().is_empty() && a.incoming().is_empty(), "{:?} {:?}", a.stored(), a.incoming());
    let upload = twine_upload(&a, work.path(), &dist, publish);
    assert!(upload.status.success(), "twine upload failed:\n{}", output(&upload));
    assert_eq!(a.stored(), ["pypictl_contract_probe-0.1.0-py3-none-any.whl", "pypictl_contract_probe-0.1.0.tar.gz"]);

    // Every replica lists it within 5 s: from pypiserver until the indexer's
    // page exists, then from the page.
    let wheel = "pypictl_contract_probe-0.1.0-py3-none-any.whl";
    let project = "/simple/pypictl-contract-probe/";
    let seen_b = wait_page(&b, project, read, wheel, None, Duration::from_secs(5));
    let seen_a = wait_page(&a, project, read, wheel, None, Duration::from_secs(5));
    assert!(seen_b.is_some() && seen_a.is_some(), "an upload must be visible through every replica within 5 s (A {seen_a:?}, B {seen_b:?})");
    assert!(wait_page(&b, "/simple/", read, "pypictl-contract-probe", None, Duration::from_secs(5)).is_some(), "the index lists it too");

    // The indexer's page for the project is exactly what pypiserver answers
    // (hrefs, #sha256= fragments), on both replicas, once the indexer has
    // walked after the last file of the upload (twine sends the wheel, then
    // the sdist: a walk between the two publishes a page with the wheel only).
    let sdist = "pypictl_contract_probe-0.1.0.tar.gz";
    for (proxy, upstream) in [(&a, &pypi_a), (&b, &pypi_b)] {
        assert!(wait_page(proxy, project, read, sdist, Some(true), Duration::from_secs(5)).is_some(), "served from the indexer's pages:\n{}\n{}", indexer_a.log(), indexer_b.log());
        let (status, r#static, page) = proxy.page(project, read);
        assert_eq!((status, r#static), (200, true));
        assert_eq!(links(&page), links(&upstream.page(project, read).2), "the static page lists what pypiserver lists, as it does");
        assert!(page.contains(&format!("href=\"/packages/{wheel}#sha256=")), "{page}");
        assert_eq!(links(&proxy.page("/simple/", read).2), links(&upstream.page("/simple/", read).2));
        // The project's own page: Requires-Python for both files; the
        // wheel's METADATA (PEP 658/714) announced with its sha256 and
        // served beside the wheel, as pypiserver recorded it at upload.
        assert_eq!(page.matches("data-requires-python=\"&gt;=3.8\"").count(), 2, "{page}");
        let metadata = std::fs::read(packages.join(pypictl_stacks::pypiserver::DIGESTS).join(format!("{wheel}.metadata"))).expect("the wheel's METADATA is recorded");
        let announced = format!("sha256={}", hex(&Sha256::digest(&metadata)));
        assert!(page.contains(&format!("data-core-metadata=\"{announced}\" data-dist-info-metadata=\"{announced}\">{wheel}<")), "{page}");
        assert_eq!(page.matches("data-core-metadata").count(), 1, "an sdist announces none:\n{page}");
        let mut r = agent().get(&proxy.url(&format!("/packages/{wheel}.metadata"))).header("Authorization", basic(read)).call().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.body_mut().read_to_vec().unwrap(), metadata);
        let text = String::from_utf8_lossy(&metadata);
        assert!(text.contains("Name: pypictl-contract-probe") && text.contains("Requires-Python: >=3.8"), "{text}");
        assert_eq!(proxy.get(&format!("/packages/{wheel}.metadata"), None).0, 401, "metadata needs credentials too");
        assert_eq!(proxy.get("/packages/pypictl_contract_probe-0.1.0.tar.gz.metadata", Some(read)).0, 404);
        // Every page against the PEPs, with packaging's parsers.
        let checked = check_pages(work.path(), proxy, read);
        assert!(checked.contains("checked 1 projects, 2 files, 1 metadata files"), "{checked}");
    }
    assert_eq!(b.get(project, None).0, 401, "a static project page needs credentials");
    assert_eq!(b.get(project, Some((read.0, "wrong"))).0, 401);

    // pip installs it through replica B with the read credential from the
    // indexer's page, the wheel straight from the shared directory, the
    // password percent-encoded in the index URL.
    let site = work.path().join("site");
    let index = b.index_url(read);
    let install = pip_install(work.path(), &site, &index, "pypictl-contract-probe==0.1.0");
    assert!(install.status.success(), "pip install failed:\n{}", output(&install));
    assert_eq!(std::fs::read_to_string(site.join("pypictl_contract_probe.py")).unwrap(), "VERSION = \"0.1.0\"\n");
    // PEP 691: the same pages as JSON for a client that accepts it (pip
    // asks for JSON first: it just installed from this page, and says so).
    let verbose = run(
        python_tool(work.path(), "python")
            .args(["-m", "pip", "download", "-vv", "--no-cache-dir", "--no-deps", "--only-binary", ":all:", "--dest"])
            .arg(work.path().join("dl-json"))
            .args(["--index-url", &index, "pypictl-contract-probe==0.1.0"]),
        Duration::from_secs(180),
    );
    let log = output(&verbose);
    assert!(verbose.status.success() && log.contains("as application/vnd.pypi.simple.v1+json"), "pip reads the JSON page:\n{log}");
    // PEP 658: pip reads the wheel's dependencies from its METADATA.
    assert!(log.contains(&format!("Obtaining dependency information for pypictl-contract-probe==0.1.0 from {}", b.url(&format!("/packages/{wheel}.metadata")))), "pip uses the announced metadata:\n{log}");
    let json_page = |path: &str, accept: &str| {
        let mut r = agent().get(&b.url(path)).header("Authorization", basic(read)).header("Accept", accept).call().unwrap();
        let header = |h: &str| r.headers().get(h).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let (content_type, vary) = (header("content-type"), header("vary"));
        (r.status().as_u16(), content_type, vary, r.body_mut().read_to_string().unwrap())
    };
    let (status, content_type, vary, body) = json_page(project, "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1");
    assert_eq!((status, content_type.as_str()), (200, "application/vnd.pypi.simple.v1+json"), "{body}");
    assert!(vary.contains("Accept"), "the answer varies with Accept: {vary:?}");
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((page["meta"]["api-version"].as_str(), page["name"].as_str()), (Some("1.0"), Some("pypictl-contract-probe")), "{page}");
    let html = b.page(project, read).2;
    for file in page["files"].as_array().unwrap() {
        let (name, url, digest) = (file["filename"].as_str().unwrap(), file["url"].as_str().unwrap(), file["hashes"]["sha256"].as_str().unwrap());
        assert_eq!(url, format!("/packages/{name}"));
        assert_eq!(digest, sha256(&packages.join(name)), "{name}");
        assert!(html.contains(&format!("href=\"{url}#sha256={digest}\"")), "the JSON page lists what the HTML page lists: {name}");
    }
    assert_eq!(page["files"].as_array().unwrap().len(), html.matches("<a href").count());
    let (_, _, _, root) = json_page("/simple/", "application/vnd.pypi.simple.v1+json");
    let root: Value = serde_json::from_str(&root).unwrap();
    assert!(root["projects"].as_array().unwrap().iter().any(|p| p["name"] == "pypictl-contract-probe"), "{root}");
    // Refused JSON (q=0), or no preference: the HTML page.
    for accept in ["application/vnd.pypi.simple.v1+json;q=0, text/html", "*/*"] {
        let (status, content_type, _, body) = json_page(project, accept);
        assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"), "{accept}");
        assert_eq!(body, html, "{accept}");
    }

    // The file is served byte for byte, by nginx from the directory.
    let mut r = agent().get(&b.url(&format!("/packages/{wheel}"))).header("Authorization", basic(read)).call().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("accept-ranges").map(|v| v.to_str().unwrap().to_string()).as_deref(), Some("bytes"), "served as a static file");
    let body = r.body_mut().with_config().limit(10 << 20).read_to_vec().unwrap();
    assert_eq!(body, std::fs::read(packages.join(wheel)).unwrap());
    let escape = b.get("/packages/..%2fcredentials.map", Some(read)).0;
    assert!(matches!(escape, 400 | 404), "no way out of the package directory: {escape}");
    assert_eq!(b.get("/packages/.hidden", Some(read)).0, 404, "dot files are not served");
    assert_eq!(b.get("/packages/.incoming/", Some(read)).0, 404, "the upload scratch directory is not served");

    // Uploaded files are immutable, through the proxy, for the publish
    // credential too: removal is refused (405), another file under an
    // existing name is refused (409), with twine and with a raw form; the
    // bytes stay.
    let wheel_sha = sha256(&packages.join(wheel));
    let (status, _) = a.post_form(publish, &[(":action", "remove_pkg"), ("name", "pypictl_contract_probe"), ("version", "0.1.0")], None);
    assert_eq!(status, 405, "remove_pkg is refused");
    let (status, _) = a.post_form(read, &[(":action", "remove_pkg"), ("name", "pypictl_contract_probe"), ("version", "0.1.0")], None);
    assert_eq!(status, 403, "the read credential changes nothing");
    let other = build_package_with(work.path(), "0.1.0", "OTHER = True\n");
    let other_wheel = other.join(wheel);
    assert_ne!(sha256(&other_wheel), wheel_sha, "other bytes under the same name");
    let overwrite = twine_upload(&b, work.path(), &other, publish);
    assert!(!overwrite.status.success() && output(&overwrite).contains("409"), "twine must get 409 for an existing name:\n{}", output(&overwrite));
    let bytes = std::fs::read(&other_wheel).unwrap();
    let (status, _) = a.post_form(publish, &[(":action", "file_upload"), ("name", "pypictl-contract-probe"), ("version", "0.1.0")], Some((wheel, &bytes)));
    assert_eq!(status, 409, "a raw upload over an existing name is refused");
    assert_eq!(sha256(&packages.join(wheel)), wheel_sha, "the stored bytes are unchanged");
    assert_eq!(a.stored().len(), 2);
    assert!(a.incoming().is_empty(), "no temporary file stays behind: {:?}", a.incoming());

    // A new version of an existing project (its page already published):
    // listed by every replica's page within 5 s.
    let dist2 = build_package(work.path(), "0.2.0");
    // The indexers walk the directory once a minute (NFS may cache a
    // directory's listing that long on each instance): what lists an upload
    // within seconds on every replica is the change log pypiserver appends
    // to. A file copied in by other means meanwhile waits for a walk.
    assert_eq!(env(&indexer, "INDEX_WALK_SECONDS").as_deref(), Some("60"));
    let copied = "pypictl_contract_copied-1.0-py3-none-any.whl";
    std::fs::write(packages.join(copied), b"copied in, not uploaded").unwrap();
    let upload = twine_upload(&a, work.path(), &dist2, publish);
    assert!(upload.status.success(), "twine upload failed:\n{}", output(&upload));
    let wheel2 = "pypictl_contract_probe-0.2.0-py3-none-any.whl";
    let seen_b = wait_page(&b, project, read, wheel2, Some(true), Duration::from_secs(3));
    let seen_a = wait_page(&a, project, read, wheel2, Some(true), Duration::from_secs(3));
    assert!(seen_b.is_some() && seen_a.is_some(), "a new version must be listed through every replica within 3 s (A {seen_a:?}, B {seen_b:?})");
    let log = std::fs::read_to_string(packages.join(pypictl_stacks::pypiserver::CHANGES)).unwrap();
    assert!(log.ends_with(&format!("+ {wheel2}\n+ pypictl_contract_probe-0.2.0.tar.gz\n")), "{log}");
    for proxy in [&a, &b] {
        let (_, r#static, index) = proxy.page("/simple/", read);
        assert!(r#static && !index.contains("pypictl-contract-copied"), "listed by a walk, not yet due:\n{index}");
    }
    std::fs::remove_file(packages.join(copied)).unwrap();
    // Every file came through an upload, which recorded its digest: the
    // indexers read them, hashing nothing themselves.
    for log in [indexer_a.log(), indexer_b.log()] {
        let published: Vec<&str> = log.lines().filter(|l| l.contains("published")).collect();
        assert!(published.len() >= 2 && published.iter().all(|l| l.ends_with("(0 hashed here)")), "{log}");
    }
    let install = pip_install(work.path(), &site, &index, "pypictl-contract-probe");
    assert!(install.status.success(), "pip install failed:\n{}", output(&install));
    assert_eq!(std::fs::read_to_string(site.join("pypictl_contract_probe.py")).unwrap(), "VERSION = \"0.2.0\"\n", "pip picks the newest from the page");
    // uv too, from the JSON page and the metadata it announces.
    let uv_site = work.path().join("uv-site");
    let uv = run(
        python_tool(work.path(), "uv")
            .args(["pip", "install", "-v", "--no-cache", "--python"])
            .arg(common::tool("pypi", "python"))
            .arg("--target")
            .arg(&uv_site)
            .args(["--index-url", &index, "pypictl-contract-probe"]),
        Duration::from_secs(180),
    );
    let log = output(&uv);
    assert!(uv.status.success(), "uv pip install failed:\n{log}");
    assert_eq!(std::fs::read_to_string(uv_site.join("pypictl_contract_probe.py")).unwrap(), "VERSION = \"0.2.0\"\n", "uv picks the newest");
    assert!(log.contains(&format!("GET request for: {}", b.url(&format!("/packages/{wheel2}.metadata")))), "uv resolves from the announced metadata:\n{log}");

    // A name that does not exist is 404 through the proxy, never redirected;
    // a non-normalized name gets pypiserver's redirect to the normalized one.
    for server in [&a, &b] {
        assert_eq!(server.get("/simple/requests/", Some(read)), (404, None), "a missing name must never be redirected to pypi.org");
        assert_eq!(server.get("/simple/requests/", Some(read)), (404, None), "not from the cache either");
        let (status, location) = server.get("/simple/PyPictl_Contract.Probe/", Some(read));
        assert_eq!(status, 301);
        assert!(location.as_deref().is_some_and(|l| l.ends_with("/simple/pypictl-contract-probe/")), "{location:?}");
    }
    // The proxy answers from what it knows: a client's forwarding headers
    // never reach pypiserver, so a redirect it caches for everyone cannot
    // point elsewhere; /health with a query string is /health.
    let forged = [("X-Forwarded-Host", "attacker.example"), ("X-Forwarded-Prefix", "/evil"), ("Forwarded", "host=attacker.example")];
    let (status, location) = a.get_with("/simple/PYPICTL.contract-probe/", Some(read), &forged);
    assert_eq!(status, 301);
    assert!(location.as_deref().is_some_and(|l| !l.contains("attacker") && !l.contains("evil") && l.ends_with("/simple/pypictl-contract-probe/")), "{location:?}");
    let (_, location) = a.get("/simple/PYPICTL.contract-probe/", Some(read));
    assert!(location.as_deref().is_some_and(|l| !l.contains("attacker") && !l.contains("evil")), "the cached redirect: {location:?}");
    // /health is cached for 2 s: with pypiserver frozen, /health with any
    // query string is still answered at once, from that entry (a query that
    // reached pypiserver would wait for it until the client gives up).
    assert_eq!(a.get("/health", None).0, 200);
    signal_group(pypi_a.child.id(), libc::SIGSTOP);
    let asked = std::time::Instant::now();
    let answers = [a.get_with("/health?anything", None, &[]).0, a.get_with("/health?x=1&y=2", None, &[]).0];
    let took = asked.elapsed();
    signal_group(pypi_a.child.id(), libc::SIGCONT);
    assert_eq!(answers, [200, 200]);
    assert!(took < Duration::from_secs(1), "answered from the cache, not by pypiserver: {took:?}");
    // Refused through replica B's proxy; A sees the shared directory.
    assert_eq!(a.stored().len(), 4);
    let dist3 = build_package(work.path(), "0.3.0");
    assert_refusals(&b, &a, work.path(), &index, &dist, &dist3, &creds);
    assert_eq!(a.stored().len(), 4);

    // Replica B's indexer stops: its lease runs out within seconds and B
    // answers from pypiserver again, so uploads stay visible within 5 s.
    drop(indexer_b);
    let fallback = wait_page(&b, project, read, wheel2, Some(false), Duration::from_secs(5));
    assert!(fallback.is_some(), "without its indexer, a replica answers from pypiserver");
    let upload = twine_upload(&a, work.path(), &dist3, publish);
    assert!(upload.status.success(), "twine upload failed:\n{}", output(&upload));
    let wheel3 = "pypictl_contract_probe-0.3.0-py3-none-any.whl";
    let seen_b = wait_page(&b, project, read, wheel3, Some(false), Duration::from_secs(5));
    let seen_a = wait_page(&a, project, read, wheel3, Some(true), Duration::from_secs(5));
    assert!(seen_b.is_some() && seen_a.is_some(), "visible through every replica within 5 s, indexer or not (A {seen_a:?}, B {seen_b:?})");
    drop((a, b, indexer_a, pypi_a, pypi_b));
}

#[test]
fn uploads_stay_off_the_scratch_tmpfs_survive_cut_offs_and_accept_both_passwords_of_a_rotation() {
    let work = workdir();
    let out = work.path().join("templates");
    common::synth("heavy", &out);
    let containers = task_containers(&out);
    let (pypi, creds) = container_definition(&out);
    let (read, publish) = (creds.read.auth(), creds.publish.auth());
    let proxy = containers.iter().find(|c| c["Name"] == "proxy").unwrap().clone();

    let packages = owned_dir(&work.path().join("packages"));
    let pypi_a = start(&pypi, &creds, &work.path().join("pypiserver-a"), &packages);
    let a = start_proxy(&proxy, &creds, &work.path().join("proxy-a"), &pypi_a, &work.path().join("pages-a"));

    // pypiserver's temporary directory is a real tmpfs of the task's /tmp
    // size, smaller than the upload below.
    let mib = scratch_mib(&pypi);
    let mountinfo = std::fs::read_to_string(format!("/proc/{}/mountinfo", pypi_a.child.id())).unwrap();
    let scratch = pypi_a.dir.display().to_string();
    let mounted = mountinfo.lines().any(|l| l.split_whitespace().nth(4) == Some(&scratch) && l.contains(" - tmpfs ") && l.contains(&format!("size={}k", mib * 1024)));
    assert!(mounted, "pypiserver's TMPDIR {scratch} is a tmpfs of {mib} MiB:\n{mountinfo}");
    assert!(mib < 60, "the scratch tmpfs ({mib} MiB) is smaller than the upload");

    // A 60 MiB wheel uploads through the proxy and installs with pip: the
    // proxy buffers it and pypiserver spools it in .incoming, never in the
    // tmpfs; the stored bytes are the uploaded ones, nothing stays behind.
    let big = work.path().join("big");
    let blob_sha = big_wheel(work.path(), &big, 60 * MIB);
    let big_name = "pypictl_contract_big-1.0.0-py3-none-any.whl";
    let upload = twine_upload(&a, work.path(), &big, publish);
    assert!(upload.status.success(), "a 60 MiB upload failed:\n{}\n{}", output(&upload), pypi_a.log());
    assert_eq!(sha256(&packages.join(big_name)), sha256(&big.join(big_name)));
    let clean = wait_until(Duration::from_secs(10), || a.incoming().is_empty() && a.holds_open().is_empty() && pypi_a.holds_open().is_empty());
    assert!(clean, "nothing stays behind: {:?} {:?} {:?}", a.incoming(), a.holds_open(), pypi_a.holds_open());
    let site = work.path().join("site");
    let install = pip_install(work.path(), &site, &a.index_url(read), "pypictl-contract-big==1.0.0");
    assert!(install.status.success(), "pip install failed:\n{}", output(&install));
    assert_eq!(sha256(&site.join("pypictl_contract_big/blob.bin")), blob_sha);

    // Bodies larger than the largest upload are refused (413) from the
    // declared length, before they are read, by the proxy and by pypiserver.
    let max_body = env_of(&proxy, "MAX_BODY_MB").unwrap().parse::<usize>().unwrap();
    assert_eq!(declared_upload_status(a.port, publish, (max_body + 1) * MIB), 413);
    assert_eq!(declared_upload_status(pypi_a.port, publish, (max_body + 1) * MIB), 413);

    // An upload cut off halfway, through the proxy and straight to
    // pypiserver, leaves nothing behind: no file stored, nothing in
    // .incoming, nothing held open there (within a bounded wait); the next
    // uploads through the same proxy and workers succeed.
    for (target, via) in [(&a, "the proxy"), (&pypi_a, "pypiserver")] {
        let stored = a.stored();
        cut_off_upload(target.port, publish, 30 * MIB);
        let clean = wait_until(Duration::from_secs(15), || {
            a.stored() == stored && a.incoming().is_empty() && a.holds_open().is_empty() && pypi_a.holds_open().is_empty()
        });
        assert!(clean, "a cut-off upload through {via} left {:?} {:?} {:?} {:?}", a.stored(), a.incoming(), a.holds_open(), pypi_a.holds_open());
    }
    let dist = build_package(work.path(), "0.1.0");
    let upload = twine_upload(&a, work.path(), &dist, publish);
    assert!(upload.status.success(), "the next upload failed:\n{}\n{}", output(&upload), pypi_a.log());
    // More uploads than pypiserver has workers, each stored whole.
    for i in 0..6 {
        let name = format!("pypictl_contract_raw-1.0.{i}-py3-none-any.whl");
        let bytes = format!("not really a wheel {i}").into_bytes();
        assert_eq!(pypi_a.post_form(publish, &[(":action", "file_upload")], Some((&name, &bytes))).0, 200, "{}", pypi_a.log());
        assert_eq!(std::fs::read(packages.join(&name)).unwrap(), bytes);
    }
    assert!(a.incoming().is_empty(), "{:?}", a.incoming());

    // /health, and both containers' health checks, fail while an upload
    // could not be written (.incoming is not a directory), and recover.
    let pypi_check_env = [("PYPISERVER_PORT", pypi_a.port.to_string())];
    let buffers = a.buffers.clone().unwrap();
    let proxy_check_env = [("PROXY_PORT", a.port.to_string()), ("UPLOAD_BUFFER_DIR", buffers.display().to_string())];
    let tools = [common::tools().join("pypi/bin")];
    assert!(health_check_passes(&pypi, &pypi_check_env, &tools) && health_check_passes(&proxy, &proxy_check_env, &[]));
    let incoming = pypi_a.incoming_dir();
    let aside = packages.join(".incoming-aside");
    std::fs::rename(&incoming, &aside).unwrap();
    std::fs::write(&incoming, "not a directory").unwrap();
    let (status, reason) = pypi_a.get_body("/health");
    assert_eq!(status, 503, "{reason}");
    assert!(reason.contains("Uploads cannot be written"), "{reason}");
    assert!(wait_until(Duration::from_secs(5), || a.get("/health", None).0 == 503), "the load balancer sees it through the proxy");
    assert!(!health_check_passes(&pypi, &pypi_check_env, &tools), "pypiserver's health check fails");
    assert!(!health_check_passes(&proxy, &proxy_check_env, &[]), "the proxy's health check fails");
    std::fs::remove_file(&incoming).unwrap();
    std::fs::rename(&aside, &incoming).unwrap();
    assert_eq!(pypi_a.get("/health", None).0, 200);
    assert!(wait_until(Duration::from_secs(5), || a.get("/health", None).0 == 200));
    assert!(health_check_passes(&pypi, &pypi_check_env, &tools) && health_check_passes(&proxy, &proxy_check_env, &[]));
    // The proxy's own buffers unwritable: its health check alone fails.
    let aside = buffers.with_extension("aside");
    std::fs::rename(&buffers, &aside).unwrap();
    std::fs::write(&buffers, "not a directory").unwrap();
    assert!(!health_check_passes(&proxy, &proxy_check_env, &[]), "the proxy's health check fails without its buffers");
    assert!(health_check_passes(&pypi, &pypi_check_env, &tools));
    std::fs::remove_file(&buffers).unwrap();
    std::fs::rename(&aside, &buffers).unwrap();
    assert!(health_check_passes(&proxy, &proxy_check_env, &[]));

    // A rotation: a replica started while the secrets carry
    // pending_password accepts both passwords of each role, at the proxy and
    // at pypiserver (which checks every forwarded request again); a replica
    // started before refuses the new ones.
    let rotating = creds.rotating();
    let pypi_r = start(&pypi, &rotating, &work.path().join("pypiserver-r"), &packages);
    let r = start_proxy(&proxy, &rotating, &work.path().join("proxy-r"), &pypi_r, &work.path().join("pages-r"));
    assert_credentials_map(&r, &rotating);
    assert_no_secrets(&r, &rotating, "nginx");
    assert_no_secrets(&pypi_r, &rotating, "pypiserver");
    let (new_read, new_publish) = ((read.0, READ_PENDING), (publish.0, PUBLISH_PENDING));
    for server in [&r, &pypi_r] {
        for auth in [read, new_read, publish, new_publish] {
            assert_eq!(server.get("/simple/", Some(auth)).0, 200, "{}: {}", server.url("/"), auth.1);
        }
    }
    for server in [&a, &pypi_a] {
        assert_eq!(server.get("/simple/", Some(read)).0, 200);
        assert_eq!(server.get("/simple/", Some(new_read)).0, 401, "a replica without pending_password refuses the new password");
        assert_eq!(server.get("/simple/", Some(new_publish)).0, 401);
    }
    let dist2 = build_package(work.path(), "0.2.0");
    let refused = twine_upload(&r, work.path(), &dist2, new_read);
    assert!(!refused.status.success() && output(&refused).contains("403"), "the read role's new password reads only:\n{}", output(&refused));
    let refused = twine_upload(&a, work.path(), &dist2, new_publish);
    assert!(!refused.status.success() && output(&refused).contains("401"), "{}", output(&refused));
    let upload = twine_upload(&r, work.path(), &dist2, new_publish);
    assert!(upload.status.success(), "the publish role's new password uploads:\n{}", output(&upload));
    assert!(a.stored().contains(&"pypictl_contract_probe-0.2.0-py3-none-any.whl".to_string()));
    let install = pip_install(work.path(), &site, &r.index_url(new_read), "pypictl-contract-probe==0.2.0");
    assert!(install.status.success(), "pip install with the new read password failed:\n{}", output(&install));
    drop((r, pypi_r, a, pypi_a));
}

/// The page indexer keeps one tree of pages and updates it page by page. A
/// pages volume (a real tmpfs, as in the task) that holds one tree but not
/// two keeps its static pages through uploads (the indexer used to write a
/// whole second tree per change, so a volume that full stopped it for
/// good); a volume too small for the tree leaves no temporary file behind,
/// lets the lease run out (the proxy answers from pypiserver), and recovers.
#[test]
fn the_indexer_updates_one_tree_in_place_within_its_volume() {
    let work = workdir();
    let out = work.path().join("templates");
    common::synth("heavy", &out);
    let indexer = task_containers(&out).into_iter().find(|c| c["Name"] == "indexer").unwrap();
    let (_, creds) = container_definition(&out);
    let packages = owned_dir(&work.path().join("packages"));
    let add = |name: &str| std::fs::write(packages.join(name), name.as_bytes()).unwrap();
    for i in 0..100 {
        add(&format!("proj{i}-1.0-py3-none-any.whl"));
    }
    // A project's two pages (HTML, JSON) take a 4 KiB tmpfs page each: 100
    // projects fit in 1 MiB once, not twice.
    let pages = owned_dir(&work.path().join("pages"));
    let wrapper = with_tmpfs(&pages, 1);
    let log = work.path().join("indexer.log");
    // The files are copied in, not uploaded: no change log says so, the
    // walks find them, here once a second (the task's is once a minute).
    let overrides = [
        ("PACKAGES_DIR", packages.display().to_string()),
        ("PAGES_DIR", pages.display().to_string()),
        ("HOME", work.path().display().to_string()),
        ("INDEX_WALK_SECONDS", "1".to_string()),
    ];
    let child = launch(&indexer, &creds, &overrides, &[common::tools().join("pypi/bin")], &log, &wrapper);
    let server = Server { child, port: 0, packages: packages.clone(), dir: work.path().to_path_buf(), buffers: None, log };
    // The tmpfs as the indexer sees it (its own mount namespace).
    let seen = PathBuf::from(format!("/proc/{}/root{}", server.child.id(), pages.display()));
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let links = || std::fs::read_dir(&seen).map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("live-")?.parse::<u64>().ok()).collect::<Vec<_>>()).unwrap_or_default();
    let leased = || links().into_iter().any(|s| s >= now());
    // A page as the proxy reads it: through the newest lease link.
    let page = |rel: &str| links().into_iter().max().and_then(|s| std::fs::read_to_string(seen.join(format!("live-{s}/simple/{rel}"))).ok()).unwrap_or_default();
    let leftovers = || walk(&seen).into_iter().filter(|p| p.ends_with(".tmp")).collect::<Vec<_>>();

    assert!(wait_until(Duration::from_secs(20), || page("index.html").matches("<a href").count() == 100 && leased()), "the first tree:\n{}", server.log());
    // Incremental: a new version rewrites its project's two pages and no
    // other (each other page keeps its inode and mtime), not even the root
    // index, which lists names only: a new project rewrites it.
    let tree = seen.join("trees/current/simple");
    let written = |rel: &str| std::fs::metadata(tree.join(rel)).map(|m| (m.ino(), m.mtime_nsec(), m.mtime())).ok();
    let untouched: Vec<String> = (50..60).flat_map(|i| [format!("proj{i}/index.html"), format!("proj{i}/index.json")]).collect();
    let before: Vec<_> = untouched.iter().map(|rel| written(rel)).collect();
    let root = written("index.html");
    for v in 1..=10 {
        add(&format!("proj{v}-2.0-py3-none-any.whl"));
        let listed = wait_until(Duration::from_secs(5), || page(&format!("proj{v}/index.html")).contains("-2.0-py3"));
        assert!(listed, "upload {v} listed on the static page within 5 s:\n{}", server.log());
    }
    assert!(before.iter().all(Option::is_some));
    assert_eq!(untouched.iter().map(|rel| written(rel)).collect::<Vec<_>>(), before, "the pages of projects that did not change are not rewritten");
    assert_eq!(written("index.html"), root, "the root index lists the same projects: not rewritten");
    assert!(leased() && !server.log().contains("scan:"), "no failed write:\n{}", server.log());
    assert!(leftovers().is_empty(), "{:?}", leftovers());
    // A record that is not one (bad hex) and a file that is no package: the
    // file is hashed here and listed, the other one is not (pypiserver does
    // not list it either), and neither stops what follows.
    let odd = "proj0-3.0-py3-none-any.whl";
    let records = packages.join(pypictl_stacks::pypiserver::DIGESTS);
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(records.join(format!("{odd}.sha256")), format!("{} {} - -\n", odd.len(), "z".repeat(64))).unwrap();
    add(odd);
    add("NOTES.txt");
    let digest = sha256(&packages.join(odd));
    assert!(wait_until(Duration::from_secs(5), || page("proj0/index.html").contains(&format!("{odd}#sha256={digest}"))), "{}\n{}", page("proj0/index.html"), server.log());
    add("proj2-2.0-py3-none-any.whl");
    assert!(wait_until(Duration::from_secs(5), || page("proj2/index.html").contains("-2.0-py3")), "{}", server.log());
    assert!(!page("index.html").to_lowercase().contains("notes"), "{}", page("index.html"));

    // 300 more projects do not fit: writes fail, nothing is left behind,
    // the lease runs out; without them the tree is whole again.
    for i in 100..400 {
        add(&format!("proj{i}-1.0-py3-none-any.whl"));
    }
    assert!(wait_until(Duration::from_secs(15), || server.log().contains("No space left")), "{}", server.log());
    assert!(wait_until(Duration::from_secs(10), || !leased()), "the lease runs out while pages cannot be written");
    assert!(leftovers().is_empty(), "no temporary file after failed writes: {:?}", leftovers());
    for i in 100..400 {
        std::fs::remove_file(packages.join(format!("proj{i}-1.0-py3-none-any.whl"))).unwrap();
    }
    assert!(wait_until(Duration::from_secs(15), || leased() && page("index.html").matches("<a href").count() == 100), "recovered:\n{}", server.log());
    assert!(!walk(&seen).iter().any(|p| p.contains("/proj300/")) && leftovers().is_empty(), "the pages of gone projects are removed");
}

/// Every file under `dir`, recursively (symlinks not followed).
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(path);
            } else {
                out.push(path.display().to_string());
            }
        }
    }
    out
}
