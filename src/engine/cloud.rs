//! The engine's view of AWS: three small traits. `crate::aws` implements
//! them with the AWS SDK (against AWS or an emulator such as moto), and
//! `pypictl_test_support::ScriptedCloud` (the `pypictl-test-support` crate
//! of tests/support/, a dev-dependency) implements them from recorded
//! timelines for tests of the engine's logic.

#![allow(async_fn_in_trait)]

use super::images::{ImageRef, ManifestAnswer};
use super::model::*;

pub type CloudResult<T> = Result<T, CloudError>;

/// The cloud's own time. Cloud timestamps (stack events, ECS tasks) are only
/// ever compared with each other or with this, never with this machine's
/// clock, which may be minutes off. AWS supplies it from its responses'
/// `Date` headers, a scripted cloud from its script.
pub trait Clock {
    /// Milliseconds since the Unix epoch, by the cloud's clock.
    fn now(&self) -> Millis;
}

/// CloudFormation, and the S3 bucket templates are staged in.
pub trait Stacks {
    /// None when the stack does not exist (or is deleted).
    async fn describe_stack(&self, name_or_id: &str) -> CloudResult<Option<StackSummary>>;
    /// One page of a stack's events, newest first.
    async fn stack_events(&self, stack_id: &str, next_token: Option<&str>) -> CloudResult<EventPage>;
    async fn stack_resources(&self, stack_id: &str) -> CloudResult<Vec<StackResource>>;
    async fn create_stack(&self, request: &CreateStack) -> CloudResult<String>;
    async fn create_change_set(&self, request: &ChangeSetRequest) -> CloudResult<String>;
    /// The change set with all its changes (every page).
    async fn describe_change_set(&self, id: &str) -> CloudResult<ChangeSet>;
    async fn execute_change_set(&self, request: &Execute) -> CloudResult<()>;
    async fn delete_change_set(&self, id: &str) -> CloudResult<()>;
    async fn delete_stack(&self, request: &DeleteStack) -> CloudResult<()>;
    async fn continue_update_rollback(&self, request: &ContinueRollback) -> CloudResult<()>;
    /// Whether the object is there. A role without `s3:ListBucket` is told
    /// 403 for a missing object: that counts as absent (the upload that
    /// follows says whether writing is allowed).
    async fn object_exists(&self, bucket: &str, key: &str) -> CloudResult<bool>;
    async fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> CloudResult<()>;
}

/// The running service: ECS, the load balancer's targets, alarms.
pub trait Service {
    /// None when the service does not exist (yet).
    async fn service(&self, cluster: &str, service: &str) -> CloudResult<Option<ServiceSnapshot>>;
    /// Recently stopped tasks of the service, newest first.
    async fn stopped_tasks(&self, cluster: &str, service: &str) -> CloudResult<Vec<StoppedTask>>;
    async fn target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>>;
    /// Alarms whose name starts with `prefix` and that are in ALARM.
    async fn alarms_firing(&self, prefix: &str) -> CloudResult<Vec<Alarm>>;
    /// Starts a new deployment of the service with its current task
    /// definition (tasks re-read their secrets; no instance is replaced);
    /// returns it as ECS reported it.
    async fn force_new_deployment(&self, cluster: &str, service: &str) -> CloudResult<Deployment>;
    /// One CloudWatch statistic over the query's window; None without data.
    async fn metric(&self, query: &MetricQuery) -> CloudResult<Option<f64>>;
}

/// The service's credentials in Secrets Manager.
pub trait Secrets {
    /// The secret's current SecretString.
    async fn secret_value(&self, id: &str) -> CloudResult<String>;
    /// Stores a new current value.
    async fn put_secret_value(&self, id: &str, value: &str) -> CloudResult<()>;
    /// A random password from Secrets Manager's generator.
    async fn random_password(&self, length: u32, exclude_characters: &str) -> CloudResult<String>;
}

/// Talking to the deployed service itself over HTTP(S).
pub trait Probe {
    /// The HTTP status of a GET, optionally with basic auth; Err with the
    /// reason when no response arrived (DNS, TLS, connection, timeout).
    async fn http_status(&self, url: &str, basic_auth: Option<(&str, &str)>) -> Result<u16, String>;
}

/// Container registries (Docker Registry HTTP API v2, OCI distribution):
/// whether the task definition's images exist, asked anonymously.
pub trait Registry {
    /// The registry's answer to a manifest request for the image (after the
    /// anonymous bearer-token dance); Err with the reason when no answer
    /// arrived (DNS, connection, TLS, timeout).
    async fn manifest(&self, image: &ImageRef) -> Result<ManifestAnswer, String>;
}

/// What the account must have before pypictl changes anything.
pub trait Account {
    async fn identity(&self) -> CloudResult<Identity>;
    /// The subnets that exist among `ids`.
    async fn subnets(&self, ids: &[String]) -> CloudResult<Vec<Subnet>>;
    async fn vpc(&self, id: &str) -> CloudResult<Option<VpcInfo>>;
    async fn hosted_zone(&self, id: &str) -> CloudResult<Option<HostedZone>>;
    /// None when the type is not offered in the region.
    async fn instance_type(&self, name: &str) -> CloudResult<Option<InstanceTypeInfo>>;
    /// The id (`pl-...`) of an AWS-managed prefix list, by name; None when
    /// the region has none of that name.
    async fn managed_prefix_list(&self, name: &str) -> CloudResult<Option<String>>;
}

/// What `pypictl init` offers to choose from.
pub trait Discovery {
    /// Every VPC of the region, with its DNS attributes and gateway.
    async fn vpcs(&self) -> CloudResult<Vec<VpcSummary>>;
    /// Every subnet of a VPC, told public or private by its route table.
    async fn vpc_subnets(&self, vpc_id: &str) -> CloudResult<Vec<SubnetSummary>>;
    /// Every hosted zone of the account, public and private.
    async fn hosted_zones(&self) -> CloudResult<Vec<HostedZone>>;
}

/// Deleting what a stack deletion keeps (`destroy --force-destroy-data`).
pub trait RetainedData {
    /// Deletes every object version of a bucket; returns how many.
    async fn empty_bucket(&self, bucket: &str) -> CloudResult<usize>;
    async fn delete_bucket(&self, bucket: &str) -> CloudResult<()>;
    /// Deletes an EFS file system once its mount targets are gone.
    async fn delete_file_system(&self, id: &str) -> CloudResult<()>;
    /// Deletes a backup vault's recovery points, then the vault; returns the
    /// number of recovery points deleted.
    async fn delete_backup_vault(&self, name: &str) -> CloudResult<usize>;
    /// Deletes a secret after Secrets Manager's shortest recovery window (7 days).
    async fn delete_secret(&self, id: &str) -> CloudResult<()>;
    /// Schedules a KMS key's deletion after the shortest window (7 days).
    async fn schedule_key_deletion(&self, key_id: &str) -> CloudResult<()>;
}
