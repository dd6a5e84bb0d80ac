//! Assets: the templates, staged in the staging bucket (its own small stack,
//! created on first use in an account and region). Templates go in
//! content-addressed, so an unchanged template is never uploaded twice.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use pypictl_stacks::app::Assembly;
use pypictl_stacks::staging::{BUCKET_OUTPUT, STACK_NAME};
use tokio::time::sleep;

use super::cloud::Stacks;
use super::model::{Status, CreateStack};
use super::progress::{Progress, Sink};

/// The staging bucket's name, creating its stack on first use; `run` names
/// this run (for the request token).
pub async fn ensure_bucket<C: Stacks, S: Sink>(cloud: &C, sink: &mut S, template_body: &str, run: &str, poll: Duration) -> Result<String> {
    let mut stack = cloud.describe_stack(STACK_NAME).await?;
    if stack.is_none() {
        sink.emit(Progress::Step(format!("Creating the staging bucket (stack {STACK_NAME}, once per account and region)")));
        cloud
            .create_stack(&CreateStack {
                name: STACK_NAME.to_string(),
                template_body: template_body.to_string(),
                tags: vec![("managed-by".into(), "pypictl".into())],
                token: super::model::request_token(run, "create-staging"),
            })
            .await?;
    }
    let mut delay = poll;
    loop {
        match &stack {
            Some(s) if s.status == Status::CreateComplete || s.status == Status::UpdateComplete || s.status == Status::UpdateRollbackComplete => {
                return s
                    .output_named(BUCKET_OUTPUT)
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("stack {STACK_NAME} has no {BUCKET_OUTPUT} output"));
            }
            Some(s) if s.status.terminal() => bail!(
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

/// The URL CloudFormation reads a staged template from: S3's virtual-hosted
/// endpoint in the partition of the account (the partition is the second
/// field of the caller's ARN). The nested templates' URLs use the template's
/// own `AWS::URLSuffix`; this is the root's, built outside CloudFormation.
pub fn template_url(bucket: &str, region: &str, partition: &str, key: &str) -> String {
    format!("https://{bucket}.s3.{region}.{}/{key}", url_suffix(partition, region))
}

/// `AWS::URLSuffix` of a partition (the AWS General Reference's endpoints;
/// for an unknown partition, the region's prefix decides as before).
fn url_suffix(partition: &str, region: &str) -> &'static str {
    match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-iso-e" => "cloud.adc-e.uk",
        "aws-iso-f" => "csp.hci.ic.gov",
        "aws-eusc" => "amazonaws.eu",
        "aws" | "aws-us-gov" => "amazonaws.com",
        _ if region.starts_with("cn-") => "amazonaws.com.cn",
        _ => "amazonaws.com",
    }
}

/// The partition of an ARN (`arn:<partition>:...`); `aws` when it has none.
pub fn partition_of(arn: &str) -> &str {
    arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_urls_follow_the_partition() {
        let url = |arn: &str, region: &str| template_url("b", region, partition_of(arn), "k.json");
        assert_eq!(url("arn:aws:iam::1:user/a", "eu-west-1"), "https://b.s3.eu-west-1.amazonaws.com/k.json");
        assert_eq!(url("arn:aws-cn:iam::1:user/a", "cn-north-1"), "https://b.s3.cn-north-1.amazonaws.com.cn/k.json");
        assert_eq!(url("arn:aws-us-gov:iam::1:user/a", "us-gov-west-1"), "https://b.s3.us-gov-west-1.amazonaws.com/k.json");
        assert_eq!(url("arn:aws-iso:iam::1:user/a", "us-iso-east-1"), "https://b.s3.us-iso-east-1.c2s.ic.gov/k.json");
        assert_eq!(url("arn:aws-iso-b:iam::1:user/a", "us-isob-east-1"), "https://b.s3.us-isob-east-1.sc2s.sgov.gov/k.json");
        assert_eq!(url("arn:aws-eusc:iam::1:user/a", "eusc-de-east-1"), "https://b.s3.eusc-de-east-1.amazonaws.eu/k.json");
    }
}
