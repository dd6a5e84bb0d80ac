//! `pypictl size`: the capacity plan and its monthly cost.

use anyhow::Result;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use pypictl_stacks::sizing::{self, CapacityPlan, SizingInput, SizingError};

use crate::cli::{Global, Output, SizeArgs};
use crate::config_file;
use crate::exit::bad_input;

pub fn run(global: &Global, args: &SizeArgs) -> Result<()> {
    let path = &args.config.path;
    let (plan, warnings) = if path.exists() {
        let mut config = config_file::read(path)?;
        if let Some(t) = &args.instance_type {
            config.compute.instance_type = t.clone();
        }
        if let Some(m) = args.container_memory {
            config.service.container_memory = m;
        }
        let d = config_file::check(path, config)?;
        (d.capacity.clone(), d.warnings)
    } else if let Some(t) = &args.instance_type {
        let mut input = SizingInput::defaults_for(t);
        if let Some(m) = args.container_memory {
            if m < 128 {
                return Err(bad_input(format!("--container-memory {m}: must be at least 128 (MB)")));
            }
            input.container_memory = m;
        }
        let plan = sizing::plan(&input).map_err(|e| match e {
            SizingError::UnknownInstanceType { .. } => bad_input(format!("--instance-type: {e}")),
            SizingError::DoesNotFit { reason } => bad_input(format!("--container-memory {}: {reason}", input.container_memory)),
            // Only the memory comes from a flag here; other keys are auto-calculated.
            SizingError::OutOfRange { key: "service.container_memory", value, rule } => bad_input(format!("--container-memory {value}: {rule}")),
            SizingError::OutOfRange { .. } => bad_input(e.to_string()),
        })?;
        let warnings = plan.warnings();
        (plan, warnings)
    } else {
        return Err(bad_input(format!(
            "{}: no such file; pass --instance-type T to plan with the defaults, or -c <file>",
            path.display()
        )));
    };

    if global.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", render_text(&plan));
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Why a rolling deployment at task_max_count can go ahead.
fn headroom(p: &CapacityPlan) -> String {
    if p.deployment_min_healthy_percent == 100 {
        "free at task_max: new tasks start first (min healthy 100 %)".into()
    } else {
        format!("none at task_max: one task replaced at a time (min healthy {} %)", p.deployment_min_healthy_percent)
    }
}

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
    ];
    for (k, v, how) in rows {
        t.add_row(vec![Cell::new(k), Cell::new(v).set_alignment(CellAlignment::Right), Cell::new(how)]);
    }
    format!("{t}\nCost: {}.\n", sizing::COST_BASIS)
}
