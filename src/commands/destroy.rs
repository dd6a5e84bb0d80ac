//! `pypictl destroy [--yes] [--force-destroy-data]`: what goes and what is
//! kept, a typed confirmation, the deletion watched live; the retained data
//! only with --force-destroy-data and a second confirmation.

use anyhow::Result;
use pypictl_stacks::app::synthesize;

use super::session;
use crate::cli::{DestroyArgs, Global};
use crate::config_file;
use crate::engine::deploy::Interaction;
use crate::engine::destroy::{self, Outcome, Plan};
use crate::engine::watch::WatchOptions;
use crate::exit::{bad_input, exit};
use crate::ui::{self, prompt::Terminal};

fn describe(plan: &Plan, force: bool, delete_log_buckets: bool) -> String {
    let mut s = format!(
        "Destroying {} ({}): {} nested stacks, {} resources.\n",
        plan.stack.name,
        plan.stack.status,
        plan.nested.len(),
        plan.resource_count()
    );
    if plan.retained.is_empty() {
        s.push_str("Nothing is retained.\n");
    } else if force {
        s.push_str("--force-destroy-data: these are deleted too, with everything in them:\n");
    } else {
        s.push_str("Kept (delete them later with --force-destroy-data, or by hand):\n");
    }
    for r in &plan.retained {
        let note = if !force && delete_log_buckets && r.resource_type == "AWS::S3::Bucket" { "  (deleted after the stack: access_log_force_destroy)" } else { "" };
        s.push_str(&format!("  {:<12} {:<16} {:<30} {}{note}\n", r.stack, r.logical_id, r.resource_type, r.physical_id));
    }
    s
}

pub fn run(global: &Global, args: &DestroyArgs) -> Result<()> {
    let d = config_file::load(&args.config.path)?;
    let assembly = synthesize(&d).map_err(|e| anyhow::anyhow!("synthesis failed: {e}"))?;
    let retained: Vec<(String, String)> = assembly.manifest["retained"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["stack"].as_str().unwrap_or_default().to_string(), r["logicalId"].as_str().unwrap_or_default().to_string()))
        .collect();
    let stack = assembly.stack_name.clone();
    let rt = session::runtime()?;
    rt.block_on(async {
        let cloud = session::connect(global, &d.config.region).await?;
        let Some(plan) = destroy::plan(&cloud, &stack, &retained).await? else {
            println!("{stack} does not exist in {}: nothing to destroy.", d.config.region);
            return Ok(());
        };
        print!("{}", describe(&plan, args.force_destroy_data, d.config.load_balancer.access_log_force_destroy));

        let mut terminal = Terminal::detect();
        if !global.yes {
            if !terminal.interactive() {
                return Err(bad_input("there is no terminal to confirm on; pass --yes to destroy (nothing was deleted)"));
            }
            if !terminal.type_to_confirm(&format!("Type the stack name ({stack}) to delete it"), &stack) {
                eprintln!("Nothing was deleted.");
                return Err(exit(1));
            }
            if args.force_destroy_data && !terminal.confirm("Also delete the retained data listed above, permanently?") {
                eprintln!("Nothing was deleted.");
                return Err(exit(1));
            }
        }

        let mut sink = ui::sink(args.progress);
        let opts = destroy::Options {
            force_destroy_data: args.force_destroy_data,
            delete_log_buckets: d.config.load_balancer.access_log_force_destroy,
            watch: WatchOptions::default(),
            on_retry: Some(ui::retry_notice),
            run: session::change_set_name(),
            role_arn: args.role.role_arn.clone(),
        };
        let outcome = destroy::destroy(&cloud, &mut sink, &plan, opts, session::ctrl_c()).await?;
        drop(sink);
        match outcome {
            Outcome::Deleted { deleted_data, kept, errors } => {
                println!("✔ {stack} deleted.");
                for d in deleted_data {
                    println!("  {d}");
                }
                if !kept.is_empty() {
                    println!("Kept:");
                    for r in &kept {
                        println!("  {} {} ({}): {}", r.stack, r.logical_id, r.resource_type, r.physical_id);
                    }
                }
                if errors.is_empty() {
                    Ok(())
                } else {
                    for e in errors {
                        eprintln!("error: could not delete {e}");
                    }
                    Err(exit(1))
                }
            }
            Outcome::Failed { status, root_cause } => {
                eprintln!("✘ {stack}: {status}");
                if let Some(cause) = root_cause {
                    eprint!("{}", ui::report::root_cause_text(&cause));
                }
                eprintln!("Next: fix the cause, then run `pypictl destroy` again.");
                Err(exit(1))
            }
            Outcome::Unwatched { reason } => {
                eprintln!("✘ {stack}: {reason}");
                Err(exit(1))
            }
            Outcome::StoppedWatching { interrupted } => {
                eprintln!("Stopped watching: the deletion carries on in CloudFormation. Resume watching with `pypictl status --watch`.");
                Err(exit(if interrupted { 130 } else { 1 }))
            }
        }
    })
}
