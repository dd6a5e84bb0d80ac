//! `pypictl creds` output, read back by the real tools: every format, for
//! passwords with every character that means something to a URL, an INI file,
//! TOML, JSON or a shell, gives back exactly the username and password.
//!
//! The pinned Python tools (pip 26.3, twine 7.0.0, Python's tomllib) parse
//! the files; `sh` sources the shell snippets. Data reaches Python through
//! files, never in its source; every child process runs under a deadline;
//! nothing touches the network.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pypictl::ui::creds::{self, Credentials, Format};
use serde_json::{json, Value};

const URL: &str = "https://pypi.example.com/";
const INDEX_URL: &str = "https://pypi.example.com/simple/";
const NAME: &str = "pypi";
/// What `index_name` makes of "pypi" (twine and Poetry reserve "pypi").
const INDEX_NAME: &str = "pypi-private";
const ENV_NAME: &str = "PYPI_PRIVATE";

const USERNAMES: [&str; 2] = ["pypi-1a2b3c4d", "ci.deploy_user-01"];

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

fn cases() -> Vec<(&'static str, &'static str)> {
    PASSWORDS.iter().enumerate().map(|(i, p)| (USERNAMES[i % USERNAMES.len()], *p)).collect()
}

fn credentials<'a>(username: &'a str, password: &'a str) -> Credentials<'a> {
    Credentials { username, password, url: URL, name: NAME }
}

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
    let cases = cases();
    let jobs: Vec<Value> = cases
        .iter()
        .map(|(u, p)| json!({"mode": "pip_split", "url": creds::index_url_with_credentials(&credentials(u, p))}))
        .collect();
    for ((username, password), got) in cases.iter().zip(python(dir.path(), &jobs, &[])) {
        assert_eq!(got["username"], *username, "{got}");
        assert_eq!(got["password"], *password, "{got}");
        assert_eq!(got["url"], INDEX_URL);
        assert_eq!(got["netloc"], "pypi.example.com");
    }
}

#[test]
fn index_url_encodes_everything_but_unreserved() {
    let url = creds::index_url_with_credentials(&credentials("a.b-c_d~e", "p@ss:w/rd%41 #?+"));
    assert_eq!(url, "https://a.b-c_d~e:p%40ss%3Aw%2Frd%2541%20%23%3F%2B@pypi.example.com/simple/");
}

#[test]
fn pip_conf_and_export_round_trip() {
    let dir = tempdir();
    let mut checks = Vec::new();
    for (i, (username, password)) in cases().into_iter().enumerate() {
        let c = credentials(username, password);
        let out = creds::render(&c, Format::Pip);
        assert!(out.ends_with('\n'));
        let parts = snippets(&out);
        assert_eq!(parts.len(), 2, "pip.conf, then the shell export:\n{out}");
        let (conf_header, conf) = &parts[0];
        assert!(conf_header.contains("pip.conf") && conf_header.contains("pip.ini"), "{conf_header}");
        assert!(conf.starts_with("[global]\n"), "{conf}");
        let with_creds = creds::index_url_with_credentials(&c);
        // The alternative is there, commented out, with its warning.
        assert!(conf.contains(&format!("\n# extra-index-url = {with_creds}\n")), "{conf}");
        assert!(conf.contains("WARNING") && conf.contains("same-named package"), "{conf}");
        let path = dir.path().join(format!("pip-{i}.conf"));
        std::fs::write(&path, conf).unwrap();
        checks.push((path, username, password, with_creds.clone()));

        let (_, shell) = &parts[1];
        assert_eq!(sh_vars(dir.path(), shell, &["PIP_INDEX_URL"]), [with_creds]);
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
    let cases = cases();
    for (i, (username, password)) in cases.iter().enumerate() {
        let out = creds::render(&credentials(username, password), Format::Pypirc);
        assert!(out.contains(&format!("[distutils]\nindex-servers = {INDEX_NAME}\n")), "{out}");
        assert!(out.contains(&format!("\n[{INDEX_NAME}]\nrepository = {URL}\n")), "{out}");
        if !ini_can_hold(password) {
            assert!(out.contains("TWINE_PASSWORD"), "{out}");
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
fn env_exports_round_trip() {
    let dir = tempdir();
    let vars = [
        "PIP_INDEX_URL".to_string(),
        "TWINE_REPOSITORY_URL".to_string(),
        "TWINE_USERNAME".to_string(),
        "TWINE_PASSWORD".to_string(),
        format!("UV_INDEX_{ENV_NAME}_USERNAME"),
        format!("UV_INDEX_{ENV_NAME}_PASSWORD"),
        format!("POETRY_HTTP_BASIC_{ENV_NAME}_USERNAME"),
        format!("POETRY_HTTP_BASIC_{ENV_NAME}_PASSWORD"),
    ];
    let var_refs: Vec<&str> = vars.iter().map(String::as_str).collect();
    let cases = cases();
    let mut jobs = Vec::new();
    for (username, password) in &cases {
        let c = credentials(username, password);
        let out = creds::render(&c, Format::Env);
        // Every line is a comment or an export (a multi-line value aside).
        if !password.contains('\n') {
            for line in out.lines() {
                assert!(line.starts_with("# ") || line.starts_with("export "), "{line:?}");
            }
        }
        let got = sh_vars(dir.path(), &out, &var_refs);
        let with_creds = creds::index_url_with_credentials(&c);
        let expected = [with_creds.as_str(), URL, username, password, username, password, username, password];
        assert_eq!(got, expected, "{out}");
        let env: serde_json::Map<String, Value> =
            vars.iter().zip(&got).filter(|(k, _)| k.starts_with("TWINE_")).map(|(k, v)| (k.clone(), json!(v))).collect();
        jobs.push(json!({"mode": "twine_env", "env": env}));
        jobs.push(json!({"mode": "pip_split", "url": got[0]}));
    }
    let results = python(dir.path(), &jobs, &[]);
    for ((username, password), got) in cases.iter().zip(results.chunks(2)) {
        assert_eq!(got[0], json!({"repository": URL, "username": username, "password": password}));
        assert_eq!((&got[1]["username"], &got[1]["password"]), (&json!(username), &json!(password)));
    }
}

#[test]
fn uv_index_and_exports_round_trip() {
    let dir = tempdir();
    let cases = cases();
    let mut jobs = Vec::new();
    for (i, (username, password)) in cases.iter().enumerate() {
        let out = creds::render(&credentials(username, password), Format::Uv);
        let parts = snippets(&out);
        assert_eq!(parts.len(), 2, "the index entry, then the credentials:\n{out}");
        let (toml_header, toml) = &parts[0];
        assert!(toml_header.contains("pyproject.toml") && toml_header.contains("uv.toml"), "{toml_header}");
        assert!(!toml.contains(password) && !toml.contains(username), "no credentials in pyproject.toml:\n{toml}");
        let path = dir.path().join(format!("uv-{i}.toml"));
        std::fs::write(&path, toml).unwrap();
        jobs.push(json!({"mode": "toml", "path": path.to_str().unwrap()}));

        let (_, shell) = &parts[1];
        let user_var = format!("UV_INDEX_{ENV_NAME}_USERNAME");
        let password_var = format!("UV_INDEX_{ENV_NAME}_PASSWORD");
        assert_eq!(sh_vars(dir.path(), shell, &[&user_var, &password_var]), [*username, *password]);
        // The commented publish command passes them to `uv publish`.
        let publish = commented_commands(shell, "uv");
        assert_eq!(publish.lines().count(), 1, "{shell}");
        let prelude = format!(
            "{shell}\nuv() {{ printf '%s\\0' \"$UV_PUBLISH_USERNAME\" \"$UV_PUBLISH_PASSWORD\"; for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }}"
        );
        assert_eq!(sh_run(dir.path(), &prelude, &publish), [*username, *password, "publish", "--index", INDEX_NAME]);
    }
    for got in python(dir.path(), &jobs, &[]) {
        assert_eq!(
            got,
            json!({"tool": {"uv": {"index": [{"name": INDEX_NAME, "url": INDEX_URL, "publish-url": URL, "default": true}]}}})
        );
    }
}

#[test]
fn uv_toml_strings_are_escaped() {
    let dir = tempdir();
    let url = "https://pypi.example.com/a\"b\\c\u{1}\u{7f}é/";
    let c = Credentials { username: "u", password: "p", url, name: "pypi" };
    let out = creds::render(&c, Format::Uv);
    let (_, toml) = &snippets(&out)[0];
    let path = dir.path().join("uv.toml");
    std::fs::write(&path, toml).unwrap();
    let got = python(dir.path(), &[json!({"mode": "toml", "path": path.to_str().unwrap()})], &[]);
    assert_eq!(got[0]["tool"]["uv"]["index"][0]["url"], format!("{url}simple/"));
    assert_eq!(got[0]["tool"]["uv"]["index"][0]["publish-url"], url);
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
    for (username, password) in cases() {
        let out = creds::render(&credentials(username, password), Format::Poetry);
        let live = calls(sh_run(dir.path(), prelude, &out));
        assert_eq!(
            live,
            [
                vec!["source", "add", "--priority=primary", INDEX_NAME, INDEX_URL],
                vec!["config", "--", &format!("http-basic.{INDEX_NAME}"), username, password],
            ],
            "{out}"
        );
        let publish = calls(sh_run(dir.path(), prelude, &commented_commands(&out, "poetry")));
        assert_eq!(
            publish,
            [vec!["config", &format!("repositories.{INDEX_NAME}"), URL], vec!["publish", "--build", "-r", INDEX_NAME]],
            "{out}"
        );
    }
}

#[test]
fn json_has_every_field() {
    for (username, password) in cases() {
        let c = credentials(username, password);
        let out = creds::render(&c, Format::Json);
        assert!(out.ends_with("}\n"), "{out}");
        let value: Value = serde_json::from_str(&out).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["username", "password", "url", "index_url", "index_url_with_credentials", "upload_url"]);
        assert_eq!(
            value,
            json!({
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

#[test]
fn text_shows_the_credentials_and_points_to_the_formats() {
    let c = credentials("pypi-1a2b3c4d", "p@ss:w/rd%41 #?+");
    let out = creds::render(&c, Format::Text);
    assert!(out.contains("Username:    pypi-1a2b3c4d\n"), "{out}");
    assert!(out.contains("Password:    p@ss:w/rd%41 #?+\n"), "{out}");
    assert!(out.contains(&format!("Index URL:   {INDEX_URL}\n")), "{out}");
    assert!(out.contains(&format!("Upload URL:  {URL}\n")), "{out}");
    assert_eq!(out.matches("p@ss:w/rd%41 #?+").count(), 1, "the password once:\n{out}");
    assert!(!out.contains(&creds::index_url_with_credentials(&c)), "{out}");
    for format in ["pip", "pypirc", "env", "uv", "poetry", "json"] {
        assert!(out.contains(&format!("pypictl creds --format {format} ")), "{format}:\n{out}");
    }
}

#[test]
fn every_format_is_complete_text() {
    let c = credentials("pypi-1a2b3c4d", "p@ss:w/rd%41 #?+");
    for format in [Format::Text, Format::Pip, Format::Pypirc, Format::Env, Format::Uv, Format::Poetry, Format::Json] {
        let out = creds::render(&c, format);
        assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{format:?}:\n{out}");
    }
}

#[test]
fn debug_leaves_the_password_out() {
    let c = credentials("pypi-1a2b3c4d", "p@ss:w/rd%41 #?+");
    let debug = format!("{c:?}");
    assert!(debug.contains("pypi-1a2b3c4d") && !debug.contains("p@ss"), "{debug}");
}
