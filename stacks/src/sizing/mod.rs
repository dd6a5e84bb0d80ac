//! Capacity planning: how many gunicorn workers, CPU units, tasks and
//! instances a configuration gets, and what it costs. The rules are written
//! down in docs/sizing.md; its worked examples are unit tests.
//!
//! This module holds the input, AWS's bounds on it and the per-task
//! formulas; `capacity` the plan built from them, `cost` its monthly cost,
//! `profiles` the guide's workload profiles and burst expectations, and
//! `advice` what to change when a deployment hits a limit.

use crate::config::Config;

pub mod advice;
mod capacity;
mod cost;
mod profiles;

pub use capacity::{deployment_minimum_healthy_percent, plan, task_shares, CapacityPlan, TaskShares};
pub use cost::{CostEstimate, CostTier, COST_BASIS, HOURS_PER_MONTH};
pub use profiles::{burst_expectation, BurstExpectation, Profile, BURST_EXPECTATIONS, PROFILES};

/// Memory the formulas keep back on every instance: 300 MB for the OS, ECS
/// agent and CloudWatch agent, 500 MB of page cache for EFS metadata.
pub const RESERVED_RAM_MB: i64 = 800;
/// CPU units kept back for the ECS agent and CloudWatch.
pub const RESERVED_CPU_UNITS: i64 = 128;

/// The largest `cpu`, `memory` and `memoryReservation` of an ECS container
/// definition: ECS holds them as 32-bit signed integers (Amazon ECS API
/// reference, ContainerDefinition:
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
pub const ECS_INT_MAX: u32 = i32::MAX as u32;
/// The largest Auto Scaling group pypictl plans: the capacity provider's
/// `maximumScalingStepSize`, which pypictl sets to the group's MaxSize, is
/// 1-10,000 (Amazon ECS API reference, ManagedScaling:
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ManagedScaling.html).
/// (ECS registers at most 5,000 instances in one cluster, "Amazon ECS service
/// quotas"; this bound only refuses what AWS refuses outright.)
pub const MAX_ASG_SIZE: u32 = 10_000;
/// The largest task count pypictl plans: the same 10,000 as the group, the
/// bound for the ECS service's desired count and its scaling maximum. With
/// these bounds every product in [`plan`] fits a u32.
pub const MAX_TASK_COUNT: u32 = 10_000;

/// What sizing needs to know; every `Option` is "auto-calculate".
#[derive(Clone, Debug, PartialEq)]
pub struct SizingInput {
    pub instance_type: String,
    pub container_memory: u32,
    pub container_memory_reservation: Option<u32>,
    pub container_cpu: Option<u32>,
    pub gunicorn_workers: Option<u32>,
    pub asg_min_size: Option<u32>,
    pub asg_max_size: Option<u32>,
    pub task_min_count: Option<u32>,
    pub task_max_count: Option<u32>,
    /// Number of ASG subnets: the instance count when asg_min_size is unset.
    pub asg_subnet_count: u32,
    /// `service.expected_projects`: sizes each task's page indexer.
    pub expected_projects: u32,
}

impl SizingInput {
    pub fn from_config(cfg: &Config) -> SizingInput {
        SizingInput {
            instance_type: cfg.compute.instance_type.clone(),
            container_memory: cfg.service.container_memory,
            container_memory_reservation: cfg.service.container_memory_reservation,
            container_cpu: cfg.service.container_cpu,
            gunicorn_workers: cfg.service.gunicorn_workers,
            asg_min_size: cfg.compute.min_size,
            asg_max_size: cfg.compute.max_size,
            task_min_count: cfg.service.task_min_count,
            task_max_count: cfg.service.task_max_count,
            asg_subnet_count: cfg.network.asg_subnets.len() as u32,
            expected_projects: cfg.service.expected_projects,
        }
    }

    /// The defaults on `instance_type`, on two instances (`pypictl size
    /// --instance-type T` without a config file).
    pub fn defaults_for(instance_type: &str) -> SizingInput {
        SizingInput {
            instance_type: instance_type.to_string(),
            container_memory: 512,
            container_memory_reservation: None,
            container_cpu: None,
            gunicorn_workers: None,
            asg_min_size: None,
            asg_max_size: None,
            task_min_count: None,
            task_max_count: None,
            asg_subnet_count: 2,
            expected_projects: crate::indexer::DEFAULT_EXPECTED_PROJECTS,
        }
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SizingError {
    #[error("unknown instance type `{name}` (not in pypictl's catalogue; known in this family: {})", suggestions.join(", "))]
    UnknownInstanceType { name: String, suggestions: Vec<&'static str> },
    #[error("{reason}")]
    DoesNotFit { reason: String },
    /// A value (set, or auto-calculated from others) beyond what AWS takes;
    /// `key` is its dotted key in pypictl.toml.
    #[error("`{key}` = {value}: {rule}")]
    OutOfRange { key: &'static str, value: String, rule: String },
}

pub fn gunicorn_workers(container_memory: u32) -> u32 {
    (container_memory / 128).clamp(2, 8)
}

/// workers × 150 + 40, or None when that is no u32 (gunicorn_workers is
/// validated to 1-16; this only keeps a bad value from panicking).
pub fn container_cpu(workers: u32) -> Option<u32> {
    workers.checked_mul(150)?.checked_add(40)
}

pub fn memory_reservation(container_memory: u32) -> u32 {
    // floor(0.75 × M), in integers so that no rounding can creep in; in u64,
    // because 3 × M overflows a u32 from M = 1,431,655,766.
    u32::try_from(u64::from(container_memory) * 3 / 4).expect("three quarters of a u32 is a u32")
}

/// The inputs beyond AWS's bounds, each naming its key in pypictl.toml.
/// [`plan`] refuses to plan while there are any; validation reports them all.
pub fn out_of_range(input: &SizingInput) -> Vec<SizingError> {
    let ecs = "ECS holds it as a 32-bit integer (Amazon ECS API reference, ContainerDefinition)";
    let asg = "the capacity provider's maximumScalingStepSize, set to the group's MaxSize, is at most 10000 (Amazon ECS API reference, ManagedScaling)";
    let tasks = "pypictl's bound for an ECS service's desired count and scaling maximum";
    let checks: [(&'static str, Option<u32>, u32, &str); 7] = [
        ("service.container_memory", Some(input.container_memory), ECS_INT_MAX, ecs),
        ("service.container_memory_reservation", input.container_memory_reservation, ECS_INT_MAX, ecs),
        ("service.container_cpu", input.container_cpu, ECS_INT_MAX, ecs),
        ("compute.min_size", input.asg_min_size, MAX_ASG_SIZE, asg),
        ("compute.max_size", input.asg_max_size, MAX_ASG_SIZE, asg),
        ("service.task_min_count", input.task_min_count, MAX_TASK_COUNT, tasks),
        ("service.task_max_count", input.task_max_count, MAX_TASK_COUNT, tasks),
    ];
    checks
        .into_iter()
        .filter_map(|(key, value, max, why)| {
            value.filter(|v| *v > max).map(|v| SizingError::OutOfRange { key, value: v.to_string(), rule: format!("must be at most {max}: {why}") })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn on(instance_type: &str, memory: u32) -> CapacityPlan {
        plan(&SizingInput { container_memory: memory, ..SizingInput::defaults_for(instance_type) }).unwrap()
    }

    #[test]
    fn worker_formula_from_the_reference_examples() {
        assert_eq!(gunicorn_workers(128), 2);
        assert_eq!(gunicorn_workers(256), 2);
        assert_eq!(gunicorn_workers(512), 4);
        assert_eq!(gunicorn_workers(768), 6);
        assert_eq!(gunicorn_workers(1024), 8);
        assert_eq!(gunicorn_workers(4096), 8);
        assert_eq!(container_cpu(2), Some(340));
        assert_eq!(container_cpu(6), Some(940));
        assert_eq!(memory_reservation(1023), 767);
    }

    /// Values near u32::MAX are errors naming their key, never an overflow
    /// (a panic in debug builds, a wrong plan in release ones). Bounds: ECS
    /// container `memory`/`memoryReservation`/`cpu` are int32 (Amazon ECS API
    /// reference, ContainerDefinition); the capacity provider's
    /// maximumScalingStepSize, the group's MaxSize, is at most 10,000 (Amazon
    /// ECS API reference, ManagedScaling).
    #[test]
    fn values_near_u32_max_are_errors_naming_the_key() {
        let max = u32::MAX;
        let base = || SizingInput::defaults_for("c6a.xlarge");
        let cases: Vec<(SizingInput, &str)> = vec![
            (SizingInput { gunicorn_workers: Some(max), ..base() }, "service.gunicorn_workers"),
            (SizingInput { container_memory: max, ..base() }, "service.container_memory"),
            (SizingInput { asg_min_size: Some(max), ..base() }, "compute.min_size"),
            (SizingInput { asg_max_size: Some(max), ..base() }, "compute.max_size"),
            (SizingInput { task_min_count: Some(max), ..base() }, "service.task_min_count"),
            (SizingInput { task_max_count: Some(max), ..base() }, "service.task_max_count"),
            (SizingInput { container_cpu: Some(max), ..base() }, "service.container_cpu"),
            (SizingInput { container_memory_reservation: Some(max), ..base() }, "service.container_memory_reservation"),
        ];
        for (input, key) in cases {
            match plan(&input) {
                Err(SizingError::OutOfRange { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}: {other:?}"),
            }
            assert!(out_of_range(&input).iter().all(|e| matches!(e, SizingError::OutOfRange { key: k, .. } if *k == key)), "{key}");
        }
        // In range (int32) but 3 x M is no u32: the reservation is computed
        // without overflow, and the task does not fit.
        assert_eq!(memory_reservation(1_431_655_766), 1_073_741_824);
        assert_eq!(memory_reservation(max), 3_221_225_471);
        let err = plan(&SizingInput { container_memory: 1_431_655_766, ..base() }).unwrap_err();
        assert!(matches!(err, SizingError::DoesNotFit { .. }), "{err}");
        assert_eq!(container_cpu(max), None);
        // The bounds themselves are accepted.
        let p = plan(&SizingInput { asg_min_size: Some(MAX_ASG_SIZE), asg_max_size: Some(MAX_ASG_SIZE), task_min_count: Some(MAX_TASK_COUNT), task_max_count: Some(MAX_TASK_COUNT), ..base() }).unwrap();
        assert_eq!(p.max_placeable_tasks(), 6 * 10_000);
    }
}
