//! `pypictl synth`: templates to disk, no AWS call, no credentials.

use anyhow::{Context, Result};
use pypictl_stacks::app::{self, MANIFEST_FILE, ROOT_FILE};
use serde_json::json;

use crate::cli::{Global, Output, SynthArgs};
use crate::config_file;

pub fn run(global: &Global, args: &SynthArgs) -> Result<()> {
    let deployment = config_file::load(&args.config.path)?;
    config_file::print_warnings(&deployment);
    let assembly = app::synthesize(&deployment).map_err(|e| anyhow::anyhow!("synthesis failed: {e}"))?;

    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    for (file, body) in assembly.files() {
        let path = args.out.join(&file);
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
    }

    if global.output == Output::Json {
        let stacks: Vec<_> = assembly
            .nested
            .iter()
            .map(|n| json!({"name": n.name, "file": n.file, "resources": n.template.resource_count(), "sha256": n.sha256}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "stackName": assembly.stack_name,
                "outDir": args.out,
                "root": ROOT_FILE,
                "manifest": MANIFEST_FILE,
                "stacks": stacks,
            }))?
        );
        return Ok(());
    }

    let total: usize = assembly.nested.iter().map(|n| n.template.resource_count()).sum();
    println!(
        "Synthesized {} ({}): {} nested stacks, {} resources -> {}/",
        assembly.stack_name,
        deployment.config.region,
        assembly.nested.len(),
        total,
        args.out.display()
    );
    let width = assembly.nested.iter().map(|n| n.name.len()).max().unwrap_or(0);
    println!("  {:width$}  {:>9}  {}", "root", format!("{} stacks", assembly.nested.len()), ROOT_FILE);
    for n in &assembly.nested {
        println!("  {:width$}  {:>9}  {}", n.name, format!("{} res.", n.template.resource_count()), n.file);
    }
    println!("  {:width$}  {:>9}  {}", "staging", "1 bucket", pypictl_stacks::staging::FILE);
    println!("  {:width$}  {:>9}  {}", "manifest", "", MANIFEST_FILE);
    Ok(())
}
