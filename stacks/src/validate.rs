//! Rule checks on a parsed configuration. They run before anything else (and
//! before any AWS call); each failure names the key, the value and the rule.

use std::collections::HashSet;
use std::fmt;

use crate::config::{Config, LifecyclePolicy, ThroughputMode};
use crate::sizing::{self, CapacityPlan, SizingError, SizingInput};

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

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", "))
}

fn is_resource_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// One DNS label: 1–63 of a-z, 0-9 and '-', not starting or ending with '-'.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_ipv4_cidr(s: &str) -> bool {
    s.split_once('/').is_some_and(|(ip, bits)| {
        ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32) && !bits.starts_with('+')
    })
}

pub const IMAGE_TAG_RULE: &str = "must be a Docker image tag: 1-128 of letters, digits, '_', '.' and '-', not starting with '.' or '-'";

pub fn is_image_tag(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && !s.starts_with(['.', '-']) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

pub fn is_email(s: &str) -> bool {
    email_address::EmailAddress::parse_with_options(s, email_address::Options::default().without_display_text())
        .is_ok_and(|e| e.domain().contains('.'))
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
    if p.len() != 6 || p[0] != "arn" || !p[1].starts_with("aws") || p[5].is_empty() {
        return None;
    }
    let account_ok = p[4].len() == 12 && p[4].bytes().all(|b| b.is_ascii_digit());
    if !account_ok {
        return None;
    }
    Some((p[2].to_string(), p[3].to_string(), p[4].to_string(), p[5].to_string()))
}

pub const LOG_RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

pub const LIFECYCLE_DAYS: [i64; 5] = [7, 14, 30, 60, 90];

/// Checks an AWS cron expression as AWS Backup accepts it:
/// `cron(minutes hours day-of-month month day-of-week year)`. Returns why not.
pub fn check_backup_cron(expr: &str) -> Result<(), String> {
    let inner = expr
        .strip_prefix("cron(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or("must be an AWS cron expression: cron(minutes hours day-of-month month day-of-week year)")?;
    let f: Vec<&str> = inner.split_whitespace().collect();
    if f.len() != 6 {
        return Err(format!("cron() needs 6 fields (minutes hours day-of-month month day-of-week year), found {}", f.len()));
    }
    // AWS Backup runs a plan at most once an hour: minutes is one number.
    match f[0].parse::<u32>() {
        Ok(m) if m <= 59 => {}
        _ => return Err(format!("minutes field `{}` must be a single number 0-59 (AWS Backup runs at most hourly)", f[0])),
    }
    field(f[1], "hours", 0, 23, &[])?;
    field(f[2], "day-of-month", 1, 31, &["?", "L", "W"])?;
    field(f[3], "month", 1, 12, &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])?;
    field(f[4], "day-of-week", 1, 7, &["?", "L", "#", "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])?;
    field(f[5], "year", 1970, 2199, &[])?;
    if (f[2] == "?") == (f[4] == "?") {
        return Err("exactly one of day-of-month and day-of-week must be `?`".into());
    }
    Ok(())
}

fn field(v: &str, name: &str, lo: u32, hi: u32, words: &[&str]) -> Result<(), String> {
    let bad = || format!("{name} field `{v}` is not valid (numbers {lo}-{hi}, `*`, ranges a-b, lists a,b, steps /n)");
    if v == "*" || words.contains(&v) {
        return Ok(());
    }
    for item in v.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(s) = step {
            if !s.parse::<u32>().is_ok_and(|n| n >= 1) {
                return Err(bad());
            }
        }
        let ends: Vec<&str> = if range == "*" { vec![] } else { range.split('-').collect() };
        for e in ends {
            let e = e.trim_end_matches(['L', 'W']);
            let e = e.split('#').next().unwrap_or(e);
            let ok = e.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n)) || words.contains(&e);
            if !ok {
                return Err(bad());
            }
        }
    }
    Ok(())
}

/// Checks a JSON IAM policy document supplied by the user.
fn check_policy_document(text: &str) -> Result<(), String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("must be a JSON IAM policy document: {e}"))?;
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(obj @ serde_json::Value::Object(_)) => vec![obj.clone()],
        _ => return Err("must be a JSON IAM policy document with a `Statement`".into()),
    };
    for st in statements {
        let actions = match st.get("Action") {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => vec![],
        };
        if let Some(a) = actions.iter().find(|a| *a == "*" || a.ends_with(":*")) {
            return Err(format!("grants every action (`{a}`); list the actions the instances need (least privilege)"));
        }
        if st.get("NotAction").is_some() {
            return Err("uses NotAction, which grants everything else; list the actions the instances need".into());
        }
    }
    Ok(())
}

/// Every rule. Returns the capacity plan when all hold.
pub fn validate(cfg: &Config) -> Result<CapacityPlan, Vec<Invalid>> {
    let mut c = Checker { errors: Vec::new() };

    // Where and what.
    c.check(is_region(&cfg.region), "region", quoted(&cfg.region), "must be an AWS region code such as \"us-east-1\"");
    let name_ok = cfg.service_name.len() <= 32
        && cfg.service_name.starts_with(|ch: char| ch.is_ascii_lowercase())
        && cfg.service_name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    c.check(name_ok, "service_name", quoted(&cfg.service_name), "must be 1-32 characters of a-z, 0-9 and '-', starting with a letter (it names the cluster, service and alarms)");
    let env_ok = !cfg.environment.is_empty()
        && cfg.environment.len() <= 64
        && cfg.environment.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    c.check(env_ok, "environment", quoted(&cfg.environment), "must be 1-64 characters of letters, digits, '_', '.' and '-'");
    if let Some(s) = &cfg.stack_name {
        let ok = s.len() <= 100 && s.starts_with(|ch: char| ch.is_ascii_alphabetic()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        c.check(ok, "stack_name", quoted(s), "must be 1-100 characters of letters, digits and '-', starting with a letter (CloudFormation stack name; nested stack names add to it)");
    }

    // Network.
    let n = &cfg.network;
    c.check(is_resource_id(&n.vpc_id, "vpc"), "network.vpc_id", quoted(&n.vpc_id), "must be a VPC id such as \"vpc-0123456789abcdef0\"");
    if n.load_balancer_subnets.len() < 2 {
        c.fail("network.load_balancer_subnets", list(&n.load_balancer_subnets), "needs at least 2 subnets in different availability zones (an ALB spans at least two)");
    }
    if n.asg_subnets.is_empty() {
        c.fail("network.asg_subnets", "[]", "needs at least one subnet for the instances");
    }
    for (key, subnets) in [("network.load_balancer_subnets", &n.load_balancer_subnets), ("network.asg_subnets", &n.asg_subnets)] {
        for (i, s) in subnets.iter().enumerate() {
            c.check(is_resource_id(s, "subnet"), format!("{key}[{i}]"), quoted(s), "must be a subnet id such as \"subnet-0123456789abcdef0\"");
        }
        c.unique(key, subnets);
    }

    // DNS.
    let d = &cfg.dns;
    let zone_ok = d.zone_id.starts_with('Z') && d.zone_id.len() <= 32 && d.zone_id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    c.check(zone_ok, "dns.zone_id", quoted(&d.zone_id), "must be a Route53 hosted zone id such as \"Z0123456789ABCDEFGHIJ\"");
    c.check(is_dns_name(&d.zone_name), "dns.zone_name", quoted(&d.zone_name), "must be a domain name of lowercase labels (a-z, 0-9, '-'), such as \"example.com\"");
    if d.names.is_empty() {
        c.fail("dns.names", "[]", "needs at least one name (the service's hostname inside the zone)");
    }
    if d.names.len() > 10 {
        c.fail("dns.names", list(&d.names), "at most 10 names: they share one ACM certificate, whose default quota is 10 domain names");
    }
    for (i, name) in d.names.iter().enumerate() {
        let fqdn_len = name.len() + 1 + d.zone_name.trim_end_matches('.').len();
        let ok = is_dns_name(name) && !name.ends_with('.') && fqdn_len <= 253;
        c.check(ok, format!("dns.names[{i}]"), quoted(name), "must be one or more DNS labels (1-63 of a-z, 0-9, '-', not starting or ending with '-') relative to dns.zone_name");
    }
    c.unique("dns.names", &d.names);

    // Load balancer.
    let lb = &cfg.load_balancer;
    c.check(lb.access_log_retention_days >= 1, "load_balancer.access_log_retention_days", lb.access_log_retention_days, "must be at least 1 day");
    if let Some(cidrs) = &lb.allowed_cidrs {
        if cidrs.is_empty() {
            c.fail("load_balancer.allowed_cidrs", "[]", "needs at least one IPv4 range, or leave it unset for the default");
        }
        for (i, cidr) in cidrs.iter().enumerate() {
            c.check(is_ipv4_cidr(cidr), format!("load_balancer.allowed_cidrs[{i}]"), quoted(cidr), "must be an IPv4 CIDR block such as \"10.0.0.0/8\"");
        }
        c.unique("load_balancer.allowed_cidrs", cidrs);
    }
    c.check((1..=4000).contains(&lb.idle_timeout_seconds), "load_balancer.idle_timeout_seconds", lb.idle_timeout_seconds, "must be 1-4000 seconds");

    // Compute.
    let cp = &cfg.compute;
    if let Some(ami) = &cp.ami_id {
        c.check(is_resource_id(ami, "ami"), "compute.ami_id", quoted(ami), "must be an AMI id such as \"ami-0123456789abcdef0\"");
    }
    if let Some(min) = cp.min_size {
        c.check(min >= 1, "compute.min_size", min, "must be at least 1 instance");
    }
    if let Some(max) = cp.max_size {
        c.check(max >= 1, "compute.max_size", max, "must be at least 1 instance");
        let min = cp.min_size.unwrap_or(n.asg_subnets.len() as u32);
        if max < min {
            let source = if cp.min_size.is_some() { "compute.min_size".to_string() } else { "the number of network.asg_subnets".to_string() };
            c.fail("compute.max_size", max, format!("must be at least asg_min_size ({min}, {source})"));
        }
    }
    c.check(cp.root_volume_size >= 30, "compute.root_volume_size", cp.root_volume_size, "must be at least 30 GiB (the ECS-optimized AMI's root snapshot)");
    if let Some(doc) = &cp.extra_instance_profile_permissions {
        if let Err(rule) = check_policy_document(doc) {
            c.fail("compute.extra_instance_profile_permissions", quoted(&doc.chars().take(60).collect::<String>()), rule);
        }
    }
    for (i, u) in cp.users.iter().enumerate() {
        let ok = !u.name.is_empty()
            && u.name.len() <= 32
            && u.name.starts_with(|ch: char| ch.is_ascii_lowercase() || ch == '_')
            && u.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        c.check(ok, format!("compute.users[{i}].name"), quoted(&u.name), "must be a Linux user name: 1-32 of a-z, 0-9, '_' and '-', starting with a letter or '_'");
    }
    for (i, f) in cp.extra_files.iter().enumerate() {
        let path_ok = f.path.starts_with('/') && !f.path.split('/').any(|p| p == "..") && !f.path.ends_with('/');
        c.check(path_ok, format!("compute.extra_files[{i}].path"), quoted(&f.path), "must be an absolute file path without '..'");
        let perm = f.permissions.strip_prefix('0').unwrap_or(&f.permissions);
        let perm_ok = perm.len() == 3 && perm.bytes().all(|b| (b'0'..=b'7').contains(&b));
        c.check(perm_ok, format!("compute.extra_files[{i}].permissions"), quoted(&f.permissions), "must be an octal mode such as \"644\" or \"0755\"");
    }
    for (i, cmd) in cp.extra_commands.iter().enumerate() {
        c.check(!cmd.trim().is_empty(), format!("compute.extra_commands[{i}]"), quoted(cmd), "must not be empty");
    }

    // Service.
    let s = &cfg.service;
    c.check(is_image_tag(&s.image_tag), "service.image_tag", quoted(&s.image_tag), IMAGE_TAG_RULE);
    c.check(s.container_memory >= 128, "service.container_memory", s.container_memory, "must be at least 128 (MB)");
    if let Some(r) = s.container_memory_reservation {
        c.check(r < s.container_memory, "service.container_memory_reservation", r, &format!("must be less than service.container_memory ({}); 0 disables the soft limit", s.container_memory));
    }
    if let Some(cpu) = s.container_cpu {
        c.check(cpu >= 2, "service.container_cpu", cpu, "must be at least 2 CPU units (the ECS minimum; 1024 = 1 vCPU)");
    }
    if let Some(w) = s.gunicorn_workers {
        c.check((1..=16).contains(&w), "service.gunicorn_workers", w, "must be 1-16");
    }
    if let Some(t) = s.task_min_count {
        c.check(t >= 1, "service.task_min_count", t, "must be at least 1 task");
    }
    if let (Some(min), Some(max)) = (s.task_min_count, s.task_max_count) {
        c.check(min <= max, "service.task_min_count", min, &format!("must not exceed service.task_max_count ({max})"));
    }
    c.check(LOG_RETENTION_DAYS.contains(&s.log_retention_days), "service.log_retention_days", s.log_retention_days, &format!("must be one of CloudWatch Logs' retention periods: {:?}", LOG_RETENTION_DAYS));

    // Storage.
    let st = &cfg.storage;
    match &st.lifecycle_policy {
        LifecyclePolicy::Days(d) if LIFECYCLE_DAYS.contains(d) => {}
        LifecyclePolicy::Word(w) if w == "none" => {}
        LifecyclePolicy::Days(d) => c.fail("storage.lifecycle_policy", d, "must be \"none\" or one of 7, 14, 30, 60, 90 (days before files move to Infrequent Access)"),
        LifecyclePolicy::Word(w) => c.fail("storage.lifecycle_policy", quoted(w), "must be \"none\" or one of 7, 14, 30, 60, 90 (days before files move to Infrequent Access)"),
    }
    match (st.throughput_mode, st.provisioned_throughput_mibps) {
        (ThroughputMode::Provisioned, None) => c.fail("storage.provisioned_throughput_mibps", "(unset)", "is required when storage.throughput_mode = \"provisioned\" (MiB/s)"),
        (ThroughputMode::Provisioned, Some(m)) => c.check((1..=3414).contains(&m), "storage.provisioned_throughput_mibps", m, "must be 1-3414 MiB/s"),
        (mode, Some(m)) => c.fail("storage.provisioned_throughput_mibps", m, format!("only applies with storage.throughput_mode = \"provisioned\" (it is \"{}\")", mode.as_str())),
        (_, None) => {}
    }

    // Credentials.
    let cr = &cfg.credentials;
    for (i, arn) in cr.secret_readers.iter().enumerate() {
        let ok = arn_parts(arn).is_some_and(|(svc, region, _, res)| svc == "iam" && region.is_empty() && res.starts_with("role/"));
        c.check(ok, format!("credentials.secret_readers[{i}]"), quoted(arn), "must be an IAM role ARN such as \"arn:aws:iam::123456789012:role/ci\"");
    }
    c.unique("credentials.secret_readers", &cr.secret_readers);
    if let Some(u) = &cr.username {
        let ok = !u.is_empty() && u.len() <= 64 && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        c.check(ok, "credentials.username", quoted(u), "must be 1-64 of letters, digits, '.', '_' and '-' (no ':', which htpasswd uses as separator)");
    }

    // Backups.
    let b = &cfg.backup;
    if b.enabled {
        c.check(b.retention_days >= 1, "backup.retention_days", b.retention_days, "must be at least 1 day");
        if let Err(rule) = check_backup_cron(&b.schedule) {
            c.fail("backup.schedule", quoted(&b.schedule), rule);
        }
    }

    // Monitoring.
    let m = &cfg.monitoring;
    if m.alarm_emails.is_empty() {
        c.fail("monitoring.alarm_emails", "[]", "needs at least one email address for alarm notifications");
    }
    for (i, e) in m.alarm_emails.iter().enumerate() {
        c.check(is_email(e), format!("monitoring.alarm_emails[{i}]"), quoted(e), "must be an email address such as \"ops@example.com\"");
    }
    c.unique("monitoring.alarm_emails", &m.alarm_emails);
    for (i, arn) in m.alarm_topic_arns.iter().enumerate() {
        let ok = arn_parts(arn).is_some_and(|(svc, region, _, _)| svc == "sns" && is_region(&region));
        c.check(ok, format!("monitoring.alarm_topic_arns[{i}]"), quoted(arn), "must be an SNS topic ARN such as \"arn:aws:sns:us-east-1:123456789012:pager\"");
    }
    c.check(m.efs_burst_credit_threshold > 0, "monitoring.efs_burst_credit_threshold", m.efs_burst_credit_threshold, "must be a positive number of bytes");

    // CloudFront.
    let cf = &cfg.cloudfront;
    if cf.enabled {
        match &cf.certificate_arn {
            None => c.fail("cloudfront.certificate_arn", "(unset)", "is required when cloudfront.enabled = true: an ACM certificate in us-east-1 covering every DNS name"),
            Some(arn) => {
                let ok = arn_parts(arn).is_some_and(|(svc, region, _, res)| svc == "acm" && region == "us-east-1" && res.starts_with("certificate/"));
                c.check(ok, "cloudfront.certificate_arn", quoted(arn), "must be an ACM certificate ARN in us-east-1 (CloudFront only uses certificates from that region)");
            }
        }
    }
    c.check(["PriceClass_100", "PriceClass_200", "PriceClass_All"].contains(&cf.price_class.as_str()), "cloudfront.price_class", quoted(&cf.price_class), "must be PriceClass_100, PriceClass_200 or PriceClass_All");

    // Sizing: the instance type must be known and fit a task.
    let input = SizingInput::from_config(cfg);
    let plan = match sizing::plan(&input) {
        Ok(p) => Some(p),
        Err(e @ SizingError::UnknownInstanceType { .. }) => {
            c.fail("compute.instance_type", quoted(&cfg.compute.instance_type), e.to_string());
            None
        }
        Err(SizingError::DoesNotFit { reason }) => {
            c.fail("service.container_memory", s.container_memory, format!("{reason}; choose a larger compute.instance_type or smaller service.container_memory / container_cpu"));
            None
        }
    };
    if let Some(p) = &plan {
        if let (None, Some(max)) = (s.task_min_count, s.task_max_count) {
            c.check(p.task_min_count <= max, "service.task_max_count", max, &format!("must be at least task_min_count ({}, auto-calculated)", p.task_min_count));
        }
        if let Some(cpu) = s.container_cpu {
            let total = p.vcpus * 1024;
            c.check(cpu <= total, "service.container_cpu", cpu, &format!("must not exceed the instance's {total} CPU units"));
        }
    }

    if c.errors.is_empty() {
        Ok(plan.expect("sizing succeeded when no rule failed"))
    } else {
        Err(c.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_backup_cron_expressions() {
        assert!(check_backup_cron("cron(0 2 * * ? *)").is_ok());
        assert!(check_backup_cron("cron(0 3 ? * MON-FRI *)").is_ok());
        assert!(check_backup_cron("cron(30 1 1,15 * ? *)").is_ok());
        assert!(check_backup_cron("cron(0 2 * * * *)").unwrap_err().contains("exactly one"));
        assert!(check_backup_cron("0 2 * * ? *").unwrap_err().contains("AWS cron"));
        assert!(check_backup_cron("cron(0 2 * * ?)").unwrap_err().contains("6 fields"));
        assert!(check_backup_cron("cron(*/5 2 * * ? *)").unwrap_err().contains("minutes"));
        assert!(check_backup_cron("cron(0 25 * * ? *)").unwrap_err().contains("hours"));
        assert!(check_backup_cron("cron(0 2 * 13 ? *)").unwrap_err().contains("month"));
    }

    #[test]
    fn identifiers() {
        assert!(is_resource_id("vpc-0123456789abcdef0", "vpc"));
        assert!(is_resource_id("subnet-12345678", "subnet"));
        assert!(!is_resource_id("subnet-1234567", "subnet"));
        assert!(!is_resource_id("vpc-0123456789ABCDEF0", "vpc"));
        assert!(is_region("us-east-1") && is_region("us-gov-west-1") && !is_region("useast1"));
        assert!(is_dns_name("example.com.") && !is_dns_name("-a.com") && !is_dns_name("A.com"));
        assert!(is_email("ops@example.com") && !is_email("ops@localhost") && !is_email("not an email"));
    }

    #[test]
    fn user_policies_must_not_grant_everything() {
        assert!(check_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#).is_ok());
        assert!(check_policy_document(r#"{"Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*"}]}"#).unwrap_err().contains("s3:*"));
        assert!(check_policy_document("not json").unwrap_err().contains("JSON"));
    }
}
