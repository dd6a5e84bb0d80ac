//! `pypictl status [--watch] [--output json]`.

use anyhow::Result;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::json;

use super::session;
use crate::cli::{Global, Output, StatusArgs};
use crate::config_file;
use crate::engine::model::Status;
use crate::engine::retry::Patient;
use crate::engine::status::{self, Report};
use crate::engine::tail::EventTail;
use crate::engine::watch::{WatchOptions, Watcher};
use crate::exit::exit;
use crate::ui;

pub fn run(global: &Global, args: &StatusArgs) -> Result<()> {
    let d = config_file::load(&args.config.path)?;
    let stack = d.config.stack_name().to_string();
    let prefix = format!("{}-", pypictl_stacks::components::name_prefix(&d.config));
    let rt = session::runtime()?;
    let report = rt.block_on(async {
        let cloud = session::connect(global, &d.config.region).await?;
        let mut report = status::gather(&cloud, &stack, &prefix).await?;
        if let Some(r) = &report {
            if args.watch && r.stack.status == Status::ReviewInProgress {
                eprintln!("Nothing to watch: {stack} is REVIEW_IN_PROGRESS, an empty stack holding a change set nobody executed (it never settles by itself). `pypictl deploy` creates the stack; `pypictl destroy` removes it.");
            }
            if args.watch && r.stack.status.operation_running() {
                let id = r.stack.id.clone();
                let tail = EventTail::after_latest(&Patient::new(&cloud), &id).await?;
                let mut sink = ui::sink(args.progress);
                let mut watcher = Watcher::new(&cloud, &mut sink, &id, &stack, tail, WatchOptions::default());
                watcher.adopt_running_nested().await?;
                let _ = watcher.run(session::ctrl_c()).await;
                report = status::gather(&cloud, &stack, &prefix).await?;
            }
        }
        anyhow::Ok(report)
    })?;
    let Some(report) = report else {
        if global.output == Output::Json {
            println!("{}", json!({ "stack": stack, "exists": false }));
        } else {
            eprintln!("{stack} does not exist in {} (deploy it with `pypictl deploy`).", d.config.region);
        }
        return Err(exit(1));
    };
    if global.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&to_json(&report))?);
    } else {
        print!("{}", to_text(&report));
    }
    Ok(())
}

fn to_json(r: &Report) -> serde_json::Value {
    json!({
        "stack": r.stack.name,
        "exists": true,
        "status": r.stack.status,
        "reason": r.stack.reason,
        "nested": r.nested.iter().map(|n| json!({"name": n.label, "status": n.status})).collect::<Vec<_>>(),
        "outputs": r.stack.outputs.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "service": r.service.as_ref().map(|s| json!({
            "desired": s.desired, "running": s.running, "pending": s.pending, "failed": s.failed, "rollout": s.rollout_state,
        })),
        "targets": r.targets.as_ref().map(|t| t.iter().map(|t| json!({"target": t.target, "state": t.state, "reason": t.reason})).collect::<Vec<_>>()),
        "alarms_firing": r.alarms.as_ref().map(|a| a.iter().map(|a| json!({"name": a.name, "reason": a.reason})).collect::<Vec<_>>()),
        "notes": r.notes,
    })
}

fn to_text(r: &Report) -> String {
    let mut out = format!("{}: {}", r.stack.name, r.stack.status);
    if let Some(reason) = &r.stack.reason {
        out.push_str(&format!(" ({reason})"));
    }
    out.push('\n');
    if !r.nested.is_empty() {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header(vec!["stack", "status"]);
        for n in &r.nested {
            t.add_row(vec![n.label.clone(), n.status.to_string()]);
        }
        out.push_str(&format!("{t}\n"));
    }
    match &r.service {
        Some(s) => out.push_str(&format!(
            "service:  {}/{} tasks running, {} pending{}\n",
            s.running,
            s.desired,
            s.pending,
            s.rollout_state.as_deref().map(|x| format!(", rollout {x}")).unwrap_or_default()
        )),
        None => out.push_str("service:  not running\n"),
    }
    if let Some(targets) = &r.targets {
        let healthy = targets.iter().filter(|t| t.state == "healthy").count();
        out.push_str(&format!("targets:  {healthy} healthy of {}\n", targets.len()));
        for t in targets.iter().filter(|t| t.state != "healthy") {
            out.push_str(&format!("  {} {}{}\n", t.target, t.state, t.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()));
        }
    }
    if let Some(alarms) = &r.alarms {
        if alarms.is_empty() {
            out.push_str("alarms:   none firing\n");
        } else {
            for a in alarms {
                out.push_str(&format!("alarm:    {} ({})\n", a.name, a.reason));
            }
        }
    }
    use pypictl_stacks::outputs::RootOutput as O;
    let shown = [O::PypiServerUrls, O::PypiUserSecretArn, O::PypiPublishSecretArn, O::EcsClusterName, O::EcsServiceName, O::FileSystemId, O::CloudwatchDashboardUrl, O::BackupVaultName].map(O::name);
    for (k, v) in r.stack.outputs.iter().filter(|(k, _)| shown.contains(&k.as_str())) {
        out.push_str(&format!("{k}: {v}\n"));
    }
    for n in &r.notes {
        out.push_str(&format!("note: could not read {n}\n"));
    }
    out
}
