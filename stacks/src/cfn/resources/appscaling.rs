use crate::cfn::{props, resource, Expr};

resource!("AWS::ApplicationAutoScaling::ScalableTarget", ScalableTarget {
    max_capacity: Expr,
    min_capacity: Expr,
    resource_id: Expr,
    scalable_dimension: Expr,
    service_namespace: Expr,
    #[serde(rename = "RoleARN")]
    role_arn: Option<Expr>,
});

resource!("AWS::ApplicationAutoScaling::ScalingPolicy", ScalingPolicy {
    policy_name: Expr,
    policy_type: Expr,
    scaling_target_id: Option<Expr>,
    target_tracking_scaling_policy_configuration: Option<TargetTracking>,
});

props!(TargetTracking {
    target_value: Expr,
    predefined_metric_specification: Option<PredefinedMetric>,
    scale_in_cooldown: Option<Expr>,
    scale_out_cooldown: Option<Expr>,
    disable_scale_in: Option<Expr>,
});

props!(PredefinedMetric { predefined_metric_type: Expr, resource_label: Option<Expr> });
