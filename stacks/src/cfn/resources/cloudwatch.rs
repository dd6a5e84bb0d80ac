use crate::cfn::{props, resource, Expr};

resource!("AWS::CloudWatch::Alarm", Alarm {
    alarm_name: Option<Expr>,
    alarm_description: Option<Expr>,
    namespace: Option<Expr>,
    metric_name: Option<Expr>,
    dimensions: Option<Vec<Dimension>>,
    statistic: Option<Expr>,
    extended_statistic: Option<Expr>,
    period: Option<Expr>,
    metrics: Option<Vec<MetricDataQuery>>,
    evaluation_periods: Expr,
    datapoints_to_alarm: Option<Expr>,
    threshold: Option<Expr>,
    comparison_operator: Expr,
    treat_missing_data: Option<Expr>,
    alarm_actions: Option<Vec<Expr>>,
    #[serde(rename = "OKActions")]
    ok_actions: Option<Vec<Expr>>,
    unit: Option<Expr>,
});

props!(Dimension { name: Expr, value: Expr });

props!(MetricDataQuery {
    id: Expr,
    expression: Option<Expr>,
    label: Option<Expr>,
    metric_stat: Option<MetricStat>,
    return_data: Option<bool>,
});

props!(MetricStat { metric: Metric, period: Expr, stat: Expr });
props!(Metric { namespace: Expr, metric_name: Expr, dimensions: Option<Vec<Dimension>> });

resource!("AWS::CloudWatch::Dashboard", Dashboard { dashboard_name: Option<Expr>, dashboard_body: Expr });
