//! Rule checks on a parsed configuration. They run before anything else (and
//! before any AWS call); each failure names the key, the value and the rule.
//!
//! This module holds the entry point ([`validate`], [`Deployment`]), the
//! error type ([`Invalid`]), how a rule is reported, the identifier syntax
//! several groups share, and the rules on the deployment's names. The other
//! rules are grouped as pypictl.toml groups its tables: `network` (VPC,
//! subnets, load balancer), `dns` (names, certificates, CloudFront),
//! `compute` (instances, cloud-init), `service` (the container and the
//! capacity plan), `storage` (EFS, backups), `credentials` (secret readers,
//! IAM policies) and `monitoring` (alarm notifications).

use std::collections::HashSet;
use std::fmt;

use crate::config::Config;
use crate::sizing::CapacityPlan;

mod compute;
mod credentials;
mod dns;
mod monitoring;
mod network;
mod service;
mod storage;

pub use dns::{is_dns_label, CLOUDFRONT_NO_LOG_REGIONS};
pub use monitoring::is_email;
pub use service::{is_image_tag, IMAGE_TAG_RULE, LOG_RETENTION_DAYS};
pub use storage::{check_backup_cron, LIFECYCLE_DAYS};

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted key in pypictl.toml, e.g. `service.container_memory`.
    pub key: String,
    /// The offending value as the user wrote it (or a short rendering).
    pub value: String,
    pub rule: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` = {}: {}", self.key, self.value, self.rule)
    }
}

/// A configuration that passed every rule, with its capacity plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub config: Config,
    pub capacity: CapacityPlan,
    /// Things the sizing guide warns about (a `latest` image tag, ...); never fatal.
    pub warnings: Vec<String>,
}

impl Deployment {
    pub fn new(config: Config) -> Result<Deployment, Vec<Invalid>> {
        let capacity = validate(&config)?;
        let mut warnings = capacity.warnings();
        if config.service.image_tag == "latest" {
            warnings.push("service.image_tag = \"latest\" moves under you: a redeploy or a replaced task can start a different pypiserver; pin a version".into());
        }
        if config.service.allow_public_fallback {
            warnings.push("service.allow_public_fallback = true: names missing here are redirected to pypi.org, which invites dependency confusion".into());
        }
        if config.backup.force_destroy {
            warnings.push("backup.force_destroy = true: `pypictl destroy --force-destroy-data` deletes every recovery point".into());
        }
        Ok(Deployment { config, capacity, warnings })
    }
}

struct Checker {
    errors: Vec<Invalid>,
}

impl Checker {
    fn fail(&mut self, key: impl Into<String>, value: impl fmt::Display, rule: impl Into<String>) {
        self.errors.push(Invalid { key: key.into(), value: value.to_string(), rule: rule.into() });
    }

    fn check(&mut self, ok: bool, key: impl Into<String>, value: impl fmt::Display, rule: &str) {
        if !ok {
            self.fail(key, value, rule);
        }
    }

    fn unique(&mut self, key: &str, items: &[String]) {
        let mut seen = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            if !seen.insert(item) {
                self.fail(format!("{key}[{i}]"), quoted(item), "duplicate entry");
            }
        }
    }
}

/// How many characters of a value a message quotes: enough to recognise
/// it, not a whole file's content on the terminal.
pub const QUOTE_MAX_CHARS: usize = 200;

/// The value as a quoted string (escapes show control characters), its
/// first [`QUOTE_MAX_CHARS`] characters when it is longer.
fn quoted(s: &str) -> String {
    let n = s.chars().count();
    if n <= QUOTE_MAX_CHARS {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(QUOTE_MAX_CHARS).collect();
        format!("{head:?}… ({n} characters)")
    }
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", "))
}

fn is_resource_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        && parts[0].len() == 2
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`, checking the
/// parts pypictl relies on.
fn arn_parts(s: &str) -> Option<(String, String, String, String)> {
    let p: Vec<&str> = s.splitn(6, ':').collect();
    let partition_ok = p.get(1).is_some_and(|p| p.starts_with("aws") && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
    if p.len() != 6 || p[0] != "arn" || !partition_ok || p[5].is_empty() {
        return None;
    }
    let account_ok = p[4].len() == 12 && p[4].bytes().all(|b| b.is_ascii_digit());
    if !account_ok {
        return None;
    }
    Some((p[2].to_string(), p[3].to_string(), p[4].to_string(), p[5].to_string()))
}

/// Every rule. Returns the capacity plan when all hold.
pub fn validate(cfg: &Config) -> Result<CapacityPlan, Vec<Invalid>> {
    let mut c = Checker { errors: Vec::new() };
    // Problems are reported in this order, which users and the invalid
    // fixtures see: keep it.
    identity(&mut c, cfg);
    network::network(&mut c, cfg);
    dns::dns(&mut c, cfg);
    network::load_balancer(&mut c, cfg);
    compute::compute(&mut c, cfg);
    service::service(&mut c, cfg);
    storage::storage(&mut c, cfg);
    credentials::credentials(&mut c, cfg);
    storage::backup(&mut c, cfg);
    monitoring::monitoring(&mut c, cfg);
    dns::cloudfront(&mut c, cfg);
    // Last: sizing's rules on a key give way to the rules above on the same key.
    let plan = service::capacity(&mut c, cfg);

    if c.errors.is_empty() {
        Ok(plan.expect("sizing succeeded when no rule failed"))
    } else {
        Err(c.errors)
    }
}

/// Where and what: the region, and the names the deployment's resources
/// are built from.
fn identity(c: &mut Checker, cfg: &Config) {
    c.check(is_region(&cfg.region), "region", quoted(&cfg.region), "must be an AWS region code such as \"us-east-1\"");
    let name_ok = cfg.service_name.len() <= 32
        && cfg.service_name.starts_with(|ch: char| ch.is_ascii_lowercase())
        && cfg.service_name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    c.check(name_ok, "service_name", quoted(&cfg.service_name), "must be 1-32 characters of a-z, 0-9 and '-', starting with a letter (it names the cluster, service and alarms)");
    let env_ok = !cfg.environment.is_empty()
        && cfg.environment.len() <= 64
        && cfg.environment.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    c.check(env_ok, "environment", quoted(&cfg.environment), "must be 1-64 characters of letters, digits, '_', '.' and '-'");
    // The ECS capacity provider is named `<service_name>-<environment>...`:
    // "Up to 255 characters are allowed. They include letters (both upper
    // and lowercase letters), numbers, underscores (_), and hyphens (-). The
    // name can't be prefixed with "aws", "ecs", or "fargate"" (Amazon ECS API
    // reference, CreateCapacityProvider).
    let lower = cfg.service_name.to_ascii_lowercase();
    if let Some(prefix) = ["aws", "ecs", "fargate"].into_iter().find(|p| lower.starts_with(p)) {
        c.fail("service_name", quoted(&cfg.service_name), format!("must not begin with \"{prefix}\": it begins the ECS capacity provider's name, and ECS refuses names prefixed with \"aws\", \"ecs\" or \"fargate\" (Amazon ECS API reference, CreateCapacityProvider)"));
    }
    let provider = format!("{}-{}", cfg.service_name, cfg.environment);
    let provider_ok = provider.len() <= 255 && provider.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if env_ok && !provider_ok {
        c.fail("environment", quoted(&cfg.environment), format!("must be letters, digits, '_' and '-' only: the ECS capacity provider's name begins with `<service_name>-<environment>` ({}), and ECS allows no other characters and at most 255 of them (Amazon ECS API reference, CreateCapacityProvider)", quoted(&provider)));
    }
    if let Some(s) = &cfg.stack_name {
        let ok = s.len() <= 100 && s.starts_with(|ch: char| ch.is_ascii_alphabetic()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        c.check(ok, "stack_name", quoted(s), "must be 1-100 characters of letters, digits and '-', starting with a letter (CloudFormation stack name; nested stack names add to it)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The minimal configuration (docs/configuration.md's required keys).
    fn minimal() -> Config {
        Config::from_toml(include_str!("../../../fixtures/required-keys.toml")).unwrap()
    }

    /// The problems of the minimal configuration changed by `edit`.
    pub(super) fn problems(edit: impl FnOnce(&mut Config)) -> Vec<Invalid> {
        let mut cfg = minimal();
        edit(&mut cfg);
        validate(&cfg).err().unwrap_or_default()
    }

    /// The one problem `edit` makes, as its message.
    pub(super) fn problem(edit: impl FnOnce(&mut Config)) -> Invalid {
        let errors = problems(edit);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.into_iter().next().unwrap()
    }

    #[test]
    fn the_minimal_configuration_is_valid() {
        assert_eq!(problems(|_| {}), vec![]);
    }

    #[test]
    fn long_values_are_quoted_up_to_200_characters() {
        assert_eq!(quoted("a\u{85}b"), r#""a\u{85}b""#);
        let long = "x".repeat(5000);
        let q = quoted(&long);
        assert_eq!(q, format!("\"{}\"… (5000 characters)", "x".repeat(200)));
    }

    #[test]
    fn identifiers() {
        assert!(is_resource_id("vpc-0123456789abcdef0", "vpc"));
        assert!(is_resource_id("subnet-12345678", "subnet"));
        assert!(!is_resource_id("subnet-1234567", "subnet"));
        assert!(!is_resource_id("vpc-0123456789ABCDEF0", "vpc"));
        assert!(is_region("us-east-1") && is_region("us-gov-west-1") && !is_region("useast1"));
    }

    /// Amazon ECS API reference, CreateCapacityProvider: "Up to 255
    /// characters ... letters ..., numbers, underscores (_), and hyphens (-).
    /// The name can't be prefixed with "aws", "ecs", or "fargate"."
    #[test]
    fn the_capacity_provider_name_is_one_ecs_accepts() {
        for prefixed in ["aws-pypi", "awspypi", "ecs", "ecs-pypi", "fargate-x"] {
            let e = problem(|c| c.service_name = prefixed.into());
            assert_eq!(e.key, "service_name", "{prefixed}");
            assert!(e.rule.contains("CreateCapacityProvider"), "{e}");
        }
        assert_eq!(problems(|c| c.service_name = "pypi-aws".into()), vec![]);
        assert_eq!(problems(|c| c.service_name = "awe".into()), vec![]);
        let e = problem(|c| c.environment = "prod.eu".into());
        assert_eq!(e.key, "environment");
        assert!(e.rule.contains(r#""pypiserver-prod.eu""#), "{e}");
        assert_eq!(problems(|c| c.environment = "Prod_EU-1".into()), vec![]);
    }
}
