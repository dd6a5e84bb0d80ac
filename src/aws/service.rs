//! [`Service`]: the ECS service, its load balancer's targets, its alarms.

use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use aws_sdk_ecs::types::DesiredStatus;

use super::errors::{cloud_error, millis, missing};
use super::AwsCloud;
use crate::engine::cloud::{Clock, CloudResult, Service};
use crate::engine::model::*;

fn count(n: i32) -> u32 {
    n.max(0) as u32
}

/// The last segment of an ARN (`.../cluster/<task id>`).
fn arn_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The task's stoppedReason, then `; <container>: <reason> (exit <code>)`
/// for each container that says something.
fn stop_reason(task: &aws_sdk_ecs::types::Task) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(r) = task.stopped_reason().filter(|r| !r.is_empty()) {
        parts.push(r.to_string());
    }
    for c in task.containers() {
        let reason = c.reason().filter(|r| !r.is_empty());
        if reason.is_none() && c.exit_code().is_none() {
            continue;
        }
        let mut part = format!("{}:", c.name().unwrap_or("container"));
        if let Some(r) = reason {
            part.push(' ');
            part.push_str(r);
        }
        if let Some(code) = c.exit_code() {
            part.push_str(&format!(" (exit {code})"));
        }
        parts.push(part);
    }
    parts.join("; ")
}

fn health_reason(h: &aws_sdk_elasticloadbalancingv2::types::TargetHealth) -> Option<String> {
    match (h.reason().map(|r| r.as_str()), h.description().filter(|d| !d.is_empty())) {
        (Some(r), Some(d)) => Some(format!("{r}: {d}")),
        (Some(r), None) => Some(r.to_string()),
        (None, Some(d)) => Some(d.to_string()),
        (None, None) => None,
    }
}

impl Service for AwsCloud {
    async fn service(&self, cluster: &str, service: &str) -> CloudResult<Option<ServiceSnapshot>> {
        let out = match self.ecs.describe_services().cluster(cluster).services(service).send().await {
            Ok(out) => out,
            Err(e) => {
                // No cluster yet: no service either.
                let e = cloud_error(e);
                return if e.kind == ErrorKind::NotFound { Ok(None) } else { Err(e) };
            }
        };
        // A missing service is reported in `failures` (reason MISSING).
        let Some(s) = out.services().iter().find(|s| s.status() != Some("INACTIVE")) else {
            return Ok(None);
        };
        let primary = s.deployments().iter().find(|d| d.status() == Some("PRIMARY"));
        Ok(Some(ServiceSnapshot {
            desired: count(s.desired_count()),
            running: count(s.running_count()),
            pending: count(s.pending_count()),
            failed: primary.map(|d| count(d.failed_tasks())).unwrap_or(0),
            rollout_state: primary.and_then(|d| d.rollout_state()).map(|r| r.as_str().to_string()),
            rollout_reason: primary.and_then(|d| d.rollout_state_reason()).filter(|r| !r.is_empty()).map(str::to_string),
            deployments: s.deployments().len() as u32,
            primary: primary.and_then(|d| d.id()).map(str::to_string),
            listed: s
                .deployments()
                .iter()
                .map(|d| ListedDeployment {
                    id: d.id().unwrap_or_default().to_string(),
                    rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                    rollout_reason: d.rollout_state_reason().filter(|r| !r.is_empty()).map(str::to_string),
                })
                .collect(),
        }))
    }

    async fn stopped_tasks(&self, cluster: &str, service: &str) -> CloudResult<Vec<StoppedTask>> {
        let mut arns: Vec<String> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .ecs
                .list_tasks()
                .cluster(cluster)
                .service_name(service)
                .desired_status(DesiredStatus::Stopped)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(cloud_error)?;
            arns.extend(out.task_arns().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }

        let mut tasks = Vec::with_capacity(arns.len());
        for batch in arns.chunks(100) {
            let out = self
                .ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(batch.to_vec()))
                .send()
                .await
                .map_err(cloud_error)?;
            for t in out.tasks() {
                let arn = t.task_arn().unwrap_or_default();
                let stopped_at = t.stopped_at().or(t.stopping_at()).or(t.created_at()).map(millis).unwrap_or_default();
                tasks.push(StoppedTask {
                    task_id: arn_id(arn).to_string(),
                    stopped_at,
                    reason: stop_reason(t),
                    started_by: t.started_by().filter(|s| !s.is_empty()).map(str::to_string),
                });
            }
        }
        tasks.sort_by(|a, b| b.stopped_at.cmp(&a.stopped_at).then_with(|| a.task_id.cmp(&b.task_id)));
        Ok(tasks)
    }

    async fn target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>> {
        let out = self
            .elbv2
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(cloud_error)?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let target = d.target().map(|t| match t.port() {
                    Some(port) => format!("{}:{port}", t.id().unwrap_or_default()),
                    None => t.id().unwrap_or_default().to_string(),
                });
                let health = d.target_health();
                TargetHealth {
                    target: target.unwrap_or_default(),
                    state: health.and_then(|h| h.state()).map(|s| s.as_str().to_string()).unwrap_or_default(),
                    reason: health.and_then(health_reason),
                }
            })
            .collect())
    }

    async fn alarms_firing(&self, prefix: &str) -> CloudResult<Vec<Alarm>> {
        let mut alarms = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .cloudwatch
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .state_value(StateValue::Alarm)
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(cloud_error)?;
            let state = |s: Option<&StateValue>| s.map(|s| s.as_str().to_string()).unwrap_or_default();
            alarms.extend(out.metric_alarms().iter().map(|a| Alarm {
                name: a.alarm_name().unwrap_or_default().to_string(),
                state: state(a.state_value()),
                reason: a.state_reason().unwrap_or_default().to_string(),
            }));
            alarms.extend(out.composite_alarms().iter().map(|a| Alarm {
                name: a.alarm_name().unwrap_or_default().to_string(),
                state: state(a.state_value()),
                reason: a.state_reason().unwrap_or_default().to_string(),
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(alarms),
            }
        }
    }

    async fn force_new_deployment(&self, cluster: &str, service: &str) -> CloudResult<Deployment> {
        let out = self.ecs.update_service().cluster(cluster).service(service).force_new_deployment(true).send().await.map_err(cloud_error)?;
        // UpdateService answers with the service, its new deployment listed as PRIMARY.
        let primary = out.service().and_then(|s| s.deployments().iter().find(|d| d.status() == Some("PRIMARY")));
        let primary = primary.ok_or_else(|| missing("PRIMARY deployment in UpdateService's answer"))?;
        Ok(Deployment {
            id: primary.id().ok_or_else(|| missing("deployment id"))?.to_string(),
            created_at: primary.created_at().map(millis).ok_or_else(|| missing("deployment createdAt"))?,
        })
    }

    async fn metric(&self, query: &MetricQuery) -> CloudResult<Option<f64>> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
        // The window ends at CloudWatch's now, not this machine's.
        let now = self.now();
        let start = now - i64::from(query.minutes) * 60_000;
        let metric = Metric::builder()
            .namespace(&query.namespace)
            .metric_name(&query.metric)
            .set_dimensions(Some(query.dimensions.iter().map(|(n, v)| Dimension::builder().name(n).value(v).build()).collect()))
            .build();
        let q = MetricDataQuery::builder()
            .id("m")
            .metric_stat(MetricStat::builder().metric(metric).period(query.period_seconds as i32).stat(&query.stat).build())
            .return_data(true)
            .build();
        let out = self
            .cloudwatch
            .get_metric_data()
            .metric_data_queries(q)
            .start_time(DateTime::from_millis(start))
            .end_time(DateTime::from_millis(now))
            .send()
            .await
            .map_err(cloud_error)?;
        let values: Vec<f64> = out.metric_data_results().iter().flat_map(|r| r.values().iter().copied()).collect();
        // The worst datapoint of the window: what an alarm would have seen.
        let worst = match query.stat.as_str() {
            "Minimum" => values.iter().copied().reduce(f64::min),
            "Sum" => (!values.is_empty()).then(|| values.iter().sum()),
            _ => values.iter().copied().reduce(f64::max),
        };
        Ok(worst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Container, Task};

    #[test]
    fn stop_reason_names_each_container() {
        let task = Task::builder()
            .stopped_reason("Essential container in task exited")
            .containers(Container::builder().name("pypiserver").reason("OutOfMemoryError: Container killed").exit_code(137).build())
            .containers(Container::builder().name("quiet").build())
            .containers(Container::builder().name("sidecar").exit_code(1).build())
            .build();
        assert_eq!(
            stop_reason(&task),
            "Essential container in task exited; pypiserver: OutOfMemoryError: Container killed (exit 137); sidecar: (exit 1)"
        );
        assert_eq!(stop_reason(&Task::builder().build()), "");
    }

    #[test]
    fn task_id_is_the_last_segment_of_its_arn() {
        assert_eq!(arn_id("arn:aws:ecs:us-east-1:123456789012:task/pypi/0abc"), "0abc");
        assert_eq!(arn_id("0abc"), "0abc");
    }
}
