//! Rule checks on a parsed configuration. They run before anything else (and
//! before any AWS call); each failure names the key, the value and the rule.

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;

use crate::components::{compute, Ctx};
use crate::config::{CloudInitUser, Compute, Config, LifecyclePolicy, Sudo, ThroughputMode};
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

/// Regions whose S3 buckets CloudFront does not deliver standard logs to
/// (CloudFront Developer Guide, "Choosing an Amazon S3 bucket for your
/// standard logs"): a distribution logging there fails to create.
pub const CLOUDFRONT_NO_LOG_REGIONS: &[&str] = &[
    "af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ca-west-1",
    "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1",
];

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
        ip.parse::<Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32) && !bits.starts_with('+')
    })
}

/// The network an IPv4 CIDR block denotes, written as one: `10.0.0.1/8` →
/// `10.0.0.0/8`. None when `s` is no CIDR block.
fn cidr_network(s: &str) -> Option<String> {
    if !is_ipv4_cidr(s) {
        return None;
    }
    let (ip, bits) = s.split_once('/')?;
    let (ip, bits) = (u32::from(ip.parse::<Ipv4Addr>().ok()?), bits.parse::<u32>().ok()?);
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    Some(format!("{}/{bits}", Ipv4Addr::from(ip & mask)))
}

/// Why the load balancer's CloudFront origin name, `origin-<names[0]>.<zone>`,
/// is no DNS name, if it is not: its first label grows by 7 characters past
/// the 63 of a label, or the whole past 253 (RFC 1035, 2.3.4 "Size limits";
/// RFC 1123, 2.1).
fn origin_name_problem(name: &str, zone: &str) -> Option<String> {
    let origin = format!("origin-{name}.{}", zone.trim_end_matches('.'));
    let label = origin.split('.').next().unwrap_or_default().len();
    if label > 63 {
        Some(format!("with cloudfront.enabled the load balancer is reached as {}, whose first label has {label} characters: a DNS label has at most 63 (RFC 1035); shorten the first label of dns.names[0] to at most 56", quoted(&origin)))
    } else if origin.len() > 253 {
        Some(format!("with cloudfront.enabled the load balancer is reached as {}, {} characters: a DNS name has at most 253 (RFC 1035, RFC 1123)", quoted(&origin), origin.len()))
    } else {
        None
    }
}

/// The first character of a cloud-config string that cannot travel in it
/// as written, with what it is. The user data is YAML, and YAML's streams
/// hold only its printable characters (YAML 1.2 spec, 5.1 "Character Set":
/// tab, LF, CR, U+0020-U+007E, U+0085, U+00A0-U+D7FF, U+E000-U+FFFD,
/// U+10000-U+10FFFF). The JSON pypictl writes escapes only U+0000-U+001F,
/// which covers C0 controls for the parser, but a command, path or user
/// field has no use for them (NUL cannot be in a path or an argument). DEL
/// and the C1 controls are written raw, and cloud-init's YAML parser
/// (PyYAML) refuses the whole document. U+0085, U+2028 and U+2029 are printable but
/// are line breaks to YAML 1.1, which PyYAML folds into a space or trims
/// around, so the value would silently change. Unicode noncharacters
/// (U+FDD0-U+FDEF and every U+xFFFE, U+xFFFF: Unicode Standard, 23.7
/// "Noncharacters") are not for interchange; U+FFFE and U+FFFF are outside
/// YAML's set too.
fn cloud_config_char(s: &str) -> Option<(char, &'static str)> {
    s.chars().find_map(|ch| {
        let what = match u32::from(ch) {
            0x09 | 0x0A | 0x0D => return None,
            0x00..=0x1F => "a control character",
            0x7F => "DEL, a control character",
            0x85 | 0x2028 | 0x2029 => "a line break to YAML 1.1, which cloud-init's YAML parser folds into a space",
            0x80..=0x9F => "a C1 control character",
            0xFDD0..=0xFDEF => "a Unicode noncharacter",
            c if c & 0xFFFE == 0xFFFE => "a Unicode noncharacter",
            _ => return None,
        };
        Some((ch, what))
    })
}

/// The rule a string with such a character breaks.
fn cloud_config_char_rule(ch: char, what: &str) -> String {
    format!("contains U+{:04X} ({what}); cloud-init reads the user data as YAML, whose printable characters (YAML 1.2 spec, 5.1 \"Character Set\") are the only ones pypictl passes on", u32::from(ch))
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

/// `arn:<partition>:iam::<12 digits>:role/<path/><name>`, exactly one role.
/// A resource policy's Principal takes no wildcard ("You cannot use a
/// wildcard to match part of a principal name or ARN": IAM User Guide, "AWS
/// JSON policy elements: Principal"); a role name is 1-64 of letters,
/// digits and `+=,.@_-`, a path printable ASCII between slashes (IAM API
/// reference, CreateRole).
fn is_role_arn(s: &str) -> bool {
    let Some((svc, region, _, res)) = arn_parts(s) else { return false };
    let Some(rest) = res.strip_prefix("role/") else { return false };
    let (path, name) = match rest.rsplit_once('/') {
        Some((path, name)) => (Some(path), name),
        None => (None, rest),
    };
    let name_ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    let path_ok = path.is_none_or(|p| {
        p.len() <= 510 && p.split('/').all(|seg| !seg.is_empty() && seg.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'*' && b != b'?'))
    });
    svc == "iam" && region.is_empty() && name_ok && path_ok
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
    field(f[3], "month", 1, 12, &MONTHS)?;
    field(f[4], "day-of-week", 1, 7, &["?", "L", "#", "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])?;
    field(f[5], "year", 1970, 2199, &[])?;
    if (f[2] == "?") == (f[4] == "?") {
        return Err("exactly one of day-of-month and day-of-week must be `?`".into());
    }
    // AWS Backup accepts a plan whose days of the month none of its months
    // has (`cron(0 2 30 2 ? *)`, February 30), and it never runs: no backup,
    // and no error to notice. Months x days of the month only; fields with
    // `L`, `W` or wrapping ranges are left alone.
    if let (Some(days), Some(months)) = (listed(f[2], 1, 31, &[]), listed(f[3], 1, 12, &MONTHS)) {
        let longest = (1..=12).filter(|m| months & (1 << m) != 0).map(days_in_month).max().unwrap_or(0);
        let first = days.trailing_zeros();
        if first > longest {
            return Err(format!("never runs: none of the months `{}` has a day `{}` (the longest of them has {longest} days)", f[3], f[2]));
        }
    }
    Ok(())
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/// The most days a month has (February: 29, in leap years).
fn days_in_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The values a cron field lists, as bits (bit n for n), when it is made of
/// numbers (or `names`, the first being `lo`), `*`, ranges, lists and steps
/// only; None for anything else (`?`, `L`, `W`, `#`, a range that wraps).
/// `a/n` starts at a and steps by n up to `hi`, as in AWS cron.
fn listed(v: &str, lo: u32, hi: u32, names: &[&str]) -> Option<u64> {
    let num = |e: &str| {
        let n = e.parse::<u32>().ok().or_else(|| names.iter().position(|n| *n == e).map(|i| lo + i as u32))?;
        (lo..=hi).contains(&n).then_some(n)
    };
    let mut bits = 0u64;
    for item in v.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s.parse::<u32>().ok().filter(|s| *s >= 1)?)),
            None => (item, None),
        };
        let (from, to) = match (range, range.split_once('-')) {
            ("*", _) => (lo, hi),
            (_, Some((a, b))) => (num(a)?, num(b)?),
            (a, None) => (num(a)?, if step.is_some() { hi } else { num(a)? }),
        };
        if from > to {
            return None;
        }
        for n in (from..=to).step_by(step.unwrap_or(1) as usize) {
            bits |= 1 << n;
        }
    }
    Some(bits)
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
        // A wildcard anywhere (`*`, `s3:*Object`, `iam:P*`; `?` matches one
        // character) grants every action it matches, including those AWS
        // adds later ("IAM JSON policy elements: Action", IAM User Guide).
        if let Some(a) = actions.iter().find(|a| a.contains(['*', '?'])) {
            return Err(format!("grants every action matching `{a}`: no wildcards in actions; list the actions the instances need (least privilege)"));
        }
        if st.get("NotAction").is_some() {
            return Err("uses NotAction, which grants everything else; list the actions the instances need".into());
        }
        // iam:PassRole on every role lets the instances hand any role, an
        // administrator's too, to a service they start: name the roles
        // ("Grant a user permissions to pass a role to an AWS service", IAM
        // User Guide).
        let allows = st.get("Effect").and_then(|e| e.as_str()) == Some("Allow");
        if allows && actions.iter().any(|a| a.eq_ignore_ascii_case("iam:PassRole")) {
            let resources = match st.get("Resource") {
                Some(serde_json::Value::String(s)) => vec![s.as_str()],
                Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
                _ => vec![],
            };
            if resources.contains(&"*") || st.get("NotResource").is_some() {
                return Err("allows iam:PassRole on every role (`\"Resource\": \"*\"`); list the ARNs of the roles the instances pass".into());
            }
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
    } else if cfg.cloudfront.enabled && d.names.len() > 9 {
        c.fail("dns.names", list(&d.names), "at most 9 names with cloudfront.enabled: the certificate also covers the load balancer's origin- name, and ACM's default quota is 10 domain names per certificate");
    }
    for (i, name) in d.names.iter().enumerate() {
        let fqdn_len = name.len() + 1 + d.zone_name.trim_end_matches('.').len();
        let ok = is_dns_name(name) && !name.ends_with('.') && fqdn_len <= 253;
        c.check(ok, format!("dns.names[{i}]"), quoted(name), "must be one or more DNS labels (1-63 of a-z, 0-9, '-', not starting or ending with '-') relative to dns.zone_name");
        if !ok || i > 0 {
            continue;
        }
        // The first name is the load balancer certificate's domain name: "the
        // length of the domain name (technically, the Common Name) that you
        // provide cannot exceed 64 octets (characters), including periods"
        // (ACM API reference, RequestCertificate). Later names are SANs (253).
        if fqdn_len > 64 {
            c.fail("dns.names[0]", quoted(name), format!("makes the certificate's domain name {} {fqdn_len} characters; ACM takes at most 64 for the first name (ACM API reference, RequestCertificate): put a shorter name first", quoted(&cfg.hostnames()[0])));
        } else if let Some(rule) = cfg.cloudfront.enabled.then(|| origin_name_problem(name, &d.zone_name)).flatten() {
            c.fail("dns.names[0]", quoted(name), rule);
        }
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
            let key = format!("load_balancer.allowed_cidrs[{i}]");
            match cidr_network(cidr) {
                None => c.fail(key, quoted(cidr), "must be an IPv4 CIDR block such as \"10.0.0.0/8\""),
                // A block is a network address and a prefix; EC2 takes one
                // with host bits as the network it denotes, so the rule is
                // not what was written, and an address with a prefix is
                // usually a mistyped /32 or network.
                Some(net) if net != *cidr => {
                    let host = format!("{}/32", cidr.split('/').next().unwrap_or_default());
                    c.fail(key, quoted(cidr), format!("has host bits set (it is no network address): did you mean {}? ({} for that one address)", quoted(&net), quoted(&host)));
                }
                Some(_) => {}
            }
        }
        c.unique("load_balancer.allowed_cidrs", cidrs);
        // Two rules (443 and 80) per range; a security group takes 60
        // inbound rules by default ("Amazon VPC quotas").
        if cidrs.len() > 30 {
            c.fail("load_balancer.allowed_cidrs", format!("{} ranges", cidrs.len()), "at most 30 ranges: each gives the load balancer's security group two rules (HTTPS and HTTP), and a group has at most 60 inbound rules by default");
        }
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
    // The root volume is gp3, in the launch template: "gp2 and gp3: 1 -
    // 16,384 GiB" (EC2 API reference, LaunchTemplateEbsBlockDeviceRequest;
    // EBS User Guide, "Amazon EBS volume types").
    c.check(cp.root_volume_size <= 16_384, "compute.root_volume_size", cp.root_volume_size, "must be at most 16384 GiB (16 TiB, the largest gp3 volume a launch template takes: EBS volume types)");
    if let Some(doc) = &cp.extra_instance_profile_permissions {
        if let Err(rule) = check_policy_document(doc) {
            c.fail("compute.extra_instance_profile_permissions", quoted(doc), rule);
        }
    }
    for (i, u) in cp.users.iter().enumerate() {
        let ok = !u.name.is_empty()
            && u.name.len() <= 32
            && u.name.starts_with(|ch: char| ch.is_ascii_lowercase() || ch == '_')
            && u.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        c.check(ok, format!("compute.users[{i}].name"), quoted(&u.name), "must be a Linux user name: 1-32 of a-z, 0-9, '_' and '-', starting with a letter or '_'");
        // cloud-init's users `sudo` "Accepts a sudo rule string, a list of
        // sudo rule strings or False" (cloud-init docs, "Users and Groups");
        // given true, Distro.write_sudo_rules raises a TypeError ("Can not
        // create sudoers rule addition with type 'bool'") and the user's
        // setup fails on every instance.
        if u.sudo == Some(Sudo::Disabled(true)) {
            c.fail(format!("compute.users[{i}].sudo"), "true", "must be false or a list of sudoers rules such as [\"ALL=(ALL) NOPASSWD:ALL\"]: cloud-init's users module takes no `true` (cloud-init docs, \"Users and Groups\")");
        }
        for (field, value) in user_strings(u) {
            if let Some((ch, what)) = cloud_config_char(value) {
                c.fail(format!("compute.users[{i}].{field}"), quoted(value), cloud_config_char_rule(ch, what));
            }
        }
    }
    for (i, f) in cp.extra_files.iter().enumerate() {
        let path_ok = f.path.starts_with('/') && !f.path.split('/').any(|p| p == "..") && !f.path.ends_with('/');
        c.check(path_ok, format!("compute.extra_files[{i}].path"), quoted(&f.path), "must be an absolute file path without '..'");
        // The content needs no such check: it is written base64-encoded
        // (`encoding: b64`), so it may hold any bytes.
        if let Some((ch, what)) = cloud_config_char(&f.path) {
            c.fail(format!("compute.extra_files[{i}].path"), quoted(&f.path), cloud_config_char_rule(ch, what));
        }
        let perm = f.permissions.strip_prefix('0').unwrap_or(&f.permissions);
        let perm_ok = perm.len() == 3 && perm.bytes().all(|b| (b'0'..=b'7').contains(&b));
        c.check(perm_ok, format!("compute.extra_files[{i}].permissions"), quoted(&f.permissions), "must be an octal mode such as \"644\" or \"0755\"");
    }
    for (i, cmd) in cp.extra_commands.iter().enumerate() {
        c.check(!cmd.trim().is_empty(), format!("compute.extra_commands[{i}]"), quoted(cmd), "must not be empty");
        if let Some((ch, what)) = cloud_config_char(cmd) {
            c.fail(format!("compute.extra_commands[{i}]"), quoted(cmd), cloud_config_char_rule(ch, what));
        }
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
        c.check(is_role_arn(arn), format!("credentials.secret_readers[{i}]"), quoted(arn), "must be the ARN of one IAM role, such as \"arn:aws:iam::123456789012:role/ci\" (no wildcards: a policy's Principal takes none; role names are 1-64 of letters, digits and +=,.@_-)");
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
        // "Invalid region ... specified. Only <region> is supported": an
        // alarm's actions must be in its own region (CloudWatch PutMetricAlarm).
        if let Some((_, region, _, _)) = arn_parts(arn).filter(|(svc, region, _, _)| svc == "sns" && is_region(region) && *region != cfg.region) {
            c.fail(format!("monitoring.alarm_topic_arns[{i}]"), quoted(arn), &format!("is in {region}: a CloudWatch alarm notifies topics of its own region only ({}); use a topic in {}", cfg.region, cfg.region));
        }
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
    if cf.enabled && CLOUDFRONT_NO_LOG_REGIONS.contains(&cfg.region.as_str()) {
        c.fail("cloudfront.enabled", "true", &format!("cannot be used in {}: CloudFront does not deliver standard logs to buckets in that region (CloudFront Developer Guide, \"Choosing an Amazon S3 bucket for your standard logs\"), and pypictl keeps the logs beside the deployment", cfg.region));
    }
    if cf.enabled && cfg.load_balancer.internal {
        c.fail("load_balancer.internal", "true", "cannot be combined with cloudfront.enabled: CloudFront reaches its origin over the internet, and an internal load balancer has no public address");
    }
    if let (true, Some(cidrs)) = (cf.enabled, &cfg.load_balancer.allowed_cidrs) {
        c.fail(
            "load_balancer.allowed_cidrs",
            list(cidrs),
            "cannot be combined with cloudfront.enabled: clients reach CloudFront, not the load balancer, which admits only CloudFront's origin-facing addresses; remove allowed_cidrs (pypiserver still authenticates every request) or disable CloudFront",
        );
    }
    if let Some(arn) = &cfg.load_balancer.certificate_arn {
        let ok = arn_parts(arn).is_some_and(|(svc, region, _, res)| svc == "acm" && region == cfg.region && res.starts_with("certificate/"));
        c.check(
            ok,
            "load_balancer.certificate_arn",
            quoted(arn),
            &format!("must be an ACM certificate ARN in the deployment's region {} (a load balancer uses certificates from its own region)", cfg.region),
        );
    }
    c.check(["PriceClass_100", "PriceClass_200", "PriceClass_All"].contains(&cf.price_class.as_str()), "cloudfront.price_class", quoted(&cf.price_class), "must be PriceClass_100, PriceClass_200 or PriceClass_All");

    // Sizing: every value within AWS's bounds, the instance type known, a
    // task that fits.
    let input = SizingInput::from_config(cfg);
    for e in sizing::out_of_range(&input) {
        if let SizingError::OutOfRange { key, value, rule } = e {
            c.fail(key, value, rule);
        }
    }
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
        // Reported above, or by a rule on the same key (gunicorn_workers 1-16).
        Err(SizingError::OutOfRange { key, value, rule }) => {
            if !c.errors.iter().any(|e| e.key == key) {
                c.fail(key, value, rule);
            }
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
        if let Some(e) = user_data_too_large(cfg, p) {
            c.errors.push(e);
        }
    }

    if c.errors.is_empty() {
        Ok(plan.expect("sizing succeeded when no rule failed"))
    } else {
        Err(c.errors)
    }
}

/// Every string field of a cloud-init user that goes into the user data,
/// with its key below `compute.users[N]`.
fn user_strings(u: &CloudInitUser) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = [
        ("expiredate", &u.expiredate),
        ("gecos", &u.gecos),
        ("homedir", &u.homedir),
        ("primary_group", &u.primary_group),
        ("groups", &u.groups),
        ("selinux_user", &u.selinux_user),
        ("passwd", &u.passwd),
        ("snapuser", &u.snapuser),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| (k.to_string(), v)))
    .collect();
    let lists = [("ssh_import_id", u.ssh_import_id.as_ref()), ("ssh_authorized_keys", u.ssh_authorized_keys.as_ref())];
    let sudo = match &u.sudo {
        Some(Sudo::Rules(r)) => Some(r),
        _ => None,
    };
    for (k, items) in lists.into_iter().chain([("sudo", sudo)]) {
        out.extend(items.into_iter().flatten().enumerate().map(|(j, v)| (format!("{k}[{j}]"), v.as_str())));
    }
    out
}

/// EC2 refuses user data over 16 KB ("User data is limited to 16 KB, in raw
/// form, before it is base64-encoded": EC2 User Guide, "Work with instance
/// user data"), and the launch template's creation fails mid-deploy. Names
/// whichever of extra_files, extra_commands and users adds the most.
fn user_data_too_large(cfg: &Config, cap: &CapacityPlan) -> Option<Invalid> {
    let size = |cfg: &Config| compute::user_data_max_bytes(Ctx { cfg, cap });
    let total = size(cfg);
    if total <= compute::USER_DATA_LIMIT_BYTES {
        return None;
    }
    let without = |clear: fn(&mut Compute)| {
        let mut less = cfg.clone();
        clear(&mut less.compute);
        total.saturating_sub(size(&less))
    };
    let cp = &cfg.compute;
    let parts = [
        ("compute.extra_files", cp.extra_files.len(), without(|c| c.extra_files.clear())),
        ("compute.extra_commands", cp.extra_commands.len(), without(|c| c.extra_commands.clear())),
        ("compute.users", cp.users.len(), without(|c| c.users.clear())),
    ];
    let (key, entries, bytes) = parts.into_iter().max_by_key(|(_, _, bytes)| *bytes)?;
    Some(Invalid {
        key: key.into(),
        value: format!("{entries} {}, {bytes} bytes of the user data", if entries == 1 { "entry" } else { "entries" }),
        rule: format!(
            "makes the instances' user data {total} bytes (raw, counting a 128-character stack name); EC2 takes at most {} (16 KB, before base64: EC2 User Guide, \"Work with instance user data\"); fetch large files at boot (S3) or bake them into the AMI",
            compute::USER_DATA_LIMIT_BYTES
        ),
    })
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

    /// The minimal configuration (the README's required keys).
    fn minimal() -> Config {
        Config::from_toml(
            r#"
region = "us-east-1"
[network]
vpc_id = "vpc-0123456789abcdef0"
load_balancer_subnets = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
asg_subnets = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
[dns]
zone_id = "Z0123456789ABCDEFGHIJ"
zone_name = "example.com"
[monitoring]
alarm_emails = ["ops@example.com"]
"#,
        )
        .unwrap()
    }

    /// The problems of the minimal configuration changed by `edit`.
    fn problems(edit: impl FnOnce(&mut Config)) -> Vec<Invalid> {
        let mut cfg = minimal();
        edit(&mut cfg);
        validate(&cfg).err().unwrap_or_default()
    }

    /// The one problem `edit` makes, as its message.
    fn problem(edit: impl FnOnce(&mut Config)) -> Invalid {
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

    /// Sizing values near u32::MAX are refused naming their key, not an
    /// overflow panic. Bounds: ECS ContainerDefinition memory/cpu/
    /// memoryReservation are int32; ECS ManagedScaling maximumScalingStepSize
    /// (the group's MaxSize) is at most 10,000 (Amazon ECS API reference).
    #[test]
    fn sizing_values_beyond_aws_bounds_name_their_key() {
        type Edit = fn(&mut Config);
        let cases: [(&str, Edit); 8] = [
            ("service.gunicorn_workers", |c| c.service.gunicorn_workers = Some(u32::MAX)),
            ("service.container_memory", |c| c.service.container_memory = u32::MAX),
            ("compute.min_size", |c| c.compute.min_size = Some(u32::MAX)),
            ("compute.max_size", |c| c.compute.max_size = Some(u32::MAX)),
            ("service.task_min_count", |c| c.service.task_min_count = Some(u32::MAX)),
            ("service.task_max_count", |c| c.service.task_max_count = Some(u32::MAX)),
            ("service.container_cpu", |c| c.service.container_cpu = Some(u32::MAX)),
            ("service.container_memory_reservation", |c| c.service.container_memory_reservation = Some(u32::MAX)),
        ];
        for (key, edit) in cases {
            let errors = problems(edit);
            assert!(errors.iter().any(|e| e.key == key), "{key}: {errors:#?}");
            assert!(errors.iter().filter(|e| e.key == key).count() <= 2, "{key}: {errors:#?}");
        }
        let e = problem(|c| c.compute.max_size = Some(10_001));
        assert_eq!((e.key.as_str(), e.value.as_str()), ("compute.max_size", "10001"));
        assert!(e.rule.contains("at most 10000") && e.rule.contains("ManagedScaling"), "{e}");
        let e = problem(|c| c.service.container_memory = 1_431_655_766);
        assert!(e.rule.contains("no task fits"), "{e}");
        let e = problem(|c| c.service.container_memory = 2_147_483_648);
        assert!(e.rule.contains("32-bit"), "{e}");
    }

    /// gp3: 1-16,384 GiB in a launch template (EC2 API reference,
    /// LaunchTemplateEbsBlockDeviceRequest; EBS volume types).
    #[test]
    fn root_volume_at_most_16_tib() {
        assert_eq!(problems(|c| c.compute.root_volume_size = 16_384), vec![]);
        let e = problem(|c| c.compute.root_volume_size = 16_385);
        assert_eq!(e.key, "compute.root_volume_size");
        assert!(problem(|c| c.compute.root_volume_size = u32::MAX).rule.contains("16384"));
    }

    /// EC2 user data is at most 16 KB raw (EC2 User Guide, "Work with
    /// instance user data").
    #[test]
    fn user_data_over_16_kb_names_the_largest_contributor() {
        let file = |n: usize| crate::config::ExtraFile { path: "/etc/big".into(), content: "x".repeat(n), permissions: "644".into() };
        assert_eq!(problems(|c| c.compute.extra_files = vec![file(10_000)]), vec![]);
        let e = problem(|c| {
            c.compute.extra_files = vec![file(9_000), file(4_000)];
            c.compute.extra_commands = vec!["echo hi".into()];
        });
        assert_eq!(e.key, "compute.extra_files");
        assert!(e.value.starts_with("2 entries,"), "{e}");
        assert!(e.rule.contains("at most 16384") && e.rule.contains("Work with instance user data"), "{e}");
        let e = problem(|c| {
            c.compute.extra_files = vec![file(1_000)];
            c.compute.extra_commands = vec!["echo hello".repeat(2_000)];
        });
        assert_eq!(e.key, "compute.extra_commands");
        let e = problem(|c| {
            c.compute.users = (0..60).map(|i| CloudInitUser { name: format!("u{i}"), ssh_authorized_keys: Some(vec![format!("ssh-ed25519 {}", "A".repeat(300))]), ..Default::default() }).collect();
        });
        assert_eq!(e.key, "compute.users");
    }

    /// YAML 1.2 spec, 5.1 "Character Set": the printable characters.
    #[test]
    fn cloud_config_strings_hold_only_yaml_printable_characters() {
        for ok in ["echo 'héllo' | tee /tmp/x\tdone\r\n", "日本語 🚀", "\u{A0}\u{D7FF}\u{E000}\u{FFFD}\u{10000}"] {
            assert_eq!(cloud_config_char(ok), None, "{ok:?}");
        }
        for (bad, cp) in [("a\u{0}", 0x0), ("\u{1b}[0m", 0x1b), ("\u{7f}", 0x7f), ("x\u{80}", 0x80), ("\u{85}", 0x85), ("\u{9f}", 0x9f), ("\u{2028}", 0x2028), ("\u{FDD0}", 0xFDD0), ("\u{FDEF}", 0xFDEF), ("\u{FFFE}", 0xFFFE), ("\u{FFFF}", 0xFFFF), ("\u{1FFFE}", 0x1FFFE), ("\u{10FFFF}", 0x10FFFF)] {
            assert_eq!(cloud_config_char(bad).map(|(ch, _)| u32::from(ch)), Some(cp), "{bad:?}");
        }
        let e = problem(|c| c.compute.extra_commands = vec!["echo \u{85}".into()]);
        assert_eq!(e.key, "compute.extra_commands[0]");
        assert!(e.rule.contains("U+0085") && e.rule.contains("5.1"), "{e}");
        let e = problem(|c| c.compute.extra_files = vec![crate::config::ExtraFile { path: "/etc/a\u{7f}".into(), content: "\u{0}\u{85}\u{FFFF} any bytes".into(), permissions: "644".into() }]);
        assert_eq!(e.key, "compute.extra_files[0].path");
        assert!(e.rule.contains("U+007F"), "{e}");
        let e = problem(|c| c.compute.users = vec![CloudInitUser { name: "ops".into(), ssh_authorized_keys: Some(vec!["ssh-ed25519 AAAA".into(), "ssh-ed25519 B\u{9b}".into()]), ..Default::default() }]);
        assert_eq!(e.key, "compute.users[0].ssh_authorized_keys[1]");
        let e = problem(|c| c.compute.users = vec![CloudInitUser { name: "ops".into(), gecos: Some("Ops\u{1}".into()), ..Default::default() }]);
        assert_eq!(e.key, "compute.users[0].gecos");
        let e = problem(|c| c.compute.users = vec![CloudInitUser { name: "ops".into(), sudo: Some(Sudo::Rules(vec!["ALL=(ALL) ALL\u{FDD0}".into()])), ..Default::default() }]);
        assert_eq!(e.key, "compute.users[0].sudo[0]");
    }

    /// cloud-init "Users and Groups": sudo is a rule string, a list of them, or false.
    #[test]
    fn sudo_true_is_refused() {
        let user = |sudo| CloudInitUser { name: "ops".into(), sudo: Some(sudo), ..Default::default() };
        assert_eq!(problems(|c| c.compute.users = vec![user(Sudo::Disabled(false))]), vec![]);
        assert_eq!(problems(|c| c.compute.users = vec![user(Sudo::Rules(vec!["ALL=(ALL) NOPASSWD:ALL".into()]))]), vec![]);
        let e = problem(|c| c.compute.users = vec![user(Sudo::Rules(vec![])), user(Sudo::Disabled(true))]);
        assert_eq!((e.key.as_str(), e.value.as_str()), ("compute.users[1].sudo", "true"));
        assert!(e.rule.contains("Users and Groups"), "{e}");
    }

    /// RFC 1035 2.3.4: labels at most 63 octets, names at most 253 (RFC 1123 2.1).
    #[test]
    fn the_cloudfront_origin_name_is_a_dns_name() {
        let cloudfront = |c: &mut Config, first: &str| {
            c.dns.zone_name = "a.io".into();
            c.dns.names = vec![first.into()];
            c.cloudfront.enabled = true;
            c.cloudfront.certificate_arn = Some("arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8899-aabbccddeeff".into());
        };
        assert_eq!(problems(|c| cloudfront(c, &"p".repeat(56))), vec![]);
        let e = problem(|c| cloudfront(c, &"p".repeat(57)));
        assert_eq!(e.key, "dns.names[0]");
        assert!(e.rule.contains("origin-ppp") && e.rule.contains("64 characters") && e.rule.contains("at most 63"), "{e}");
        // Without CloudFront there is no origin name.
        assert_eq!(problems(|c| { cloudfront(c, &"p".repeat(57)); c.cloudfront.enabled = false; c.cloudfront.certificate_arn = None; }), vec![]);
        // The whole name: 7 more characters than dns.names[0] makes.
        let long = ["a".repeat(56), "b".repeat(63), "c".repeat(63), "d".repeat(59)].join(".");
        assert_eq!(long.len() + 1 + 4, 249, "a valid name in the zone; its origin name has 256 characters");
        assert!(origin_name_problem(&long, "a.io").unwrap().contains("at most 253"));
        assert_eq!(origin_name_problem(&"p".repeat(56), "a.io"), None);
    }

    /// ACM RequestCertificate: the first domain name is at most 64 octets.
    #[test]
    fn the_certificate_domain_name_fits_acm() {
        let first = |c: &mut Config, n: usize| c.dns.names = vec!["p".repeat(n), "pypi".into()];
        assert_eq!(problems(|c| first(c, 52)), vec![], "52 + 1 + 11 = 64");
        let e = problem(|c| first(c, 53));
        assert_eq!(e.key, "dns.names[0]");
        assert!(e.rule.contains("65 characters") && e.rule.contains("RequestCertificate"), "{e}");
        // Later names are subject alternative names (253).
        assert_eq!(problems(|c| c.dns.names = vec!["pypi".into(), "p".repeat(60)]), vec![]);
    }

    #[test]
    fn cidrs_with_host_bits_suggest_the_network() {
        assert_eq!(cidr_network("10.0.0.1/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(cidr_network("192.168.1.77/32").as_deref(), Some("192.168.1.77/32"));
        assert_eq!(cidr_network("1.2.3.4/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(cidr_network("10.0.0.0/33"), None);
        assert_eq!(problems(|c| c.load_balancer.allowed_cidrs = Some(vec!["10.0.0.0/8".into(), "203.0.113.7/32".into()])), vec![]);
        let e = problem(|c| c.load_balancer.allowed_cidrs = Some(vec!["192.168.0.0/16".into(), "10.0.0.1/8".into()]));
        assert_eq!(e.key, "load_balancer.allowed_cidrs[1]");
        assert!(e.rule.contains(r#"did you mean "10.0.0.0/8"?"#) && e.rule.contains(r#""10.0.0.1/32""#), "{e}");
    }

    /// IAM User Guide, "IAM JSON policy elements: Action" (wildcards * and ?
    /// in action names) and "Grant a user permissions to pass a role to an
    /// AWS service" (name the roles).
    #[test]
    fn user_policies_have_no_wildcard_actions_and_pass_no_role_on_everything() {
        let doc = |st: &str| check_policy_document(&format!(r#"{{"Version":"2012-10-17","Statement":[{st}]}}"#));
        for action in ["*", "iam:P*", "s3:*Object", "s3:Get?bject", "ec2:Describe*"] {
            let err = doc(&format!(r#"{{"Effect":"Allow","Action":["s3:GetObject","{action}"],"Resource":"*"}}"#)).unwrap_err();
            assert!(err.contains(action) && err.contains("wildcard"), "{action}: {err}");
        }
        let pass = |resource: &str| doc(&format!(r#"{{"Effect":"Allow","Action":"iam:PassRole","Resource":{resource}}}"#));
        assert!(pass(r#""*""#).unwrap_err().contains("iam:PassRole"));
        assert!(pass(r#"["arn:aws:iam::123456789012:role/a","*"]"#).is_err());
        assert!(doc(r#"{"Effect":"Allow","Action":"IAM:passrole","NotResource":"arn:aws:iam::123456789012:role/admin"}"#).is_err());
        assert!(pass(r#""arn:aws:iam::123456789012:role/ecs-task""#).is_ok());
        assert!(doc(r#"{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}"#).is_ok());
        let e = problem(|c| c.compute.extra_instance_profile_permissions = Some(r#"{"Statement":{"Effect":"Allow","Action":"s3:*Object","Resource":"*"}}"#.into()));
        assert_eq!(e.key, "compute.extra_instance_profile_permissions");
    }

    /// IAM User Guide, "AWS JSON policy elements: Principal": no wildcards
    /// in a principal's ARN; IAM API reference, CreateRole: role names.
    #[test]
    fn secret_readers_are_exactly_one_role_each() {
        for ok in ["arn:aws:iam::123456789012:role/ci", "arn:aws-us-gov:iam::123456789012:role/teams/build/ci+deploy=1,a.b@c_d-e", "arn:aws-cn:iam::123456789012:role/a"] {
            assert!(is_role_arn(ok), "{ok}");
        }
        for bad in [
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::123456789012:role/ci-*",
            "arn:aws:iam::123456789012:role/c?",
            "arn:aws:iam::123456789012:role/*/ci",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role//ci",
            "arn:aws:iam::123456789012:role/ci job",
            &format!("arn:aws:iam::123456789012:role/{}", "r".repeat(65)),
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::*:role/ci",
            "arn:*:iam::123456789012:role/ci",
            "arn:aws:sts::123456789012:assumed-role/ci/session",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
        let e = problem(|c| c.credentials.secret_readers = vec!["arn:aws:iam::123456789012:role/*".into()]);
        assert_eq!(e.key, "credentials.secret_readers[0]");
        assert!(e.rule.contains("no wildcards"), "{e}");
    }

    #[test]
    fn a_backup_schedule_that_never_fires_is_refused() {
        for never in ["cron(0 2 30 2 ? *)", "cron(0 2 31 4 ? *)", "cron(0 2 31 FEB,APR,JUN ? *)", "cron(0 2 30-31 2 ? *)", "cron(0 2 31 4-6/2 ? *)"] {
            let err = check_backup_cron(never).unwrap_err();
            assert!(err.contains("never runs"), "{never}: {err}");
        }
        for fires in [
            "cron(0 2 29 2 ? *)",
            "cron(0 2 31 4,5 ? *)",
            "cron(0 2 30,1 2 ? *)",
            "cron(0 2 31 * ? *)",
            "cron(0 2 L 2 ? *)",
            "cron(0 2 30W 2 ? *)",
            "cron(0 2 31 APR-MAY ? *)",
            "cron(0 2 5/10 2 ? *)",
            "cron(0 2 ? 2 MON *)",
        ] {
            assert_eq!(check_backup_cron(fires), Ok(()), "{fires}");
        }
        assert_eq!(listed("5/10", 1, 31, &[]), Some((1 << 5) | (1 << 15) | (1 << 25)));
        assert_eq!(listed("JAN-MAR", 1, 12, &MONTHS), Some(0b1110));
        let e = problem(|c| c.backup.schedule = "cron(0 2 30 2 ? *)".into());
        assert_eq!(e.key, "backup.schedule");
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
