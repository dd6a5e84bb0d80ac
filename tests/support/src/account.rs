//! The account's prerequisites, the deletion of data, and the container
//! registries.

use pypictl::engine::cloud::{Account, CloudResult, RetainedData, Registry};
use pypictl::engine::images::{ImageRef, ManifestAnswer};
use pypictl::engine::model::*;

use crate::{ScriptedCloud, ACCOUNT};

impl Account for ScriptedCloud {
    async fn identity(&self) -> CloudResult<Identity> {
        self.call("GetCallerIdentity", false)?;
        Ok(Identity { account: ACCOUNT.into(), arn: format!("arn:aws:iam::{ACCOUNT}:user/ci") })
    }

    async fn subnets(&self, ids: &[String]) -> CloudResult<Vec<Subnet>> {
        self.call("DescribeSubnets", false)?;
        Ok(self
            .script
            .account
            .subnets
            .iter()
            .map(|l| {
                let p: Vec<&str> = l.split_whitespace().collect();
                Subnet { id: p[0].into(), vpc_id: p[1].into(), availability_zone: p[2].into(), map_public_ip_on_launch: p.get(3) == Some(&"public") }
            })
            .filter(|s| ids.contains(&s.id))
            .collect())
    }

    async fn vpc(&self, id: &str) -> CloudResult<Option<VpcInfo>> {
        self.call("DescribeVpcs", false)?;
        let a = &self.script.account;
        Ok((id == a.vpc_id).then(|| VpcInfo {
            id: id.into(),
            dns_support: a.dns_support,
            dns_hostnames: a.dns_hostnames,
            internet_gateway: a.internet_gateway.then(|| "igw-0123456789abcdef0".into()),
        }))
    }

    async fn hosted_zone(&self, id: &str) -> CloudResult<Option<HostedZone>> {
        self.call("GetHostedZone", false)?;
        let a = &self.script.account;
        Ok((id == a.zone_id).then(|| HostedZone { id: id.into(), name: a.zone_name.clone(), private: a.zone_private }))
    }

    async fn instance_type(&self, name: &str) -> CloudResult<Option<InstanceTypeInfo>> {
        self.call("DescribeInstanceTypes", false)?;
        Ok(self.script.account.instance_types.iter().any(|t| t == name).then(|| {
            let known = pypictl_stacks::catalogue::lookup(name).expect("scripted types are catalogued");
            InstanceTypeInfo { name: name.into(), vcpus: known.vcpus, memory_mib: known.memory_mib }
        }))
    }

    async fn managed_prefix_list(&self, name: &str) -> CloudResult<Option<String>> {
        self.call("DescribeManagedPrefixLists", false)?;
        // us-east-1's id of CloudFront's origin-facing list.
        Ok((name == "com.amazonaws.global.cloudfront.origin-facing").then(|| "pl-3b927c52".to_string()))
    }
}

impl RetainedData for ScriptedCloud {
    async fn empty_bucket(&self, bucket: &str) -> CloudResult<usize> {
        self.call("EmptyBucket", false)?;
        self.log.borrow_mut().push(format!("EmptyBucket {bucket}"));
        Ok(3)
    }

    async fn delete_bucket(&self, bucket: &str) -> CloudResult<()> {
        self.call("DeleteBucket", false)?;
        self.log.borrow_mut().push(format!("DeleteBucket {bucket}"));
        Ok(())
    }

    async fn delete_file_system(&self, id: &str) -> CloudResult<()> {
        self.call("DeleteFileSystem", false)?;
        self.log.borrow_mut().push(format!("DeleteFileSystem {id}"));
        Ok(())
    }

    async fn delete_backup_vault(&self, name: &str) -> CloudResult<usize> {
        self.call("DeleteBackupVault", false)?;
        self.log.borrow_mut().push(format!("DeleteBackupVault {name}"));
        Ok(2)
    }

    async fn delete_secret(&self, id: &str) -> CloudResult<()> {
        self.call("DeleteSecret", false)?;
        self.log.borrow_mut().push(format!("DeleteSecret {id}"));
        Ok(())
    }

    async fn schedule_key_deletion(&self, key_id: &str) -> CloudResult<()> {
        self.call("ScheduleKeyDeletion", false)?;
        self.log.borrow_mut().push(format!("ScheduleKeyDeletion {key_id}"));
        Ok(())
    }
}

impl Registry for ScriptedCloud {
    async fn manifest(&self, image: &ImageRef) -> Result<ManifestAnswer, String> {
        *self.calls.borrow_mut().entry("HEAD manifest").or_default() += 1;
        match self.script.images.get(&image.original) {
            None => Ok(ManifestAnswer::Found { digest: None }),
            Some(serde_json::Value::Number(n)) => Ok(ManifestAnswer::Unexpected { status: n.as_u64().unwrap_or(0) as u16, detail: String::new() }),
            Some(answer) => match answer.as_str().unwrap_or_default() {
                "exists" => Ok(ManifestAnswer::Found { digest: None }),
                "missing" => Ok(ManifestAnswer::Missing { why: "404 MANIFEST_UNKNOWN".into() }),
                other => Err(other.strip_prefix("error: ").unwrap_or_else(|| panic!("image answer {other:?}: exists, missing, a status or \"error: <reason>\"")).to_string()),
            },
        }
    }
}
