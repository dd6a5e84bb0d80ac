//! `pypictl size`: the capacity plan and its monthly cost.

use anyhow::Result;
use pypictl_stacks::sizing::{self, SizingInput, SizingError};

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
        print!("{}", crate::ui::size::render_text(&plan));
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
