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
    AwsCloud::connect(&Connection {
        profile: global.profile.clone(),
        region: Some(config_region.to_string()),
        endpoint_url: global.endpoint_url.clone(),
    })
    .await
}

/// A single-threaded runtime for a command's AWS work.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Resolves on Ctrl-C (SIGINT): stop watching, nothing else.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A change set name unique per run: `pypictl-20261123T091500Z`.
pub fn change_set_name() -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    format!("pypictl-{}", stamp.replace([':', '-'], ""))
}
