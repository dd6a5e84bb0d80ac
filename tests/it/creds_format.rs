//! `pypictl creds` output, read back by the real tools: every format of each
//! credential's role (read: installers; publish: uploaders), for passwords
//! with every character that means something to a URL, an INI file, TOML,
//! JSON or a shell, gives back exactly the username and password; and each
//! role gets only its clients' settings (no upload settings for read).
//!
//! The pinned Python tools (pip 26.3, twine 7.0.0, Python's tomllib) parse
//! the files; `sh` sources the shell snippets. Data reaches Python through
//! files, never in its source; every child process runs under a deadline;
//! nothing touches the network.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pypictl::ui::creds::{self, Credentials, Format, Role};
use serde_json::{json, Value};

const URL: &str = "https://pypi.example.com/";
const INDEX_URL: &str = "https://pypi.example.com/simple/";
const NAME: &str = "pypi";
/// What `index_name` makes of "pypi" (twine and Poetry reserve "pypi").
const INDEX_NAME: &str = "pypi-private";
const ENV_NAME: &str = "PYPI_PRIVATE";

/// Read usernames; a publish username is the read one + "-publish".
const USERNAMES: [&str; 2] = ["pypi-1a2b3c4d", "ci.deploy_user-01"];
const PUBLISH_USERNAMES: [&str; 2] = ["pypi-1a2b3c4d-publish", "ci.deploy_user-01-publish"];

/// What the read role's output never holds: upload settings.
const PUBLISHING: [&str; 5] = ["TWINE_", "UV_PUBLISH_", "poetry publish", "POETRY_REPOSITORIES_", "publish-url"];

/// Passwords: URL, INI, TOML, JSON and shell metacharacters, option-like
/// words, non-ASCII, and a Secrets-Manager-like one (its alphabet: all
/// printable ASCII but quotes, backslash and backtick).
const PASSWORDS: &[&str] = &[
    "p@ss:w/rd%41 #?+",
    "with space",
    "it's",
    "say \"hi\"",
    "back\\slash\\",
    "a=b&c=d",
    "%41%(user)s%%",
    "pässwörd",
    "#;[x] = y",
    "-Cfoo",
    "--directory=/tmp",
    "$HOME`id`$(id)!*~{a,b}",
    "@:/%#?+ '\"\\=&%41pässwörd🔑",
    "Xy7!#$%&()*+,-./:;<=>?@[]^_{|}~aB3dE5fG9h",
    // configparser cannot hold these in .pypirc; every other format can.
    " leading space",
    "trailing tab\t",
    "two\nlines",
];

fn cases(role: Role) -> Vec<(&'static str, &'static str)> {
    let usernames = match role {
        Role::Read => USERNAMES,
        Role::Publish => PUBLISH_USERNAMES,
    };
    PASSWORDS.iter().enumerate().map(|(i, p)| (usernames[i % usernames.len()], *p)).collect()
}

fn credentials<'a>(role: Role, username: &'a str, password: &'a str) -> Credentials<'a> {
    Credentials { username, password, url: URL, name: NAME, role }
}

const FORMATS: [Format; 7] = [Format::Text, Format::Pip, Format::Pypirc, Format::Env, Format::Uv, Format::Poetry, Format::Json];

/// Whether configparser gives back `s` from `key = s` (no line break, no
/// whitespace at either end: Python's str.strip).
fn ini_can_hold(s: &str) -> bool {
    let space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    !s.contains(['\n', '\r']) && !s.starts_with(space) && !s.ends_with(space)
}

// ---------------------------------------------------------------------------
// Running things

/// Runs `cmd` with a clean environment (plus `env`), in `dir`, under a
/// deadline; returns stdout. Fails the test on a non-zero exit.
fn run(mut cmd: Command, dir: &Path, env: &[(&str, &str)]) -> Vec<u8> {
    let out_path = dir.join(format!("stdout-{}", std::process::id()));
    let err_path = dir.join(format!("stderr-{}", std::process::id()));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .env("PYTHONUTF8", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONNOUSERSITE", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let description = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{description}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{description} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read(&out_path).unwrap();
    let stderr = String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned();
    assert!(status.success(), "{description} failed ({status}):\n{stderr}");
    stdout
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 output");
    let mut fields: Vec<String> = text.split('\0').map(str::to_string).collect();
    assert_eq!(fields.pop().as_deref(), Some(""), "NUL-terminated output: {text:?}");
    fields
}

/// Sources `script` in `sh`, then prints the variables, NUL-terminated.
fn sh_vars(dir: &Path, script: &str, vars: &[&str]) -> Vec<String> {
    std::fs::write(dir.join("snippet.sh"), script).unwrap();
    let printed: Vec<String> = vars.iter().map(|v| format!("\"${{{v}?unset}}\"")).collect();
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!(". ./snippet.sh && printf '%s\\0' {}", printed.join(" ")));
    split_nul(&run(cmd, dir, &[]))
}

/// Runs `script` in `sh` after `prelude` (which defines stand-in functions).
fn sh_run(dir: &Path, prelude: &str, script: &str) -> Vec<String> {
    std::fs::write(dir.join("run.sh"), format!("{prelude}\n{script}")).unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("./run.sh");
    split_nul(&run(cmd, dir, &[]))
}

/// The checks that need Python, given jobs through a file; the results come
/// back as JSON on stdout, one per job.
const CHECKER: &str = r#"
import json, os, sys

def pip_split(url):
    from pip._internal.utils.misc import split_auth_netloc_from_url
    without_auth, netloc, (user, password) = split_auth_netloc_from_url(url)
    return {"url": without_auth, "netloc": netloc, "username": user, "password": password}

def pip_conf(path):
    # pip's own loader: PIP_CONFIG_FILE is this file (the caller sets it).
    from pip._internal.configuration import Configuration
    assert os.environ["PIP_CONFIG_FILE"] == path
    conf = Configuration(isolated=False)
    conf.load()
    return {"index-url": conf.get_value("global.index-url")}

def twine_file(path, name):
    from twine import utils
    from twine.settings import Settings
    for key in [k for k in os.environ if k.startswith("TWINE_")]:
        del os.environ[key]
    raw = utils.get_repository_from_config(path, name)
    out = {"raw": {k: raw.get(k) for k in ("repository", "username", "password")}}
    if raw.get("password") is not None and raw.get("username") is not None:
        s = Settings(config_file=path, repository_name=name, non_interactive=True)
        out["settings"] = {"repository": s.repository_config["repository"], "username": s.username, "password": s.password}
    return out

def twine_env(env):
    # twine reads TWINE_* when its options are declared.
    import argparse
    from twine.settings import Settings
    for key in [k for k in os.environ if k.startswith("TWINE_")]:
        del os.environ[key]
    os.environ.update(env)
    parser = argparse.ArgumentParser()
    Settings.register_argparse_arguments(parser)
    s = Settings.from_argparse(parser.parse_args(["--non-interactive", "--config-file", os.devnull]))
    return {"repository": s.repository_config["repository"], "username": s.username, "password": s.password}

def toml(path):
    import tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)

with open(sys.argv[1], encoding="utf-8") as f:
    jobs = json.load(f)
results = []
for job in jobs:
    mode = job["mode"]
    if mode == "pip_split":
        results.append(pip_split(job["url"]))
    elif mode == "pip_conf":
        results.append(pip_conf(job["path"]))
    elif mode == "twine_file":
        results.append(twine_file(job["path"], job["name"]))
    elif mode == "twine_env":
        results.append(twine_env(job["env"]))
    elif mode == "toml":
        results.append(toml(job["path"]))
    else:
        raise SystemExit("unknown mode " + mode)
json.dump(results, sys.stdout, ensure_ascii=True)
"#;

/// Runs the checker's `jobs` (all with the same extra environment).
fn python(dir: &Path, jobs: &[Value], env: &[(&str, &str)]) -> Vec<Value> {
    let script = dir.join("checker.py");
    std::fs::write(&script, CHECKER).unwrap();
    let jobs_path = dir.join("jobs.json");
    std::fs::write(&jobs_path, serde_json::to_vec(jobs).unwrap()).unwrap();
    let mut cmd = Command::new(common::tool("pypi", "python"));
    cmd.arg(&script).arg(&jobs_path);
    let out = run(cmd, dir, env);
    let results: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(results.len(), jobs.len());
    results
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The snippets of a multi-snippet format: (header, body), split at the
/// `# --- ... ---` lines.
fn snippets(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("# --- ") && line.ends_with(" ---") {
            out.push((line.to_string(), String::new()));
        } else {
            let (_, body) = out.last_mut().unwrap_or_else(|| panic!("text before the first snippet header: {line:?}"));
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// A commented-out command (`#   cmd ...`), uncommented.
fn commented_commands(text: &str, command: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .filter(|l| l.starts_with(command) || l.contains(&format!(" {command} ")))
        .map(|l| format!("{l}\n"))
        .collect()
}

// ---------------------------------------------------------------------------
// The checks

#[test]
fn index_url_with_credentials_round_trips_through_pip() {
    let dir = tempdir();
    let cases: Vec<_> = Role::ALL.into_iter().flat_map(|role| cases(role).into_iter().map(move |(u, p)| (role, u, p))).collect();
    let jobs: Vec<Value> = cases
        .iter()
        .map(|(role, u, p)| json!({"mode": "pip_split", "url": creds::index_url_with_credentials(&credentials(*role, u, p))}))
        .collect();
    for ((_, username, password), got) in cases.iter().zip(python(dir.path(), &jobs, &[])) {
        assert_eq!(got["username"], *username, "{got}");
        assert_eq!(got["password"], *password, "{got}");
        assert_eq!(got["url"], INDEX_URL);
        assert_eq!(got["netloc"], "pypi.example.com");
    }
}

#[test]
fn index_url_encodes_everything_but_unreserved() {
    let url = creds::index_url_with_credentials(&credentials(Role::Read, "a.b-c_d~e", "p@ss:w/rd%41 #?+"));
    assert_eq!(url, "https://a.b-c_d~e:p%40ss%3Aw%2Frd%2541%20%23%3F%2B@pypi.example.com/simple/");
}

/// The note the publish credential's pip configuration carries, pointing
/// installers to the read credential.
fn assert_installers_pointed_to_read(role: Role, snippet: &str) {
    let pointed = snippet.contains("read credential") && snippet.contains("`pypictl creds --format pip`");
    assert_eq!(pointed, role == Role::Publish, "{role:?}:\n{snippet}");
}

#[test]
fn pip_conf_and_export_round_trip() {
    let dir = tempdir();
    let mut checks = Vec::new();
    for role in Role::ALL {
        for (i, (username, password)) in cases(role).into_iter().enumerate() {
            let c = credentials(role, username, password);
            let out = creds::render(&c, Format::Pip);
            assert!(out.ends_with('\n'));
            let parts = snippets(&out);
            assert_eq!(parts.len(), 2, "pip.conf, then the shell export:\n{out}");
            let (conf_header, conf) = &parts[0];
            assert!(conf_header.contains("pip.conf") && conf_header.contains("pip.ini"), "{conf_header}");
            // Comment lines, then the section.
            let first_non_comment = conf.lines().find(|l| !l.starts_with("# ")).unwrap();
            assert_eq!(first_non_comment, "[global]", "{conf}");
            assert_installers_pointed_to_read(role, conf);
            let with_creds = creds::index_url_with_credentials(&c);
            // The alternative is there, commented out, with its warning.
            assert!(conf.contains(&format!("\n# extra-index-url = {with_creds}\n")), "{conf}");
            assert!(conf.contains("WARNING") && conf.contains("same-named package"), "{conf}");
            let path = dir.path().join(format!("pip-{}-{i}.conf", role.as_str()));
            std::fs::write(&path, conf).unwrap();
            checks.push((path, username, password, with_creds.clone()));

            let (_, shell) = &parts[1];
            assert_installers_pointed_to_read(role, shell);
            assert_eq!(sh_vars(dir.path(), shell, &["PIP_INDEX_URL"]), [with_creds]);
        }
    }
    // pip reads one PIP_CONFIG_FILE per process.
    for (path, username, password, with_creds) in checks {
        let path_str = path.to_str().unwrap();
        let got = python(dir.path(), &[json!({"mode": "pip_conf", "path": path_str}), json!({"mode": "pip_split", "url": with_creds})], &[("PIP_CONFIG_FILE", path_str)]);
        assert_eq!(got[0]["index-url"], with_creds.as_str());
        assert_eq!(got[1]["username"], username);
        assert_eq!(got[1]["password"], password);
    }
}

#[test]
fn pypirc_is_read_back_by_twine() {
    let dir = tempdir();
    let mut jobs = Vec::new();
    let cases = cases(Role::Publish);
    for (i, (username, password)) in cases.iter().enumerate() {
        let out = creds::render(&credentials(Role::Publish, username, password), Format::Pypirc);
        assert!(out.starts_with("# ~/.pypirc for twine, with the publish credential: "), "{out}");
        assert!(out.contains(&format!("[distutils]\nindex-servers = {INDEX_NAME}\n")), "{out}");
        assert!(out.contains(&format!("\n[{INDEX_NAME}]\nrepository = {URL}\n")), "{out}");
        if !ini_can_hold(password) {
            assert!(out.contains("TWINE_PASSWORD") && out.contains("pypictl creds --publish --format env"), "{out}");
            assert!(!out.contains(password), "{out}");
        }
        let path = dir.path().join(format!("pypirc-{i}"));
        std::fs::write(&path, &out).unwrap();
        jobs.push(json!({"mode": "twine_file", "path": path.to_str().unwrap(), "name": INDEX_NAME}));
    }
    for ((username, password), got) in cases.iter().zip(python(dir.path(), &jobs, &[])) {
        assert_eq!(got["raw"]["repository"], URL, "{got}");
        assert_eq!(got["raw"]["username"], *username, "{got}");
        if ini_can_hold(password) {
            assert_eq!(got["raw"]["password"], *password, "{got}");
            assert_eq!(got["settings"], json!({"repository": URL, "username": username, "password": password}));
        } else {
            assert!(got["raw"]["password"].is_null(), "{password:?} cannot be in .pypirc: {got}");
        }
    }
}

#[test]
fn pypirc_is_refused_for_the_read_credential() {
    let why = creds::check_format(Role::Read, Format::Pypirc).unwrap_err();
    assert!(why.contains("pypictl creds --publish --format pypirc"), "{why}");
    assert_eq!(creds::check_format(Role::Publish, Format::Pypirc), Ok(()));
    // Rendered anyway, it is a comment: no twine configuration.
    let out = creds::render(&credentials(Role::Read, "pypi-1a2b3c4d", "p@ss:w/rd%41 #?+"), Format::Pypirc);
    assert_eq!(out, format!("# {why}\n"));
}

/// Every line is a comment or an export (a multi-line value aside).
fn assert_comments_and_exports(out: &str, password: &str) {
    if !password.contains('\n') {
        for line in out.lines() {
            assert!(line.starts_with("# ") || line.starts_with("export "), "{line:?}");
        }
    }
}

#[test]
fn env_exports_for_installing_round_trip() {
    let dir = tempdir();
    let vars = [
        "PIP_INDEX_URL".to_string(),
        format!("UV_INDEX_{ENV_NAME}_USERNAME"),
        format!("UV_INDEX_{ENV_NAME}_PASSWORD"),
        format!("POETRY_HTTP_BASIC_{ENV_NAME}_USERNAME"),
        format!("POETRY_HTTP_BASIC_{ENV_NAME}_PASSWORD"),
    ];
    let var_refs: Vec<&str> = vars.iter().map(String::as_str).collect();
    let cases = cases(Role::Read);
    let mut jobs = Vec::new();
    for (username, password) in &cases {
        let c = credentials(Role::Read, username, password);
        let out = creds::render(&c, Format::Env);
        assert_comments_and_exports(&out, password);
        assert!(out.contains("pypictl creds --publish --format env"), "points publishers to the publish credential:\n{out}");
        let got = sh_vars(dir.path(), &out, &var_refs);
        let with_creds = creds::index_url_with_credentials(&c);
        let expected = [with_creds.as_str(), username, password, username, password];
        assert_eq!(got, expected, "{out}");
        // Exactly these variables.
        assert_eq!(out.lines().filter(|l| l.starts_with("export ")).count(), vars.len(), "{out}");
        jobs.push(json!({"mode": "pip_split", "url": got[0]}));
    }
    for ((username, password), got) in cases.iter().zip(python(dir.path(), &jobs, &[])) {
        assert_eq!((&got["username"], &got["password"]), (&json!(username), &json!(password)));
        assert_eq!(got["url"], INDEX_URL);
    }
}

#[test]
fn env_exports_for_publishing_round_trip() {
    // Poetry's variable for a setting: POETRY_ + its name upper-cased, `.`
    // and `-` as `_` (`repositories.<name>.url`, `http-basic.<name>.*`).
    assert_eq!(ENV_NAME, INDEX_NAME.to_uppercase().replace(['-', '.'], "_"));
    let dir = tempdir();
    let vars = [
        "TWINE_REPOSITORY_URL".to_string(),
        "TWINE_USERNAME".to_string(),
        "TWINE_PASSWORD".to_string(),
        "UV_PUBLISH_URL".to_string(),
        "UV_PUBLISH_USERNAME".to_string(),
        "UV_PUBLISH_PASSWORD".to_string(),
        format!("POETRY_REPOSITORIES_{ENV_NAME}_URL"),
        format!("POETRY_HTTP_BASIC_{ENV_NAME}_USERNAME"),
        format!("POETRY_HTTP_BASIC_{ENV_NAME}_PASSWORD"),
    ];
    let var_refs: Vec<&str> = vars.iter().map(String::as_str).collect();
    let cases = cases(Role::Publish);
    let mut jobs = Vec::new();
    for (username, password) in &cases {
        let c = credentials(Role::Publish, username, password);
        let out = creds::render(&c, Format::Env);
        assert_comments_and_exports(&out, password);
        assert!(out.contains("read") && out.contains("pypictl creds --format env"), "points installers to the read credential:\n{out}");
        assert!(out.contains(&format!("poetry publish --build -r {INDEX_NAME}")), "{out}");
        let got = sh_vars(dir.path(), &out, &var_refs);
        let expected = [URL, username, password, URL, username, password, URL, username, password];
        assert_eq!(got, expected, "{out}");
        // Exactly these variables: nothing for installers.
        assert_eq!(out.lines().filter(|l| l.starts_with("export ")).count(), vars.len(), "{out}");
        assert!(!out.contains("PIP_INDEX_URL") && !out.contains("UV_INDEX_"), "{out}");
        let env: serde_json::Map<String, Value> =
            vars.iter().zip(&got).filter(|(k, _)| k.starts_with("TWINE_")).map(|(k, v)| (k.clone(), json!(v))).collect();
        jobs.push(json!({"mode": "twine_env", "env": env}));
    }
    for ((username, password), got) in cases.iter().zip(python(dir.path(), &jobs, &[])) {
        assert_eq!(got, json!({"repository": URL, "username": username, "password": password}));
    }
}

/// A stand-in for `uv`: prints the upload credentials uv publish reads, then
/// its arguments.
const UV_STAND_IN: &str = "uv() { printf '%s\\0' \"$UV_PUBLISH_USERNAME\" \"$UV_PUBLISH_PASSWORD\"; for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }";

#[test]
fn uv_index_and_exports_round_trip() {
    let dir = tempdir();
    let mut jobs = Vec::new();
    for role in Role::ALL {
        for (i, (username, password)) in cases(role).into_iter().enumerate() {
            let out = creds::render(&credentials(role, username, password), Format::Uv);
            let parts = snippets(&out);
            assert_eq!(parts.len(), 2, "the index entry, then the credentials:\n{out}");
            let (toml_header, toml) = &parts[0];
            assert!(toml_header.contains("pyproject.toml") && toml_header.contains("uv.toml"), "{toml_header}");
            assert!(!toml.contains(password) && !toml.contains(username), "no credentials in pyproject.toml:\n{toml}");
            let path = dir.path().join(format!("uv-{}-{i}.toml", role.as_str()));
            std::fs::write(&path, toml).unwrap();
            jobs.push((role, json!({"mode": "toml", "path": path.to_str().unwrap()})));

            let (_, shell) = &parts[1];
            // Both roles: the index's credentials (read: to install; publish:
            // for uv publish's check of the files already there).
            let user_var = format!("UV_INDEX_{ENV_NAME}_USERNAME");
            let password_var = format!("UV_INDEX_{ENV_NAME}_PASSWORD");
            assert_eq!(sh_vars(dir.path(), shell, &[&user_var, &password_var]), [username, password]);
            let publish = commented_commands(shell, "uv");
            match role {
                Role::Read => {
                    assert_eq!(publish, "", "{shell}");
                    assert!(shell.contains("pypictl creds --publish --format uv"), "{shell}");
                }
                Role::Publish => {
                    assert_eq!(sh_vars(dir.path(), shell, &["UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD"]), [username, password]);
                    // The commented publish command, run after the exports.
                    assert_eq!(publish.lines().count(), 1, "{shell}");
                    let prelude = format!("{shell}\n{UV_STAND_IN}");
                    assert_eq!(sh_run(dir.path(), &prelude, &publish), [username, password, "publish", "--index", INDEX_NAME]);
                }
            }
        }
    }
    let (roles, jobs): (Vec<Role>, Vec<Value>) = jobs.into_iter().unzip();
    for (role, got) in roles.into_iter().zip(python(dir.path(), &jobs, &[])) {
        let index = match role {
            Role::Read => json!({"name": INDEX_NAME, "url": INDEX_URL, "default": true}),
            Role::Publish => json!({"name": INDEX_NAME, "url": INDEX_URL, "publish-url": URL, "default": true}),
        };
        assert_eq!(got, json!({"tool": {"uv": {"index": [index]}}}), "{role:?}");
    }
}

#[test]
fn uv_toml_strings_are_escaped() {
    let dir = tempdir();
    let url = "https://pypi.example.com/a\"b\\c\u{1}\u{7f}é/";
    let mut jobs = Vec::new();
    for role in Role::ALL {
        let c = Credentials { username: "u", password: "p", url, name: "pypi", role };
        let out = creds::render(&c, Format::Uv);
        let (_, toml) = &snippets(&out)[0];
        let path = dir.path().join(format!("uv-{}.toml", role.as_str()));
        std::fs::write(&path, toml).unwrap();
        jobs.push(json!({"mode": "toml", "path": path.to_str().unwrap()}));
    }
    let got = python(dir.path(), &jobs, &[]);
    for got in &got {
        assert_eq!(got["tool"]["uv"]["index"][0]["url"], format!("{url}simple/"));
    }
    assert!(got[0]["tool"]["uv"]["index"][0].get("publish-url").is_none(), "read: {}", got[0]);
    assert_eq!(got[1]["tool"]["uv"]["index"][0]["publish-url"], url);
}

#[test]
fn poetry_commands_pass_exact_arguments() {
    let dir = tempdir();
    // A stand-in for poetry: each call prints CALL, then its arguments.
    let prelude = "poetry() { printf 'CALL\\0'; for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }";
    let calls = |fields: Vec<String>| -> Vec<Vec<String>> {
        let mut calls: Vec<Vec<String>> = Vec::new();
        for f in fields {
            if f == "CALL" {
                calls.push(Vec::new());
            } else {
                calls.last_mut().expect("output starts with CALL").push(f);
            }
        }
        calls
    };
    let http_basic = format!("http-basic.{INDEX_NAME}");
    let repository = format!("repositories.{INDEX_NAME}");
    for role in Role::ALL {
        for (username, password) in cases(role) {
            let out = creds::render(&credentials(role, username, password), Format::Poetry);
            let live = calls(sh_run(dir.path(), prelude, &out));
            let later = calls(sh_run(dir.path(), prelude, &commented_commands(&out, "poetry")));
            let credentials_call = vec!["config", "--", &http_basic, username, password];
            match role {
                Role::Read => {
                    assert_eq!(live, [vec!["source", "add", "--priority=primary", INDEX_NAME, INDEX_URL], credentials_call], "{out}");
                    assert!(later.is_empty(), "{out}");
                    assert!(out.contains("pypictl creds --publish --format poetry"), "{out}");
                }
                Role::Publish => {
                    assert_eq!(live, [vec!["config", &repository, URL], credentials_call], "{out}");
                    assert_eq!(later, [vec!["publish", "--build", "-r", INDEX_NAME]], "{out}");
                    assert!(!out.contains("source add"), "{out}");
                }
            }
        }
    }
}

#[test]
fn json_has_every_field_and_the_role() {
    for role in Role::ALL {
        for (username, password) in cases(role) {
            let c = credentials(role, username, password);
            let out = creds::render(&c, Format::Json);
            assert!(out.ends_with("}\n"), "{out}");
            let value: Value = serde_json::from_str(&out).unwrap();
            let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["role", "username", "password", "url", "index_url", "index_url_with_credentials", "upload_url"]);
            assert_eq!(
                value,
                json!({
                    "role": role.as_str(),
                    "username": username,
                    "password": password,
                    "url": URL,
                    "index_url": INDEX_URL,
                    "index_url_with_credentials": creds::index_url_with_credentials(&c),
                    "upload_url": URL,
                })
            );
        }
    }
}

#[test]
fn text_shows_the_role_the_credentials_and_its_formats() {
    for (role, username, role_line, formats, flag) in [
        (Role::Read, "pypi-1a2b3c4d", "Role:        read (list and download)\n", &["pip", "env", "uv", "poetry", "json"][..], ""),
        (Role::Publish, "pypi-1a2b3c4d-publish", "Role:        publish (upload, list and download)\n", &["pypirc", "env", "uv", "poetry", "pip", "json"][..], " --publish"),
    ] {
        let c = credentials(role, username, "p@ss:w/rd%41 #?+");
        let out = creds::render(&c, Format::Text);
        assert!(out.starts_with(role_line), "{out}");
        assert!(out.contains(&format!("Username:    {username}\n")), "{out}");
        assert!(out.contains("Password:    p@ss:w/rd%41 #?+\n"), "{out}");
        assert!(out.contains(&format!("Index URL:   {INDEX_URL}\n")), "{out}");
        // Only the publish credential uploads.
        assert_eq!(out.contains(&format!("Upload URL:  {URL}\n")), role == Role::Publish, "{out}");
        assert_eq!(out.matches("p@ss:w/rd%41 #?+").count(), 1, "the password once:\n{out}");
        assert!(!out.contains(&creds::index_url_with_credentials(&c)), "{out}");
        // Exactly the role's formats, each with the role's flag.
        let listed: Vec<&str> =
            out.lines().filter_map(|l| l.strip_prefix(&format!("  pypictl creds{flag} --format "))).map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(listed, formats, "{out}");
        assert_eq!(out.lines().filter(|l| l.starts_with("  pypictl creds")).count(), formats.len(), "{out}");
        for format in formats {
            assert_eq!(creds::check_format(role, parse_format(format)), Ok(()), "{format}");
        }
    }
}

/// A `--format` value as clap parses it.
fn parse_format(name: &str) -> Format {
    <Format as clap::ValueEnum>::from_str(name, false).unwrap()
}

#[test]
fn read_output_configures_no_publishing() {
    for (username, password) in cases(Role::Read) {
        let c = credentials(Role::Read, username, password);
        for format in FORMATS {
            let out = creds::render(&c, format);
            for publishing in PUBLISHING {
                assert!(!out.contains(publishing), "{format:?} has {publishing}:\n{out}");
            }
        }
    }
}

#[test]
fn publish_output_carries_the_publish_settings() {
    let c = credentials(Role::Publish, "pypi-1a2b3c4d-publish", "p@ss:w/rd%41 #?+");
    let env = creds::render(&c, Format::Env);
    for setting in ["TWINE_REPOSITORY_URL=", "UV_PUBLISH_URL=", &format!("POETRY_REPOSITORIES_{ENV_NAME}_URL=")] {
        assert!(env.contains(setting), "env has no {setting}:\n{env}");
    }
    let uv = creds::render(&c, Format::Uv);
    for setting in ["publish-url = ", "UV_PUBLISH_USERNAME=", "UV_PUBLISH_PASSWORD=", &format!("uv publish --index {INDEX_NAME}")] {
        assert!(uv.contains(setting), "uv has no {setting}:\n{uv}");
    }
    let poetry = creds::render(&c, Format::Poetry);
    for setting in [format!("poetry config repositories.{INDEX_NAME} {URL}"), format!("poetry publish --build -r {INDEX_NAME}")] {
        assert!(poetry.contains(&setting), "poetry has no {setting}:\n{poetry}");
    }
}

#[test]
fn every_format_is_complete_text() {
    for role in Role::ALL {
        let c = credentials(role, "pypi-1a2b3c4d", "p@ss:w/rd%41 #?+");
        for format in FORMATS {
            let out = creds::render(&c, format);
            assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{role:?} {format:?}:\n{out}");
        }
    }
}

#[test]
fn debug_leaves_the_password_out() {
    let c = credentials(Role::Publish, "pypi-1a2b3c4d-publish", "p@ss:w/rd%41 #?+");
    let debug = format!("{c:?}");
    assert!(debug.contains("pypi-1a2b3c4d-publish") && debug.contains("Publish") && !debug.contains("p@ss"), "{debug}");
}
