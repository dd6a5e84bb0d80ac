//! The staging bucket: its own small stack, created on first use in an
//! account and region; templates go in content-addressed, so an unchanged
//! template is never uploaded twice.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use pypictl_stacks::app::Assembly;
use pypictl_stacks::staging::{BUCKET_OUTPUT, STACK_NAME};
use tokio::time::sleep;

use super::cloud::Stacks;
use super::model::{status, CreateStack};
use super::progress::{Progress, Sink};

/// The staging bucket's name, creating its stack on first use.
pub async fn ensure_bucket<C: Stacks, S: Sink>(cloud: &C, sink: &mut S, template_body: &str, poll: Duration) -> Result<String> {
    let mut stack = cloud.describe_stack(STACK_NAME).await?;
    if stack.is_none() {
        sink.emit(Progress::Step(format!("Creating the staging bucket (stack {STACK_NAME}, once per account and region)")));
        cloud
            .create_stack(&CreateStack {
                name: STACK_NAME.to_string(),
                template_body: template_body.to_string(),
                tags: vec![("managed-by".into(), "pypictl".into())],
            })
            .await?;
    }
    let mut delay = poll;
    loop {
        match &stack {
            Some(s) if s.status == "CREATE_COMPLETE" || s.status == "UPDATE_COMPLETE" || s.status == "UPDATE_ROLLBACK_COMPLETE" => {
                return s
                    .output(BUCKET_OUTPUT)
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("stack {STACK_NAME} has no {BUCKET_OUTPUT} output"));
            }
            Some(s) if status::terminal(&s.status) => bail!(
                "the staging stack {STACK_NAME} is in {}{}: delete it (`aws cloudformation delete-stack --stack-name {STACK_NAME}`) and deploy again",
                s.status,
                s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            _ => {}
        }
        sleep(delay).await;
        stack = match cloud.describe_stack(STACK_NAME).await {
            Ok(s) => {
                delay = poll;
                s
            }
            Err(e) if e.is_retryable() => {
                delay = (delay * 2).min(Duration::from_secs(20));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uploaded {
    pub uploaded: usize,
    pub unchanged: usize,
}

/// Uploads the root and nested templates that are not in the bucket yet.
pub async fn upload<C: Stacks>(cloud: &C, bucket: &str, assembly: &Assembly) -> Result<Uploaded> {
    let mut files: Vec<(String, &str)> = vec![(assembly.root_asset_key(), assembly.root_body.as_str())];
    files.extend(assembly.nested.iter().map(|n| (n.asset_key.clone(), n.body.as_str())));
    let mut report = Uploaded::default();
    for (key, body) in files {
        if cloud.object_exists(bucket, &key).await? {
            report.unchanged += 1;
        } else {
            cloud.put_object(bucket, &key, body.as_bytes()).await?;
            report.uploaded += 1;
        }
    }
    Ok(report)
}

/// The URL CloudFormation reads a staged template from.
pub fn template_url(bucket: &str, region: &str, key: &str) -> String {
    let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://{bucket}.s3.{region}.{suffix}/{key}")
}
