//! Alarms and their topic, and the dashboard: EFS burst credits (bursting
//! mode) and throughput, and the sizing guide's scale-up signals (ECS CPU and
//! memory, ALB P95 latency, 5xx per hour, unhealthy targets).

use serde_json::json;

use crate::cfn::resources::cloudwatch::{Alarm, Dashboard, Dimension, Metric, MetricDataQuery, MetricStat};
use crate::cfn::resources::sns::{Subscription, Topic, TopicPolicy};
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

fn dim(name: &str, value: &Expr) -> Dimension {
    Dimension { name: name.into(), value: value.clone() }
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
    let name = |suffix: &str| Some(Expr::str(ctx.name(suffix)));
    let base = |suffix: &str, description: &str| Alarm {
        alarm_name: name(suffix),
        alarm_description: Some(description.into()),
        alarm_actions: Some(actions.clone()),
        ok_actions: Some(actions.clone()),
        treat_missing_data: Some("notBreaching".into()),
        ..Default::default()
    };
    let mut alarms: Vec<Res<Alarm>> = Vec::new();

    if cfg.storage.throughput_mode == ThroughputMode::Bursting {
        alarms.push(t.add("EfsBurstCreditsAlarm", Alarm {
            namespace: Some("AWS/EFS".into()),
            metric_name: Some("BurstCreditBalance".into()),
            dimensions: Some(vec![dim("FileSystemId", &fs_id)]),
            statistic: Some("Minimum".into()),
            period: Some(300u32.into()),
            evaluation_periods: 3u32.into(),
            threshold: Some(Expr::Int(m.efs_burst_credit_threshold as i64)),
            comparison_operator: "LessThanThreshold".into(),
            ..base("efs-burst-credits", "EFS burst credits are running out: package listing will slow down. Fix: set storage.throughput_mode = \"elastic\" (or \"provisioned\") in pypictl.toml and run `pypictl deploy`.")
        }).handle());
    }
    alarms.push(t.add("EfsThroughputAlarm", Alarm {
        namespace: Some("AWS/EFS".into()),
        metric_name: Some("PercentIOLimit".into()),
        dimensions: Some(vec![dim("FileSystemId", &fs_id)]),
        statistic: Some("Maximum".into()),
        period: Some(300u32.into()),
        evaluation_periods: 3u32.into(),
        threshold: Some(80u32.into()),
        comparison_operator: "GreaterThanThreshold".into(),
        ..base("efs-throughput", "EFS I/O above 80 % of its limit for 15 minutes: requests may be throttled. Fix: check storage.throughput_mode (elastic is the default); for 1000+ packages enable cloudfront.")
    }).handle());
    alarms.push(t.add("EcsCpuAlarm", Alarm {
        namespace: Some("AWS/ECS".into()),
        metric_name: Some("CPUUtilization".into()),
        dimensions: Some(vec![dim("ClusterName", &cluster), dim("ServiceName", &service)]),
        statistic: Some("Average".into()),
        period: Some(300u32.into()),
        evaluation_periods: 2u32.into(),
        threshold: Some(80u32.into()),
        comparison_operator: "GreaterThanThreshold".into(),
        ..base("ecs-cpu-high", "ECS service CPU above 80 % for 10 minutes. Fix: a larger instance type, e.g. `pypictl upgrade --instance-type c6a.xlarge`.")
    }).handle());
    alarms.push(t.add("EcsMemoryAlarm", Alarm {
        namespace: Some("AWS/ECS".into()),
        metric_name: Some("MemoryUtilization".into()),
        dimensions: Some(vec![dim("ClusterName", &cluster), dim("ServiceName", &service)]),
        statistic: Some("Average".into()),
        period: Some(300u32.into()),
        evaluation_periods: 2u32.into(),
        threshold: Some(90u32.into()),
        comparison_operator: "GreaterThanThreshold".into(),
        ..base("ecs-memory-high", "ECS service memory above 90 %: containers risk OOM kills. Fix: `pypictl upgrade --container-memory 1024` (or a larger instance type).")
    }).handle());
    alarms.push(t.add("LatencyP95Alarm", Alarm {
        namespace: Some("AWS/ApplicationELB".into()),
        metric_name: Some("TargetResponseTime".into()),
        dimensions: Some(vec![dim("LoadBalancer", &lb_name)]),
        extended_statistic: Some("p95".into()),
        period: Some(300u32.into()),
        evaluation_periods: 3u32.into(),
        threshold: Some(5u32.into()),
        comparison_operator: "GreaterThanThreshold".into(),
        ..base("alb-p95-latency", "P95 response time above 5 s for 15 minutes. Fix: check `pypictl doctor`; scale up with `pypictl upgrade --instance-type ...`.")
    }).handle());
    let count = |id: &str, metric: &str| MetricDataQuery {
        id: id.into(),
        metric_stat: Some(MetricStat {
            metric: Metric { namespace: "AWS/ApplicationELB".into(), metric_name: metric.into(), dimensions: Some(vec![dim("LoadBalancer", &lb_name)]) },
            period: 3600u32.into(),
            stat: "Sum".into(),
        }),
        return_data: Some(false),
        ..Default::default()
    };
    alarms.push(t.add("Http5xxAlarm", Alarm {
        metrics: Some(vec![
            count("target", "HTTPCode_Target_5XX_Count"),
            count("elb", "HTTPCode_ELB_5XX_Count"),
            MetricDataQuery {
                id: "total".into(),
                expression: Some("FILL(target, 0) + FILL(elb, 0)".into()),
                label: Some("5xx responses per hour".into()),
                return_data: Some(true),
                ..Default::default()
            },
        ]),
        evaluation_periods: 1u32.into(),
        threshold: Some(10u32.into()),
        comparison_operator: "GreaterThanThreshold".into(),
        ..base("5xx-errors", "More than 10 5xx responses in an hour. Fix: run `pypictl doctor` (stopped tasks, target health, OOM kills).")
    }).handle());
    alarms.push(t.add("UnhealthyHostsAlarm", Alarm {
        namespace: Some("AWS/ApplicationELB".into()),
        metric_name: Some("UnHealthyHostCount".into()),
        dimensions: Some(vec![dim("TargetGroup", &tg_name), dim("LoadBalancer", &lb_name)]),
        statistic: Some("Maximum".into()),
        period: Some(60u32.into()),
        evaluation_periods: 5u32.into(),
        datapoints_to_alarm: Some(3u32.into()),
        threshold: Some(0u32.into()),
        comparison_operator: "GreaterThanThreshold".into(),
        ..base("unhealthy-hosts", "Targets failing the /health check. Fix: run `pypictl doctor` (stopped-task reasons, OOM kills, EFS throughput).")
    }).handle());

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
    t.output("AlarmArns", "ARNs of the CloudWatch alarms, comma-separated", Expr::join(",", alarms.iter().map(|a| a.att("Arn")).collect()));
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
