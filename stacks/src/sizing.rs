//! Capacity planning: how many gunicorn workers, CPU units, tasks and
//! instances a configuration gets, and what it costs. The rules are written
//! down in docs/sizing.md; its worked examples are unit tests below.

use serde::Serialize;

use crate::catalogue::{self, InstanceType};
use crate::config::Config;

/// Memory the formulas keep back on every instance: 300 MB for the OS, ECS
/// agent and CloudWatch agent, 500 MB of page cache for EFS metadata.
pub const RESERVED_RAM_MB: i64 = 800;
/// CPU units kept back for the ECS agent and CloudWatch.
pub const RESERVED_CPU_UNITS: i64 = 128;
/// Hours in the month of the sizing guide's cost figures.
pub const HOURS_PER_MONTH: f64 = 730.0;

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
        }
    }
}

/// The sizing guide's cost profile a deployment falls in: EFS and ALB costs
/// are the guide's figures for that profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CostTier {
    Light,
    Medium,
    Heavy,
    VeryHeavy,
}

impl CostTier {
    pub fn of(it: &InstanceType) -> CostTier {
        match it.vcpus {
            0..=2 if it.burstable() => CostTier::Light,
            0..=2 => CostTier::Medium,
            3..=4 => CostTier::Heavy,
            _ => CostTier::VeryHeavy,
        }
    }

    /// (EFS storage, ALB base, ALB LCU) per month, from the sizing guide's
    /// cost analysis. The guide gives no Medium breakdown; Medium sits halfway
    /// between Light and Heavy.
    fn guide_figures(self) -> (f64, f64, f64) {
        match self {
            CostTier::Light => (0.30, 16.20, 1.0),
            CostTier::Medium => (1.50, 16.20, 2.0),
            CostTier::Heavy => (3.00, 16.20, 3.0),
            CostTier::VeryHeavy => (10.00, 16.20, 5.0),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostEstimate {
    pub tier: CostTier,
    pub ec2_usd: f64,
    pub efs_usd: f64,
    pub alb_usd: f64,
    pub total_usd: f64,
    pub basis: &'static str,
}

pub const COST_BASIS: &str = "sizing guide figures: EC2 on-demand (us-east-1, Linux) x 730 h for asg_min_size instances, plus the guide's EFS and ALB (base + LCU) estimates for this profile";

/// The capacity plan. Field names and order are `pypictl size --output json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapacityPlan {
    pub instance_type: String,
    pub vcpus: u32,
    pub memory_mib: u32,
    pub gunicorn_workers: u32,
    pub container_cpu: u32,
    pub container_memory: u32,
    pub container_memory_reservation: u32,
    pub available_ram_mb: i64,
    pub available_cpu_units: i64,
    pub tasks_per_instance_ram: i64,
    pub tasks_per_instance_cpu: i64,
    pub tasks_per_instance: u32,
    pub task_min_count: u32,
    pub task_max_count: u32,
    pub asg_min_size: u32,
    pub asg_max_size: u32,
    /// Task slots left free when task_max_count tasks run on asg_max_size
    /// instances (negative: not all of them can be placed).
    pub spare_task_slots_at_max: i64,
    /// The ECS service's minimumHealthyPercent: 100 while the peak leaves a
    /// free slot, lower when it does not (see [`deployment_minimum_healthy_percent`]).
    pub deployment_min_healthy_percent: u32,
    pub monthly_cost_usd: f64,
    pub cost: CostEstimate,
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

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn plan(input: &SizingInput) -> Result<CapacityPlan, SizingError> {
    let it = catalogue::lookup(&input.instance_type).ok_or_else(|| SizingError::UnknownInstanceType {
        name: input.instance_type.clone(),
        suggestions: catalogue::suggestions(&input.instance_type),
    })?;

    if let Some(e) = out_of_range(input).into_iter().next() {
        return Err(e);
    }
    let m = input.container_memory;
    let workers = input.gunicorn_workers.unwrap_or_else(|| gunicorn_workers(m));
    let cpu = match input.container_cpu {
        Some(cpu) => cpu,
        None => container_cpu(workers).filter(|cpu| *cpu <= ECS_INT_MAX).ok_or_else(|| SizingError::OutOfRange {
            key: "service.gunicorn_workers",
            value: workers.to_string(),
            rule: format!("makes container_cpu = workers x 150 + 40 more than {ECS_INT_MAX}, which ECS holds as a 32-bit integer (Amazon ECS API reference, ContainerDefinition)"),
        })?,
    };
    let reservation = input.container_memory_reservation.unwrap_or_else(|| memory_reservation(m));
    // A reservation of 0 disables the soft limit: ECS then reserves the hard limit.
    let reserved_per_task = if reservation == 0 { m } else { reservation };

    let available_ram = i64::from(it.memory_mib) - RESERVED_RAM_MB;
    let available_cpu = i64::from(it.vcpus) * 1024 - RESERVED_CPU_UNITS;
    let by_ram = available_ram.div_euclid(i64::from(reserved_per_task.max(1)));
    let by_cpu = available_cpu.div_euclid(i64::from(cpu.max(1)));
    if by_ram < 1 || by_cpu < 1 {
        let what = if by_ram < 1 {
            format!(
                "a task reserves {reserved_per_task} MB but {} leaves {available_ram} MB for tasks ({} MiB - {RESERVED_RAM_MB} MB for system and page cache)",
                it.name, it.memory_mib
            )
        } else {
            format!(
                "a task needs {cpu} CPU units but {} leaves {available_cpu} ({} vCPU x 1024 - {RESERVED_CPU_UNITS})",
                it.name, it.vcpus
            )
        };
        return Err(SizingError::DoesNotFit { reason: format!("no task fits on one {}: {what}", it.name) });
    }
    let tasks_per_instance = by_ram.max(1).min(by_cpu.max(1)) as u32;

    let instances = input.asg_min_size.unwrap_or(input.asg_subnet_count.max(1));
    // Auto-calculated counts are bounded like set ones; in u64 so that the
    // products cannot overflow before they are compared.
    let auto = |key: &'static str, n: u64, how: String| {
        u32::try_from(n).ok().filter(|n| *n <= MAX_TASK_COUNT).ok_or_else(|| SizingError::OutOfRange {
            key,
            value: "(unset)".into(),
            rule: format!("auto-calculates to {how} = {n}, more than {MAX_TASK_COUNT} tasks; set it, or plan fewer tasks per instance or fewer instances"),
        })
    };
    let task_min = match input.task_min_count {
        Some(t) => t,
        None => auto(
            "service.task_min_count",
            u64::from(tasks_per_instance) * u64::from(instances),
            format!("{tasks_per_instance} tasks per instance x {instances} instances"),
        )?,
    };
    let task_max = match input.task_max_count {
        Some(t) => t,
        None => auto("service.task_max_count", 2 * u64::from(task_min), format!("2 x task_min_count {task_min}"))?,
    };
    // Unset: enough instances for task_max_count, plus one instance of room,
    // so that a rolling deployment at the peak can start a new task before
    // it stops an old one (see `deployment_minimum_healthy_percent`).
    let asg_max = match input.asg_max_size {
        Some(n) => n,
        None => {
            let n = u64::from(task_max.div_ceil(tasks_per_instance)) + 1;
            u32::try_from(n).ok().filter(|n| *n <= MAX_ASG_SIZE).ok_or_else(|| SizingError::OutOfRange {
                key: "compute.max_size",
                value: "(unset)".into(),
                rule: format!("auto-calculates to {n} instances, more than {MAX_ASG_SIZE}; set it, or plan fewer tasks"),
            })?
            .max(instances)
        }
    };
    let slots = u64::from(tasks_per_instance) * u64::from(asg_max);
    let deployment_min_healthy = deployment_minimum_healthy_percent(u64::from(task_max), slots);

    let tier = CostTier::of(it);
    let (efs, alb_base, lcu) = tier.guide_figures();
    let ec2 = round_cents(f64::from(instances) * it.usd_per_hour * HOURS_PER_MONTH);
    let alb = round_cents(alb_base + lcu);
    let total = round_cents(ec2 + efs + alb);

    Ok(CapacityPlan {
        instance_type: it.name.to_string(),
        vcpus: it.vcpus,
        memory_mib: it.memory_mib,
        gunicorn_workers: workers,
        container_cpu: cpu,
        container_memory: m,
        container_memory_reservation: reservation,
        available_ram_mb: available_ram,
        available_cpu_units: available_cpu,
        tasks_per_instance_ram: by_ram,
        tasks_per_instance_cpu: by_cpu,
        tasks_per_instance,
        task_min_count: task_min,
        task_max_count: task_max,
        asg_min_size: instances,
        asg_max_size: asg_max,
        spare_task_slots_at_max: i64::try_from(slots).unwrap_or(i64::MAX) - i64::from(task_max),
        deployment_min_healthy_percent: deployment_min_healthy,
        monthly_cost_usd: total,
        cost: CostEstimate { tier, ec2_usd: ec2, efs_usd: efs, alb_usd: alb, total_usd: total, basis: COST_BASIS },
    })
}

/// The ECS service's minimumHealthyPercent for `task_max` tasks on `slots`
/// task slots. A rolling deployment (an upgrade, a new image, a password
/// rotation) starts a new task before it stops an old one only if a slot is
/// free; with every slot taken at the peak and 100 %, it can start nothing
/// and waits forever. ECS keeps at least ceil(desired × percent / 100) tasks
/// running (Amazon ECS Developer Guide, "Deploy Amazon ECS services by
/// replacing tasks"): with floor(100 × (placeable − 1) / task_max) it may stop
/// one task at the peak, then start its replacement in the freed slot.
pub fn deployment_minimum_healthy_percent(task_max: u64, slots: u64) -> u32 {
    if slots > task_max || task_max == 0 {
        return 100;
    }
    let placeable = task_max.min(slots);
    u32::try_from(100 * placeable.saturating_sub(1) / task_max).unwrap_or(100)
}

impl CapacityPlan {
    /// Capacity the ASG can hold at its maximum size (u64: the product of
    /// two u32 need not fit one).
    pub fn max_placeable_tasks(&self) -> u64 {
        u64::from(self.tasks_per_instance) * u64::from(self.asg_max_size)
    }

    /// Sizing-guide warnings about this plan (not errors: the user may know better).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if u64::from(self.task_max_count) > self.max_placeable_tasks() {
            w.push(format!(
                "task_max_count {} cannot all be placed: {} instances x {} tasks per instance = {}",
                self.task_max_count,
                self.asg_max_size,
                self.tasks_per_instance,
                self.max_placeable_tasks()
            ));
        }
        if self.asg_min_size > 4 {
            w.push(format!(
                "{} instances: the sizing guide recommends fewer, beefier instances (2-4) to reduce load variance across targets",
                self.asg_min_size
            ));
        }
        if self.asg_min_size < 2 {
            w.push("one instance has no high availability: the sizing guide recommends at least 2".into());
        }
        w
    }
}

/// The sizing guide's workload profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    pub key: &'static str,
    pub title: &'static str,
    pub packages: &'static str,
    pub users: &'static str,
    pub instance_type: &'static str,
    pub instances: u32,
    /// None: auto (enough instances for task_max_count).
    pub asg_max_size: Option<u32>,
    pub container_memory: u32,
}

pub const PROFILES: [Profile; 4] = [
    Profile { key: "light", title: "Light", packages: "< 50", users: "< 5", instance_type: "t3.small", instances: 2, asg_max_size: None, container_memory: 512 },
    Profile { key: "medium", title: "Medium", packages: "50-200", users: "5-20", instance_type: "c6a.large", instances: 2, asg_max_size: Some(4), container_memory: 512 },
    Profile { key: "heavy", title: "Heavy", packages: "200-500", users: "20-50", instance_type: "c6a.xlarge", instances: 2, asg_max_size: Some(4), container_memory: 512 },
    Profile { key: "very-heavy", title: "Very Heavy", packages: "500+", users: "50+", instance_type: "c6a.2xlarge", instances: 2, asg_max_size: Some(4), container_memory: 1024 },
];

impl Profile {
    pub fn sizing_input(&self) -> SizingInput {
        SizingInput {
            container_memory: self.container_memory,
            asg_min_size: Some(self.instances),
            asg_max_size: self.asg_max_size,
            ..SizingInput::defaults_for(self.instance_type)
        }
    }
}

/// What the sizing guide says a deployment on this profile does under the
/// reference's stress test (a burst of 510 simultaneous requests against two
/// instances). Only the heavy profile was measured; the other figures are the
/// guide's stated expectations, so fields it gives no number for are None.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurstExpectation {
    pub profile: &'static str,
    pub instance_type: &'static str,
    /// Simultaneous requests the figures are for.
    pub burst_requests: u32,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub throughput_rps: Option<f64>,
    /// Upper bound of the error rate under the burst, in percent.
    pub error_rate_pct: f64,
    /// True for the stress-tested baseline, false for the guide's estimates.
    pub measured: bool,
}

/// Sizing guide, "Validated Performance" (Heavy), the profiles' "Expected
/// Performance" and "Error Rate Expectations" (burst column).
pub const BURST_EXPECTATIONS: [BurstExpectation; 4] = [
    BurstExpectation { profile: "light", instance_type: "t3.small", burst_requests: 510, p95_ms: None, p99_ms: None, throughput_rps: None, error_rate_pct: 5.0, measured: false },
    BurstExpectation { profile: "medium", instance_type: "c6a.large", burst_requests: 510, p95_ms: Some(10_000), p99_ms: None, throughput_rps: None, error_rate_pct: 1.0, measured: false },
    BurstExpectation { profile: "heavy", instance_type: "c6a.xlarge", burst_requests: 510, p95_ms: Some(14_000), p99_ms: Some(20_000), throughput_rps: Some(20.0), error_rate_pct: 0.05, measured: true },
    BurstExpectation { profile: "very-heavy", instance_type: "c6a.2xlarge", burst_requests: 510, p95_ms: Some(15_000), p99_ms: None, throughput_rps: None, error_rate_pct: 0.05, measured: false },
];

/// The guide's burst figures for an instance type, if it has any.
pub fn burst_expectation(instance_type: &str) -> Option<BurstExpectation> {
    BURST_EXPECTATIONS.iter().copied().find(|e| e.instance_type == instance_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(instance_type: &str, memory: u32) -> CapacityPlan {
        plan(&SizingInput { container_memory: memory, ..SizingInput::defaults_for(instance_type) }).unwrap()
    }

    #[test]
    fn burst_expectations_follow_the_profiles_and_the_stress_test() {
        for (p, e) in PROFILES.iter().zip(BURST_EXPECTATIONS) {
            assert_eq!((p.key, p.instance_type), (e.profile, e.instance_type));
        }
        let heavy = burst_expectation("c6a.xlarge").unwrap();
        assert_eq!((heavy.p95_ms, heavy.p99_ms, heavy.throughput_rps, heavy.error_rate_pct), (Some(14_000), Some(20_000), Some(20.0), 0.05));
        assert!(heavy.measured);
        assert_eq!(burst_expectation("m7i.large"), None);
    }

    #[test]
    fn a_deployment_at_the_peak_can_replace_a_task() {
        // Auto: one instance of room above task_max.
        let light = on("t3.small", 512);
        assert_eq!((light.task_max_count, light.tasks_per_instance, light.asg_max_size), (12, 3, 5));
        assert_eq!((light.spare_task_slots_at_max, light.deployment_min_healthy_percent), (3, 100));
        // The guide's Heavy profile: ASG max 4, 4 x 6 = 24 slots = task_max.
        let heavy = PROFILES.iter().find(|p| p.key == "heavy").unwrap();
        let p = plan(&heavy.sizing_input()).unwrap();
        assert_eq!((p.task_max_count, p.max_placeable_tasks(), p.spare_task_slots_at_max), (24, 24, 0));
        assert_eq!(p.deployment_min_healthy_percent, 95);
        // ECS keeps ceil(desired x percent / 100) running: at the peak, one fewer.
        let keep = |desired: u64, pct: u32| (desired * u64::from(pct)).div_ceil(100);
        for t in 1..=300u64 {
            let pct = deployment_minimum_healthy_percent(t, t);
            assert!(keep(t, pct) < t && keep(t, pct) + 1 + t / 100 >= t, "{t} tasks on {t} slots: one (or 1 %) can be stopped, kept {}", keep(t, pct));
            assert_eq!(deployment_minimum_healthy_percent(t, t + 1), 100);
        }
    }

    /// docs/sizing.md's table of worked examples is what the code computes.
    #[test]
    fn the_documented_worked_examples_are_computed() {
        let doc = include_str!("../../docs/sizing.md");
        let table = doc.split("## Worked examples").nth(1).unwrap().split("\n\n").nth(1).unwrap();
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(rows.len(), 3, "{table}");
        let num = |s: &str| s.trim().parse::<i64>().unwrap_or_else(|_| panic!("{s:?}"));
        for row in rows {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            let instance = cells[0].split_whitespace().next().unwrap();
            let p = on(instance, num(cells[1]) as u32);
            let (per_instance, tasks) = (cells[7], cells[8]);
            let (fits, chosen) = per_instance.split_once(" → ").unwrap();
            let (by_ram, by_cpu) = fits.split_once(", ").unwrap();
            let (min, max) = tasks.split_whitespace().next().unwrap().split_once('–').unwrap();
            let documented = [num(cells[2]), num(cells[3]), num(cells[4]), num(cells[5]), num(cells[6]), num(by_ram), num(by_cpu), num(chosen), num(min), num(max)];
            let computed = [
                p.gunicorn_workers.into(),
                p.container_cpu.into(),
                p.container_memory_reservation.into(),
                p.available_ram_mb,
                p.available_cpu_units,
                p.tasks_per_instance_ram,
                p.tasks_per_instance_cpu,
                p.tasks_per_instance.into(),
                p.task_min_count.into(),
                p.task_max_count.into(),
            ];
            assert_eq!(documented, computed, "{row}");
        }
    }

    #[test]
    fn worked_example_t3_small_512() {
        let p = on("t3.small", 512);
        assert_eq!(p.gunicorn_workers, 4);
        assert_eq!(p.container_cpu, 640);
        assert_eq!(p.container_memory_reservation, 384);
        assert_eq!(p.available_ram_mb, 1248);
        assert_eq!(p.available_cpu_units, 1920);
        assert_eq!((p.tasks_per_instance_ram, p.tasks_per_instance_cpu, p.tasks_per_instance), (3, 3, 3));
        assert_eq!((p.asg_min_size, p.task_min_count, p.task_max_count), (2, 6, 12));
        // 12 tasks need 4 instances; one more leaves room to deploy at the peak.
        assert_eq!(p.asg_max_size, 5);
    }

    #[test]
    fn worked_example_c6a_xlarge_512() {
        let p = on("c6a.xlarge", 512);
        assert_eq!((p.tasks_per_instance_ram, p.tasks_per_instance_cpu, p.tasks_per_instance), (19, 6, 6));
        assert_eq!((p.task_min_count, p.task_max_count), (12, 24));
    }

    #[test]
    fn worked_example_c6a_2xlarge_1024() {
        let p = on("c6a.2xlarge", 1024);
        assert_eq!(p.gunicorn_workers, 8);
        assert_eq!(p.container_cpu, 1240);
        assert_eq!(p.tasks_per_instance, 6);
        assert_eq!(p.task_min_count, 12);
    }

    #[test]
    fn medium_profile_max_follows_the_formula_not_the_guide_figure() {
        // The guide's Medium example says 24; 2 x (2 x 3) is 12 and the formula stands.
        let medium = PROFILES.iter().find(|p| p.key == "medium").unwrap();
        let p = plan(&medium.sizing_input()).unwrap();
        assert_eq!((p.tasks_per_instance, p.task_min_count, p.task_max_count), (3, 6, 12));
        assert_eq!(p.asg_max_size, 4);
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

    #[test]
    fn overrides_win_over_auto_calculation() {
        let p = plan(&SizingInput {
            gunicorn_workers: Some(2),
            container_cpu: Some(256),
            container_memory_reservation: Some(256),
            asg_min_size: Some(3),
            task_min_count: Some(8),
            task_max_count: Some(16),
            asg_max_size: Some(5),
            ..SizingInput::defaults_for("c6a.xlarge")
        })
        .unwrap();
        assert_eq!((p.gunicorn_workers, p.container_cpu, p.container_memory_reservation), (2, 256, 256));
        assert_eq!((p.asg_min_size, p.asg_max_size, p.task_min_count, p.task_max_count), (3, 5, 8, 16));
        assert_eq!(p.tasks_per_instance_ram, 7392 / 256);
        assert_eq!(p.tasks_per_instance_cpu, 3968 / 256);
    }

    #[test]
    fn zero_reservation_reserves_the_hard_limit() {
        let p = plan(&SizingInput { container_memory_reservation: Some(0), ..SizingInput::defaults_for("t3.small") }).unwrap();
        assert_eq!(p.tasks_per_instance_ram, 1248 / 512);
    }

    #[test]
    fn instances_default_to_the_subnet_count() {
        let p = plan(&SizingInput { asg_subnet_count: 3, ..SizingInput::defaults_for("t3.small") }).unwrap();
        assert_eq!((p.asg_min_size, p.task_min_count), (3, 9));
    }

    #[test]
    fn a_size_that_fits_no_task_is_an_error() {
        let err = plan(&SizingInput { container_memory: 512, ..SizingInput::defaults_for("t3.micro") }).unwrap_err();
        assert!(err.to_string().contains("no task fits on one t3.micro"), "{err}");
        let err = plan(&SizingInput { container_cpu: Some(4096), ..SizingInput::defaults_for("c6a.large") }).unwrap_err();
        assert!(err.to_string().contains("CPU units"), "{err}");
        // The reference's light recommendation does fit: 256 MB on t3.micro.
        assert_eq!(plan(&SizingInput { container_memory: 256, ..SizingInput::defaults_for("t3.micro") }).unwrap().tasks_per_instance, 1);
    }

    #[test]
    fn unknown_type_names_the_family() {
        let err = plan(&SizingInput::defaults_for("c6a.huge")).unwrap_err();
        assert!(err.to_string().contains("`c6a.huge`") && err.to_string().contains("c6a.xlarge"), "{err}");
    }

    #[test]
    fn monthly_costs_match_the_sizing_guide() {
        // Light: 2 x $0.0208 x 730 = $30.37 EC2, total ~$48.
        let light = on("t3.small", 512);
        assert_eq!(light.cost.ec2_usd, 30.37);
        assert_eq!(light.monthly_cost_usd, 47.87);
        // Heavy: $223.38 EC2, total ~$245.
        let heavy = on("c6a.xlarge", 512);
        assert_eq!(heavy.cost.ec2_usd, 223.38);
        assert_eq!(heavy.monthly_cost_usd, 245.58);
        // Very heavy: $446.76 EC2, total ~$478.
        let vh = on("c6a.2xlarge", 1024);
        assert_eq!(vh.cost.ec2_usd, 446.76);
        assert_eq!(vh.monthly_cost_usd, 477.96);
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

    #[test]
    fn auto_calculated_task_counts_stay_within_the_bound() {
        // 6 tasks per c6a.xlarge x 2000 instances = 12,000 tasks.
        let err = plan(&SizingInput { asg_min_size: Some(2000), ..SizingInput::defaults_for("c6a.xlarge") }).unwrap_err();
        assert!(matches!(&err, SizingError::OutOfRange { key: "service.task_min_count", .. }), "{err}");
        assert!(err.to_string().contains("6 tasks per instance x 2000 instances = 12000"), "{err}");
        // 6 x 1000 = 6,000 minimum, twice that as maximum.
        let err = plan(&SizingInput { asg_min_size: Some(1000), ..SizingInput::defaults_for("c6a.xlarge") }).unwrap_err();
        assert!(matches!(&err, SizingError::OutOfRange { key: "service.task_max_count", .. }), "{err}");
    }

    #[test]
    fn warnings_follow_the_sizing_guide() {
        let p = plan(&SizingInput { asg_max_size: Some(2), ..SizingInput::defaults_for("t3.small") }).unwrap();
        assert!(p.warnings().iter().any(|w| w.contains("cannot all be placed")));
        let many = plan(&SizingInput { asg_min_size: Some(8), ..SizingInput::defaults_for("t3.small") }).unwrap();
        assert!(many.warnings().iter().any(|w| w.contains("fewer, beefier")));
        assert!(on("c6a.xlarge", 512).warnings().is_empty());
    }
}
