//! What the account must have before pypictl changes anything: the subnets
//! exist in the VPC, the ALB spans two AZs, the VPC resolves DNS, an internet
//! gateway for an internet-facing ALB, the hosted zone matches, the instance
//! type is offered. Each problem comes with its fix.

use std::collections::{BTreeSet, HashMap};

use pypictl_stacks::components::network;
use pypictl_stacks::{catalogue, Config};

use super::cloud::{Account, CloudResult};
use super::model::{Identity, Subnet, VpcInfo};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
    pub fix: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub identity: Identity,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Root-template parameters looked up in the account (name, value).
    pub parameters: Vec<(String, String)>,
}

fn problem(what: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem { what: what.into(), fix: fix.into() }
}

/// What a VPC lacks for pypictl: DNS support and hostnames, and an internet
/// gateway for an internet-facing load balancer. `init` explains the same.
pub fn vpc_problems(vpc: &VpcInfo, internal: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (on, attr) in [(vpc.dns_support, "enableDnsSupport"), (vpc.dns_hostnames, "enableDnsHostnames")] {
        if !on {
            problems.push(problem(
                format!("VPC {} has {attr} off: instances could not resolve the file system's and AWS endpoints' names", vpc.id),
                format!("aws ec2 modify-vpc-attribute --vpc-id {} --{} '{{\"Value\":true}}'", vpc.id, if attr == "enableDnsSupport" { "enable-dns-support" } else { "enable-dns-hostnames" }),
            ));
        }
    }
    if !internal && vpc.internet_gateway.is_none() {
        problems.push(problem(
            format!("VPC {} has no internet gateway: an internet-facing load balancer would be unreachable", vpc.id),
            "attach an internet gateway to the VPC, or set load_balancer.internal = true",
        ));
    }
    problems
}

/// An ALB needs subnets in at least two availability zones.
pub fn load_balancer_zones_problem(azs: &BTreeSet<String>) -> Option<Problem> {
    (azs.len() < 2).then(|| {
        problem(
            format!("network.load_balancer_subnets are all in {}: an ALB needs subnets in at least 2 availability zones", azs.iter().cloned().collect::<Vec<_>>().join(", ")),
            "add a subnet from another availability zone to network.load_balancer_subnets",
        )
    })
}

/// EFS has one mount target per zone, so one instance subnet per zone.
pub fn instance_zones_problem(subnets: &[&Subnet]) -> Option<Problem> {
    let azs: BTreeSet<&str> = subnets.iter().map(|s| s.availability_zone.as_str()).collect();
    (azs.len() < subnets.len()).then(|| {
        problem(
            "network.asg_subnets has two subnets in the same availability zone: EFS allows one mount target per zone",
            "keep one instance subnet per availability zone in network.asg_subnets",
        )
    })
}

pub async fn check<A: Account>(account: &A, cfg: &Config) -> CloudResult<Checked> {
    let identity = account.identity().await?;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let net = &cfg.network;
    let region = &cfg.region;

    let mut ids: Vec<String> = net.load_balancer_subnets.iter().chain(&net.asg_subnets).cloned().collect();
    ids.sort();
    ids.dedup();
    let found = account.subnets(&ids).await?;
    let by_id: HashMap<&str, _> = found.iter().map(|s| (s.id.as_str(), s)).collect();
    for (key, list) in [("network.load_balancer_subnets", &net.load_balancer_subnets), ("network.asg_subnets", &net.asg_subnets)] {
        for id in list {
            match by_id.get(id.as_str()) {
                None => problems.push(problem(
                    format!("{key}: subnet {id} does not exist in {region} (account {})", identity.account),
                    "list the subnets with `aws ec2 describe-subnets` (or run `pypictl init`) and correct the id",
                )),
                Some(s) if s.vpc_id != net.vpc_id => problems.push(problem(
                    format!("{key}: subnet {id} belongs to {}, not to network.vpc_id {}", s.vpc_id, net.vpc_id),
                    format!("use subnets of {} or set network.vpc_id = \"{}\"", net.vpc_id, s.vpc_id),
                )),
                Some(_) => {}
            }
        }
    }
    let azs = |list: &[String]| -> BTreeSet<String> { list.iter().filter_map(|id| by_id.get(id.as_str())).map(|s| s.availability_zone.clone()).collect() };
    let lb_azs = azs(&net.load_balancer_subnets);
    if net.load_balancer_subnets.iter().all(|id| by_id.contains_key(id.as_str())) {
        problems.extend(load_balancer_zones_problem(&lb_azs));
    }
    let asg_known: Vec<&Subnet> = net.asg_subnets.iter().filter_map(|id| by_id.get(id.as_str()).copied()).collect();
    problems.extend(instance_zones_problem(&asg_known));
    if !cfg.load_balancer.internal {
        for id in &net.load_balancer_subnets {
            if by_id.get(id.as_str()).is_some_and(|s| !s.map_public_ip_on_launch) {
                warnings.push(format!("load-balancer subnet {id} does not map public IPs on launch: make sure it is public (routed to an internet gateway) for an internet-facing ALB"));
            }
        }
    }

    match account.vpc(&net.vpc_id).await? {
        None => problems.push(problem(format!("network.vpc_id: {} does not exist in {region}", net.vpc_id), "correct network.vpc_id (or run `pypictl init`)")),
        Some(vpc) => problems.extend(vpc_problems(&vpc, cfg.load_balancer.internal)),
    }

    match account.hosted_zone(&cfg.dns.zone_id).await? {
        None => problems.push(problem(format!("dns.zone_id: hosted zone {} does not exist", cfg.dns.zone_id), "list zones with `aws route53 list-hosted-zones` and correct dns.zone_id")),
        Some(zone) => {
            let want = cfg.dns.zone_name.trim_end_matches('.');
            let have = zone.name.trim_end_matches('.');
            if !want.eq_ignore_ascii_case(have) {
                problems.push(problem(
                    format!("dns.zone_name is {want} but hosted zone {} is {have}", cfg.dns.zone_id),
                    format!("set dns.zone_name = \"{have}\" or use the id of {want}'s zone"),
                ));
            }
            if zone.private && cfg.load_balancer.certificate_arn.is_none() {
                // ACM validates by looking up the record publicly: through a
                // private zone the certificate waits for hours, then fails
                // ("ACM does not support DNS validation through private
                // hosted zones": ACM User Guide, "DNS validation").
                problems.push(problem(
                    format!("dns.zone_id: hosted zone {have} is private, and ACM cannot validate a certificate through a private zone (the deploy would wait for hours, then fail)"),
                    format!("request or import a certificate for {} in ACM in {region} (validated through a public zone, or imported), then set load_balancer.certificate_arn to its ARN", cfg.hostnames().join(", ")),
                ));
            } else if zone.private && !cfg.load_balancer.internal {
                warnings.push(format!("hosted zone {have} is private: the internet-facing load balancer's names resolve only inside its VPCs"));
            }
        }
    }

    let mut parameters = Vec::new();
    if cfg.cloudfront.enabled {
        match account.managed_prefix_list(network::CLOUDFRONT_PREFIX_LIST_NAME).await? {
            Some(id) => parameters.push((network::CLOUDFRONT_PREFIX_LIST_PARAM.to_string(), id)),
            None => problems.push(problem(
                format!("cloudfront.enabled: {region} has no managed prefix list {}, which admits CloudFront to the load balancer", network::CLOUDFRONT_PREFIX_LIST_NAME),
                "deploy to a region where CloudFront's origin-facing prefix list exists, or set cloudfront.enabled = false",
            )),
        }
    }

    let it = &cfg.compute.instance_type;
    match account.instance_type(it).await? {
        None => problems.push(problem(
            format!("compute.instance_type: {it} is not offered in {region}"),
            format!("choose another type (`aws ec2 describe-instance-type-offerings --region {region}`)"),
        )),
        Some(info) => {
            if let Some(known) = catalogue::lookup(it) {
                if (known.vcpus, known.memory_mib) != (info.vcpus, info.memory_mib) {
                    warnings.push(format!(
                        "{it}: EC2 reports {} vCPU / {} MiB, pypictl's catalogue {} vCPU / {} MiB; sizing uses the catalogue",
                        info.vcpus, info.memory_mib, known.vcpus, known.memory_mib
                    ));
                }
            }
        }
    }

    Ok(Checked { identity, problems, warnings, parameters })
}
