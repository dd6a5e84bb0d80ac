//! What `pypictl status` shows: the root and nested stacks' states, the
//! outputs, the ECS service's tasks, the targets' health and firing alarms.
//! Parts that cannot be read are reported as notes, never as a failure of
//! the whole status.

use pypictl_stacks::outputs::RootOutput;
use anyhow::Result;

use super::cloud::{Service, Stacks};
use super::model::{Alarm, ServiceSnapshot, StackSummary, Status, TargetHealth};
use super::retry::Patient;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NestedState {
    pub label: String,
    pub status: Status,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub stack: StackSummary,
    pub nested: Vec<NestedState>,
    pub service: Option<ServiceSnapshot>,
    pub targets: Option<Vec<TargetHealth>>,
    pub alarms: Option<Vec<Alarm>>,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

/// None when the stack does not exist.
pub async fn gather<C: Stacks + Service>(cloud: &C, stack_name: &str, alarm_prefix: &str) -> Result<Option<Report>> {
    let cloud = &Patient::new(cloud);
    let Some(stack) = cloud.describe_stack(stack_name).await? else { return Ok(None) };
    let mut notes = Vec::new();
    let nested = match cloud.stack_resources(&stack.id).await {
        Ok(resources) => resources
            .into_iter()
            .filter(|r| r.resource_type == "AWS::CloudFormation::Stack")
            .map(|r| NestedState { label: r.logical_id, status: r.status })
            .collect(),
        Err(e) => {
            notes.push(format!("nested stacks: {e}"));
            Vec::new()
        }
    };
    let service = match (stack.output(RootOutput::EcsClusterName), stack.output(RootOutput::EcsServiceName)) {
        (Some(cluster), Some(name)) => match cloud.service(cluster, name).await {
            Ok(s) => s,
            Err(e) => {
                notes.push(format!("ECS service: {e}"));
                None
            }
        },
        _ => None,
    };
    let targets = match stack.output(RootOutput::TargetGroupArn) {
        Some(tg) => match cloud.target_health(tg).await {
            Ok(t) => Some(t),
            Err(e) => {
                notes.push(format!("target health: {e}"));
                None
            }
        },
        None => None,
    };
    let alarms = match cloud.alarms_firing(alarm_prefix).await {
        Ok(a) => Some(a),
        Err(e) => {
            notes.push(format!("alarms: {e}"));
            None
        }
    };
    Ok(Some(Report { stack, nested, service, targets, alarms, notes }))
}
