//! The doctor's report (`crate::engine::doctor::Report`) for a reader: one
//! function per format, [`text`] for a terminal and [`json`] for
//! `pypictl --output json doctor`. `Report::to_text` and `Report::to_json`
//! are these, defined here so that the engine knows nothing of rendering.

use serde_json::{json, Value};

use crate::engine::doctor::{Report, Status};

impl Report {
    /// [`text`].
    pub fn to_text(&self) -> String {
        text(self)
    }

    /// [`json`].
    pub fn to_json(&self) -> Value {
        json(self)
    }
}

/// The mark of a status at the start of its check's line.
pub fn symbol(status: Status) -> &'static str {
    match status {
        Status::Pass => "✔",
        Status::Skip => "-",
        Status::Warn => "!",
        Status::Fail => "✘",
    }
}

/// One line per check, the fix indented below it, then a summary line.
pub fn text(report: &Report) -> String {
    let mut out = format!(
        "pypictl doctor: {} in {}{}\n",
        report.stack,
        report.region,
        report.stack_status.as_ref().map(|s| format!(" ({s})")).unwrap_or_default()
    );
    let width = report.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &report.checks {
        out.push_str(&format!("{} {:width$}  {}\n", symbol(c.status), c.name, c.detail));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("    fix: {fix}\n"));
        }
    }
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    out.push_str(&format!(
        "{}, {}, {}, {}\n",
        plural(report.count(Status::Fail), "failed", "failed"),
        plural(report.count(Status::Warn), "warning", "warnings"),
        plural(report.count(Status::Pass), "passed", "passed"),
        plural(report.count(Status::Skip), "skipped", "skipped"),
    ));
    out
}

/// The stack, every check (name, status, detail, fix) and a summary.
pub fn json(report: &Report) -> Value {
    json!({
        "stack": report.stack,
        "region": report.region,
        "status": report.stack_status,
        "checks": report.checks.iter().map(|c| json!({
            "name": c.name,
            "status": c.status.as_str(),
            "detail": c.detail,
            "fix": c.fix,
        })).collect::<Vec<_>>(),
        "summary": {
            "pass": report.count(Status::Pass),
            "warn": report.count(Status::Warn),
            "fail": report.count(Status::Fail),
            "skip": report.count(Status::Skip),
            "ok": !report.failed(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::doctor::Check;

    fn report() -> Report {
        Report {
            stack: "pypi".into(),
            region: "us-east-1".into(),
            stack_status: Some(crate::engine::model::Status::UpdateComplete),
            checks: vec![
                Check { name: "stack", status: Status::Pass, detail: "pypi is UPDATE_COMPLETE".into(), fix: None },
                Check { name: "alb_5xx", status: Status::Fail, detail: "12 5xx responses".into(), fix: Some("see target_health".into()) },
                Check { name: "images", status: Status::Skip, detail: "skipped".into(), fix: None },
            ],
        }
    }

    #[test]
    fn text_is_one_line_per_check_and_a_summary() {
        assert_eq!(
            text(&report()),
            "pypictl doctor: pypi in us-east-1 (UPDATE_COMPLETE)\n\
             ✔ stack    pypi is UPDATE_COMPLETE\n\
             ✘ alb_5xx  12 5xx responses\n    fix: see target_health\n\
             - images   skipped\n\
             1 failed, 0 warnings, 1 passed, 1 skipped\n"
        );
    }

    #[test]
    fn json_has_every_check_and_a_summary() {
        let j = json(&report());
        assert_eq!(j["checks"][1], json!({"name": "alb_5xx", "status": "fail", "detail": "12 5xx responses", "fix": "see target_health"}));
        assert_eq!(j["summary"], json!({"pass": 1, "warn": 0, "fail": 1, "skip": 1, "ok": false}));
        assert_eq!(report().to_json(), j);
    }
}
