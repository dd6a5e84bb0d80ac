use crate::cfn::{props, resource, Expr};

resource!("AWS::AutoScaling::AutoScalingGroup", AutoScalingGroup {
    min_size: Expr,
    max_size: Expr,
    desired_capacity: Option<Expr>,
    #[serde(rename = "VPCZoneIdentifier")]
    vpc_zone_identifier: Option<Vec<Expr>>,
    launch_template: Option<LaunchTemplateSpec>,
    health_check_type: Option<Expr>,
    health_check_grace_period: Option<Expr>,
    default_instance_warmup: Option<Expr>,
    new_instances_protected_from_scale_in: Option<Expr>,
    capacity_rebalance: Option<Expr>,
    metrics_collection: Option<Vec<MetricsCollection>>,
    tags: Option<Vec<AsgTag>>,
});

props!(LaunchTemplateSpec { launch_template_id: Expr, version: Expr });
props!(MetricsCollection { granularity: Expr });
props!(AsgTag { key: String, value: Expr, propagate_at_launch: bool });
