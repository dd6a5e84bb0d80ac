//! `pypictl doctor [--output json]`: the troubleshooting guide, automated
//! (`crate::engine::doctor`), rendered by `crate::ui::doctor`. Exit 0 when
//! nothing failed (warnings allowed), 1 when a check failed, 2 for a bad
//! configuration.

use anyhow::Result;

use super::session;
use crate::aws::registry::HttpRegistry;
use crate::aws::HttpProbe;
use crate::cli::{DoctorArgs, Global, Output};
use crate::config_file;
use crate::engine::doctor::{self, Options};
use crate::exit::exit;
use crate::ui;

pub fn run(global: &Global, args: &DoctorArgs) -> Result<()> {
    let d = config_file::load(&args.config.path)?;
    let url = session::service_url_override()?;
    let registry = HttpRegistry::from_env()?;
    let rt = session::runtime()?;
    let report = rt.block_on(async {
        let cloud = session::connect(global, &d.config.region).await?;
        let probe = HttpProbe::default();
        anyhow::Ok(doctor::diagnose_with(&cloud, &probe, &registry, &d.config, &Options { url }).await)
    })?;
    if global.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&ui::doctor::json(&report))?);
    } else {
        print!("{}", ui::doctor::text(&report));
    }
    if report.failed() {
        return Err(exit(1));
    }
    Ok(())
}
