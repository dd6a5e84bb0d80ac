//! Connecting to AWS for a deployment: the global flags, checked against the
//! configuration's region.

use anyhow::Result;

use crate::aws::{AwsCloud, Connection};
use crate::cli::Global;
use crate::exit::bad_input;

/// Connects in the configuration's region (the templates are synthesized
/// for it); `--region` may repeat it but not contradict it.
pub async fn connect(global: &Global, config_region: &str) -> Result<AwsCloud> {
    if let Some(r) = &global.region {
        if r != config_region {
            return Err(bad_input(format!(
                "--region {r}: pypictl.toml deploys to region = \"{config_region}\"; change `region` in the file to deploy elsewhere"
            )));
        }
    }
    let cloud = AwsCloud::connect(&Connection {
        profile: global.profile.clone(),
        region: Some(config_region.to_string()),
        endpoint_url: global.endpoint_url.clone(),
    })
    .await?;
    crate::aws::reach::ensure_reachable(&cloud).await?;
    Ok(cloud)
}

/// A single-threaded runtime for a command's AWS work.
/// Replaces the service URL that `creds --rotate` and `doctor` probe (tests,
/// or an operator who reaches the service through a tunnel).
pub const SERVICE_URL_ENV: &str = "PYPICTL_SERVICE_URL";

/// `PYPICTL_SERVICE_URL`, checked, with a trailing slash; None when unset.
pub fn service_url_override() -> Result<Option<String>> {
    match std::env::var(SERVICE_URL_ENV) {
        Ok(u) if !u.trim().is_empty() => {
            let u = u.trim();
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(crate::exit::bad_input(format!("{SERVICE_URL_ENV}={u}: must be an http:// or https:// URL")));
            }
            Ok(Some(if u.ends_with('/') { u.to_string() } else { format!("{u}/") }))
        }
        _ => Ok(None),
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Resolves on Ctrl-C (SIGINT): stop watching, nothing else.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A change set name unique per run: `pypictl-20261123T091500Z-3f9a1c07`.
/// The time says when, for a human reading the console; the random part
/// makes it unique: the run's ClientRequestTokens derive from it, and two
/// runs started in the same second (a failed `deploy` retried at once with
/// `--rollback-skip-failed`) sharing one would make CloudFormation take the
/// second request for a retry of the first and do nothing.
pub fn change_set_name() -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    format!("pypictl-{}-{:08x}", stamp.replace([':', '-'], ""), fastrand::u32(..))
}

#[cfg(test)]
mod tests {
    use super::change_set_name;

    #[test]
    fn runs_in_the_same_second_get_different_names() {
        let (a, b) = (change_set_name(), change_set_name());
        assert_ne!(a, b);
        // CloudFormation's change set name pattern: [a-zA-Z][-a-zA-Z0-9]*, at most 128.
        for name in [&a, &b] {
            assert!(name.len() <= 128 && name.starts_with(|c: char| c.is_ascii_alphabetic()), "{name}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{name}");
        }
    }
}
