//! The HTTPS entry point: application load balancer, its certificate
//! (validated through the hosted zone), listeners, target group, access-log
//! bucket and the DNS records that point at it.

use crate::cfn::resources::acm::{Certificate, DomainValidationOption};
use crate::cfn::resources::elbv2::{self, Action, KeyValue, Listener, LoadBalancer, Matcher, RedirectConfig, TargetGroup};
use crate::cfn::resources::route53::{AliasTarget, RecordSet};
use crate::cfn::resources::s3::BucketPolicy;
use crate::cfn::{Expr, Policy, PolicyDocument, StackOutput, Statement, Template};
use crate::proxy::PROXY_PORT;

use super::{insecure_transport, network, Ctx};

/// A modern policy: TLS 1.3 and 1.2 with forward-secret ciphers only.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// `/health` answers without credentials. The proxy sidecar answers it from
/// a 2 s cache, but pypiserver alone queued it behind every other request
/// (5–12 s under a burst): the timeout and threshold stay generous so a
/// target is never dropped exactly at peak load.
pub const HEALTH_CHECK_TIMEOUT_SECONDS: u32 = 15;
pub const HEALTH_CHECK_INTERVAL_SECONDS: u32 = 30;
pub const UNHEALTHY_THRESHOLD: u32 = 3;
pub const ACCESS_LOG_PREFIX: &str = "alb";

pub struct Outputs {
    pub load_balancer_arn: StackOutput,
    pub load_balancer_full_name: StackOutput,
    pub target_group_arn: StackOutput,
    pub target_group_full_name: StackOutput,
    pub access_log_bucket: StackOutput,
}

/// Elastic Load Balancing's log-delivery account in the regions that
/// existed before August 2022; newer regions use the log-delivery service
/// principal instead.
fn elb_log_account(region: &str) -> Option<&'static str> {
    Some(match region {
        "us-east-1" => "127311923021",
        "us-east-2" => "033677994240",
        "us-west-1" => "027434742980",
        "us-west-2" => "797873946194",
        "af-south-1" => "098369216593",
        "ap-east-1" => "754344448648",
        "ap-southeast-3" => "589379963580",
        "ap-south-1" => "718504428378",
        "ap-northeast-3" => "383597477331",
        "ap-northeast-2" => "600734575887",
        "ap-southeast-1" => "114774131450",
        "ap-southeast-2" => "783225319266",
        "ap-northeast-1" => "582318560864",
        "ca-central-1" => "985666609251",
        "eu-central-1" => "054676820928",
        "eu-west-1" => "156460612806",
        "eu-west-2" => "652711504416",
        "eu-south-1" => "635631232127",
        "eu-west-3" => "009996457667",
        "eu-north-1" => "897822967062",
        "me-south-1" => "076674570225",
        "sa-east-1" => "507241528517",
        "us-gov-west-1" => "048591011584",
        "us-gov-east-1" => "190560391635",
        "cn-north-1" => "638102146993",
        "cn-northwest-1" => "037604701340",
        _ => return None,
    })
}

fn kv(key: &str, value: impl Into<Expr>) -> KeyValue {
    KeyValue { key: key.into(), value: value.into() }
}

pub fn build(ctx: Ctx, net: &network::Outputs) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let lb_cfg = &cfg.load_balancer;
    let mut t = Template::new("LoadBalancer", format!("pypictl {}: HTTPS load balancer, certificate and DNS", cfg.service_name));
    let alb_sg = t.import(&net.alb_sg, "Security group of the load balancer");

    // Access logs. The bucket is always retained: the load balancer keeps
    // delivering logs while CloudFormation deletes the stack, so an emptied
    // bucket fills again and its deletion fails with BucketNotEmpty ("You
    // must delete all objects (including all object versions and delete
    // markers) in the bucket before the bucket itself can be deleted": S3
    // API reference, DeleteBucket). `destroy` empties and deletes it once the
    // stack is gone, when access_log_force_destroy (or --force-destroy-data) says so.
    let bucket = t
        .add(
            "AccessLogBucket",
            // ALB log delivery supports SSE-S3 only; ACLs stay disabled.
            super::log_bucket("expire-access-logs", lb_cfg.access_log_retention_days, "BucketOwnerEnforced"),
        )
        .deletion_policy(Policy::Retain)
        .checkov_skip("CKV_AWS_18", "This is the access-log bucket; logging its own access would log into itself.")
        .handle();

    let log_objects = Expr::sub_with(
        format!("${{Bucket}}/{ACCESS_LOG_PREFIX}/AWSLogs/${{AWS::AccountId}}/*"),
        vec![("Bucket", bucket.att("Arn"))],
    );
    let delivery = Statement::allow(&["s3:PutObject"]).sid("LoadBalancerLogDelivery").on(vec![log_objects]);
    let delivery = match elb_log_account(&cfg.region) {
        Some(account) => delivery.aws(vec![Expr::sub(format!("arn:${{AWS::Partition}}:iam::{account}:root"))]),
        None => delivery.service(&["logdelivery.elasticloadbalancing.amazonaws.com"]),
    };
    let policy = PolicyDocument::new(vec![
        delivery,
        Statement::deny(&["s3:*"])
            .sid("RefuseUnencryptedTransport")
            .aws(vec!["*".into()])
            .on(vec![bucket.att("Arn"), Expr::sub_with("${Bucket}/*", vec![("Bucket", bucket.att("Arn"))])])
            .when(insecure_transport()),
    ]);
    let bucket_policy = t.add("AccessLogBucketPolicy", BucketPolicy { bucket: bucket.r(), policy_document: policy.to_expr() }).handle();

    // Load balancer.
    let alb = t
        .add(
            "LoadBalancer",
            LoadBalancer {
                scheme: Some(if lb_cfg.internal { "internal" } else { "internet-facing" }.into()),
                type_: Some("application".into()),
                ip_address_type: Some("ipv4".into()),
                subnets: Some(cfg.network.load_balancer_subnets.iter().map(Expr::from).collect()),
                security_groups: Some(vec![alb_sg]),
                load_balancer_attributes: Some(vec![
                    kv("access_logs.s3.enabled", "true"),
                    kv("access_logs.s3.bucket", bucket.r()),
                    kv("access_logs.s3.prefix", ACCESS_LOG_PREFIX),
                    kv("routing.http.drop_invalid_header_fields.enabled", "true"),
                    kv("routing.http.desync_mitigation_mode", "strictest"),
                    kv("idle_timeout.timeout_seconds", lb_cfg.idle_timeout_seconds.to_string()),
                    kv("deletion_protection.enabled", "false"),
                ]),
                tags: None,
            },
        )
        // The log bucket must accept deliveries before the ALB is configured to send them.
        .depends_on(&bucket_policy)
        .handle();

    let tg = t
        .add(
            "TargetGroup",
            TargetGroup {
                port: Some(PROXY_PORT.into()),
                protocol: Some("HTTP".into()),
                protocol_version: Some("HTTP1".into()),
                vpc_id: Some((&cfg.network.vpc_id).into()),
                target_type: Some("instance".into()),
                health_check_enabled: Some(true),
                health_check_path: Some("/health".into()),
                health_check_protocol: Some("HTTP".into()),
                health_check_interval_seconds: Some(HEALTH_CHECK_INTERVAL_SECONDS.into()),
                health_check_timeout_seconds: Some(HEALTH_CHECK_TIMEOUT_SECONDS.into()),
                healthy_threshold_count: Some(2u32.into()),
                unhealthy_threshold_count: Some(UNHEALTHY_THRESHOLD.into()),
                matcher: Some(Matcher { http_code: "200".into() }),
                target_group_attributes: Some(vec![
                    kv("deregistration_delay.timeout_seconds", "30"),
                    kv("load_balancing.algorithm.type", lb_cfg.algorithm.as_str()),
                ]),
                ..Default::default()
            },
        )
        .handle();

    // Certificate for every DNS name (and the CloudFront origin name).
    let mut hostnames = cfg.hostnames();
    if cfg.cloudfront.enabled {
        hostnames.push(cfg.origin_hostname());
    }
    // An existing certificate when the configuration names one (a private
    // hosted zone, which ACM cannot validate through); otherwise one
    // requested here and validated through the hosted zone.
    let cert_arn = match &lb_cfg.certificate_arn {
        Some(arn) => Expr::from(arn),
        None => t
        .add(
            "Certificate",
            Certificate {
                domain_name: hostnames[0].clone().into(),
                subject_alternative_names: (hostnames.len() > 1).then(|| hostnames[1..].iter().map(Expr::from).collect()),
                validation_method: Some("DNS".into()),
                domain_validation_options: Some(
                    hostnames
                        .iter()
                        .map(|h| DomainValidationOption { domain_name: h.into(), hosted_zone_id: (&cfg.dns.zone_id).into() })
                        .collect(),
                ),
                key_algorithm: Some("RSA_2048".into()),
                ..Default::default()
            },
        )
        .handle()
        .r(),
    };

    t.add(
        "HttpsListener",
        Listener {
            load_balancer_arn: alb.r(),
            port: Some(443u32.into()),
            protocol: Some("HTTPS".into()),
            ssl_policy: Some(TLS_POLICY.into()),
            certificates: Some(vec![elbv2::Certificate { certificate_arn: cert_arn.clone() }]),
            default_actions: vec![Action { type_: "forward".into(), target_group_arn: Some(tg.r()), ..Default::default() }],
        },
    );
    t.add(
        "HttpRedirectListener",
        Listener {
            load_balancer_arn: alb.r(),
            port: Some(80u32.into()),
            protocol: Some("HTTP".into()),
            ssl_policy: None,
            certificates: None,
            default_actions: vec![Action {
                type_: "redirect".into(),
                redirect_config: Some(RedirectConfig {
                    protocol: Some("HTTPS".into()),
                    port: Some("443".into()),
                    status_code: "HTTP_301".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
        },
    );

    // DNS: the service names point at the ALB, unless CloudFront fronts it,
    // in which case only the origin name does (the cdn stack owns the rest).
    let alias_names = if cfg.cloudfront.enabled { vec![cfg.origin_hostname()] } else { cfg.hostnames() };
    for (i, host) in alias_names.iter().enumerate() {
        t.add(
            &format!("DnsRecord{}", i + 1),
            RecordSet {
                hosted_zone_id: Some((&cfg.dns.zone_id).into()),
                name: host.into(),
                type_: "A".into(),
                alias_target: Some(AliasTarget {
                    dns_name: alb.att("DNSName"),
                    hosted_zone_id: alb.att("CanonicalHostedZoneID"),
                    evaluate_target_health: Some(true),
                }),
                ..Default::default()
            },
        );
    }

    let load_balancer_arn = t.export("LoadBalancerArn", "ARN of the load balancer", alb.r());
    let load_balancer_full_name = t.export("LoadBalancerFullName", "CloudWatch dimension of the load balancer", alb.att("LoadBalancerFullName"));
    let target_group_arn = t.export("TargetGroupArn", "ARN of the target group", tg.r());
    let target_group_full_name = t.export("TargetGroupFullName", "CloudWatch dimension of the target group", tg.att("TargetGroupFullName"));
    let access_log_bucket = t.export("AccessLogBucketName", "Bucket of the load balancer's access logs", bucket.r());
    t.output("LoadBalancerDnsName", "DNS name of the load balancer", alb.att("DNSName"));
    t.output("CertificateArn", "ACM certificate of the service names", cert_arn);
    (t, Outputs { load_balancer_arn, load_balancer_full_name, target_group_arn, target_group_full_name, access_log_bucket })
}
