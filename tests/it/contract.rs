//! The container contract, with real clients. The container definition is
//! read from the synthesized task definition and pypiserver (the PyPI
//! release of the default image tag, from the pinned tools) is started on
//! 127.0.0.1 exactly that way: the same entry point, command and environment,
//! the credentials injected as ECS injects them, so the htpasswd file is
//! produced by the container's own start script.
//!
//! Only these values differ from the task definition, because a test cannot
//! own the container's paths and port: PYPISERVER_HOST (127.0.0.1 instead of
//! 0.0.0.0), PYPISERVER_PORT (a free port), PACKAGES_DIR and HTPASSWD_FILE
//! (temporary paths), and PATH, HOME (the tools' virtualenv, a temp home).

use crate::common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, signal_group};

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

/// A password with every character that breaks naive URL building.
const PASSWORD: &str = "p@ss:w/rd%41 #?+&=x";

/// RFC 3986 userinfo: everything but unreserved characters is encoded.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

struct Server {
    child: Child,
    port: u16,
    packages: PathBuf,
    htpasswd: PathBuf,
    log: PathBuf,
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
    assert!(dir.join("nginx").exists(), "{} is missing: run `bash scripts/tools.sh`", dir.join("nginx").display());
    dir
}

/// The task's containers by name.
fn task_containers(out: &Path) -> Vec<Value> {
    let service = common::read_json(&out.join("service.template.json"));
    service["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"].as_array().unwrap().clone()
}

fn container_definition(out: &Path) -> (Value, String) {
    let container = task_containers(out).into_iter().find(|c| c["Name"] == "pypiserver").unwrap();
    let creds = common::read_json(&out.join("credentials.template.json"));
    let template = creds["Resources"]["Credentials"]["Properties"]["GenerateSecretString"]["SecretStringTemplate"].as_str().unwrap().to_string();
    let username = serde_json::from_str::<Value>(&template).unwrap()["username"].as_str().unwrap().to_string();
    (container, username)
}

/// A directory for a container's files.
fn owned_dir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    path.to_path_buf()
}

/// Starts a container's entry point + command on 127.0.0.1 with its
/// environment, the secrets as ECS injects them, and `overrides` (paths,
/// ports) on top; `PATH` is the tools' directories.
fn launch(container: &Value, username: &str, password: &str, overrides: &[(&str, String)], path: &[PathBuf], log: &Path) -> Child {
    let argv: Vec<String> = container["EntryPoint"]
        .as_array()
        .unwrap()
        .iter()
        .chain(container["Command"].as_array().unwrap())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).env_clear();
    for e in container["Environment"].as_array().unwrap() {
        cmd.env(e["Name"].as_str().unwrap(), e["Value"].as_str().unwrap());
    }
    // The secrets, as ECS injects them at task start (the indexer has none).
    if let Some(secrets) = container.get("Secrets") {
        let secrets: Vec<&str> = secrets.as_array().unwrap().iter().map(|s| s["Name"].as_str().unwrap()).collect();
        assert_eq!(secrets, ["PYPI_USERNAME", "PYPI_PASSWORD"]);
        cmd.env("PYPI_USERNAME", username).env("PYPI_PASSWORD", password);
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

/// pypiserver as the task starts it, on `packages`, with its own scratch dir.
fn start(container: &Value, username: &str, password: &str, work: &Path, packages: &Path) -> Server {
    let work = owned_dir(work);
    let port = free_port();
    let htpasswd = work.join("htpasswd");
    let home = owned_dir(&work.join("home"));
    let log = work.join("server.log");
    let overrides = [
        ("PYPISERVER_HOST", "127.0.0.1".to_string()),
        ("PYPISERVER_PORT", port.to_string()),
        ("PACKAGES_DIR", packages.display().to_string()),
        ("HTPASSWD_FILE", htpasswd.display().to_string()),
        ("HOME", home.display().to_string()),
    ];
    let child = launch(container, username, password, &overrides, &[common::tools().join("pypi/bin")], &log);
    let server = Server { child, port, packages: packages.to_path_buf(), htpasswd, log };
    server.wait_healthy();
    server
}

/// The page indexer as the task starts it: `packages` in, pages into
/// `pages` (its task's volume). It serves nothing: `port` is unused.
fn start_indexer(container: &Value, work: &Path, packages: &Path, pages: &Path) -> Server {
    let work = owned_dir(work);
    let log = work.join("indexer.log");
    let overrides = [
        ("PACKAGES_DIR", packages.display().to_string()),
        ("PAGES_DIR", owned_dir(pages).display().to_string()),
        ("HOME", work.display().to_string()),
    ];
    let child = launch(container, "", "", &overrides, &[common::tools().join("pypi/bin")], &log);
    Server { child, port: 0, packages: packages.to_path_buf(), htpasswd: work.join("none"), log }
}

/// The proxy sidecar as the task starts it, in front of `upstream`, serving
/// the pages in `pages` (its task's pages volume).
fn start_proxy(container: &Value, username: &str, password: &str, work: &Path, upstream: &Server, pages: &Path) -> Server {
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
    ];
    let child = launch(container, username, password, &overrides, &[nginx_dir()], &log);
    let server = Server { child, port, packages: upstream.packages.clone(), htpasswd: run.join("htpasswd"), log };
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
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", auth.0, auth.1));
        let mut r = agent().get(&self.url(path)).header("Authorization", format!("Basic {token}")).call().unwrap();
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
        if let Some((u, p)) = auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            req = req.header("Authorization", format!("Basic {token}"));
        }
        let r = req.call().unwrap();
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), location)
    }

    fn index_url(&self, username: &str, password: &str) -> String {
        format!(
            "http://{}:{}@127.0.0.1:{}/simple/",
            utf8_percent_encode(username, USERINFO),
            utf8_percent_encode(password, USERINFO),
            self.port
        )
    }

    fn stored(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.packages).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

/// Runs a command to completion within `limit`; kills it otherwise.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("command starts");
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
            child.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
            return Output { status, stdout, stderr };
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
        if k.starts_with("PIP_") || k.starts_with("TWINE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home).env("PIP_CONFIG_FILE", "/dev/null").env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    cmd
}

fn build_package(work: &Path, version: &str) -> PathBuf {
    let project = work.join(format!("probe-{version}"));
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"pypictl-contract-probe\"\nversion = \"{version}\"\n\n[tool.setuptools]\npy-modules = [\"pypictl_contract_probe\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(project.join("pypictl_contract_probe.py"), format!("VERSION = \"{version}\"\n")).unwrap();
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

fn twine_upload(server: &Server, work: &Path, dist: &Path, username: &str, password: &str) -> Output {
    let files: Vec<PathBuf> = std::fs::read_dir(dist).unwrap().map(|e| e.unwrap().path()).collect();
    run(
        python_tool(work, "twine")
            .args(["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", &server.url("/"), "-u", username, "-p", password])
            .args(files),
        Duration::from_secs(60),
    )
}

fn children_of(pid: u32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid ...; comm may contain spaces.
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok()) == Some(pid)
        })
        .count()
}

#[test]
fn pypiserver_started_as_the_task_definition_starts_it_serves_pip_and_twine() {
    let work = workdir();
    let out = work.path().join("templates");
    common::synth("heavy", &out);
    let (container, username) = container_definition(&out);

    // The tools run the PyPI release of the default image tag.
    let image = container["Image"].as_str().unwrap();
    let tag = image.rsplit_once(':').unwrap().1;
    let version = run(Command::new(common::tool("pypi", "pypi-server")).arg("--version"), Duration::from_secs(30));
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    assert_eq!(format!("v{version}"), tag, "the contract test must run the image's pypiserver version");

    let packages = owned_dir(&work.path().join("packages"));
    let server = start(&container, &username, PASSWORD, &work.path().join("pypiserver"), &packages);

    // The start script wrote a hashed htpasswd readable only by its owner,
    // and the password is gone from the server's environment.
    let htpasswd = std::fs::read_to_string(&server.htpasswd).unwrap();
    assert!(htpasswd.starts_with(&format!("{username}:{{SHA}}")), "{htpasswd}");
    assert!(!htpasswd.contains(PASSWORD));
    assert_eq!(std::fs::metadata(&server.htpasswd).unwrap().permissions().mode() & 0o777, 0o600);
    let environ = std::fs::read(format!("/proc/{}/environ", server.child.id())).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(!environ.contains("PYPI_PASSWORD") && !environ.contains(PASSWORD), "the password must not stay in pypiserver's environment");

    // gunicorn runs the sized number of workers (GUNICORN_CMD_ARGS is honoured).
    let gunicorn = container["Environment"].as_array().unwrap().iter().find(|e| e["Name"] == "GUNICORN_CMD_ARGS").unwrap()["Value"].as_str().unwrap();
    assert!(gunicorn.starts_with("--workers 4 "), "{gunicorn}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while children_of(server.child.id()) < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(children_of(server.child.id()), 4, "gunicorn workers:\n{}", server.log());
    assert!(server.log().contains("Using worker: sync"), "{}", server.log());

    // Authentication: listing needs credentials, /health does not.
    assert_eq!(server.get("/simple/", None).0, 401);
    assert_eq!(server.get("/health", None).0, 200);
    assert_eq!(server.get("/simple/", Some((&username, PASSWORD))).0, 200);
    let wrong = server.get("/simple/", Some((&username, "wrong"))).0;
    assert!(matches!(wrong, 401 | 403), "a wrong password is refused, got {wrong}");

    // twine uploads a fresh sdist and wheel with the generated credentials.
    let dist = build_package(work.path(), "0.1.0");
    let upload = twine_upload(&server, work.path(), &dist, &username, PASSWORD);
    assert!(upload.status.success(), "twine upload failed:\n{}\n{}", String::from_utf8_lossy(&upload.stdout), String::from_utf8_lossy(&upload.stderr));
    assert_eq!(server.stored(), ["pypictl_contract_probe-0.1.0-py3-none-any.whl", "pypictl_contract_probe-0.1.0.tar.gz"]);

    // pip installs it, the password percent-encoded in the index URL.
    let site = work.path().join("site");
    let index = server.index_url(&username, PASSWORD);
    assert!(index.contains("p%40ss%3Aw%2Frd%2541%20%23%3F%2B%26%3Dx@"), "{index}");
    let install = run(
        python_tool(work.path(), "python")
            .args(["-m", "pip", "install", "--no-cache-dir", "--no-deps", "--only-binary", ":all:", "--target"])
            .arg(&site)
            .args(["--index-url", &index, "pypictl-contract-probe==0.1.0"]),
        Duration::from_secs(120),
    );
    assert!(install.status.success(), "pip install failed:\n{}", String::from_utf8_lossy(&install.stderr));
    assert_eq!(std::fs::read_to_string(site.join("pypictl_contract_probe.py")).unwrap(), "VERSION = \"0.1.0\"\n");

    // A name that does not exist is not redirected to the public index.
    let (status, location) = server.get("/simple/requests/", Some((&username, PASSWORD)));
    assert_eq!((status, location), (404, None), "a missing name must never be redirected to pypi.org");
    assert_eq!(server.stored().len(), 2);
    let dist2 = build_package(work.path(), "0.2.0");
    assert_refusals(&server, &server, work.path(), &index, &dist, &dist2, &username);
    assert_eq!(server.stored().len(), 2);
}

/// What the index refuses: pip finding a name it does not have, uploading
/// `new` (through `upload_to`) with a wrong password — nothing stored, as
/// `storage` shows — and uploading an existing file (`dist`) again.
fn assert_refusals(upload_to: &Server, storage: &Server, work: &Path, index: &str, dist: &Path, new: &Path, username: &str) {
    let missing = run(
        python_tool(work, "python")
            .args(["-m", "pip", "download", "--no-cache-dir", "--no-deps", "--dest"])
            .arg(work.join("dl"))
            .args(["--index-url", index, "requests"]),
        Duration::from_secs(120),
    );
    assert!(!missing.status.success(), "pip must not find a name the private index does not have");

    let stored = storage.stored().len();
    let refused = twine_upload(upload_to, work, new, username, "not-the-password");
    assert!(!refused.status.success(), "an upload with a wrong password must fail");
    assert_eq!(storage.stored().len(), stored, "nothing stored by a refused upload: {:?}", storage.stored());

    // Files are immutable.
    let again = twine_upload(upload_to, work, dist, username, PASSWORD);
    assert!(!again.status.success(), "re-uploading an existing file must be refused");
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

#[test]
fn the_proxy_sidecar_started_as_the_task_definition_starts_it_serves_pip_and_twine_consistently_across_replicas() {
    let work = workdir();
    let out = work.path().join("templates");
    common::synth("heavy", &out);
    let containers = task_containers(&out);
    let (pypi, username) = container_definition(&out);
    let proxy = containers.iter().find(|c| c["Name"] == "proxy").expect("the task runs the proxy sidecar").clone();

    // The task's wiring: the load balancer reaches the proxy only; the proxy
    // reaches pypiserver through its link; pypiserver publishes no port.
    assert!(pypi.get("PortMappings").is_none(), "pypiserver must be reachable only from the proxy");
    assert_eq!(proxy["Links"], serde_json::json!(["pypiserver"]));
    assert_eq!(proxy["DependsOn"], serde_json::json!([{"ContainerName": "pypiserver", "Condition": "HEALTHY"}]));
    let env = |c: &Value, k: &str| c["Environment"].as_array().unwrap().iter().find(|e| e["Name"] == k).map(|e| e["Value"].as_str().unwrap().to_string());
    assert_eq!(env(&proxy, "UPSTREAM").as_deref(), Some("pypiserver:8080"));
    assert_eq!(env(&proxy, "PACKAGES_DIR"), env(&pypi, "PACKAGES_DIR"), "the proxy serves files from pypiserver's directory");
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

    // Two replicas (pypiserver + proxy each) sharing one package directory,
    // as two tasks share the EFS directory.
    let packages = owned_dir(&work.path().join("packages"));
    let pypi_a = start(&pypi, &username, PASSWORD, &work.path().join("pypiserver-a"), &packages);
    let pypi_b = start(&pypi, &username, PASSWORD, &work.path().join("pypiserver-b"), &packages);
    // Each task has its own indexer and pages volume.
    let (pages_a, pages_b) = (work.path().join("pages-a"), work.path().join("pages-b"));
    let indexer_a = start_indexer(&indexer, &work.path().join("indexer-a"), &packages, &pages_a);
    let indexer_b = start_indexer(&indexer, &work.path().join("indexer-b"), &packages, &pages_b);
    let a = start_proxy(&proxy, &username, PASSWORD, &work.path().join("proxy-a"), &pypi_a, &pages_a);
    let b = start_proxy(&proxy, &username, PASSWORD, &work.path().join("proxy-b"), &pypi_b, &pages_b);

    // The proxy's htpasswd: a salted SHA-1 of the injected password, readable
    // by its owner only; the password is gone from nginx's environment.
    let htpasswd = std::fs::read_to_string(&a.htpasswd).unwrap();
    let hash = htpasswd.strip_prefix(&format!("{username}:{{SSHA}}")).unwrap_or_else(|| panic!("{htpasswd}")).trim_end();
    let decoded = base64::engine::general_purpose::STANDARD.decode(hash).unwrap();
    assert_eq!(decoded.len(), 20 + 16, "SHA-1 digest + 16 salt bytes");
    let salted: Vec<u8> = PASSWORD.bytes().chain(decoded[20..].iter().copied()).collect();
    assert_eq!(&decoded[..20], &sha1(&salted)[..], "{{SSHA}} = base64(SHA1(password + salt) + salt)");
    assert_ne!(std::fs::read_to_string(&b.htpasswd).unwrap(), htpasswd, "each replica salts afresh");
    assert_eq!(std::fs::metadata(&a.htpasswd).unwrap().permissions().mode() & 0o777, 0o600);
    let environ = String::from_utf8_lossy(&std::fs::read(format!("/proc/{}/environ", a.child.id())).unwrap()).into_owned();
    assert!(!environ.contains("PYPI_PASSWORD") && !environ.contains(PASSWORD), "the password must not stay in nginx's environment");
    assert!(std::fs::read_to_string(format!("/proc/{}/cmdline", a.child.id())).unwrap().starts_with("nginx"), "the script execs nginx");

    // Authentication at the proxy: /health needs none, everything else does.
    let creds = (username.as_str(), PASSWORD);
    assert_eq!(a.get("/health", None).0, 200);
    assert_eq!(a.get("/simple/", None).0, 401);
    assert_eq!(a.get("/packages/anything.whl", None).0, 401);
    assert_eq!(a.get("/simple/", Some((&username, "wrong"))).0, 401);
    assert_eq!(a.get("/simple/", Some((&username, &PASSWORD[..PASSWORD.len() - 1]))).0, 401);
    assert_eq!(a.get("/simple/", Some(creds)).0, 200);

    // Replica B has already cached "no such project" when the upload lands.
    assert_eq!(b.get("/simple/pypictl-contract-probe/", Some(creds)), (404, None));

    // The indexers have published their first page tree (the empty index):
    // /simple/ is served from it, as pypiserver would answer it.
    for (proxy, upstream) in [(&a, &pypi_a), (&b, &pypi_b)] {
        let page = wait_page(proxy, "/simple/", creds, "Simple Index", Some(true), Duration::from_secs(10));
        assert!(page.is_some(), "the indexer publishes its pages within seconds:\n{}", indexer_a.log());
        assert_eq!(proxy.page("/simple/", creds).2, upstream.page("/simple/", creds).2, "the static index is pypiserver's, byte for byte");
    }
    assert_eq!(a.get("/simple/", None).0, 401, "static pages need credentials too");

    // twine uploads a new project through replica A's proxy.
    let dist = build_package(work.path(), "0.1.0");
    let upload = twine_upload(&a, work.path(), &dist, &username, PASSWORD);
    assert!(upload.status.success(), "twine upload failed:\n{}\n{}", String::from_utf8_lossy(&upload.stdout), String::from_utf8_lossy(&upload.stderr));
    assert_eq!(a.stored(), ["pypictl_contract_probe-0.1.0-py3-none-any.whl", "pypictl_contract_probe-0.1.0.tar.gz"]);

    // Every replica lists it within 5 s: from pypiserver until the indexer's
    // page exists, then from the page.
    let wheel = "pypictl_contract_probe-0.1.0-py3-none-any.whl";
    let project = "/simple/pypictl-contract-probe/";
    let seen_b = wait_page(&b, project, creds, wheel, None, Duration::from_secs(5));
    let seen_a = wait_page(&a, project, creds, wheel, None, Duration::from_secs(5));
    assert!(seen_b.is_some() && seen_a.is_some(), "an upload must be visible through every replica within 5 s (A {seen_a:?}, B {seen_b:?})");
    assert!(wait_page(&b, "/simple/", creds, "pypictl-contract-probe", None, Duration::from_secs(5)).is_some(), "the index lists it too");

    // The indexer's page for the project is exactly what pypiserver answers
    // (hrefs, #sha256= fragments), on both replicas, once the indexer has
    // walked after the last file of the upload (twine sends the wheel, then
    // the sdist: a walk between the two publishes a page with the wheel only).
    let sdist = "pypictl_contract_probe-0.1.0.tar.gz";
    for (proxy, upstream) in [(&a, &pypi_a), (&b, &pypi_b)] {
        assert!(wait_page(proxy, project, creds, sdist, Some(true), Duration::from_secs(5)).is_some(), "served from the indexer's pages");
        let (status, r#static, page) = proxy.page(project, creds);
        assert_eq!((status, r#static), (200, true));
        assert_eq!(page, upstream.page(project, creds).2, "the static page is pypiserver's, byte for byte");
        assert!(page.contains(&format!("href=\"/packages/{wheel}#sha256=")), "{page}");
        assert_eq!(proxy.page("/simple/", creds).2, upstream.page("/simple/", creds).2);
    }
    assert_eq!(b.get(project, None).0, 401, "a static project page needs credentials");
    assert_eq!(b.get(project, Some((&username, "wrong"))).0, 401);

    // pip installs it through replica B from the indexer's page, the wheel
    // straight from the shared directory, the password percent-encoded in
    // the index URL.
    let site = work.path().join("site");
    let index = b.index_url(&username, PASSWORD);
    let install = run(
        python_tool(work.path(), "python")
            .args(["-m", "pip", "install", "--no-cache-dir", "--no-deps", "--only-binary", ":all:", "--target"])
            .arg(&site)
            .args(["--index-url", &index, "pypictl-contract-probe==0.1.0"]),
        Duration::from_secs(120),
    );
    assert!(install.status.success(), "pip install failed:\n{}", String::from_utf8_lossy(&install.stderr));
    assert_eq!(std::fs::read_to_string(site.join("pypictl_contract_probe.py")).unwrap(), "VERSION = \"0.1.0\"\n");
    // The file is served byte for byte, by nginx from the directory.
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{PASSWORD}"));
    let mut r = agent().get(&b.url(&format!("/packages/{wheel}"))).header("Authorization", format!("Basic {token}")).call().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("accept-ranges").map(|v| v.to_str().unwrap().to_string()).as_deref(), Some("bytes"), "served as a static file");
    let body = r.body_mut().with_config().limit(10 << 20).read_to_vec().unwrap();
    assert_eq!(body, std::fs::read(packages.join(wheel)).unwrap());
    let escape = b.get("/packages/..%2fhtpasswd", Some(creds)).0;
    assert!(matches!(escape, 400 | 404), "no way out of the package directory: {escape}");
    assert_eq!(b.get("/packages/.hidden", Some(creds)).0, 404, "dot files are not served");

    // A new version of an existing project (its page already published):
    // listed by every replica's page within 5 s.
    let dist2 = build_package(work.path(), "0.2.0");
    let upload = twine_upload(&a, work.path(), &dist2, &username, PASSWORD);
    assert!(upload.status.success(), "twine upload failed:\n{}", String::from_utf8_lossy(&upload.stderr));
    let wheel2 = "pypictl_contract_probe-0.2.0-py3-none-any.whl";
    let seen_b = wait_page(&b, project, creds, wheel2, Some(true), Duration::from_secs(5));
    let seen_a = wait_page(&a, project, creds, wheel2, Some(true), Duration::from_secs(5));
    assert!(seen_b.is_some() && seen_a.is_some(), "a new version must be listed through every replica within 5 s (A {seen_a:?}, B {seen_b:?})");
    let install = run(
        python_tool(work.path(), "python")
            .args(["-m", "pip", "install", "--no-cache-dir", "--no-deps", "--only-binary", ":all:", "--upgrade", "--target"])
            .arg(&site)
            .args(["--index-url", &index, "pypictl-contract-probe"]),
        Duration::from_secs(120),
    );
    assert!(install.status.success(), "pip install failed:\n{}", String::from_utf8_lossy(&install.stderr));
    assert_eq!(std::fs::read_to_string(site.join("pypictl_contract_probe.py")).unwrap(), "VERSION = \"0.2.0\"\n", "pip picks the newest from the page");

    // A name that does not exist is 404 through the proxy, never redirected;
    // a non-normalized name gets pypiserver's redirect to the normalized one.
    for server in [&a, &b] {
        assert_eq!(server.get("/simple/requests/", Some(creds)), (404, None), "a missing name must never be redirected to pypi.org");
        assert_eq!(server.get("/simple/requests/", Some(creds)), (404, None), "not from the cache either");
        let (status, location) = server.get("/simple/PyPictl_Contract.Probe/", Some(creds));
        assert_eq!(status, 301);
        assert!(location.as_deref().is_some_and(|l| l.ends_with("/simple/pypictl-contract-probe/")), "{location:?}");
    }
    // The proxy answers from what it knows: a client's forwarding headers
    // never reach pypiserver, so a redirect it caches for everyone cannot
    // point elsewhere; /health with a query string is /health.
    let forged = [("X-Forwarded-Host", "attacker.example"), ("X-Forwarded-Prefix", "/evil"), ("Forwarded", "host=attacker.example")];
    let (status, location) = a.get_with("/simple/PYPICTL.contract-probe/", Some(creds), &forged);
    assert_eq!(status, 301);
    assert!(location.as_deref().is_some_and(|l| !l.contains("attacker") && !l.contains("evil") && l.ends_with("/simple/pypictl-contract-probe/")), "{location:?}");
    let (_, location) = a.get("/simple/PYPICTL.contract-probe/", Some(creds));
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
    assert_refusals(&b, &a, work.path(), &index, &dist, &dist3, &username);
    assert_eq!(a.stored().len(), 4);

    // Replica B's indexer stops: its lease runs out within seconds and B
    // answers from pypiserver again, so uploads stay visible within 5 s.
    drop(indexer_b);
    let fallback = wait_page(&b, project, creds, wheel2, Some(false), Duration::from_secs(5));
    assert!(fallback.is_some(), "without its indexer, a replica answers from pypiserver");
    let upload = twine_upload(&a, work.path(), &dist3, &username, PASSWORD);
    assert!(upload.status.success(), "twine upload failed:\n{}", String::from_utf8_lossy(&upload.stderr));
    let wheel3 = "pypictl_contract_probe-0.3.0-py3-none-any.whl";
    let seen_b = wait_page(&b, project, creds, wheel3, Some(false), Duration::from_secs(5));
    let seen_a = wait_page(&a, project, creds, wheel3, Some(true), Duration::from_secs(5));
    assert!(seen_b.is_some() && seen_a.is_some(), "visible through every replica within 5 s, indexer or not (A {seen_a:?}, B {seen_b:?})");
    drop((a, b, indexer_a, pypi_a, pypi_b));
}

/// SHA-1, for checking the `{SSHA}` entry (sha2's sibling is not a
/// dependency; the test computes it with the pinned Python instead).
fn sha1(data: &[u8]) -> Vec<u8> {
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    let out = run(
        Command::new(common::tool("pypi", "python")).args(["-c", "import hashlib, sys; sys.stdout.write(hashlib.sha1(bytes.fromhex(sys.argv[1])).hexdigest())", &hex]),
        Duration::from_secs(30),
    );
    let digest = String::from_utf8(out.stdout).unwrap();
    (0..digest.len()).step_by(2).map(|i| u8::from_str_radix(&digest[i..i + 2], 16).unwrap()).collect()
}
