//! [`RetainedData`]: deleting what a stack deletion keeps, for
//! `destroy --force-destroy-data`. Each call waits for what must go first
//! (mount targets before a file system, recovery points before a vault).

use std::time::Duration;

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use tokio::time::sleep;

use super::errors::cloud_error;
use super::AwsCloud;
use crate::engine::cloud::{CloudResult, RetainedData};
use crate::engine::model::{CloudError, ErrorKind};

/// How long to wait for dependent deletions (mount targets, recovery points).
const WAIT: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_secs(5);

impl RetainedData for AwsCloud {
    async fn empty_bucket(&self, bucket: &str) -> CloudResult<usize> {
        let mut deleted = 0;
        loop {
            let page = self.s3.list_object_versions().bucket(bucket).max_keys(1000).send().await.map_err(cloud_error)?;
            let mut ids: Vec<ObjectIdentifier> = Vec::new();
            for v in page.versions() {
                if let Some(key) = v.key() {
                    ids.push(ObjectIdentifier::builder().key(key).set_version_id(v.version_id().map(str::to_string)).build().map_err(|e| CloudError::new(ErrorKind::Other, "", e.to_string()))?);
                }
            }
            for m in page.delete_markers() {
                if let Some(key) = m.key() {
                    ids.push(ObjectIdentifier::builder().key(key).set_version_id(m.version_id().map(str::to_string)).build().map_err(|e| CloudError::new(ErrorKind::Other, "", e.to_string()))?);
                }
            }
            if ids.is_empty() {
                return Ok(deleted);
            }
            deleted += ids.len();
            let delete = Delete::builder().set_objects(Some(ids)).quiet(true).build().map_err(|e| CloudError::new(ErrorKind::Other, "", e.to_string()))?;
            self.s3.delete_objects().bucket(bucket).delete(delete).send().await.map_err(cloud_error)?;
        }
    }

    async fn delete_bucket(&self, bucket: &str) -> CloudResult<()> {
        self.s3.delete_bucket().bucket(bucket).send().await.map_err(cloud_error)?;
        Ok(())
    }

    async fn delete_file_system(&self, id: &str) -> CloudResult<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let targets = self.efs.describe_mount_targets().file_system_id(id).send().await.map_err(cloud_error)?;
            if targets.mount_targets().is_empty() {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(CloudError::new(ErrorKind::Other, "MountTargetsRemain", format!("{id} still has mount targets after 10 minutes")));
            }
            sleep(POLL).await;
        }
        self.efs.delete_file_system().file_system_id(id).send().await.map_err(cloud_error)?;
        Ok(())
    }

    async fn delete_backup_vault(&self, name: &str) -> CloudResult<usize> {
        let mut deleted = 0;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut arns = Vec::new();
            let mut pages = self.backup.list_recovery_points_by_backup_vault().backup_vault_name(name).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(cloud_error)?;
                for rp in page.recovery_points() {
                    let deleting = rp.status().is_some_and(|s| s.as_str() == "DELETING");
                    if let (Some(arn), false) = (rp.recovery_point_arn(), deleting) {
                        arns.push(arn.to_string());
                    }
                }
            }
            if arns.is_empty() {
                break;
            }
            for arn in arns {
                self.backup.delete_recovery_point().backup_vault_name(name).recovery_point_arn(&arn).send().await.map_err(cloud_error)?;
                deleted += 1;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(CloudError::new(ErrorKind::Other, "RecoveryPointsRemain", format!("{name} still has recovery points after 10 minutes")));
            }
            sleep(POLL).await;
        }
        // Deleting recovery points is asynchronous: the vault refuses to go
        // until they are all gone.
        loop {
            match self.backup.delete_backup_vault().backup_vault_name(name).send().await.map_err(cloud_error) {
                Ok(_) => return Ok(deleted),
                Err(e) if e.kind == ErrorKind::Invalid && tokio::time::Instant::now() < deadline => sleep(POLL).await,
                Err(e) => return Err(e),
            }
        }
    }

    async fn delete_secret(&self, id: &str) -> CloudResult<()> {
        self.secretsmanager.delete_secret().secret_id(id).recovery_window_in_days(7).send().await.map_err(cloud_error)?;
        Ok(())
    }

    async fn schedule_key_deletion(&self, key_id: &str) -> CloudResult<()> {
        self.kms.schedule_key_deletion().key_id(key_id).pending_window_in_days(7).send().await.map_err(cloud_error)?;
        Ok(())
    }
}
