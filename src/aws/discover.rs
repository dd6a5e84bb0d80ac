//! [`Discovery`]: what `pypictl init` lists (VPCs, subnets, hosted zones).

use std::collections::HashMap;

use aws_sdk_ec2::types::{Filter, RouteTable, Tag};

use super::errors::cloud_error;
use super::AwsCloud;
use crate::engine::cloud::{Account, CloudResult, Discovery};
use crate::engine::model::*;

/// More pages than any account has: a misbehaving endpoint that always
/// returns a next token must not loop forever.
const MAX_PAGES: usize = 100;

fn name_tag(tags: &[Tag]) -> Option<String> {
    tags.iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value()).map(str::to_string)
}

/// A route table sends internet traffic to an internet gateway.
fn routes_to_internet(rt: &RouteTable) -> bool {
    rt.routes().iter().any(|r| {
        r.destination_cidr_block() == Some("0.0.0.0/0") && r.gateway_id().is_some_and(|g| g.starts_with("igw-"))
    })
}

impl AwsCloud {
    async fn route_tables(&self, vpc_id: &str) -> CloudResult<Vec<RouteTable>> {
        let filter = Filter::builder().name("vpc-id").values(vpc_id).build();
        let mut tables = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .ec2
                .describe_route_tables()
                .filters(filter.clone())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(cloud_error)?;
            tables.extend(out.route_tables().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(tables)
    }
}

impl Discovery for AwsCloud {
    async fn vpcs(&self) -> CloudResult<Vec<VpcSummary>> {
        let mut raw = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self.ec2.describe_vpcs().set_next_token(token.take()).send().await.map_err(cloud_error)?;
            raw.extend(out.vpcs().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        let mut vpcs = Vec::new();
        for v in raw {
            let Some(id) = v.vpc_id() else { continue };
            // The same attribute and gateway look-ups as `deploy`'s checks.
            let Some(info) = self.vpc(id).await? else { continue };
            vpcs.push(VpcSummary {
                info,
                name: name_tag(v.tags()),
                cidr: v.cidr_block().unwrap_or_default().to_string(),
                is_default: v.is_default().unwrap_or(false),
            });
        }
        vpcs.sort_by(|a, b| (a.name.is_none(), &a.name, &a.info.id).cmp(&(b.name.is_none(), &b.name, &b.info.id)));
        Ok(vpcs)
    }

    async fn vpc_subnets(&self, vpc_id: &str) -> CloudResult<Vec<SubnetSummary>> {
        let filter = Filter::builder().name("vpc-id").values(vpc_id).build();
        let mut raw = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out =
                self.ec2.describe_subnets().filters(filter.clone()).set_next_token(token.take()).send().await.map_err(cloud_error)?;
            raw.extend(out.subnets().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        // A subnet without an explicit association uses the VPC's main table.
        let tables = self.route_tables(vpc_id).await?;
        let mut explicit: HashMap<String, bool> = HashMap::new();
        let mut main_public = false;
        for rt in &tables {
            let public = routes_to_internet(rt);
            for a in rt.associations() {
                if a.main() == Some(true) {
                    main_public = public;
                } else if let Some(s) = a.subnet_id() {
                    explicit.insert(s.to_string(), public);
                }
            }
        }
        let mut subnets: Vec<SubnetSummary> = raw
            .iter()
            .map(|s| {
                let id = s.subnet_id().unwrap_or_default().to_string();
                SubnetSummary {
                    public: explicit.get(&id).copied().unwrap_or(main_public),
                    subnet: Subnet {
                        vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                        availability_zone: s.availability_zone().unwrap_or_default().to_string(),
                        map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
                        id,
                    },
                    name: name_tag(s.tags()),
                    cidr: s.cidr_block().unwrap_or_default().to_string(),
                }
            })
            .collect();
        subnets.sort_by(|a, b| (&a.subnet.availability_zone, &a.cidr, &a.subnet.id).cmp(&(&b.subnet.availability_zone, &b.cidr, &b.subnet.id)));
        Ok(subnets)
    }

    async fn hosted_zones(&self) -> CloudResult<Vec<HostedZone>> {
        let mut zones = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self.route53.list_hosted_zones().set_marker(marker.take()).send().await.map_err(cloud_error)?;
            for z in out.hosted_zones() {
                let id = z.id();
                let id = id.strip_prefix("/hostedzone/").unwrap_or(id);
                zones.push(HostedZone {
                    id: id.to_string(),
                    name: z.name().trim_end_matches('.').to_string(),
                    private: z.config().is_some_and(|c| c.private_zone()),
                });
            }
            match (out.is_truncated(), out.next_marker()) {
                (true, Some(m)) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        zones.sort_by(|a, b| (a.private, &a.name, &a.id).cmp(&(b.private, &b.name, &b.id)));
        Ok(zones)
    }
}
