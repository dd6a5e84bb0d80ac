//! Checks 7 (`http_authenticated`, `http_unauthenticated`): the service
//! answers 200 with the secret's credentials, 401 without.

use pypictl_stacks::outputs::RootOutput;
use serde_json::Value;

use super::names::{HTTP_AUTHENTICATED, HTTP_UNAUTHENTICATED};
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

/// Returns the password (to keep it out of every check) and the two checks.
pub(super) async fn http_checks<C: Secrets, P: Probe>(cloud: &C, probe: &P, ctx: &Context<'_>, options: &Options) -> (Option<String>, Vec<Check>) {
    let base = options.url.clone().or_else(|| ctx.output(RootOutput::PypiServerUrls).and_then(|urls| urls.split(',').map(str::trim).find(|u| !u.is_empty())).map(str::to_string));
    let Some(base) = base else {
        return (None, vec![ctx.missing(HTTP_AUTHENTICATED, RootOutput::PypiServerUrls), ctx.missing(HTTP_UNAUTHENTICATED, RootOutput::PypiServerUrls)]);
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
    let mut password = None;

    // With the secret's credentials: 200.
    let credentials = match ctx.output(RootOutput::PypiUserSecretArn) {
        None => Err(ctx.missing(HTTP_AUTHENTICATED, RootOutput::PypiUserSecretArn)),
        Some(arn) => match cloud.secret_value(arn).await {
            Err(e) => Err(Check::unreadable(HTTP_AUTHENTICATED, "the credentials secret", &e, "secretsmanager:GetSecretValue (and kms:Decrypt on the data key)")),
            Ok(text) => {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match (v["username"].as_str(), v["password"].as_str()) {
                    (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_string(), p.to_string())),
                    _ => Err(Check::fail(
                        HTTP_AUTHENTICATED,
                        format!("the secret {arn} holds no username and password (JSON with `username` and `password`)"),
                        "`pypictl creds --rotate` writes a new password in the expected form and restarts the tasks on it",
                    )),
                }
            }
        },
    };
    match credentials {
        Err(check) => checks.push(check),
        Ok((user, pass)) => {
            let check = match probe.http_status(&index, Some((&user, &pass))).await {
                Ok(200) => Check::pass(HTTP_AUTHENTICATED, format!("GET {index} as {user}: 200")),
                Ok(code @ (401 | 403)) => Check::fail(
                    HTTP_AUTHENTICATED,
                    format!("GET {index} as {user}: {code}: the service refuses the secret's credentials"),
                    "the tasks run with other credentials than the secret's: `pypictl creds --rotate` sets a new password and restarts the tasks on it; `pypictl creds` prints the current ones",
                ),
                Ok(code) => http_code_check(HTTP_AUTHENTICATED, &index, &format!(" as {user}"), code),
                Err(reason) => Check::fail(HTTP_AUTHENTICATED, format!("no response from {index}: {reason}"), unreachable_fix(&reason)),
            };
            checks.push(check);
            password = Some(pass);
        }
    }

    // Without credentials: 401.
    let check = match probe.http_status(&index, None).await {
        Ok(401) => Check::pass(HTTP_UNAUTHENTICATED, format!("GET {index} without credentials: 401 (authentication is on)")),
        Ok(200) => Check::fail(
            HTTP_UNAUTHENTICATED,
            format!("GET {index} without credentials: 200: authentication is off, anyone can list and download packages"),
            "pypictl runs pypiserver with `--authenticate` and a password file: the running task definition is not pypictl's; `pypictl deploy` restores it",
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
    (password, checks)
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
