//! The engine's cloud traits ([`crate::engine::cloud`]) implemented with the
//! AWS SDK for Rust, against AWS or an emulator such as moto.

mod account;
mod data;
mod discover;
mod probe;
mod secrets;

pub use probe::HttpProbe;
pub mod errors;
mod service;
mod stacks;

use anyhow::bail;
use aws_config::{BehaviorVersion, Region};

/// Where and as whom to connect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// A profile of the shared config/credentials files; default: the
    /// environment's (`AWS_PROFILE`) or `default`.
    pub profile: Option<String>,
    /// Default: `AWS_REGION`/`AWS_DEFAULT_REGION`, then the profile's region.
    pub region: Option<String>,
    /// An emulator such as moto (`http://127.0.0.1:5000`): every client
    /// uses it, and S3 uses path-style addressing.
    pub endpoint_url: Option<String>,
}

/// One client per service pypictl uses, all from the same shared config.
#[derive(Clone, Debug)]
pub struct AwsCloud {
    region: String,
    pub config: aws_config::SdkConfig,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub route53: aws_sdk_route53::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub efs: aws_sdk_efs::Client,
    pub backup: aws_sdk_backup::Client,
    pub kms: aws_sdk_kms::Client,
}

impl AwsCloud {
    /// Loads the shared AWS config (environment, profile, SSO, IMDS...) and
    /// builds the clients. Credentials are resolved lazily, on the first
    /// call; a missing region is an error here.
    pub async fn connect(c: &Connection) -> anyhow::Result<AwsCloud> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &c.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &c.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &c.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let Some(region) = config.region().map(|r| r.to_string()) else {
            bail!(
                "no AWS region: set `region` in pypictl.toml, AWS_REGION, or a region in the AWS profile{}",
                c.profile.as_deref().map(|p| format!(" `{p}`")).unwrap_or_default()
            );
        };
        if region.trim().is_empty() {
            bail!("the AWS region is empty");
        }

        let mut s3 = aws_sdk_s3::config::Builder::from(&config);
        if c.endpoint_url.is_some() {
            // Emulators serve every bucket on one host.
            s3 = s3.force_path_style(true);
        }
        let s3 = aws_sdk_s3::Client::from_conf(s3.build());

        Ok(AwsCloud {
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            s3,
            sts: aws_sdk_sts::Client::new(&config),
            secretsmanager: aws_sdk_secretsmanager::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            route53: aws_sdk_route53::Client::new(&config),
            ecs: aws_sdk_ecs::Client::new(&config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            efs: aws_sdk_efs::Client::new(&config),
            backup: aws_sdk_backup::Client::new(&config),
            kms: aws_sdk_kms::Client::new(&config),
            region,
            config,
        })
    }

    /// The region every client talks to.
    pub fn region(&self) -> &str {
        &self.region
    }
}
