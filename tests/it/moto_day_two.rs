//! Day two on the wire: the compiled binary against moto's server on
//! 127.0.0.1 (scripts/moto/), after a real `pypictl deploy`:
//! - `creds` in every format, each parsed by the parser its client uses;
//! - `creds --rotate`: a new secret value, a new ECS deployment, no instance
//!   replaced, and the old password refused by the service once the new
//!   deployment is done (the service is scripts/moto/service_double.py: a
//!   local pypiserver that, as ECS tasks do, reads the secret when a new
//!   deployment starts serving);
//! - `doctor` against that service before and after the rotation;
//! - `diff` and `upgrade` (the launch template carries the new type).

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{repo_root, stderr, stdout, tool, tools, Moto};
use serde_json::Value;


fn deploy(moto: &Moto, example: &str, dir: &Path) -> PathBuf {
    let seed = moto.seed();
    let config = moto.config(&seed, example, dir);
    succeed(moto, &["--yes", "deploy", "--progress", "events"], &config, &[]);
    config
}

/// Runs pypictl with `args`, `-c config` and `env`; it must succeed.
/// Returns its stdout and stderr.
fn succeed(moto: &Moto, args: &[&str], config: &Path, env: &[(&str, &str)]) -> (String, String) {
    let a = moto.pypictl().envs(env.iter().copied()).args(args).arg("-c").arg(config).assert();
    let (out, err) = (stdout(&a), stderr(&a));
    assert!(a.get_output().status.success(), "pypictl {args:?} failed:\n{out}\n{err}\n{}", moto.log());
    (out, err)
}


/// Parses INI text with the parser pip and twine use (RawConfigParser: no
/// interpolation, so a `%` in a password stays as it is): section → key → value.
fn ini(text: &str) -> Value {
    let out = Command::new(tool("pypi", "python"))
        .args(["-c", "import configparser, json, sys\np = configparser.RawConfigParser()\np.read_string(sys.stdin.read())\nprint(json.dumps({s: dict(p[s]) for s in p.sections()}))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "not INI:\n{text}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn creds(moto: &Moto, config: &Path, format: &str) -> String {
    let a = moto
        .pypictl()
        .args(["creds", "--format", format, "-c"])
        .arg(config)
        .assert();
    assert!(a.get_output().status.success(), "{}", stderr(&a));
    stdout(&a)
}

/// scripts/moto/service_double.py, stopped when dropped.
struct ServiceDouble {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl ServiceDouble {
    // The child is reaped by Drop.
    #[allow(clippy::zombie_processes)]
    fn start(moto: &Moto) -> ServiceDouble {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(tools().join("moto/bin/python"))
            .arg(repo_root().join("scripts/moto/service_double.py"))
            .args([&moto.url, "pypi"])
            .arg(tool("pypi", "pypi-server"))
            .arg(dir.path())
            .args(["--max-seconds", "600"])
            // Its own process group, which Drop stops as a whole.
            .process_group(0)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(url) = std::fs::read_to_string(dir.path().join("url")) {
                assert!(url.starts_with("http://127.0.0.1:"), "{url}");
                return ServiceDouble {
                    child,
                    url,
                    _dir: dir,
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the service double did not start: {}",
            std::fs::read_to_string(dir.path().join("pypiserver.log")).unwrap_or_default()
        );
    }
}

impl Drop for ServiceDouble {
    /// Stops the double and the pypiserver it started: the whole process
    /// group (a SIGKILL of the double alone would leave pypiserver running).
    fn drop(&mut self) {
        common::signal_group(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        common::signal_group(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn http_checks(moto: &Moto, config: &Path, url: &str) -> Vec<(String, String)> {
    let a = moto
        .pypictl()
        .env("PYPICTL_SERVICE_URL", url)
        .args(["--output", "json", "doctor", "-c"])
        .arg(config)
        .assert();
    let report: Value =
        serde_json::from_str(&stdout(&a)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&a)));
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("HTTP"))
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn creds_in_every_format_then_rotation() {
    let moto = Moto::start();
    let work = tempfile::tempdir().unwrap();
    let config = deploy(&moto, "light", work.path());

    let json: Value =
        serde_json::from_str(&creds(&moto, &config, "json")).expect("--format json is JSON");
    let (username, password) = (
        json["username"].as_str().unwrap().to_string(),
        json["password"].as_str().unwrap().to_string(),
    );
    assert!(
        username.starts_with("pypi-") && password.len() == 40,
        "{username}"
    );
    let with_creds = json["index_url_with_credentials"].as_str().unwrap();
    assert_eq!(json["index_url"], "https://pypi.example.com/simple/");

    let text = creds(&moto, &config, "text");
    assert!(
        text.contains(&format!("Username:    {username}"))
            && text.contains(&format!("Password:    {password}")),
        "{text}"
    );

    // pip.conf: INI as pip reads it, index-url with the percent-encoded password.
    let pip = creds(&moto, &config, "pip");
    let conf = pip.split("# --- or instead").next().unwrap();
    assert_eq!(ini(conf)["global"]["index-url"], with_creds, "{pip}");
    assert!(
        pip.contains(&format!("export PIP_INDEX_URL='{with_creds}'")),
        "{pip}"
    );

    // .pypirc: INI as twine reads it.
    let pypirc = ini(&creds(&moto, &config, "pypirc"));
    assert_eq!(pypirc["distutils"]["index-servers"], "pypi-private");
    assert_eq!(
        pypirc["pypi-private"]["repository"],
        "https://pypi.example.com/"
    );
    assert_eq!(
        (
            pypirc["pypi-private"]["username"].as_str().unwrap(),
            pypirc["pypi-private"]["password"].as_str().unwrap()
        ),
        (username.as_str(), password.as_str())
    );

    // env: a POSIX shell gets the exact password back.
    let env = work.path().join("creds.env");
    std::fs::write(&env, creds(&moto, &config, "env")).unwrap();
    let sh = Command::new("sh").arg("-c").arg(r#". "$1" && printf '%s\n%s\n%s' "$TWINE_PASSWORD" "$UV_INDEX_PYPI_PRIVATE_PASSWORD" "$POETRY_HTTP_BASIC_PYPI_PRIVATE_USERNAME""#).arg("sh").arg(&env).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sh.stdout),
        format!("{password}\n{password}\n{username}")
    );
    let uv = creds(&moto, &config, "uv");
    assert!(
        uv.contains("[[tool.uv.index]]")
            && uv.contains(&format!(
                "export UV_INDEX_PYPI_PRIVATE_PASSWORD='{password}'"
            )),
        "{uv}"
    );
    let poetry = creds(&moto, &config, "poetry");
    assert!(
        poetry.contains(
            "poetry source add --priority=primary pypi-private https://pypi.example.com/simple/"
        ),
        "{poetry}"
    );

    // The service answers with the secret's credentials.
    let service = ServiceDouble::start(&moto);
    let checks = http_checks(&moto, &config, &service.url);
    assert!(
        checks.iter().all(|(status, _)| status == "pass"),
        "{checks:?}"
    );

    let before = moto.boto("o = {x['OutputKey']: x['OutputValue'] for x in cfn.describe_stacks(StackName='pypi')['Stacks'][0]['Outputs']}\n\
         svc = ecs.describe_services(cluster=o['EcsClusterName'], services=[o['EcsServiceName']])['services'][0]\n\
         ids = sorted(i['InstanceId'] for r in ec2.describe_instances()['Reservations'] for i in r['Instances'] if i['State']['Name'] == 'running')\n\
         out = {'deployment': svc['deployments'][0]['id'], 'instances': ids}",
    );

    // Rotate: new secret value, a new deployment, the old password refused.
    let (out, err) = succeed(&moto, &["--yes", "creds", "--rotate", "--format", "json", "--progress", "events"], &config, &[("PYPICTL_SERVICE_URL", &service.url)]);
    let rotated: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: stdout:\n{out}\nstderr:\n{err}"));
    let new_password = rotated["password"].as_str().unwrap();
    assert_ne!(new_password, password);
    assert_eq!(rotated["username"], username.as_str());
    assert!(
        err.contains("==> Stored a new password in Secrets Manager"),
        "{err}"
    );
    assert!(
        err.contains("rollout COMPLETED"),
        "the rollout is followed:\n{err}"
    );
    assert!(
        err.contains("✔ The old password is refused since")
            && err.contains("from http://127.0.0.1:"),
        "{err}"
    );
    assert!(
        !err.contains(new_password) && !err.contains(&password),
        "no password in the progress lines"
    );

    let after = moto.boto("import json as j\n\
         o = {x['OutputKey']: x['OutputValue'] for x in cfn.describe_stacks(StackName='pypi')['Stacks'][0]['Outputs']}\n\
         svc = ecs.describe_services(cluster=o['EcsClusterName'], services=[o['EcsServiceName']])['services'][0]\n\
         ids = sorted(i['InstanceId'] for r in ec2.describe_instances()['Reservations'] for i in r['Instances'] if i['State']['Name'] == 'running')\n\
         arn = [o['OutputValue'] for o in cfn.describe_stacks(StackName='pypi')['Stacks'][0]['Outputs'] if o['OutputKey'] == 'PypiUserSecretArn'][0]\n\
         out = {'deployment': svc['deployments'][0]['id'], 'instances': ids, 'password': j.loads(secrets.get_secret_value(SecretId=arn)['SecretString'])['password']}",
    );
    assert_eq!(
        after["password"], new_password,
        "the secret holds the new password"
    );
    assert_ne!(
        after["deployment"], before["deployment"],
        "a new ECS deployment"
    );
    assert_eq!(
        after["instances"], before["instances"],
        "no instance replaced"
    );
    assert!(!before["instances"].as_array().unwrap().is_empty());

    let again: Value = serde_json::from_str(&creds(&moto, &config, "json")).unwrap();
    assert_eq!(again["password"], new_password);
    let checks = http_checks(&moto, &config, &service.url);
    assert!(
        checks.iter().all(|(status, _)| status == "pass"),
        "the service accepts the new password: {checks:?}"
    );
}

#[test]
fn diff_then_upgrade_the_instance_type() {
    let moto = Moto::start();
    let work = tempfile::tempdir().unwrap();
    let config = deploy(&moto, "light", work.path());
    let diff = |extra: &[&str]| {
        moto.pypictl()
            .args(["diff"])
            .args(extra)
            .arg("-c")
            .arg(&config)
            .assert()
    };
    let change_sets = || {
        moto.boto("out = [c['ChangeSetName'] for c in cfn.list_change_sets(StackName='pypi')['Summaries']]")
    };

    let a = diff(&["--fail"]).code(0);
    assert!(stdout(&a).contains("No changes"), "{}", stdout(&a));

    // A new image tag: a change, shown, not executed, change set deleted.
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        original.replace(
            "[compute]",
            "[service]\nimage_tag = \"v2.4.1\"\n\n[compute]",
        ),
    )
    .unwrap();
    // (moto keeps executed change sets, which AWS removes: compare with before.)
    let before = change_sets();
    let a = diff(&["--fail"]).code(1);
    let out = stdout(&a);
    // moto does not model nested change sets: AWS would list the task
    // definition inside the Service stack; here the stack itself is the change.
    assert!(out.contains("0 to add, 1 to modify, 0 to replace, 0 to remove"), "{out}");
    assert!(out.lines().any(|l| l.contains("modify") && l.contains("Service") && l.contains("AWS::CloudFormation::Stack")), "{out}");
    assert_eq!(
        change_sets(),
        before,
        "the change set is deleted"
    );
    diff(&[]).code(0);
    std::fs::write(&config, &original).unwrap();

    // upgrade: validated first, then previewed, deployed, recorded.
    let a = moto
        .pypictl()
        .args(["--yes", "upgrade", "--instance-type", "c9z.huge", "-c"])
        .arg(&config)
        .assert()
        .code(2);
    assert!(stderr(&a).contains("c9z.huge"), "{}", stderr(&a));
    let (out, _) = succeed(&moto, &["--yes", "upgrade", "--instance-type", "c6a.xlarge", "--progress", "events"], &config, &[]);
    assert!(
        out.contains("t3.small") && out.contains("c6a.xlarge"),
        "before and after:\n{out}"
    );
    let template = moto.boto("lts = ec2.describe_launch_templates()['LaunchTemplates']\n\
         v = ec2.describe_launch_template_versions(LaunchTemplateId=lts[0]['LaunchTemplateId'], Versions=['$Latest'])['LaunchTemplateVersions'][0]\n\
         out = {'count': len(lts), 'type': v['LaunchTemplateData']['InstanceType']}",
    );
    assert_eq!(
        template,
        serde_json::json!({"count": 1, "type": "c6a.xlarge"}),
        "the launch template carries the new type"
    );
    let rewritten = std::fs::read_to_string(&config).unwrap();
    assert!(
        rewritten.contains("instance_type = \"c6a.xlarge\"") && !rewritten.contains("instance_type = \"t3.small\""),
        "{rewritten}"
    );
    assert_eq!(
        rewritten.lines().filter(|l| l.starts_with('#')).count(),
        original.lines().filter(|l| l.starts_with('#')).count(),
        "comments kept"
    );
    let a = diff(&["--fail"]).code(0);
    assert!(
        stdout(&a).contains("No changes"),
        "the recorded config matches what runs:\n{}",
        stdout(&a)
    );
}
