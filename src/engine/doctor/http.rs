//! Checks 7 (`http_authenticated`, `http_publish`, `http_unauthenticated`):
//! the service answers 200 with each credential's secret, 401 without.

use pypictl_stacks::outputs::RootOutput;
use serde_json::Value;

use super::names::{HTTP_AUTHENTICATED, HTTP_PUBLISH, HTTP_UNAUTHENTICATED};
use crate::engine::creds::{creds_command, Role};
use super::{Check, Context, Options};
use crate::engine::cloud::{Probe, Secrets};

/// The index URL pip uses: `<service URL>simple/`.
pub fn index_url(service_url: &str) -> String {
    let base = service_url.trim();
    if base.ends_with('/') {
        format!("{base}simple/")
    } else {
        format!("{base}/simple/")
    }
}

/// Returns the passwords (to keep them out of every check) and the three checks.
pub(super) async fn http_checks<C: Secrets, P: Probe>(cloud: &C, probe: &P, ctx: &Context<'_>, options: &Options) -> (Vec<String>, Vec<Check>) {
    let base = options.url.clone().or_else(|| ctx.output(RootOutput::PypiServerUrls).and_then(|urls| urls.split(',').map(str::trim).find(|u| !u.is_empty())).map(str::to_string));
    let Some(base) = base else {
        return (Vec::new(), [HTTP_AUTHENTICATED, HTTP_PUBLISH, HTTP_UNAUTHENTICATED].map(|n| ctx.missing(n, RootOutput::PypiServerUrls)).to_vec());
    };
    let index = index_url(&base);
    let unreachable_fix = |reason: &str| {
        let host = index.split("://").nth(1).and_then(|r| r.split(['/', ':']).next()).unwrap_or(&index).to_string();
        let lb = ctx.output(RootOutput::LoadBalancerDnsName).map(|d| format!(" {d}")).unwrap_or_default();
        let mut fix = if options.url.is_some() {
            format!("{host} is the URL given in PYPICTL_SERVICE_URL: check that it leads to the service (a tunnel?) or unset it; `pypictl status` shows the stacks and targets")
        } else {
            format!(
                "check that {host} resolves to the load balancer{lb} (its records in the hosted zone `dns.zone_id`), that the load balancer admits you (`load_balancer.allowed_cidrs`, security groups), and `pypictl status` for the stacks and targets"
            )
        };
        if reason.to_ascii_lowercase().contains("certificate") || reason.contains("tls") || reason.contains("TLS") {
            fix.push_str("; a certificate error: the ACM certificate must cover every `dns.names` entry");
        }
        fix
    };
    let mut checks = Vec::new();
    let mut passwords = Vec::new();

    // With each credential's secret: 200 (the publish credential lists too).
    for (role, name) in [(Role::Read, HTTP_AUTHENTICATED), (Role::Publish, HTTP_PUBLISH)] {
        match credentials(cloud, ctx, role, name).await {
            Err(check) => checks.push(check),
            Ok((user, pass)) => {
                let check = match probe.http_status(&index, Some((&user, &pass))).await {
                    Ok(200) => Check::pass(name, format!("GET {index} as {user} ({}): 200", role.as_str())),
                    Ok(code @ (401 | 403)) => Check::fail(
                        name,
                        format!("GET {index} as {user}: {code}: the service refuses the {} credential's secret", role.as_str()),
                        format!(
                            "the tasks run with other credentials than the secret's: `{0} --rotate` sets a new password and rolls the tasks onto it; `{0}` prints the current ones",
                            creds_command(role)
                        ),
                    ),
                    Ok(code) => http_code_check(name, &index, &format!(" as {user}"), code),
                    Err(reason) => Check::fail(name, format!("no response from {index}: {reason}"), unreachable_fix(&reason)),
                };
                checks.push(check);
                passwords.push(pass);
            }
        }
    }

    // Without credentials: 401.
    let check = match probe.http_status(&index, None).await {
        Ok(401) => Check::pass(HTTP_UNAUTHENTICATED, format!("GET {index} without credentials: 401 (authentication is on)")),
        Ok(200) => Check::fail(
            HTTP_UNAUTHENTICATED,
            format!("GET {index} without credentials: 200: authentication is off, anyone can list and download packages"),
            "pypictl's proxy and pypiserver require credentials on every path but /health: the running task definition is not pypictl's; `pypictl deploy` restores it",
        ),
        Ok(code @ 300..=399) => Check::fail(
            HTTP_UNAUTHENTICATED,
            format!("GET {index} without credentials: {code}, a redirect (to pypi.org: the public fallback is on, a dependency-confusion risk)"),
            if ctx.cfg.service.allow_public_fallback {
                "set `service.allow_public_fallback = false` in pypictl.toml and run `pypictl deploy`"
            } else {
                "pypictl.toml has `service.allow_public_fallback = false` but the running task definition differs: `pypictl deploy` restores `--disable-fallback`"
            },
        ),
        Ok(403) => Check::warn(
            HTTP_UNAUTHENTICATED,
            format!("GET {index} without credentials: 403 instead of 401: pip and twine will not send credentials"),
            "something in front of pypiserver refuses anonymous requests (a WAF or CloudFront rule?): let 401 through; `pypictl status`",
        ),
        Ok(code) => http_code_check(HTTP_UNAUTHENTICATED, &index, " without credentials", code),
        Err(reason) => Check::fail(HTTP_UNAUTHENTICATED, format!("no response from {index}: {reason}"), unreachable_fix(&reason)),
    };
    checks.push(check);
    (passwords, checks)
}

/// A credential's username and password from its secret, or the check that
/// says why there are none.
async fn credentials<C: Secrets>(cloud: &C, ctx: &Context<'_>, role: Role, name: &'static str) -> Result<(String, String), Check> {
    let output = role.secret_arn_output();
    let Some(arn) = ctx.output(output) else { return Err(ctx.missing(name, output)) };
    let what = format!("the {} credential's secret", role.as_str());
    let text = cloud.secret_value(arn).await.map_err(|e| Check::unreadable(name, &what, &e, "secretsmanager:GetSecretValue (and kms:Decrypt on the data key)"))?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match (v["username"].as_str(), v["password"].as_str()) {
        (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_string(), p.to_string())),
        _ => Err(Check::fail(
            name,
            format!("the secret {arn} holds no username and password (JSON with `username` and `password`)"),
            format!("`{} --rotate` writes a new password in the expected form and rolls the tasks onto it", creds_command(role)),
        )),
    }
}

/// An unexpected HTTP status.
fn http_code_check(name: &'static str, index: &str, how: &str, code: u16) -> Check {
    let detail = format!("GET {index}{how}: {code}");
    match code {
        502..=504 => Check::fail(
            name,
            format!("{detail}: the load balancer has no healthy task to send it to"),
            "see the ecs_tasks and target_health checks; `pypictl status --watch` follows the service",
        ),
        300..=399 => Check::fail(
            name,
            format!("{detail}, a redirect"),
            "the URL redirects: check `dns.names` and PypiServerUrls (`pypictl status`); with `service.allow_public_fallback = true` pypiserver redirects to pypi.org",
        ),
        _ => Check::fail(name, detail, "`pypictl status` shows the stacks, tasks and targets; `pypictl deploy` restores pypictl's configuration"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_url_appends_simple() {
        assert_eq!(index_url("https://pypi.example.com/"), "https://pypi.example.com/simple/");
        assert_eq!(index_url("http://127.0.0.1:9"), "http://127.0.0.1:9/simple/");
    }
}
