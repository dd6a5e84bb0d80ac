//! `pypictl init`: from nothing to a valid, commented pypictl.toml.
//!
//! On a terminal the wizard asks what the flags did not say; with
//! `--non-interactive` (or no terminal) every answer comes from the flags.
//! Both build the same [`Answers`] and write [`render`]'s text, so the same
//! answers give the same bytes.

mod ask;
mod profiles;
mod wizard;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pypictl_stacks::catalogue;
use pypictl_stacks::init::{check, render, Answers, BackupAnswers, Workload};
use pypictl_stacks::validate::{check_backup_cron, is_dns_label, is_email, is_image_tag, IMAGE_TAG_RULE};
use pypictl_stacks::Invalid;

use crate::cli::{ConfigArg, DeployArgs, Global, InitArgs, OnOff, Scheme, WorkloadArg};
use crate::exit::{bad_input, exit};

pub fn run(global: &Global, args: &InitArgs) -> Result<()> {
    let interactive = !args.non_interactive && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let (answers, profile) = if interactive {
        ask::install_ctrl_c()?;
        if args.path.exists() && !args.force {
            let q = format!("{} exists. Replace it once the wizard is done?", args.path.display());
            if !ask::confirm(&q, false)? {
                eprintln!("{} left as it is.", args.path.display());
                return Err(exit(2));
            }
        }
        wizard::run(global, args)?
    } else {
        if args.path.exists() && !args.force {
            return Err(bad_input(format!("{} exists: pass --force to overwrite it", args.path.display())));
        }
        (from_flags(global, args)?, global.profile.clone())
    };

    let text = render(&answers);
    if let Err(errors) = check(&text) {
        let lines: Vec<String> = errors.iter().map(explain).collect();
        return Err(bad_input(format!("the answers do not make a valid pypictl.toml:\n  - {}", lines.join("\n  - "))));
    }
    if interactive {
        eprintln!("\n{}", wizard::summary(&answers));
        if !ask::confirm(&format!("Write {}?", args.path.display()), true)? {
            eprintln!("Nothing written.");
            return Err(exit(2));
        }
    }
    write_atomically(&args.path, &text)?;
    ask::done();
    eprintln!("Wrote {}. Next: `pypictl size`, `pypictl synth`, `pypictl deploy`.", args.path.display());

    let deploy = if interactive { ask::confirm("Run `pypictl deploy` now?", false)? } else { args.deploy };
    if deploy {
        let global = Global { profile, region: Some(answers.region.clone()), ..global.clone() };
        let deploy_args = DeployArgs {
            config: ConfigArg { path: args.path.clone() },
            no_rollback: false,
            progress: crate::ui::ProgressMode::Auto,
            max_wait: None,
            allow_replace_stateful: false,
            rollback_skip_failed: false,
            role: crate::cli::RoleArg::default(),
        };
        return super::deploy::run(&global, &deploy_args);
    }
    Ok(())
}

/// An invalid key, said in terms of the flag that sets it.
fn explain(e: &Invalid) -> String {
    let base = e.key.split('[').next().unwrap_or(&e.key);
    let flag = match base {
        "region" => "--region",
        "service_name" => "--service-name",
        "environment" => "--environment",
        "network.vpc_id" => "--vpc-id",
        "network.load_balancer_subnets" => "--lb-subnets",
        "network.asg_subnets" => "--instance-subnets",
        "dns.zone_id" => "--zone-id",
        "dns.zone_name" => "--zone-name",
        "dns.names" => "--dns-names",
        "compute.instance_type" => "--instance-type",
        "service.container_memory" => "--container-memory",
        "service.image_tag" => "--image-tag",
        "monitoring.alarm_emails" => "--alarm-email",
        "backup.retention_days" => "--backup-retention-days",
        "backup.schedule" => "--backup-schedule",
        _ => return e.to_string(),
    };
    format!("{flag} ({}) = {}: {}", e.key, e.value, e.rule)
}

/// The region: --region, AWS_REGION / AWS_DEFAULT_REGION, then the profile's.
fn default_region(global: &Global, profile: Option<&str>) -> Option<String> {
    if let Some(r) = &global.region {
        return Some(r.clone());
    }
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Ok(r) = std::env::var(var) {
            if !r.trim().is_empty() {
                return Some(r.trim().to_string());
            }
        }
    }
    let name = profile.unwrap_or("default");
    profiles::load().into_iter().find(|p| p.name == name).and_then(|p| p.region)
}

fn flag_error(flag: &str, value: &str, rule: &str) -> anyhow::Error {
    bad_input(format!("{flag} {value:?}: {rule}"))
}

pub(crate) fn check_emails(list: &[String]) -> Result<(), String> {
    if list.is_empty() {
        return Err("needs at least one email address for alarm notifications".into());
    }
    match list.iter().find(|e| !is_email(e)) {
        Some(bad) => Err(format!("{bad:?} is not an email address such as \"ops@example.com\"")),
        None => Ok(()),
    }
}

pub(crate) fn check_dns_names(list: &[String]) -> Result<(), String> {
    if list.is_empty() {
        return Err("needs at least one DNS label".into());
    }
    match list.iter().find(|n| !is_dns_label(n)) {
        Some(bad) => Err(format!("{bad:?} is not a DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'")),
        None => Ok(()),
    }
}

pub(crate) fn check_instance_type(t: &str) -> Result<(), String> {
    match catalogue::lookup(t) {
        Some(_) => Ok(()),
        None => Err(format!(
            "{t:?} is not in pypictl's catalogue (known in this family: {})",
            catalogue::suggestions(t).join(", ")
        )),
    }
}

/// The workload the flags describe, if they describe one; an instance type
/// or container memory without --workload means a custom one.
fn workload_from_flags(args: &InitArgs) -> Result<Option<Workload>> {
    let custom = args.workload == Some(WorkloadArg::Custom) || (args.workload.is_none() && (args.instance_type.is_some() || args.container_memory.is_some()));
    if custom {
        let Some(t) = &args.instance_type else { return Ok(None) };
        check_instance_type(t).map_err(|rule| flag_error("--instance-type", t, &rule))?;
        let m = args.container_memory.unwrap_or(512);
        if m < 128 {
            return Err(flag_error("--container-memory", &m.to_string(), "must be at least 128 (MB)"));
        }
        return Ok(Some(Workload::Custom { instance_type: t.clone(), container_memory: m }));
    }
    if args.instance_type.is_some() || args.container_memory.is_some() {
        return Err(bad_input("--instance-type and --container-memory go with --workload custom (a profile sets both)"));
    }
    let key = match args.workload {
        None => return Ok(None),
        Some(WorkloadArg::Light) => "light",
        Some(WorkloadArg::Medium) => "medium",
        Some(WorkloadArg::Heavy) => "heavy",
        Some(WorkloadArg::VeryHeavy) => "very-heavy",
        Some(WorkloadArg::Custom) => unreachable!("handled above"),
    };
    Ok(Workload::profile(key))
}

fn backup_from_flags(args: &InitArgs) -> Result<Option<BackupAnswers>> {
    if args.backup == Some(OnOff::Off) {
        return Ok(None);
    }
    let d = BackupAnswers::default();
    let retention_days = args.backup_retention_days.unwrap_or(d.retention_days);
    if retention_days < 1 {
        return Err(flag_error("--backup-retention-days", &retention_days.to_string(), "must be at least 1 day"));
    }
    let schedule = args.backup_schedule.clone().unwrap_or(d.schedule);
    check_backup_cron(&schedule).map_err(|rule| flag_error("--backup-schedule", &schedule, &rule))?;
    Ok(Some(BackupAnswers { retention_days, schedule }))
}

fn image_tag_from_flags(args: &InitArgs) -> Result<Option<String>> {
    match &args.image_tag {
        Some(t) if !is_image_tag(t) => Err(flag_error("--image-tag", t, IMAGE_TAG_RULE)),
        other => Ok(other.clone()),
    }
}

/// `--non-interactive`: every answer from a flag or its default; no AWS call.
fn from_flags(global: &Global, args: &InitArgs) -> Result<Answers> {
    let mut missing = Vec::new();
    let region = default_region(global, global.profile.as_deref());
    let workload = workload_from_flags(args)?;
    for (absent, flag) in [
        (region.is_none(), "--region"),
        (args.vpc_id.is_none(), "--vpc-id"),
        (args.lb_subnets.is_empty(), "--lb-subnets"),
        (args.instance_subnets.is_empty(), "--instance-subnets"),
        (args.zone_id.is_none(), "--zone-id"),
        (args.zone_name.is_none(), "--zone-name"),
        (args.alarm_emails.is_empty(), "--alarm-email"),
        (args.workload == Some(WorkloadArg::Custom) && args.instance_type.is_none(), "--instance-type"),
    ] {
        if absent {
            missing.push(flag);
        }
    }
    if !missing.is_empty() {
        return Err(bad_input(format!(
            "no terminal to ask on (or --non-interactive): missing {}; pass them as flags (`pypictl init --help`)",
            missing.join(", ")
        )));
    }
    check_emails(&args.alarm_emails).map_err(|rule| flag_error("--alarm-email", &args.alarm_emails.join(","), &rule))?;
    let dns_names = if args.dns_names.is_empty() { vec!["pypiserver".to_string()] } else { args.dns_names.clone() };
    check_dns_names(&dns_names).map_err(|rule| flag_error("--dns-names", &dns_names.join(","), &rule))?;
    Ok(Answers {
        region: region.unwrap_or_default(),
        service_name: args.service_name.clone().unwrap_or_else(|| "pypiserver".into()),
        environment: args.environment.clone().unwrap_or_else(|| "development".into()),
        vpc_id: args.vpc_id.clone().unwrap_or_default(),
        load_balancer_subnets: args.lb_subnets.clone(),
        asg_subnets: args.instance_subnets.clone(),
        zone_id: args.zone_id.clone().unwrap_or_default(),
        zone_name: args.zone_name.clone().unwrap_or_default().trim_end_matches('.').to_string(),
        dns_names,
        internal: args.scheme == Some(Scheme::Internal),
        workload: workload.unwrap_or_else(|| Workload::profile("light").expect("the light profile exists")),
        alarm_emails: args.alarm_emails.clone(),
        backup: backup_from_flags(args)?,
        image_tag: image_tag_from_flags(args)?.unwrap_or_else(|| pypictl_stacks::config::DEFAULT_IMAGE_TAG.into()),
    })
}

/// Writes `text` to a temporary file beside `path` and renames it over
/// `path`: an interruption leaves the old file or none, never half a file.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "pypictl.toml".into());
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    if let Ok(mut t) = ask::TEMP_FILE.lock() {
        *t = Some(temp.clone());
    }
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Ok(mut t) = ask::TEMP_FILE.lock() {
        *t = None;
    }
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}
