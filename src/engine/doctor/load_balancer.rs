//! Checks 5 (`alb_5xx`, `alb_p95_latency`): the load balancer's 5xx responses
//! and p95 response time, against the 5xx and latency alarms' thresholds.

use pypictl_stacks::alarms::{metrics, AlarmId, Metric, Statistic};
use pypictl_stacks::outputs::RootOutput;
use pypictl_stacks::sizing::advice::{doubled_memory, instance_fix};

use super::names::{ALB_5XX, ALB_LATENCY};
use super::{Check, Context};
use crate::engine::cloud::Service;

/// The load balancer's CloudWatch dimension (`app/<name>/<id>`) from its ARN.
pub fn load_balancer_dimension(arn: &str) -> Option<&str> {
    arn.split_once(":loadbalancer/").map(|(_, rest)| rest).filter(|rest| rest.split('/').count() == 3)
}

pub(super) async fn alb_checks<C: Service>(cloud: &C, ctx: &Context<'_>) -> (Check, Check) {
    let Some(lb) = ctx.output(RootOutput::PypiLoadBalancerArn).and_then(load_balancer_dimension) else {
        return (ctx.missing(ALB_5XX, RootOutput::PypiLoadBalancerArn), ctx.missing(ALB_LATENCY, RootOutput::PypiLoadBalancerArn));
    };
    // The 5xx alarm sums the load balancer's and the targets' counts; they
    // are read one by one to tell them apart.
    let errors_alarm = AlarmId::Http5xx.spec();
    let count = |metric: Metric| ctx.query(metric, errors_alarm.statistic(), &[lb]);
    let elb = cloud.metric(&count(metrics::ALB_ELB_5XX)).await;
    let target = cloud.metric(&count(metrics::ALB_TARGET_5XX)).await;
    let errors = match (elb, target) {
        (Err(e), _) | (_, Err(e)) => Check::unreadable(ALB_5XX, "the 5xx counts", &e, "cloudwatch:GetMetricData"),
        // A count without data is zero: the load balancer publishes no zeros.
        (Ok(elb), Ok(target)) => {
            let (elb, target) = (elb.unwrap_or(0.0), target.unwrap_or(0.0));
            let total = elb + target;
            let requests = cloud.metric(&ctx.query(metrics::ALB_REQUEST_COUNT, Statistic::Sum, &[lb])).await.ok().flatten().filter(|r| *r > 0.0);
            let share = requests.map(|r| format!(" of {r:.0} requests ({:.2} %)", 100.0 * total / r)).unwrap_or_default();
            let detail = format!("{total:.0} 5xx responses in the last hour{share}: {elb:.0} from the load balancer, {target:.0} from pypiserver");
            if errors_alarm.breached(ctx.cfg, total) {
                let mut hints = Vec::new();
                if elb >= target {
                    hints.push(format!(
                        "load-balancer 5xx (502/503/504) mean no healthy target or overwhelmed tasks: see the target_health and ecs_tasks checks; under bursts, {}",
                        instance_fix(ctx.cfg)
                    ));
                }
                if target > 0.0 {
                    hints.push(format!("pypiserver's own errors: read {}; uploads killed out of memory need `pypictl upgrade --container-memory {}`", ctx.log_group(), doubled_memory(ctx.cfg)));
                }
                Check::fail(ALB_5XX, detail, hints.join("; "))
            } else {
                Check::pass(ALB_5XX, detail)
            }
        }
    };
    let latency_alarm = AlarmId::AlbP95Latency.spec();
    let latency = match cloud.metric(&ctx.alarm_query(AlarmId::AlbP95Latency, &[lb])).await {
        Err(e) => Check::unreadable(ALB_LATENCY, "TargetResponseTime", &e, "cloudwatch:GetMetricData"),
        Ok(None) => Check::skip(ALB_LATENCY, "no TargetResponseTime data in the last hour (no requests)"),
        Ok(Some(v)) if latency_alarm.breached(ctx.cfg, v) => Check::warn(
            ALB_LATENCY,
            format!(
                "p95 response time reached {v:.1} s in the last hour (above {} s) on {}",
                latency_alarm.threshold(ctx.cfg),
                ctx.cfg.compute.instance_type
            ),
            instance_fix(ctx.cfg),
        ),
        Ok(Some(v)) => Check::pass(ALB_LATENCY, format!("p95 response time at most {v:.2} s in the last hour")),
    };
    (errors, latency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancer_dimension_is_after_loadbalancer() {
        assert_eq!(
            load_balancer_dimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/pypi-LoadB-1/50dc6c495c0c9188"),
            Some("app/pypi-LoadB-1/50dc6c495c0c9188")
        );
        assert_eq!(load_balancer_dimension("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1"), None);
    }
}
