//! One builder per nested stack. Each takes the validated deployment and the
//! outputs of the stacks it builds on, and returns its template plus the
//! outputs it offers to others.
//!
//! | stack         | what you find there in the console                         |
//! |---------------|------------------------------------------------------------|
//! | encryption    | KMS: the key for the file system, secret, logs, topic, vault |
//! | network       | EC2 › Security Groups: load balancer, instances, file system |
//! | storage       | EFS: file system, mount targets, access point, policy      |
//! | credentials   | Secrets Manager: the generated username/password           |
//! | load_balancer | EC2 › Load Balancers, ACM, Route53 records, access-log bucket |
//! | compute       | ECS cluster, EC2 Auto Scaling group, launch template, capacity provider |
//! | service       | ECS task definition and service, logs, service auto scaling |
//! | backup        | AWS Backup: vault, plan, selection (optional)              |
//! | monitoring    | SNS topic, CloudWatch alarms and dashboard                 |
//! | cdn           | CloudFront distribution in front of the ALB (optional)     |

pub mod backup;
pub mod cdn;
pub mod compute;
pub mod credentials;
pub mod encryption;
pub mod load_balancer;
pub mod monitoring;
pub mod network;
pub mod service;
pub mod storage;

use crate::cfn::resources::s3::{
    AbortIncompleteMultipartUpload, Bucket, BucketEncryption, EncryptionByDefault, EncryptionRule, LifecycleConfiguration,
    LifecycleRule, NoncurrentVersionExpiration, OwnershipControls, OwnershipRule, PublicAccessBlock, Versioning,
};
use crate::cfn::{aws, Expr};
use crate::config::Config;
use crate::sizing::CapacityPlan;

/// What every builder reads.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub cap: &'a CapacityPlan,
}

/// `<service_name>-<environment>`: what every physical name starts with, so
/// that two environments of one service can share an account and region
/// (cluster, service, log group, alarms, dashboard, backup plan, capacity
/// provider). `pypictl status` and `doctor` find the alarms by it.
pub fn name_prefix(cfg: &Config) -> String {
    format!("{}-{}", cfg.service_name, cfg.environment)
}

impl Ctx<'_> {
    /// `<service_name>-<environment>-<suffix>`: names users see in the console.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", name_prefix(self.cfg))
    }

    /// [`Ctx::name`] for names AWS limits to `max` characters (AWS Backup
    /// plans: 50): a prefix too long is cut and made unique again with 8 hex
    /// digits of its SHA-256.
    pub fn bounded_name(&self, suffix: &str, max: usize) -> String {
        let full = self.name(suffix);
        if full.len() <= max {
            return full;
        }
        use sha2::{Digest, Sha256};
        let prefix = name_prefix(self.cfg);
        let hash: String = Sha256::digest(prefix.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect();
        let keep = max.saturating_sub(suffix.len() + hash.len() + 2);
        format!("{}-{hash}-{suffix}", &prefix[..keep.min(prefix.len())])
    }
}

/// An ARN in this stack's partition, region and account.
pub fn arn(service: &str, resource: &str) -> Expr {
    Expr::sub(format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"))
}

/// The account's root principal: delegates a resource policy to IAM.
pub fn account_root() -> Expr {
    Expr::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
}

/// `{"Bool": {"aws:SecureTransport": "false"}}`.
pub fn insecure_transport() -> Expr {
    Expr::object(vec![("Bool", Expr::object(vec![("aws:SecureTransport", "false".into())]))])
}

/// An AWS managed policy ARN.
pub fn managed_policy(name: &str) -> Expr {
    Expr::sub(format!("arn:${{AWS::Partition}}:iam::aws:policy/{name}"))
}

/// `{"StringEquals": {"aws:SourceAccount": <account>}}`: stops a service from
/// being used as a confused deputy on behalf of another account.
pub fn same_account() -> Expr {
    Expr::object(vec![("StringEquals", Expr::object(vec![("aws:SourceAccount", aws::account_id())]))])
}

/// A private bucket: SSE-S3 (the only encryption service log delivery
/// supports), public access blocked, versioned, owned by the bucket owner
/// as `object_ownership` says, its objects expiring as `rule` says. The log
/// buckets and the staging bucket differ only in `rule` and ownership.
pub fn private_bucket(rule: LifecycleRule, object_ownership: &str) -> Bucket {
    Bucket {
        bucket_encryption: Some(BucketEncryption {
            server_side_encryption_configuration: vec![EncryptionRule {
                server_side_encryption_by_default: EncryptionByDefault { sse_algorithm: "AES256".into(), kms_master_key_id: None },
                bucket_key_enabled: None,
            }],
        }),
        public_access_block_configuration: Some(PublicAccessBlock::all()),
        versioning_configuration: Some(Versioning { status: "Enabled".into() }),
        lifecycle_configuration: Some(LifecycleConfiguration { rules: vec![rule] }),
        ownership_controls: Some(OwnershipControls { rules: vec![OwnershipRule { object_ownership: object_ownership.into() }] }),
        tags: None,
    }
}

/// A bucket for service logs (ALB, CloudFront): a [`private_bucket`] whose
/// logs expire after `days`, replaced versions and unfinished uploads after
/// a day.
pub fn log_bucket(rule_id: &str, days: u32, object_ownership: &str) -> Bucket {
    private_bucket(
        LifecycleRule {
            id: Some(rule_id.into()),
            status: "Enabled".into(),
            expiration_in_days: Some(days.into()),
            noncurrent_version_expiration: Some(NoncurrentVersionExpiration { noncurrent_days: 1u32.into() }),
            abort_incomplete_multipart_upload: Some(AbortIncompleteMultipartUpload { days_after_initiation: 1u32.into() }),
        },
        object_ownership,
    )
}
