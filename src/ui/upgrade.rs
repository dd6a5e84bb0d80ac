//! `pypictl upgrade`'s comparison of the capacity plan before and after.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use pypictl_stacks::CapacityPlan;

/// Capacity and monthly cost, before and after, side by side.
pub fn compare(before: &CapacityPlan, after: &CapacityPlan) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["", "before", "after"]);
    let rows = |p: &CapacityPlan| -> Vec<String> {
        vec![
            p.instance_type.clone(),
            format!("{} vCPU, {} MiB", p.vcpus, p.memory_mib),
            p.gunicorn_workers.to_string(),
            format!("{} units", p.container_cpu),
            format!("{} MB ({} reserved)", p.container_memory, p.container_memory_reservation),
            p.tasks_per_instance.to_string(),
            format!("{} .. {}", p.asg_min_size, p.asg_max_size),
            format!("{} .. {}", p.task_min_count, p.task_max_count),
            format!("${:.2}", p.monthly_cost_usd),
        ]
    };
    let names = ["instance type", "per instance", "gunicorn workers", "container cpu", "container memory", "tasks / instance", "instances", "tasks", "monthly cost"];
    for ((name, b), a) in names.iter().zip(rows(before)).zip(rows(after)) {
        let a = if a == b { a } else { format!("{a}  ←") };
        t.add_row(vec![name.to_string(), b, a]);
    }
    format!("{t}\n")
}

