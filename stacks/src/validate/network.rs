//! Network rules: the VPC and subnets the deployment goes into, and the
//! load balancer's client ranges and timeouts.

use std::net::Ipv4Addr;

use crate::config::Config;

use super::{is_resource_id, list, quoted, Checker};

fn is_ipv4_cidr(s: &str) -> bool {
    s.split_once('/').is_some_and(|(ip, bits)| {
        ip.parse::<Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32) && !bits.starts_with('+')
    })
}

/// The network an IPv4 CIDR block denotes, written as one: `10.0.0.1/8` →
/// `10.0.0.0/8`. None when `s` is no CIDR block.
fn cidr_network(s: &str) -> Option<String> {
    if !is_ipv4_cidr(s) {
        return None;
    }
    let (ip, bits) = s.split_once('/')?;
    let (ip, bits) = (u32::from(ip.parse::<Ipv4Addr>().ok()?), bits.parse::<u32>().ok()?);
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    Some(format!("{}/{bits}", Ipv4Addr::from(ip & mask)))
}

/// The VPC and its subnets: an ALB spans two availability zones, the
/// instances need at least one subnet.
pub(super) fn network(c: &mut Checker, cfg: &Config) {
    let n = &cfg.network;
    c.check(is_resource_id(&n.vpc_id, "vpc"), "network.vpc_id", quoted(&n.vpc_id), "must be a VPC id such as \"vpc-0123456789abcdef0\"");
    if n.load_balancer_subnets.len() < 2 {
        c.fail("network.load_balancer_subnets", list(&n.load_balancer_subnets), "needs at least 2 subnets in different availability zones (an ALB spans at least two)");
    }
    if n.asg_subnets.is_empty() {
        c.fail("network.asg_subnets", "[]", "needs at least one subnet for the instances");
    }
    for (key, subnets) in [("network.load_balancer_subnets", &n.load_balancer_subnets), ("network.asg_subnets", &n.asg_subnets)] {
        for (i, s) in subnets.iter().enumerate() {
            c.check(is_resource_id(s, "subnet"), format!("{key}[{i}]"), quoted(s), "must be a subnet id such as \"subnet-0123456789abcdef0\"");
        }
        c.unique(key, subnets);
    }
}

/// The load balancer: log retention, the client ranges it admits (its
/// security group's rules), its idle timeout.
pub(super) fn load_balancer(c: &mut Checker, cfg: &Config) {
    let lb = &cfg.load_balancer;
    c.check(lb.access_log_retention_days >= 1, "load_balancer.access_log_retention_days", lb.access_log_retention_days, "must be at least 1 day");
    if let Some(cidrs) = &lb.allowed_cidrs {
        if cidrs.is_empty() {
            c.fail("load_balancer.allowed_cidrs", "[]", "needs at least one IPv4 range, or leave it unset for the default");
        }
        for (i, cidr) in cidrs.iter().enumerate() {
            let key = format!("load_balancer.allowed_cidrs[{i}]");
            match cidr_network(cidr) {
                None => c.fail(key, quoted(cidr), "must be an IPv4 CIDR block such as \"10.0.0.0/8\""),
                // A block is a network address and a prefix; EC2 takes one
                // with host bits as the network it denotes, so the rule is
                // not what was written, and an address with a prefix is
                // usually a mistyped /32 or network.
                Some(net) if net != *cidr => {
                    let host = format!("{}/32", cidr.split('/').next().unwrap_or_default());
                    c.fail(key, quoted(cidr), format!("has host bits set (it is no network address): did you mean {}? ({} for that one address)", quoted(&net), quoted(&host)));
                }
                Some(_) => {}
            }
        }
        c.unique("load_balancer.allowed_cidrs", cidrs);
        // Two rules (443 and 80) per range; a security group takes 60
        // inbound rules by default ("Amazon VPC quotas").
        if cidrs.len() > 30 {
            c.fail("load_balancer.allowed_cidrs", format!("{} ranges", cidrs.len()), "at most 30 ranges: each gives the load balancer's security group two rules (HTTPS and HTTP), and a group has at most 60 inbound rules by default");
        }
    }
    c.check((1..=4000).contains(&lb.idle_timeout_seconds), "load_balancer.idle_timeout_seconds", lb.idle_timeout_seconds, "must be 1-4000 seconds");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{problem, problems};

    #[test]
    fn cidrs_with_host_bits_suggest_the_network() {
        assert_eq!(cidr_network("10.0.0.1/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(cidr_network("192.168.1.77/32").as_deref(), Some("192.168.1.77/32"));
        assert_eq!(cidr_network("1.2.3.4/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(cidr_network("10.0.0.0/33"), None);
        assert_eq!(problems(|c| c.load_balancer.allowed_cidrs = Some(vec!["10.0.0.0/8".into(), "203.0.113.7/32".into()])), vec![]);
        let e = problem(|c| c.load_balancer.allowed_cidrs = Some(vec!["192.168.0.0/16".into(), "10.0.0.1/8".into()]));
        assert_eq!(e.key, "load_balancer.allowed_cidrs[1]");
        assert!(e.rule.contains(r#"did you mean "10.0.0.0/8"?"#) && e.rule.contains(r#""10.0.0.1/32""#), "{e}");
    }
}
