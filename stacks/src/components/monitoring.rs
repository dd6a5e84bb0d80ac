//! Alarms and their topic, and the dashboard: EFS burst credits (bursting
//! mode) and throughput, and the sizing guide's scale-up signals (ECS CPU and
//! memory, ALB P95 latency, 5xx per hour, unhealthy targets). The alarms are
//! the rows of [`crate::alarms::TABLE`], which `pypictl doctor` reads too.

use serde_json::json;

use crate::cfn::resources::cloudwatch::{Alarm, Dashboard, Dimension, Metric, MetricDataQuery, MetricStat};
use crate::cfn::resources::sns::{Subscription, Topic, TopicPolicy};
use crate::alarms::{self, Dim, Measure};
use crate::cfn::{Expr, PolicyDocument, Res, StackOutput, Statement, Template};
use crate::config::ThroughputMode;

use super::{encryption, insecure_transport, load_balancer, same_account, service, storage, Ctx};

pub struct Inputs<'a> {
    pub enc: &'a encryption::Outputs,
    pub storage: &'a storage::Outputs,
    pub lb: &'a load_balancer::Outputs,
    pub service: &'a service::Outputs,
    pub cluster_name: &'a StackOutput,
}

pub struct Outputs {
    pub topic_arn: StackOutput,
}

/// Dashboards are global to the account (their ARNs have no region:
/// `arn:aws:cloudwatch::<account>:dashboard/<name>`, CloudWatch API
/// reference, PutDashboard): the region keeps the same deployment in two
/// regions from sharing, and overwriting, one dashboard.
pub fn dashboard_name(ctx: Ctx) -> String {
    format!("{}-{}", ctx.name("dashboard"), ctx.cfg.region)
}

pub fn build(ctx: Ctx, inputs: Inputs) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let m = &cfg.monitoring;
    let mut t = Template::new("Monitoring", format!("pypictl {}: alarms, notifications and dashboard", cfg.service_name));
    let key_arn = t.import(&inputs.enc.key_arn, "KMS key that encrypts the alarm topic");
    let fs_id = t.import(&inputs.storage.file_system_id, "EFS file system");
    let lb_name = t.import(&inputs.lb.load_balancer_full_name, "Load balancer (CloudWatch dimension)");
    let tg_name = t.import(&inputs.lb.target_group_full_name, "Target group (CloudWatch dimension)");
    let cluster = t.import(inputs.cluster_name, "ECS cluster");
    let service = t.import(&inputs.service.service_name, "ECS service");

    let topic = t
        .add(
            "AlarmTopic",
            Topic {
                display_name: Some(Expr::str(format!("{} alarms", cfg.service_name))),
                kms_master_key_id: Some(key_arn),
                subscription: Some(m.alarm_emails.iter().map(|e| Subscription { endpoint: e.into(), protocol: "email".into() }).collect()),
                tags: None,
            },
        )
        .handle();
    t.add(
        "AlarmTopicPolicy",
        TopicPolicy {
            topics: vec![topic.r()],
            policy_document: PolicyDocument::new(vec![
                Statement::allow(&["sns:Publish"]).sid("CloudWatchAlarmsPublish").service(&["cloudwatch.amazonaws.com"]).on(vec![topic.r()]).when(same_account()),
                Statement::deny(&["sns:Publish"]).sid("RefuseUnencryptedTransport").aws(vec!["*".into()]).on(vec![topic.r()]).when(insecure_transport()),
            ])
            .to_expr(),
        },
    );

    let mut actions = vec![topic.r()];
    actions.extend(m.alarm_topic_arns.iter().map(Expr::from));
    let value = |d: Dim| match d {
        Dim::FileSystemId => &fs_id,
        Dim::ClusterName => &cluster,
        Dim::ServiceName => &service,
        Dim::LoadBalancer => &lb_name,
        Dim::TargetGroup => &tg_name,
    };
    let dimensions = |metric: &alarms::Metric| Some(metric.dimensions.iter().map(|d| Dimension { name: d.name().into(), value: value(*d).clone() }).collect());
    let mut resources: Vec<Res<Alarm>> = Vec::new();
    for spec in alarms::of(cfg) {
        let mut alarm = Alarm {
            alarm_name: Some(Expr::str(ctx.name(spec.suffix))),
            alarm_description: Some(spec.advice.into()),
            evaluation_periods: spec.evaluation_periods.into(),
            datapoints_to_alarm: spec.datapoints_to_alarm.map(Expr::from),
            threshold: Some(Expr::Int(spec.threshold(cfg) as i64)),
            comparison_operator: spec.comparison.as_str().into(),
            treat_missing_data: Some("notBreaching".into()),
            alarm_actions: Some(actions.clone()),
            ok_actions: Some(actions.clone()),
            ..Default::default()
        };
        match spec.measure {
            Measure::Stat { metric, statistic } => {
                alarm.namespace = Some(metric.namespace.into());
                alarm.metric_name = Some(metric.name.into());
                alarm.dimensions = dimensions(&metric);
                if statistic.is_extended() {
                    alarm.extended_statistic = Some(statistic.as_str().into());
                } else {
                    alarm.statistic = Some(statistic.as_str().into());
                }
                alarm.period = Some(spec.period_seconds.into());
            }
            Measure::Sum { terms, statistic, label } => {
                let mut queries: Vec<MetricDataQuery> = terms
                    .iter()
                    .map(|(id, metric)| MetricDataQuery {
                        id: (*id).into(),
                        metric_stat: Some(MetricStat {
                            metric: Metric { namespace: metric.namespace.into(), metric_name: metric.name.into(), dimensions: dimensions(metric) },
                            period: spec.period_seconds.into(),
                            stat: statistic.as_str().into(),
                        }),
                        return_data: Some(false),
                        ..Default::default()
                    })
                    .collect();
                queries.push(MetricDataQuery {
                    id: "total".into(),
                    expression: Some(terms.iter().map(|(id, _)| format!("FILL({id}, 0)")).collect::<Vec<_>>().join(" + ").into()),
                    label: Some(label.into()),
                    return_data: Some(true),
                    ..Default::default()
                });
                alarm.metrics = Some(queries);
            }
        }
        resources.push(t.add(spec.logical_id, alarm).handle());
    }

    if m.dashboard {
        let body = dashboard_body(&cfg.region, cfg.storage.throughput_mode == ThroughputMode::Bursting);
        let dashboard = t
            .add("Dashboard", Dashboard { dashboard_name: Some(Expr::str(dashboard_name(ctx))), dashboard_body: Expr::sub(body) })
            .handle();
        t.output(
            "DashboardUrl",
            "CloudWatch dashboard",
            Expr::sub_with(
                "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${Name}",
                vec![("Name", dashboard.r())],
            ),
        );
    }

    let topic_arn = t.export("AlarmTopicArn", "SNS topic of the alarm notifications", topic.r());
    t.output("AlarmArns", "ARNs of the CloudWatch alarms, comma-separated", Expr::join(",", resources.iter().map(|a| a.att("Arn")).collect()));
    (t, Outputs { topic_arn })
}

/// The dashboard body as an `Fn::Sub` template over this stack's parameters.
fn dashboard_body(region: &str, bursting: bool) -> String {
    let widget = |x: u32, y: u32, title: &str, metrics: serde_json::Value, stat: &str| {
        json!({
            "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": { "title": title, "region": region, "view": "timeSeries", "stat": stat, "period": 60, "metrics": metrics }
        })
    };
    let svc = json!(["ClusterName", "${ClusterName}", "ServiceName", "${ServiceName}"]);
    let with = |ns: &str, metric: &str, dims: &serde_json::Value, opts: serde_json::Value| {
        let mut row = vec![json!(ns), json!(metric)];
        row.extend(dims.as_array().unwrap().iter().cloned());
        row.push(opts);
        serde_json::Value::Array(row)
    };
    let lb = json!(["LoadBalancer", "${LoadBalancerFullName}"]);
    let tg = json!(["TargetGroup", "${TargetGroupFullName}", "LoadBalancer", "${LoadBalancerFullName}"]);
    let fs = json!(["FileSystemId", "${FileSystemId}"]);
    let mut efs_metrics = vec![
        with("AWS/EFS", "PercentIOLimit", &fs, json!({"stat": "Maximum"})),
        with("AWS/EFS", "ClientConnections", &fs, json!({"stat": "Sum", "yAxis": "right"})),
    ];
    if bursting {
        efs_metrics.push(with("AWS/EFS", "BurstCreditBalance", &fs, json!({"stat": "Minimum", "yAxis": "right"})));
    }
    let widgets = vec![
        widget(0, 0, "ECS service CPU and memory (%)", json!([
            with("AWS/ECS", "CPUUtilization", &svc, json!({})),
            with("AWS/ECS", "MemoryUtilization", &svc, json!({})),
        ]), "Average"),
        widget(12, 0, "Tasks running (Container Insights)", json!([
            with("ECS/ContainerInsights", "RunningTaskCount", &svc, json!({})),
            with("ECS/ContainerInsights", "DesiredTaskCount", &svc, json!({})),
        ]), "Average"),
        widget(0, 6, "ALB response time (s)", json!([
            with("AWS/ApplicationELB", "TargetResponseTime", &lb, json!({"stat": "p50"})),
            with("AWS/ApplicationELB", "TargetResponseTime", &lb, json!({"stat": "p95"})),
            with("AWS/ApplicationELB", "TargetResponseTime", &lb, json!({"stat": "p99"})),
        ]), "p95"),
        widget(12, 6, "ALB requests and errors", json!([
            with("AWS/ApplicationELB", "RequestCount", &lb, json!({})),
            with("AWS/ApplicationELB", "HTTPCode_Target_4XX_Count", &lb, json!({})),
            with("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", &lb, json!({})),
            with("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", &lb, json!({})),
        ]), "Sum"),
        widget(0, 12, "Target health", json!([
            with("AWS/ApplicationELB", "HealthyHostCount", &tg, json!({})),
            with("AWS/ApplicationELB", "UnHealthyHostCount", &tg, json!({})),
        ]), "Maximum"),
        widget(12, 12, "EFS I/O limit (%) and connections", serde_json::Value::Array(efs_metrics), "Maximum"),
        widget(0, 18, "Container CPU and memory used (Container Insights)", json!([
            with("ECS/ContainerInsights", "CpuUtilized", &svc, json!({})),
            with("ECS/ContainerInsights", "MemoryUtilized", &svc, json!({"yAxis": "right"})),
        ]), "Average"),
        widget(12, 18, "EFS throughput (bytes)", json!([
            with("AWS/EFS", "MeteredIOBytes", &fs, json!({})),
            with("AWS/EFS", "DataReadIOBytes", &fs, json!({})),
            with("AWS/EFS", "DataWriteIOBytes", &fs, json!({})),
        ]), "Sum"),
    ];
    serde_json::to_string(&json!({ "widgets": widgets })).expect("JSON")
}
