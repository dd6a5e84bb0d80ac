//! [`Account`]: what must exist before pypictl changes anything.

use aws_sdk_ec2::types::{Filter, InstanceType, VpcAttributeName};

use super::errors::{cloud_error, missing};
use super::AwsCloud;
use crate::engine::cloud::{Account, CloudResult};
use crate::engine::model::*;

fn subnet(s: &aws_sdk_ec2::types::Subnet) -> Subnet {
    Subnet {
        id: s.subnet_id().unwrap_or_default().to_string(),
        vpc_id: s.vpc_id().unwrap_or_default().to_string(),
        availability_zone: s.availability_zone().unwrap_or_default().to_string(),
        map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
    }
}

/// `Z0123` from `/hostedzone/Z0123` or `Z0123`.
fn bare_zone_id(id: &str) -> &str {
    let id = id.trim();
    id.strip_prefix("/hostedzone/").or_else(|| id.strip_prefix("hostedzone/")).unwrap_or(id)
}

impl AwsCloud {
    /// DescribeSubnets with a `subnet-id` filter: unlike `SubnetIds`, it
    /// lists the subnets that exist instead of failing on the first that
    /// does not.
    async fn subnets_by_filter(&self, ids: &[String]) -> CloudResult<Vec<aws_sdk_ec2::types::Subnet>> {
        let filter = Filter::builder().name("subnet-id").set_values(Some(ids.to_vec())).build();
        let mut subnets = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .ec2
                .describe_subnets()
                .filters(filter.clone())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(cloud_error)?;
            subnets.extend(out.subnets().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(subnets),
            }
        }
    }

    async fn vpc_attribute(&self, id: &str, attribute: VpcAttributeName) -> CloudResult<bool> {
        let out = self
            .ec2
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(attribute.clone())
            .send()
            .await
            .map_err(cloud_error)?;
        let value = match attribute {
            VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
            _ => out.enable_dns_support(),
        };
        Ok(value.and_then(|v| v.value()).unwrap_or(false))
    }
}

impl Account for AwsCloud {
    async fn identity(&self) -> CloudResult<Identity> {
        let out = self.sts.get_caller_identity().send().await.map_err(cloud_error)?;
        Ok(Identity {
            account: out.account().ok_or_else(|| missing("account (GetCallerIdentity)"))?.to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }

    async fn subnets(&self, ids: &[String]) -> CloudResult<Vec<Subnet>> {
        if ids.is_empty() {
            // No ids would describe every subnet of the region.
            return Ok(Vec::new());
        }
        let found = match self.ec2.describe_subnets().set_subnet_ids(Some(ids.to_vec())).send().await {
            Ok(out) => out.subnets().to_vec(),
            Err(e) => {
                let e = cloud_error(e);
                if e.code != "InvalidSubnetID.NotFound" {
                    return Err(e);
                }
                self.subnets_by_filter(ids).await?
            }
        };
        // In the order asked, once each.
        let mut subnets: Vec<Subnet> = Vec::new();
        for id in ids {
            if subnets.iter().any(|s| &s.id == id) {
                continue;
            }
            if let Some(s) = found.iter().find(|s| s.subnet_id() == Some(id.as_str())) {
                subnets.push(subnet(s));
            }
        }
        Ok(subnets)
    }

    async fn vpc(&self, id: &str) -> CloudResult<Option<VpcInfo>> {
        let out = match self.ec2.describe_vpcs().vpc_ids(id).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = cloud_error(e);
                return if e.kind == ErrorKind::NotFound { Ok(None) } else { Err(e) };
            }
        };
        let Some(vpc) = out.vpcs().iter().find(|v| v.vpc_id() == Some(id)) else {
            return Ok(None);
        };
        let id = vpc.vpc_id().unwrap_or(id).to_string();
        let dns_support = self.vpc_attribute(&id, VpcAttributeName::EnableDnsSupport).await?;
        let dns_hostnames = self.vpc_attribute(&id, VpcAttributeName::EnableDnsHostnames).await?;
        let gateways = self
            .ec2
            .describe_internet_gateways()
            .filters(Filter::builder().name("attachment.vpc-id").values(&id).build())
            .send()
            .await
            .map_err(cloud_error)?;
        let internet_gateway = gateways
            .internet_gateways()
            .iter()
            .filter_map(|g| g.internet_gateway_id())
            .min()
            .map(str::to_string);
        Ok(Some(VpcInfo { id, dns_support, dns_hostnames, internet_gateway }))
    }

    async fn hosted_zone(&self, id: &str) -> CloudResult<Option<HostedZone>> {
        let bare = bare_zone_id(id);
        let out = match self.route53.get_hosted_zone().id(bare).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = cloud_error(e);
                return if e.kind == ErrorKind::NotFound { Ok(None) } else { Err(e) };
            }
        };
        let Some(zone) = out.hosted_zone() else {
            return Ok(None);
        };
        Ok(Some(HostedZone {
            id: bare_zone_id(zone.id()).to_string(),
            name: zone.name().to_string(),
            private: zone.config().is_some_and(|c| c.private_zone()),
        }))
    }

    async fn instance_type(&self, name: &str) -> CloudResult<Option<InstanceTypeInfo>> {
        let out = match self.ec2.describe_instance_types().instance_types(InstanceType::from(name)).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = cloud_error(e);
                return if e.code == "InvalidInstanceType" || e.kind == ErrorKind::NotFound { Ok(None) } else { Err(e) };
            }
        };
        let Some(info) = out.instance_types().iter().find(|t| t.instance_type().map(|t| t.as_str()) == Some(name)) else {
            return Ok(None);
        };
        let vcpus = info.v_cpu_info().and_then(|v| v.default_v_cpus()).unwrap_or(0);
        let memory = info.memory_info().and_then(|m| m.size_in_mib()).unwrap_or(0);
        Ok(Some(InstanceTypeInfo {
            name: name.to_string(),
            vcpus: u32::try_from(vcpus).unwrap_or(0),
            memory_mib: u32::try_from(memory).unwrap_or(u32::MAX),
        }))
    }

    async fn managed_prefix_list(&self, name: &str) -> CloudResult<Option<String>> {
        let filter = Filter::builder().name("prefix-list-name").values(name).build();
        let out = self.ec2.describe_managed_prefix_lists().filters(filter).send().await.map_err(cloud_error)?;
        Ok(out.prefix_lists().iter().find(|p| p.prefix_list_name() == Some(name)).and_then(|p| p.prefix_list_id()).map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use super::bare_zone_id;

    #[test]
    fn zone_ids_with_or_without_prefix() {
        assert_eq!(bare_zone_id("/hostedzone/Z0123"), "Z0123");
        assert_eq!(bare_zone_id("hostedzone/Z0123"), "Z0123");
        assert_eq!(bare_zone_id("Z0123"), "Z0123");
    }
}
