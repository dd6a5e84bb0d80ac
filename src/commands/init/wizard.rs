//! The interactive wizard: one step per question, each skipped when its
//! flag was given. Lists come from AWS through [`Discovery`]; problems are
//! explained with `deploy`'s own prerequisite checks.

use std::collections::BTreeSet;

use anyhow::Result;
use pypictl_stacks::init::{profile_line, Answers, BackupAnswers, Workload};
use pypictl_stacks::sizing::PROFILES;
use pypictl_stacks::validate::{check_backup_cron, is_image_tag, IMAGE_TAG_RULE};

use super::{ask, profiles};
use crate::aws::{AwsCloud, Connection};
use crate::cli::{Global, InitArgs, Scheme};
use crate::engine::cloud::{Account, Discovery};
use crate::engine::model::{HostedZone, SubnetSummary, VpcSummary};
use crate::engine::prereq::{self, Problem};
use crate::exit::bad_input;

/// Bounds every "ask again" loop: a user who gets it wrong this often is
/// better served by the error and `pypictl init --help`.
const MAX_TRIES: usize = 20;

fn show_problems(problems: &[Problem]) {
    for p in problems {
        eprintln!("  ✗ {}\n    fix: {}", p.what, p.fix);
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "OFF"
    }
}

fn vpc_line(v: &VpcSummary) -> String {
    format!(
        "{:<21}  {:<20}  {:<15}  DNS support {:<3}  DNS hostnames {:<3}{}",
        v.info.id,
        v.name.as_deref().unwrap_or("(no name)"),
        v.cidr,
        on_off(v.info.dns_support),
        on_off(v.info.dns_hostnames),
        if v.is_default { "  (default VPC)" } else { "" }
    )
}

fn subnet_line(s: &SubnetSummary) -> String {
    format!(
        "{:<24}  {:<7}  {:<11}  {:<15}  {}",
        s.subnet.id,
        if s.public { "public" } else { "private" },
        s.subnet.availability_zone,
        s.cidr,
        s.name.as_deref().unwrap_or("")
    )
}

fn zone_line(z: &HostedZone) -> String {
    format!("{:<30}  {:<7}  {}", z.name, if z.private { "private" } else { "public" }, z.id)
}

/// What a VPC lacks, including subnets in two zones (known only once its
/// subnets are listed). The internet gateway is the scheme step's concern.
fn vpc_problems(vpc: &VpcSummary, subnets: &[SubnetSummary]) -> Vec<Problem> {
    let mut problems = prereq::vpc_problems(&vpc.info, true);
    let azs: BTreeSet<String> = subnets.iter().map(|s| s.subnet.availability_zone.clone()).collect();
    if let Some(mut p) = prereq::load_balancer_zones_problem(&azs) {
        p.what = if subnets.is_empty() {
            format!("VPC {} has no subnets: an ALB needs subnets in at least 2 availability zones", vpc.info.id)
        } else {
            format!("VPC {}'s subnets are all in {}: an ALB needs subnets in at least 2 availability zones", vpc.info.id, azs.iter().cloned().collect::<Vec<_>>().join(", "))
        };
        p.fix = format!("create a subnet in another zone: aws ec2 create-subnet --vpc-id {} --availability-zone <zone> --cidr-block <cidr>", vpc.info.id);
        problems.push(p);
    }
    problems
}

pub fn run(global: &Global, args: &InitArgs) -> Result<(Answers, Option<String>)> {
    eprintln!("pypictl init: a few questions, then a commented pypictl.toml. Ctrl-C stops without writing anything.\n");

    // 1. Profile and region.
    let known = profiles::load();
    let profile = match &global.profile {
        Some(p) => Some(p.clone()),
        None if known.is_empty() => {
            eprintln!("No AWS profiles found: using credentials from the environment.");
            None
        }
        None => {
            let items: Vec<String> =
                known.iter().map(|p| format!("{:<20} {}", p.name, p.region.as_deref().unwrap_or("(no region)"))).collect();
            Some(known[ask::select("AWS profile", &items, 0)?].name.clone())
        }
    };
    let region = match &global.region {
        Some(r) => r.clone(),
        None => {
            let default = super::default_region(global, profile.as_deref()).unwrap_or_else(|| "us-east-1".into());
            ask::text("AWS region", Some(&default), |r| {
                if r.split('-').count() >= 3 { Ok(()) } else { Err(format!("{r:?} is not a region code such as us-east-1")) }
            })?
        }
    };
    let rt = super::super::session::runtime()?;
    let cloud = rt.block_on(AwsCloud::connect(&Connection {
        profile: profile.clone(),
        region: Some(region.clone()),
        endpoint_url: global.endpoint_url.clone(),
    }))?;
    rt.block_on(crate::aws::reach::ensure_reachable(&cloud))?;
    let identity = rt.block_on(cloud.identity()).map_err(|e| anyhow::anyhow!("cannot reach AWS as profile {}: {e}", profile.as_deref().unwrap_or("(environment)")))?;
    eprintln!("Account {} ({}) in {region}\n", identity.account, identity.arn);

    // 2. VPC, and its subnets.
    let vpcs = rt.block_on(cloud.vpcs())?;
    if vpcs.is_empty() {
        return Err(bad_input(format!(
            "there is no VPC in {region} (account {}): create one (VPC console, \"VPC and more\", 2 AZs, public and private subnets) and run `pypictl init` again",
            identity.account
        )));
    }
    let (vpc, subnets) = choose_vpc(&rt, &cloud, &vpcs, args)?;

    // 3. Subnets.
    let lb_subnets = choose_lb_subnets(&subnets, args)?;
    let instance_subnets = choose_instance_subnets(&subnets, args)?;

    // 4. Hosted zone and names.
    let zones = rt.block_on(cloud.hosted_zones())?;
    let zone = choose_zone(&zones, args)?;
    let dns_names = if !args.dns_names.is_empty() {
        super::check_dns_names(&args.dns_names).map_err(|rule| super::flag_error("--dns-names", &args.dns_names.join(","), &rule))?;
        args.dns_names.clone()
    } else {
        let zone_name = zone.name.clone();
        let typed = ask::text(&format!("DNS names inside {} (comma-separated)", zone.name), Some("pypiserver"), move |s| {
            super::check_dns_names(&ask::split_list(s))?;
            Ok(())
        })?;
        let names = ask::split_list(&typed);
        let hosts = pypictl_stacks::init::hostnames(&names, &zone_name);
        eprintln!("  → the service will answer at {}", hosts.iter().map(|h| format!("https://{h}/")).collect::<Vec<_>>().join(", "));
        names
    };

    // 5. Scheme.
    let internal = choose_scheme(&vpc, &zone, args)?;

    // 6. Workload.
    let workload = choose_workload(args, instance_subnets.len() as u32)?;

    // 7. Alarms, backups, image.
    let alarm_emails = if !args.alarm_emails.is_empty() {
        super::check_emails(&args.alarm_emails).map_err(|rule| super::flag_error("--alarm-email", &args.alarm_emails.join(","), &rule))?;
        args.alarm_emails.clone()
    } else {
        ask::split_list(&ask::text("Alarm emails (comma-separated)", None, |s| super::check_emails(&ask::split_list(s)))?)
    };
    let backup = choose_backup(args)?;
    let image_tag = match super::image_tag_from_flags(args)? {
        Some(t) => t,
        None => ask::text("pypiserver image tag", Some(pypictl_stacks::config::DEFAULT_IMAGE_TAG), |t| {
            if is_image_tag(t) { Ok(()) } else { Err(IMAGE_TAG_RULE.to_string()) }
        })?,
    };

    let answers = Answers {
        region,
        service_name: args.service_name.clone().unwrap_or_else(|| "pypiserver".into()),
        environment: args.environment.clone().unwrap_or_else(|| "development".into()),
        vpc_id: vpc.info.id.clone(),
        load_balancer_subnets: lb_subnets,
        asg_subnets: instance_subnets,
        zone_id: zone.id.clone(),
        zone_name: zone.name.trim_end_matches('.').to_string(),
        dns_names,
        internal,
        workload,
        alarm_emails,
        backup,
        image_tag,
    };
    Ok((answers, profile))
}

fn choose_vpc(
    rt: &tokio::runtime::Runtime,
    cloud: &AwsCloud,
    vpcs: &[VpcSummary],
    args: &InitArgs,
) -> Result<(VpcSummary, Vec<SubnetSummary>)> {
    if let Some(id) = &args.vpc_id {
        let vpc = vpcs
            .iter()
            .find(|v| &v.info.id == id)
            .ok_or_else(|| super::flag_error("--vpc-id", id, "no such VPC in this account and region"))?;
        let subnets = rt.block_on(cloud.vpc_subnets(id))?;
        show_problems(&vpc_problems(vpc, &subnets));
        return Ok((vpc.clone(), subnets));
    }
    let items: Vec<String> = vpcs.iter().map(vpc_line).collect();
    let mut default = 0;
    for _ in 0..MAX_TRIES {
        let i = ask::select("VPC", &items, default)?;
        let vpc = &vpcs[i];
        let subnets = rt.block_on(cloud.vpc_subnets(&vpc.info.id))?;
        let problems = vpc_problems(vpc, &subnets);
        if problems.is_empty() {
            return Ok((vpc.clone(), subnets));
        }
        eprintln!("{} is not ready for pypictl:", vpc.info.id);
        show_problems(&problems);
        let azs: BTreeSet<&str> = subnets.iter().map(|s| s.subnet.availability_zone.as_str()).collect();
        // Without subnets in two zones no answer to the next question works.
        let mut options = vec!["Choose another VPC".to_string()];
        if azs.len() >= 2 {
            options.push("Use it anyway (fix it before `pypictl deploy`)".into());
        }
        if ask::select("What now?", &options, 0)? == 1 {
            return Ok((vpc.clone(), subnets));
        }
        default = i;
    }
    Err(bad_input("no usable VPC chosen; fix the VPC as shown, or pass --vpc-id"))
}

fn zones_of(chosen: &[&SubnetSummary]) -> BTreeSet<String> {
    chosen.iter().map(|s| s.subnet.availability_zone.clone()).collect()
}

fn lookup_flag_subnets<'a>(subnets: &'a [SubnetSummary], ids: &[String], flag: &str) -> Result<Vec<&'a SubnetSummary>> {
    ids.iter()
        .map(|id| {
            subnets.iter().find(|s| &s.subnet.id == id).ok_or_else(|| super::flag_error(flag, id, "no such subnet in the chosen VPC"))
        })
        .collect()
}

fn choose_lb_subnets(subnets: &[SubnetSummary], args: &InitArgs) -> Result<Vec<String>> {
    if !args.lb_subnets.is_empty() {
        let chosen = lookup_flag_subnets(subnets, &args.lb_subnets, "--lb-subnets")?;
        if let Some(p) = prereq::load_balancer_zones_problem(&zones_of(&chosen)) {
            return Err(super::flag_error("--lb-subnets", &args.lb_subnets.join(","), &p.what));
        }
        return Ok(args.lb_subnets.clone());
    }
    // Public first: an internet-facing ALB belongs in public subnets.
    let mut order: Vec<&SubnetSummary> = subnets.iter().collect();
    order.sort_by_key(|s| !s.public);
    let items: Vec<String> = order.iter().map(|s| subnet_line(s)).collect();
    let checked: Vec<bool> = order.iter().map(|s| s.public).collect();
    for _ in 0..MAX_TRIES {
        let picked = ask::multi_select("Load-balancer subnets (space toggles, enter accepts; public first, 2+ zones)", &items, &checked)?;
        let chosen: Vec<&SubnetSummary> = picked.iter().map(|&i| order[i]).collect();
        match prereq::load_balancer_zones_problem(&zones_of(&chosen)) {
            None => return Ok(chosen.iter().map(|s| s.subnet.id.clone()).collect()),
            Some(p) if chosen.is_empty() => show_problems(&[Problem { what: "no subnet chosen".into(), ..p }]),
            Some(p) => show_problems(&[p]),
        }
    }
    Err(bad_input("no valid load-balancer subnets chosen; pass --lb-subnets"))
}

fn choose_instance_subnets(subnets: &[SubnetSummary], args: &InitArgs) -> Result<Vec<String>> {
    if !args.instance_subnets.is_empty() {
        let chosen = lookup_flag_subnets(subnets, &args.instance_subnets, "--instance-subnets")?;
        if let Some(p) = prereq::instance_zones_problem(&chosen.iter().map(|s| &s.subnet).collect::<Vec<_>>()) {
            return Err(super::flag_error("--instance-subnets", &args.instance_subnets.join(","), &p.what));
        }
        return Ok(args.instance_subnets.clone());
    }
    // Private first, and one pre-checked per zone: instances need no public address.
    let mut order: Vec<&SubnetSummary> = subnets.iter().collect();
    order.sort_by_key(|s| s.public);
    let mut seen = BTreeSet::new();
    let any_private = order.iter().any(|s| !s.public);
    let checked: Vec<bool> = order.iter().map(|s| (!s.public || !any_private) && seen.insert(s.subnet.availability_zone.clone())).collect();
    let items: Vec<String> = order.iter().map(|s| subnet_line(s)).collect();
    for _ in 0..MAX_TRIES {
        let picked = ask::multi_select("Instance subnets (one per zone; private preferred)", &items, &checked)?;
        let chosen: Vec<&SubnetSummary> = picked.iter().map(|&i| order[i]).collect();
        if chosen.is_empty() {
            eprintln!("  ✗ choose at least one subnet");
            continue;
        }
        match prereq::instance_zones_problem(&chosen.iter().map(|s| &s.subnet).collect::<Vec<_>>()) {
            None => return Ok(chosen.iter().map(|s| s.subnet.id.clone()).collect()),
            Some(p) => show_problems(&[p]),
        }
    }
    Err(bad_input("no valid instance subnets chosen; pass --instance-subnets"))
}

fn choose_zone(zones: &[HostedZone], args: &InitArgs) -> Result<HostedZone> {
    if let Some(id) = &args.zone_id {
        let bare = id.strip_prefix("/hostedzone/").unwrap_or(id);
        return zones
            .iter()
            .find(|z| z.id == bare)
            .cloned()
            .ok_or_else(|| super::flag_error("--zone-id", id, "no such hosted zone in this account"));
    }
    if zones.is_empty() {
        return Err(bad_input(
            "there is no Route53 hosted zone in this account: create one for your domain (aws route53 create-hosted-zone --name example.com --caller-reference $(date +%s)) and run `pypictl init` again",
        ));
    }
    let items: Vec<String> = zones.iter().map(zone_line).collect();
    Ok(zones[ask::select("Hosted zone", &items, 0)?].clone())
}

fn choose_scheme(vpc: &VpcSummary, zone: &HostedZone, args: &InitArgs) -> Result<bool> {
    let internal = match args.scheme {
        Some(s) => s == Scheme::Internal,
        None => {
            let items = vec![
                "internet-facing: reachable from anywhere (HTTPS, basic auth)".to_string(),
                "internal: reachable only inside the VPC (and peered networks)".to_string(),
            ];
            // A private zone or no internet gateway points to internal.
            let default = usize::from(zone.private || vpc.info.internet_gateway.is_none());
            ask::select("Load balancer", &items, default)? == 1
        }
    };
    if !internal {
        show_problems(&prereq::vpc_problems(&vpc.info, false).into_iter().filter(|p| p.what.contains("internet gateway")).collect::<Vec<_>>());
        if zone.private {
            eprintln!("  ! {} is a private zone: an internet-facing load balancer's names would resolve only inside the VPC", zone.name);
        }
    }
    Ok(internal)
}

fn choose_workload(args: &InitArgs, asg_subnet_count: u32) -> Result<Workload> {
    if let Some(w) = super::workload_from_flags(args)? {
        return Ok(w);
    }
    let mut items: Vec<String> = PROFILES.iter().map(profile_line).collect();
    items.push("Custom      your instance type and container memory, with a capacity preview".into());
    let i = ask::select("Workload (from the sizing guide; cost: EC2 on-demand us-east-1 + EFS + ALB)", &items, 0)?;
    if i < PROFILES.len() {
        return Ok(Workload::Profile(&PROFILES[i]));
    }
    for _ in 0..MAX_TRIES {
        let instance_type = ask::text("Instance type", Some("c6a.large"), super::check_instance_type)?;
        let memory = ask::text("Container memory (MB)", Some("512"), |m| match m.parse::<u32>() {
            Ok(v) if v >= 128 => Ok(()),
            _ => Err(format!("{m:?}: must be a whole number of MB, at least 128")),
        })?;
        let w = Workload::Custom { instance_type, container_memory: memory.parse().unwrap_or(512) };
        match w.plan(asg_subnet_count) {
            Ok(plan) => {
                eprint!("{}", crate::ui::size::render_text(&plan));
                if ask::confirm("Use this size?", true)? {
                    return Ok(w);
                }
            }
            Err(e) => eprintln!("  ✗ {e}"),
        }
    }
    Err(bad_input("no workload chosen; pass --workload"))
}

fn choose_backup(args: &InitArgs) -> Result<Option<BackupAnswers>> {
    // --backup answers the whole question: retention and schedule come
    // from their flags or defaults, as with --non-interactive.
    if args.backup.is_some() {
        return super::backup_from_flags(args);
    }
    if !ask::confirm("Back up the packages with AWS Backup?", true)? {
        return Ok(None);
    }
    let d = BackupAnswers::default();
    let retention_days = match args.backup_retention_days {
        Some(r) => r,
        None => ask::text("Keep each backup for (days)", Some(&d.retention_days.to_string()), |s| match s.parse::<u32>() {
            Ok(v) if v >= 1 => Ok(()),
            _ => Err(format!("{s:?}: must be a whole number of days, at least 1")),
        })?
        .parse()
        .unwrap_or(d.retention_days),
    };
    let schedule = match &args.backup_schedule {
        Some(s) => s.clone(),
        None => ask::text("Backup schedule (AWS cron, UTC)", Some(&d.schedule), check_backup_cron)?,
    };
    let answers = BackupAnswers { retention_days, schedule };
    // Values from flags get the same checks, naming the flag.
    if args.backup_retention_days.is_some() || args.backup_schedule.is_some() {
        super::backup_from_flags(args)?;
    }
    Ok(Some(answers))
}

/// What will be written, in a few lines.
pub fn summary(a: &Answers) -> String {
    let workload = match &a.workload {
        Workload::Profile(p) => format!("{} ({} x {})", p.title, p.instances, p.instance_type),
        Workload::Custom { instance_type, container_memory } => format!("custom ({instance_type}, {container_memory} MB containers)"),
    };
    let plan = a
        .workload
        .plan(a.asg_subnets.len() as u32)
        .map(|p| format!("{}-{} tasks, about ${:.2}/month", p.task_min_count, p.task_max_count, p.monthly_cost_usd))
        .unwrap_or_default();
    let backup = match &a.backup {
        Some(b) => format!("on, {} days, {}", b.retention_days, b.schedule),
        None => "off".into(),
    };
    format!(
        "Summary\n  region            {}\n  VPC               {}\n  LB subnets        {}\n  instance subnets  {}\n  URLs              {}\n  load balancer     {}\n  workload          {workload}; {plan}\n  alarm emails      {}\n  backups           {backup}\n  image tag         {}\n",
        a.region,
        a.vpc_id,
        a.load_balancer_subnets.join(", "),
        a.asg_subnets.join(", "),
        a.service_urls().join(", "),
        if a.internal { "internal" } else { "internet-facing" },
        a.alarm_emails.join(", "),
        a.image_tag
    )
}
