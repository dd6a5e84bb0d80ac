//! The capacity plan as a table: `pypictl size`, and the wizard's summary.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use pypictl_stacks::indexer;
use pypictl_stacks::sizing::{self, CapacityPlan};

/// Why a rolling deployment at task_max_count can go ahead.
fn headroom(p: &CapacityPlan) -> String {
    if p.deployment_min_healthy_percent == 100 {
        "free at task_max: new tasks start first (min healthy 100 %)".into()
    } else {
        format!("none at task_max: one task replaced at a time (min healthy {} %)", p.deployment_min_healthy_percent)
    }
}

/// The plan, each figure with how it was derived, and the cost basis.
pub fn render_text(p: &CapacityPlan) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["", "value", "how"]);
    let rows: Vec<(&str, String, String)> = vec![
        ("instance type", p.instance_type.clone(), format!("{} vCPU, {} MiB", p.vcpus, p.memory_mib)),
        ("gunicorn workers", p.gunicorn_workers.to_string(), "max(2, min(8, memory / 128))".into()),
        ("container cpu", format!("{} units", p.container_cpu), "workers x 150 + 40".into()),
        ("container memory", format!("{} MB", p.container_memory), "hard limit".into()),
        ("memory reservation", format!("{} MB", p.container_memory_reservation), "75 % of the limit".into()),
        ("available RAM", format!("{} MB", p.available_ram_mb), format!("{} - 800 (system, page cache)", p.memory_mib)),
        ("available CPU", format!("{} units", p.available_cpu_units), format!("{} x 1024 - 128", p.vcpus)),
        ("tasks / instance", p.tasks_per_instance.to_string(), format!("min({} by RAM, {} by CPU)", p.tasks_per_instance_ram, p.tasks_per_instance_cpu)),
        ("instances", format!("{} .. {}", p.asg_min_size, p.asg_max_size), "asg_min_size .. asg_max_size".into()),
        ("tasks", format!("{} .. {}", p.task_min_count, p.task_max_count), "task_min_count .. task_max_count".into()),
        ("deploy headroom", format!("{} slots", p.spare_task_slots_at_max), headroom(p)),
        ("monthly cost", format!("${:.2}", p.monthly_cost_usd), format!("EC2 ${:.2} + EFS ${:.2} + ALB ${:.2}", p.cost.ec2_usd, p.cost.efs_usd, p.cost.alb_usd)),
        (
            "expected projects",
            p.index.expected_projects.to_string(),
            format!("service.expected_projects; {} files planned ({} per project)", p.index.expected_files, indexer::FILES_PER_PROJECT),
        ),
        ("index pages", format!("{} MiB", p.index.pages_mib), format!("{} KiB per project, in memory (tmpfs), per task", indexer::PAGES_KIB_PER_PROJECT)),
        (
            "indexer memory",
            format!("{} MiB", p.index.memory_mib),
            format!(
                "pages + process ({} MiB + {} KiB per file); {} MB of it reserved",
                indexer::PROCESS_BASE_MIB,
                indexer::PROCESS_KIB_PER_FILE,
                p.indexer_memory_reservation
            ),
        ),
    ];
    for (k, v, how) in rows {
        t.add_row(vec![Cell::new(k), Cell::new(v).set_alignment(CellAlignment::Right), Cell::new(how)]);
    }
    format!("{t}\nCost: {}.\n", sizing::COST_BASIS)
}
