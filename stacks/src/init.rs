//! `pypictl init`'s answers → the text of a commented pypictl.toml.
//!
//! The interactive wizard and `pypictl init --non-interactive` both collect
//! an [`Answers`] and call [`render`]: one renderer is what makes the two
//! paths write byte-identical files. [`check`] parses the text back and runs
//! every validation rule, so the wizard never writes a file `deploy` refuses.

use crate::config::Config;
use crate::sizing::{self, CapacityPlan, Profile, SizingError, SizingInput, PROFILES};
use crate::validate::{Deployment, Invalid};

/// Default AWS Backup schedule: daily at 02:00 UTC (the reference's).
pub const DEFAULT_BACKUP_SCHEDULE: &str = "cron(0 2 * * ? *)";
pub const DEFAULT_BACKUP_RETENTION_DAYS: u32 = 7;

/// How big the deployment is: one of the sizing guide's profiles, or an
/// instance type and container memory of the user's own.
#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    Profile(&'static Profile),
    Custom { instance_type: String, container_memory: u32 },
}

impl Workload {
    /// A profile by its key (`light`, `medium`, `heavy`, `very-heavy`).
    pub fn profile(key: &str) -> Option<Workload> {
        PROFILES.iter().find(|p| p.key == key).map(Workload::Profile)
    }

    /// The sizing input of this workload on `asg_subnet_count` instance subnets.
    pub fn sizing_input(&self, asg_subnet_count: u32) -> SizingInput {
        match self {
            Workload::Profile(p) => p.sizing_input(),
            Workload::Custom { instance_type, container_memory } => SizingInput {
                container_memory: *container_memory,
                asg_subnet_count,
                ..SizingInput::defaults_for(instance_type)
            },
        }
    }

    pub fn plan(&self, asg_subnet_count: u32) -> Result<CapacityPlan, SizingError> {
        sizing::plan(&self.sizing_input(asg_subnet_count))
    }
}

/// AWS Backup of the file system; None in [`Answers::backup`] turns it off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupAnswers {
    pub retention_days: u32,
    pub schedule: String,
}

impl Default for BackupAnswers {
    fn default() -> Self {
        BackupAnswers { retention_days: DEFAULT_BACKUP_RETENTION_DAYS, schedule: DEFAULT_BACKUP_SCHEDULE.into() }
    }
}

/// Everything `pypictl init` asks.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub region: String,
    pub service_name: String,
    pub environment: String,
    pub vpc_id: String,
    pub load_balancer_subnets: Vec<String>,
    pub asg_subnets: Vec<String>,
    pub zone_id: String,
    pub zone_name: String,
    pub dns_names: Vec<String>,
    pub internal: bool,
    pub workload: Workload,
    pub alarm_emails: Vec<String>,
    pub backup: Option<BackupAnswers>,
    pub image_tag: String,
}

impl Answers {
    /// `https://name.zone/` for each DNS name, as the wizard previews them.
    pub fn service_urls(&self) -> Vec<String> {
        hostnames(&self.dns_names, &self.zone_name).into_iter().map(|h| format!("https://{h}/")).collect()
    }
}

/// Fully qualified names of `names` inside `zone`.
pub fn hostnames(names: &[String], zone: &str) -> Vec<String> {
    let zone = zone.trim_end_matches('.');
    names.iter().map(|n| format!("{n}.{zone}")).collect()
}

/// A TOML basic string, escaped by the toml crate.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}

/// One line per profile for the wizard's menu: who it is for, what it runs
/// and what it costs, from the sizing guide's formulas.
pub fn profile_line(p: &Profile) -> String {
    match sizing::plan(&p.sizing_input()) {
        Ok(plan) => format!(
            "{:<10}  {:>7} packages, {:>5} users  {} x {:<11}  {:>2}-{:<2} tasks, {} workers  ${:>6.2}/month",
            p.title,
            p.packages,
            p.users,
            p.instances,
            p.instance_type,
            plan.task_min_count,
            plan.task_max_count,
            plan.gunicorn_workers,
            plan.monthly_cost_usd
        ),
        // The profiles are constants covered by tests; this cannot happen.
        Err(e) => format!("{}: {e}", p.title),
    }
}

/// The commented pypictl.toml for `a`. Pure and deterministic: the same
/// answers always give the same bytes.
pub fn render(a: &Answers) -> String {
    let mut o = String::new();
    let mut line = |s: &str| {
        o.push_str(s);
        o.push('\n');
    };
    line("# pypictl.toml: one private Python package index on AWS, written by `pypictl init`.");
    line("# Every key is explained in the README's \"Configuration\" section; keys not written here");
    line("# take their defaults. Check with `pypictl size` and `pypictl synth`, then `pypictl deploy`.");
    line("");
    line("# AWS region to deploy to (the templates are synthesized for it).");
    line(&format!("region = {}", q(&a.region)));
    line("# Names the stacks, the cluster and the resources; the root stack is called this.");
    line(&format!("service_name = {}", q(&a.service_name)));
    line("# Tags every resource and tells deployments of the same service apart.");
    line(&format!("environment = {}", q(&a.environment)));
    line("");
    line("[network]");
    line("# The VPC everything runs in (DNS support and DNS hostnames must be on).");
    line(&format!("vpc_id = {}", q(&a.vpc_id)));
    line(&format!(
        "# The load balancer's subnets: at least 2 availability zones; {}.",
        if a.internal { "private subnets suit an internal load balancer" } else { "public subnets (routed to an internet gateway)" }
    ));
    line(&format!("load_balancer_subnets = {}", list(&a.load_balancer_subnets)));
    line("# The instances' subnets, one per availability zone (an EFS mount target in each); private preferred.");
    line(&format!("asg_subnets = {}", list(&a.asg_subnets)));
    line("");
    line("[dns]");
    line("# The Route53 hosted zone the names and the certificate's validation records go in.");
    line(&format!("zone_id = {}", q(&a.zone_id)));
    line("# That zone's domain, so `synth` needs no AWS call (`deploy` checks it matches).");
    line(&format!("zone_name = {}", q(a.zone_name.trim_end_matches('.'))));
    let urls = a.service_urls();
    line(&format!("# Labels inside zone_name; the service answers at {}.", urls.join(", ")));
    line(&format!("names = {}", list(&a.dns_names)));
    line("");
    line("[load_balancer]");
    line("# false: internet-facing (reachable from anywhere, 80/443); true: reachable only inside the VPC.");
    line(&format!("internal = {}", a.internal));
    line("");
    render_workload(&mut line, a);
    line("");
    line("[backup]");
    match &a.backup {
        Some(b) => {
            line("# AWS Backup of the package file system (EFS), into an encrypted vault.");
            line("enabled = true");
            line("# Days each recovery point is kept.");
            line(&format!("retention_days = {}", b.retention_days));
            line("# When backups run: an AWS cron expression, in UTC.");
            line(&format!("schedule = {}", q(&b.schedule)));
        }
        None => {
            line("# AWS Backup of the package file system is off: nothing restores deleted packages.");
            line("enabled = false");
        }
    }
    line("");
    line("[monitoring]");
    line("# Who gets the alarms' emails (each address confirms an SNS subscription once).");
    line(&format!("alarm_emails = {}", list(&a.alarm_emails)));
    o
}

fn render_workload(line: &mut impl FnMut(&str), a: &Answers) {
    let plan = a.workload.plan(a.asg_subnets.len() as u32).ok();
    let summary = plan.as_ref().map(|p| {
        format!(
            "# Plan: {}-{} instances, {} tasks per instance, {}-{} tasks of {} gunicorn workers; about ${:.2}/month.",
            p.asg_min_size, p.asg_max_size, p.tasks_per_instance, p.task_min_count, p.task_max_count, p.gunicorn_workers, p.monthly_cost_usd
        )
    });
    line("[compute]");
    match &a.workload {
        Workload::Profile(p) => {
            line(&format!("# Workload: {} ({} packages, {} users), from the sizing guide.", p.title, p.packages, p.users));
            if let Some(s) = &summary {
                line(s);
            }
            line("# EC2 instance type of the ECS cluster.");
            line(&format!("instance_type = {}", q(p.instance_type)));
            line("# Instances always running (asg_min_size).");
            line(&format!("min_size = {}", p.instances));
            match p.asg_max_size {
                Some(max) => {
                    line("# Most instances the cluster scales out to (asg_max_size).");
                    line(&format!("max_size = {max}"));
                }
                None => line("# max_size is unset: enough instances for the most tasks."),
            }
        }
        Workload::Custom { instance_type, .. } => {
            line("# Workload: custom instance type and container memory.");
            if let Some(s) = &summary {
                line(s);
            }
            line("# EC2 instance type of the ECS cluster.");
            line(&format!("instance_type = {}", q(instance_type)));
            line("# min_size is unset: one instance per asg_subnets entry; max_size: enough for the most tasks.");
        }
    }
    let memory = match &a.workload {
        Workload::Profile(p) => p.container_memory,
        Workload::Custom { container_memory, .. } => *container_memory,
    };
    line("");
    line("[service]");
    line("# pypiserver image tag (pinned: a moving tag makes redeploys unrepeatable).");
    line(&format!("image_tag = {}", q(&a.image_tag)));
    line("# Hard memory limit of one pypiserver task (MB); workers, CPU and task counts follow from it.");
    line(&format!("container_memory = {memory}"));
}

/// Parses `text` (from [`render`]) back and runs every rule: what `deploy`
/// and `synth` would say about it.
pub fn check(text: &str) -> Result<Deployment, Vec<Invalid>> {
    let config = Config::from_toml(text)
        .map_err(|e| vec![Invalid { key: "pypictl.toml".into(), value: "(rendered)".into(), rule: e.0 }])?;
    Deployment::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_IMAGE_TAG;

    pub fn answers() -> Answers {
        Answers {
            region: "us-east-1".into(),
            service_name: "pypiserver".into(),
            environment: "development".into(),
            vpc_id: "vpc-0a1b2c3d4e5f60718".into(),
            load_balancer_subnets: vec!["subnet-0aa11bb22cc33dd44".into(), "subnet-0ee55ff6677889900".into()],
            asg_subnets: vec!["subnet-01234567890abcdef".into(), "subnet-0fedcba9876543210".into()],
            zone_id: "Z0123456789ABCDEFGHIJ".into(),
            zone_name: "example.com.".into(),
            dns_names: vec!["pypi".into()],
            internal: false,
            workload: Workload::profile("heavy").unwrap(),
            alarm_emails: vec!["ops@example.com".into()],
            backup: Some(BackupAnswers::default()),
            image_tag: DEFAULT_IMAGE_TAG.into(),
        }
    }

    #[test]
    fn golden_heavy() {
        let text = render(&answers());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/init/heavy.toml");
        if std::env::var_os("PYPICTL_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(text, golden, "run with PYPICTL_UPDATE_GOLDEN=1 to rewrite {} if the change is intended", path.display());
    }

    #[test]
    fn every_profile_and_custom_validate() {
        for p in &PROFILES {
            let a = Answers { workload: Workload::Profile(p), ..answers() };
            let d = check(&render(&a)).unwrap_or_else(|e| panic!("{}: {e:?}", p.key));
            assert_eq!(d.config.compute.instance_type, p.instance_type);
            assert_eq!(d.config.service.container_memory, p.container_memory);
        }
        let a = Answers {
            workload: Workload::Custom { instance_type: "m7g.large".into(), container_memory: 768 },
            internal: true,
            backup: None,
            ..answers()
        };
        let d = check(&render(&a)).unwrap();
        assert_eq!(d.capacity.gunicorn_workers, 6);
        assert!(d.config.load_balancer.internal && !d.config.backup.enabled);
        assert_eq!(d.config.compute.min_size, None);
    }

    #[test]
    fn rendered_values_round_trip_and_strings_are_escaped() {
        let a = Answers { environment: "a \"quoted\" env".into(), ..answers() };
        let cfg = Config::from_toml(&render(&a)).unwrap();
        assert_eq!(cfg.environment, "a \"quoted\" env");
        assert_eq!(cfg.dns.zone_name, "example.com");
        assert_eq!(cfg.backup.schedule, DEFAULT_BACKUP_SCHEDULE);
    }

    #[test]
    fn check_names_the_broken_rule() {
        let a = Answers { alarm_emails: vec!["not-an-email".into()], ..answers() };
        let errs = check(&render(&a)).unwrap_err();
        assert_eq!(errs[0].key, "monitoring.alarm_emails[0]");
    }

    #[test]
    fn profile_lines_show_the_guide_figures() {
        let lines: Vec<String> = PROFILES.iter().map(profile_line).collect();
        assert!(lines[0].contains("t3.small") && lines[0].contains("$ 47.87"), "{}", lines[0]);
        assert!(lines[2].contains("12-24 tasks, 4 workers") && lines[2].contains("$245.58"), "{}", lines[2]);
        assert!(lines[3].contains("8 workers") && lines[3].contains("$477.96"), "{}", lines[3]);
    }
}
