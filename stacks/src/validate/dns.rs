//! DNS, certificate and CloudFront rules: the hosted zone and the names
//! in it, the certificates that cover them, and what CloudFront needs of
//! the region and of the load balancer behind it.

use crate::config::Config;

use super::{arn_parts, list, quoted, Checker};

/// Regions whose S3 buckets CloudFront does not deliver standard logs to
/// (CloudFront Developer Guide, "Choosing an Amazon S3 bucket for your
/// standard logs"): a distribution logging there fails to create.
pub const CLOUDFRONT_NO_LOG_REGIONS: &[&str] = &[
    "af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ca-west-1",
    "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1",
];

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

/// The hosted zone and the names in it, which also name the load
/// balancer's certificate (and, with CloudFront, its origin).
pub(super) fn dns(c: &mut Checker, cfg: &Config) {
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
}

/// CloudFront and the certificates: what CloudFront needs of its
/// certificate, region and origin, and the load balancer's own certificate.
pub(super) fn cloudfront(c: &mut Checker, cfg: &Config) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{problem, problems};

    #[test]
    fn dns_names() {
        assert!(is_dns_name("example.com.") && !is_dns_name("-a.com") && !is_dns_name("A.com"));
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
}
