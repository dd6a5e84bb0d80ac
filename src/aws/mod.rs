//! The engine's cloud traits ([`crate::engine::cloud`]) implemented with the
//! AWS SDK for Rust, against AWS or an emulator such as moto.

mod account;
mod retained_data;
mod discover;
mod probe;
pub mod reach;
pub mod registry;
pub mod permissions;
mod secrets;
pub mod wire;

pub use probe::HttpProbe;
pub mod errors;
mod service;
mod stacks;

use std::time::Duration;

use anyhow::bail;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

use crate::engine::cloud::Clock;
use crate::engine::model::Millis;
use wire::WireFacts;

/// How long a connection to an AWS endpoint may take to open. A closed
/// port or a missing route fails at once; this bounds a silent one.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a request may wait for its response to start (the SDK sets no
/// limit): a half-open connection, after a laptop slept or a VPN dropped,
/// fails and is retried instead of hanging the command.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The cloud's clock, from every client's responses.
    pub facts: WireFacts,
}

/// A client of `$sdk` from the shared config, with the wire-facts interceptor.
macro_rules! client {
    ($sdk:ident, $config:expr, $facts:expr) => {
        $sdk::Client::from_conf($sdk::config::Builder::from($config).interceptor($facts.clone()).build())
    };
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
        loader = loader.timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).read_timeout(READ_TIMEOUT).build());
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

        let facts = WireFacts::default();
        let mut s3 = aws_sdk_s3::config::Builder::from(&config).interceptor(facts.clone());
        if c.endpoint_url.is_some() {
            // Emulators serve every bucket on one host.
            s3 = s3.force_path_style(true);
        }
        let s3 = aws_sdk_s3::Client::from_conf(s3.build());

        Ok(AwsCloud {
            cloudformation: client!(aws_sdk_cloudformation, &config, facts),
            s3,
            sts: client!(aws_sdk_sts, &config, facts),
            secretsmanager: client!(aws_sdk_secretsmanager, &config, facts),
            ec2: client!(aws_sdk_ec2, &config, facts),
            route53: client!(aws_sdk_route53, &config, facts),
            ecs: client!(aws_sdk_ecs, &config, facts),
            elbv2: client!(aws_sdk_elasticloadbalancingv2, &config, facts),
            cloudwatch: client!(aws_sdk_cloudwatch, &config, facts),
            efs: client!(aws_sdk_efs, &config, facts),
            backup: client!(aws_sdk_backup, &config, facts),
            kms: client!(aws_sdk_kms, &config, facts),
            facts,
            region,
            config,
        })
    }

    /// The region every client talks to.
    pub fn region(&self) -> &str {
        &self.region
    }
}

impl Clock for AwsCloud {
    fn now(&self) -> Millis {
        self.facts.now()
    }
}
