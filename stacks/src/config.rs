//! `pypictl.toml`: one deployment, as the user describes it.
//!
//! Every input of the reference Terraform module has a key here, with the same
//! default, regrouped into tables (docs/configuration.md maps each reference name to its
//! key). Parsing is strict: an unknown key is an error, so a typo never falls
//! back silently to a default.

use serde::{Deserialize, Serialize};

/// The pinned pypiserver image tag used when `service.image_tag` is not set.
/// The reference defaults to `latest`; a moving tag makes deploys unrepeatable,
/// so pypictl pins the version its container contract is tested against.
pub const DEFAULT_IMAGE_TAG: &str = "v2.4.2";

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// AWS region of the deployment (`region`). Needed offline for the ALB
    /// log-delivery principal and the console URLs.
    pub region: String,
    /// reference: `service_name`.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// reference: `environment`.
    #[serde(default = "default_environment")]
    pub environment: String,
    /// Name of the root CloudFormation stack; defaults to `service_name`.
    #[serde(default)]
    pub stack_name: Option<String>,
    pub network: Network,
    pub dns: Dns,
    #[serde(default)]
    pub load_balancer: LoadBalancer,
    #[serde(default)]
    pub compute: Compute,
    #[serde(default)]
    pub service: Service,
    #[serde(default)]
    pub storage: Storage,
    #[serde(default)]
    pub credentials: Credentials,
    #[serde(default)]
    pub backup: Backup,
    pub monitoring: Monitoring,
    #[serde(default)]
    pub cloudfront: CloudFront,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// The VPC all subnets belong to (`vpc_id`; `deploy` verifies it).
    pub vpc_id: String,
    /// reference: `load_balancer_subnets`.
    pub load_balancer_subnets: Vec<String>,
    /// reference: `asg_subnets`.
    pub asg_subnets: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// reference: `zone_id`.
    pub zone_id: String,
    /// Domain of the hosted zone (`zone_name`), so synth needs no AWS call.
    pub zone_name: String,
    /// reference: `dns_names`. Labels inside `zone_name`.
    #[serde(default = "default_dns_names")]
    pub names: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AlbAlgorithm {
    #[default]
    RoundRobin,
    LeastOutstandingRequests,
}

impl AlbAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            AlbAlgorithm::RoundRobin => "round_robin",
            AlbAlgorithm::LeastOutstandingRequests => "least_outstanding_requests",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoadBalancer {
    /// `internal`: an internal ALB instead of an internet-facing one.
    pub internal: bool,
    /// `alb_algorithm`.
    pub algorithm: AlbAlgorithm,
    /// IPv4 ranges allowed to reach the ALB on 80/443. Unset: anywhere for an
    /// internet-facing ALB, the private (RFC 1918) ranges for an internal one.
    pub allowed_cidrs: Option<Vec<String>>,
    /// reference: `access_log_force_destroy`.
    pub access_log_force_destroy: bool,
    /// Days after which access-log objects expire.
    pub access_log_retention_days: u32,
    /// Seconds the ALB keeps an idle connection open.
    pub idle_timeout_seconds: u32,
    /// An existing ACM certificate (in the deployment's region) covering
    /// every DNS name, used instead of one pypictl requests and validates
    /// through the hosted zone: required with a private hosted zone, which
    /// ACM cannot validate through.
    pub certificate_arn: Option<String>,
}

impl LoadBalancer {
    pub fn effective_allowed_cidrs(&self) -> Vec<String> {
        match &self.allowed_cidrs {
            Some(c) => c.clone(),
            None if self.internal => vec!["10.0.0.0/8".into(), "172.16.0.0/12".into(), "192.168.0.0/16".into()],
            None => vec!["0.0.0.0/0".into()],
        }
    }
}

impl Default for LoadBalancer {
    fn default() -> Self {
        LoadBalancer {
            internal: false,
            algorithm: AlbAlgorithm::RoundRobin,
            allowed_cidrs: None,
            access_log_force_destroy: false,
            access_log_retention_days: 90,
            idle_timeout_seconds: 60,
            certificate_arn: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Compute {
    /// reference: `asg_instance_type`.
    pub instance_type: String,
    /// reference: `ami_id`. Unset: the ECS-optimized Amazon Linux 2023 AMI
    /// from the public SSM parameter.
    pub ami_id: Option<String>,
    /// reference: `asg_min_size`. Unset: the number of `asg_subnets`.
    pub min_size: Option<u32>,
    /// reference: `asg_max_size`. Unset: enough instances for `task_max_count`.
    pub max_size: Option<u32>,
    /// Root volume size (GiB) of each instance.
    pub root_volume_size: u32,
    /// reference: `extra_instance_profile_permissions` (a JSON policy document).
    pub extra_instance_profile_permissions: Option<String>,
    /// reference: `users` (cloud-init user definitions).
    pub users: Vec<CloudInitUser>,
    /// reference: `extra_files`.
    pub extra_files: Vec<ExtraFile>,
    /// reference: `cloudinit_extra_commands`.
    pub extra_commands: Vec<String>,
}

impl Default for Compute {
    fn default() -> Self {
        Compute {
            instance_type: "t3.small".into(),
            ami_id: None,
            min_size: None,
            max_size: None,
            root_volume_size: 30,
            extra_instance_profile_permissions: None,
            users: vec![],
            extra_files: vec![],
            extra_commands: vec![],
        }
    }
}

/// A cloud-init user, with the fields the reference module accepts.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct CloudInitUser {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiredate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gecos: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homedir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selinux_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_passwd: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_create_home: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_user_group: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_log_init: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_import_id: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_authorized_keys: Option<Vec<String>>,
    /// `false`, or a list of sudoers rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo: Option<Sudo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapuser: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Sudo {
    Disabled(bool),
    Rules(Vec<String>),
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraFile {
    pub path: String,
    pub content: String,
    /// Octal mode, as in the reference (`"755"`, `"0644"`).
    pub permissions: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Service {
    /// reference: `docker_image_tag` (pinned by default; see DEFAULT_IMAGE_TAG).
    pub image_tag: String,
    /// reference: `container_memory` (MB, hard limit).
    pub container_memory: u32,
    /// reference: `container_memory_reservation` (MB). Unset: 75 % of the limit.
    pub container_memory_reservation: Option<u32>,
    /// reference: `container_cpu` (CPU units). Unset: workers × 150 + 40.
    pub container_cpu: Option<u32>,
    /// reference: `gunicorn_workers`. Unset: from container_memory.
    pub gunicorn_workers: Option<u32>,
    /// reference: `task_min_count`. Unset: fill the instances.
    pub task_min_count: Option<u32>,
    /// reference: `task_max_count`. Unset: 2 × task_min_count.
    pub task_max_count: Option<u32>,
    /// Let pypiserver redirect names it does not have to the public index.
    /// Off: a private name that is missing or not yet visible must never send
    /// pip to pypi.org (dependency confusion).
    pub allow_public_fallback: bool,
    /// Days to keep the container logs.
    pub log_retention_days: u32,
    /// The largest file an upload may carry (MB).
    pub max_upload_mb: u32,
    /// How many projects the index is sized for: each task's pages volume
    /// and its page indexer's memory grow with it (`crate::indexer::sizing`).
    pub expected_projects: u32,
}

impl Default for Service {
    fn default() -> Self {
        Service {
            image_tag: DEFAULT_IMAGE_TAG.into(),
            container_memory: 512,
            container_memory_reservation: None,
            container_cpu: None,
            gunicorn_workers: None,
            task_min_count: None,
            task_max_count: None,
            allow_public_fallback: false,
            log_retention_days: 365,
            max_upload_mb: DEFAULT_MAX_UPLOAD_MB,
            expected_projects: crate::indexer::DEFAULT_EXPECTED_PROJECTS,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ThroughputMode {
    #[default]
    Elastic,
    Provisioned,
    Bursting,
}

impl ThroughputMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ThroughputMode::Elastic => "elastic",
            ThroughputMode::Provisioned => "provisioned",
            ThroughputMode::Bursting => "bursting",
        }
    }
}

/// `storage.lifecycle_policy`: `"none"` or a number of days. Kept as raw TOML
/// so that validation (not the parser) reports a bad value with its rule.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum LifecyclePolicy {
    Days(i64),
    Word(String),
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// reference: `efs_lifecycle_policy` (`null` there is `"none"` here).
    pub lifecycle_policy: LifecyclePolicy,
    /// EFS throughput mode: elastic (default), provisioned or bursting.
    pub throughput_mode: ThroughputMode,
    /// MiB/s, required with `throughput_mode = "provisioned"`.
    pub provisioned_throughput_mibps: Option<u32>,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            lifecycle_policy: LifecyclePolicy::Days(30),
            throughput_mode: ThroughputMode::Elastic,
            provisioned_throughput_mibps: None,
        }
    }
}

impl Storage {
    /// Days before files move to Infrequent Access, or None when disabled.
    /// Only meaningful after validation.
    pub fn lifecycle_days(&self) -> Option<u32> {
        match &self.lifecycle_policy {
            LifecyclePolicy::Days(d) => u32::try_from(*d).ok(),
            LifecyclePolicy::Word(_) => None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Credentials {
    /// reference: `secret_readers` (IAM role ARNs): who may read the read
    /// credential (list and download).
    pub secret_readers: Vec<String>,
    /// IAM role ARNs that may read the publish credential (upload): the CI
    /// roles that publish.
    pub publish_secret_readers: Vec<String>,
    /// Whether the publish credential may delete files (`remove_pkg`). Off:
    /// uploaded files are immutable for everyone.
    pub publish_can_delete: bool,
    /// The read username. Unset: derived from service_name and environment.
    /// The publish username is this one with [`PUBLISH_USERNAME_SUFFIX`].
    pub username: Option<String>,
}

/// Appended to the read username to make the publish username.
pub const PUBLISH_USERNAME_SUFFIX: &str = "-publish";
/// The default of `service.max_upload_mb`: PyPI's own default file limit.
pub const DEFAULT_MAX_UPLOAD_MB: u32 = 100;
/// The most `service.max_upload_mb` may be. Neither the load balancer nor
/// nginx limits a request body (nginx's `client_max_body_size` is set from
/// the key); what bounds it is time: the proxy buffers the whole upload, then
/// pypiserver receives and writes it to EFS while the load balancer waits for
/// the answer within its idle timeout, and a gunicorn sync worker within its
/// timeout (sized from the key, see `pypiserver::worker_timeout_seconds`).
/// 1024 MB keeps that well inside both at EFS's write rates.
pub const MAX_UPLOAD_MB_LIMIT: u32 = 1024;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Backup {
    /// reference: `enable_efs_backup`.
    pub enabled: bool,
    /// reference: `backup_retention_days`.
    pub retention_days: u32,
    /// reference: `backup_schedule`.
    pub schedule: String,
    /// reference: `backups_force_destroy`.
    pub force_destroy: bool,
}

impl Default for Backup {
    fn default() -> Self {
        Backup { enabled: true, retention_days: 7, schedule: "cron(0 2 * * ? *)".into(), force_destroy: false }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// reference: `alarm_emails`.
    pub alarm_emails: Vec<String>,
    /// reference: `alarm_topic_arns`.
    #[serde(default)]
    pub alarm_topic_arns: Vec<String>,
    /// reference: `enable_cloudwatch_dashboard`.
    #[serde(default = "yes")]
    pub dashboard: bool,
    /// reference: `efs_burst_credit_threshold` (bytes).
    #[serde(default = "default_burst_threshold")]
    pub efs_burst_credit_threshold: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CloudFront {
    /// Put a CloudFront distribution in front of the load balancer.
    pub enabled: bool,
    /// ACM certificate in us-east-1 covering every DNS name (CloudFront only
    /// accepts certificates from that region).
    pub certificate_arn: Option<String>,
    /// PriceClass_100, PriceClass_200 or PriceClass_All.
    pub price_class: String,
}

impl Default for CloudFront {
    fn default() -> Self {
        CloudFront { enabled: false, certificate_arn: None, price_class: "PriceClass_100".into() }
    }
}

fn default_service_name() -> String {
    "pypiserver".into()
}
fn default_environment() -> String {
    "development".into()
}
fn default_dns_names() -> Vec<String> {
    vec!["pypiserver".into()]
}
fn yes() -> bool {
    true
}
fn default_burst_threshold() -> u64 {
    1_000_000_000_000
}

/// The configuration could not be read as TOML of the right shape.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl Config {
    /// Parses TOML text. Shape errors (unknown key, wrong type) name the key;
    /// rule checks are [`crate::validate::validate`]'s job.
    pub fn from_toml(text: &str) -> Result<Config, ParseError> {
        let de = toml::Deserializer::parse(text).map_err(|e| ParseError(e.to_string()))?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if path.is_empty() || path == "." {
                ParseError(inner)
            } else {
                ParseError(format!("`{path}`: {inner}"))
            }
        })
    }

    pub fn stack_name(&self) -> &str {
        self.stack_name.as_deref().unwrap_or(&self.service_name)
    }

    /// Fully qualified host names, in `dns.names` order.
    pub fn hostnames(&self) -> Vec<String> {
        let zone = self.dns.zone_name.trim_end_matches('.');
        self.dns.names.iter().map(|n| format!("{n}.{zone}")).collect()
    }

    /// The name CloudFront reaches the load balancer by (covered by the
    /// ALB's certificate), when CloudFront is enabled.
    pub fn origin_hostname(&self) -> String {
        format!("origin-{}.{}", self.dns.names[0], self.dns.zone_name.trim_end_matches('.'))
    }

    pub fn service_urls(&self) -> Vec<String> {
        self.hostnames().into_iter().map(|h| format!("https://{h}/")).collect()
    }

    /// The publish credential's username: the read one with a suffix.
    pub fn publish_username(&self) -> String {
        format!("{}{PUBLISH_USERNAME_SUFFIX}", self.username())
    }

    /// The read credential's username.
    pub fn username(&self) -> String {
        match &self.credentials.username {
            Some(u) => u.clone(),
            None => {
                use sha2::{Digest, Sha256};
                let h = Sha256::digest(format!("{}/{}", self.service_name, self.environment));
                let hex: String = h.iter().take(4).map(|b| format!("{b:02x}")).collect();
                format!("pypi-{hex}")
            }
        }
    }
}
