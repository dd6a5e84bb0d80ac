//! The capacity plan: from a [`SizingInput`] to workers, CPU units, tasks
//! per instance, task and instance counts and the deployment's
//! minimumHealthyPercent, with the sizing guide's warnings about the result.

use serde::Serialize;

use crate::catalogue;
use crate::indexer::{self, IndexSizing};
use crate::proxy;

use super::cost::CostEstimate;
use super::{
    container_cpu, gunicorn_workers, memory_reservation, out_of_range, SizingError, SizingInput, ECS_INT_MAX, MAX_ASG_SIZE, MAX_TASK_COUNT,
    RESERVED_CPU_UNITS, RESERVED_RAM_MB,
};

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
    /// The page indexer of each task, sized for the expected projects.
    pub index: IndexSizing,
    /// What the task's memory reservation keeps for the indexer: its memory,
    /// carved out of the reservation (at most half of what the proxy leaves).
    pub indexer_memory_reservation: u32,
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

    let cost = CostEstimate::monthly(it, instances);
    let index = indexer::sizing(input.expected_projects);
    let indexer_memory_reservation = task_shares(reservation, index.reservation_mib()).indexer;

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
        monthly_cost_usd: cost.total_usd,
        cost,
        index,
        indexer_memory_reservation,
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

/// How a task's sized memory reservation is shared by its containers (MiB):
/// `indexer_reservation_mib` is what the indexer asks for
/// (`IndexSizing::reservation_mib`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskShares {
    pub pypiserver: u32,
    pub proxy: u32,
    pub indexer: u32,
}

/// The sizing formulas size the task; the proxy's small fixed share, then
/// the indexer's memory, are carved out of its reservation (each at most
/// half of what is left), so placement is the formulas'.
pub fn task_shares(reservation: u32, indexer_reservation_mib: u32) -> TaskShares {
    let (rest, proxy) = proxy::proxy_share(reservation, proxy::PROXY_MEMORY_RESERVATION_MIB);
    let (pypiserver, indexer) = proxy::proxy_share(rest, indexer_reservation_mib);
    TaskShares { pypiserver, proxy, indexer }
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
        if self.indexer_memory_reservation < self.index.reservation_mib() && self.container_memory_reservation > 0 {
            w.push(format!(
                "service.expected_projects = {}: each task's page indexer needs {} MiB (pages {} + process {}) and reserves {}, but the task's memory reservation ({} MB) keeps only {} for it (half of what the proxy leaves): placement can overcommit the instances; raise service.container_memory (or container_memory_reservation) to reserve at least {} MB",
                self.index.expected_projects,
                self.index.memory_mib,
                self.index.pages_mib,
                self.index.process_mib,
                self.index.reservation_mib(),
                self.container_memory_reservation,
                self.indexer_memory_reservation,
                2 * self.index.reservation_mib() + proxy::PROXY_MEMORY_RESERVATION_MIB
            ));
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizing::tests::on;
    use crate::sizing::PROFILES;

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
        let doc = include_str!("../../../docs/sizing.md");
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
