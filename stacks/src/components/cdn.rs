//! Optional CloudFront distribution in front of the load balancer: package
//! files (immutable once uploaded) are cached at the edge, keyed by the
//! Authorization header so that only requests with the same credentials
//! share a cached copy; index pages are never cached.

use crate::cfn::resources::cloudfront::{
    BehaviorConfig, CacheBehavior, CacheKeyParameters, CachePolicy, CachePolicyConfig, CustomOriginConfig, Distribution,
    DistributionConfig, HeadersConfig, Logging, Origin, QueryStringsConfig, ViewerCertificate,
};
use crate::cfn::resources::route53::{AliasTarget, RecordSet};
use crate::cfn::{aws, Expr, Policy, Template};

use super::Ctx;

/// Route53's hosted zone id for every CloudFront alias.
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";
/// AWS managed origin request policy "AllViewerExceptHostHeader".
pub const ALL_VIEWER_EXCEPT_HOST: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
/// How long CloudFront waits for the load balancer's answer: 60 s, the most
/// without a quota increase ("Response timeout (origins only)", CloudFront
/// Developer Guide, quotas).
pub const ORIGIN_READ_TIMEOUT_SECONDS: u32 = 60;
/// How long CloudFront keeps a package file it served for a credential.
pub const PACKAGE_CACHE_SECONDS: u32 = 600;

fn cache_policy(name: Expr, comment: &str, default_ttl: u32, max_ttl: u32) -> CachePolicy {
    CachePolicy {
        cache_policy_config: CachePolicyConfig {
            name,
            comment: Some(comment.into()),
            default_ttl: default_ttl.into(),
            max_ttl: max_ttl.into(),
            min_ttl: 0u32.into(),
            parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters {
                enable_accept_encoding_gzip: true,
                enable_accept_encoding_brotli: Some(true),
                cookies_config: BehaviorConfig { cookie_behavior: "none".into() },
                headers_config: HeadersConfig { header_behavior: "whitelist".into(), headers: Some(vec!["Authorization".into()]) },
                query_strings_config: QueryStringsConfig { query_string_behavior: "all".into() },
            },
        },
    }
}

pub fn build(ctx: Ctx) -> Template {
    let cfg = ctx.cfg;
    let cf = &cfg.cloudfront;
    let mut t = Template::new("Cdn", format!("pypictl {}: CloudFront in front of the load balancer", cfg.service_name));

    let logs = t
        .add(
            "CdnLogBucket",
            // CloudFront's standard logging writes through an object ACL.
            super::log_bucket("expire-cdn-logs", cfg.load_balancer.access_log_retention_days, "BucketOwnerPreferred"),
        )
        // Like the access-log bucket, always retained: CloudFront delivers
        // logs up to hours late. `destroy` empties and deletes it once the
        // stack is gone, when access_log_force_destroy says so.
        .deletion_policy(Policy::Retain)
        .checkov_skip("CKV_AWS_18", "This is the CloudFront log bucket; logging its own access would log into itself.")
        .handle();

    // Cache policies are global to the account (CloudFront has no regions):
    // the stack's unique id keeps two deployments, even in two regions, apart.
    let global_name = |suffix: &str| Expr::sub_with(format!("{}-${{Suffix}}", ctx.name(suffix)), vec![("Suffix", aws::stack_id_suffix())]);
    let index = t
        .add("IndexCachePolicy", cache_policy(global_name("index"), "Index pages: not cached (TTL 0), Authorization forwarded", 0, 1))
        .handle();
    // Package files never change, but a credential can be rotated: a file
    // cached for a credential stays downloadable with it until it expires,
    // so the cache is kept for PACKAGE_CACHE_SECONDS only.
    let files = t
        .add(
            "PackageCachePolicy",
            cache_policy(
                global_name("packages"),
                "Package files are immutable: cached 10 minutes (a rotated credential is refused after that), keyed by Authorization",
                PACKAGE_CACHE_SECONDS,
                PACKAGE_CACHE_SECONDS,
            ),
        )
        .handle();

    let origin_id = "load-balancer";
    let behavior = |path: Option<&str>, policy: Expr| CacheBehavior {
        path_pattern: path.map(Expr::from),
        target_origin_id: origin_id.into(),
        viewer_protocol_policy: "redirect-to-https".into(),
        allowed_methods: Some(["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"].iter().map(|m| Expr::from(*m)).collect()),
        cached_methods: Some(vec!["GET".into(), "HEAD".into()]),
        cache_policy_id: Some(policy),
        origin_request_policy_id: Some(ALL_VIEWER_EXCEPT_HOST.into()),
        compress: Some(true),
    };

    let dist = t
        .add(
            "Distribution",
            Distribution {
                distribution_config: DistributionConfig {
                    enabled: true,
                    comment: Some(Expr::str(format!("pypictl {}", cfg.service_name))),
                    aliases: Some(cfg.hostnames().iter().map(Expr::from).collect()),
                    price_class: Some((&cf.price_class).into()),
                    http_version: Some("http2and3".into()),
                    ipv6_enabled: Some(false),
                    viewer_certificate: Some(ViewerCertificate {
                        acm_certificate_arn: cf.certificate_arn.as_ref().map(Expr::from),
                        minimum_protocol_version: Some("TLSv1.2_2021".into()),
                        ssl_support_method: Some("sni-only".into()),
                    }),
                    origins: vec![Origin {
                        id: origin_id.into(),
                        domain_name: cfg.origin_hostname().into(),
                        custom_origin_config: Some(CustomOriginConfig {
                            https_port: Some(443u32.into()),
                            origin_protocol_policy: "https-only".into(),
                            origin_ssl_protocols: Some(vec!["TLSv1.2".into()]),
                            origin_read_timeout: Some(ORIGIN_READ_TIMEOUT_SECONDS.into()),
                            origin_keepalive_timeout: Some(5u32.into()),
                        }),
                        origin_custom_headers: None,
                    }],
                    default_cache_behavior: behavior(None, index.att("Id")),
                    cache_behaviors: Some(vec![behavior(Some("/packages/*"), files.att("Id"))]),
                    logging: Some(Logging { bucket: logs.att("RegionalDomainName"), prefix: Some("cloudfront/".into()), include_cookies: Some(false) }),
                },
                tags: None,
            },
        )
        .checkov_skip(
            "CKV_AWS_68",
            "pypiserver authenticates every request (download, list, update); a WAF web ACL is left to the organisation's Firewall Manager policy.",
        )
        .handle();

    for (i, host) in cfg.hostnames().iter().enumerate() {
        t.add(
            &format!("CdnDnsRecord{}", i + 1),
            RecordSet {
                hosted_zone_id: Some((&cfg.dns.zone_id).into()),
                name: host.into(),
                type_: "A".into(),
                alias_target: Some(AliasTarget { dns_name: dist.att("DomainName"), hosted_zone_id: CLOUDFRONT_ZONE_ID.into(), evaluate_target_health: Some(false) }),
                ..Default::default()
            },
        );
    }
    t.output("DistributionDomainName", "CloudFront domain of the distribution", dist.att("DomainName"));
    t.output("DistributionId", "CloudFront distribution", dist.r());
    t.output("LogBucketName", "Bucket of the CloudFront access logs", logs.r());
    t
}
