use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::ElasticLoadBalancingV2::LoadBalancer", LoadBalancer {
    scheme: Option<Expr>,
    #[serde(rename = "Type")]
    type_: Option<Expr>,
    ip_address_type: Option<Expr>,
    subnets: Option<Vec<Expr>>,
    security_groups: Option<Vec<Expr>>,
    load_balancer_attributes: Option<Vec<KeyValue>>,
    tags: Option<Vec<Tag>>,
});

props!(KeyValue { key: Expr, value: Expr });

resource!("AWS::ElasticLoadBalancingV2::TargetGroup", TargetGroup {
    port: Option<Expr>,
    protocol: Option<Expr>,
    protocol_version: Option<Expr>,
    vpc_id: Option<Expr>,
    target_type: Option<Expr>,
    health_check_enabled: Option<bool>,
    health_check_path: Option<Expr>,
    health_check_protocol: Option<Expr>,
    health_check_port: Option<Expr>,
    health_check_interval_seconds: Option<Expr>,
    health_check_timeout_seconds: Option<Expr>,
    healthy_threshold_count: Option<Expr>,
    unhealthy_threshold_count: Option<Expr>,
    matcher: Option<Matcher>,
    target_group_attributes: Option<Vec<KeyValue>>,
    tags: Option<Vec<Tag>>,
});

props!(Matcher { http_code: Expr });

resource!("AWS::ElasticLoadBalancingV2::Listener", Listener {
    load_balancer_arn: Expr,
    port: Option<Expr>,
    protocol: Option<Expr>,
    ssl_policy: Option<Expr>,
    certificates: Option<Vec<Certificate>>,
    default_actions: Vec<Action>,
});

props!(Certificate { certificate_arn: Expr });

props!(Action {
    #[serde(rename = "Type")]
    type_: Expr,
    target_group_arn: Option<Expr>,
    redirect_config: Option<RedirectConfig>,
    fixed_response_config: Option<FixedResponseConfig>,
});

props!(RedirectConfig { protocol: Option<Expr>, port: Option<Expr>, status_code: Expr, host: Option<Expr>, path: Option<Expr>, query: Option<Expr> });
props!(FixedResponseConfig { status_code: Expr, content_type: Option<Expr>, message_body: Option<Expr> });
