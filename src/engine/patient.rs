//! Retrying throttled and transient failures of single calls. The watcher
//! has its own rhythm (it keeps polling and reports each retry); every other
//! call of a command goes through [`Patient`], so a throttled request —
//! which AWS did not carry out — is simply made again a little later.

use std::future::Future;
use std::time::Duration;

use tokio::time::sleep;

use super::cloud::{Account, Clock, CloudResult, Data, Secrets, Service, Stacks};
use super::model::*;

pub const ATTEMPTS: u32 = 10;
const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(20);

/// Calls `f` until it succeeds, fails for good, or [`ATTEMPTS`] run out.
pub async fn retry<T, F, Fut>(mut f: F) -> CloudResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = CloudResult<T>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                sleep(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Any cloud, with every call retried when throttled.
pub struct Patient<'a, C>(pub &'a C);

macro_rules! patiently {
    ($( async fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        $( async fn $name(&self $(, $arg: $ty)*) -> $ret { retry(|| self.0.$name($($arg),*)).await } )*
    };
}

impl<C: Clock> Clock for Patient<'_, C> {
    fn now(&self) -> Millis {
        self.0.now()
    }
}

impl<C: Stacks> Stacks for Patient<'_, C> {
    patiently! {
        async fn describe_stack(&self, name_or_id: &str) -> CloudResult<Option<StackSummary>>;
        async fn stack_events(&self, stack_id: &str, next_token: Option<&str>) -> CloudResult<EventPage>;
        async fn stack_resources(&self, stack_id: &str) -> CloudResult<Vec<StackResource>>;
        async fn create_stack(&self, request: &CreateStack) -> CloudResult<String>;
        async fn create_change_set(&self, request: &ChangeSetRequest) -> CloudResult<String>;
        async fn describe_change_set(&self, id: &str) -> CloudResult<ChangeSet>;
        async fn execute_change_set(&self, id: &str, disable_rollback: bool) -> CloudResult<()>;
        async fn delete_change_set(&self, id: &str) -> CloudResult<()>;
        async fn delete_stack(&self, stack_id: &str) -> CloudResult<()>;
        async fn continue_update_rollback(&self, stack_id: &str) -> CloudResult<()>;
        async fn object_exists(&self, bucket: &str, key: &str) -> CloudResult<bool>;
        async fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> CloudResult<()>;
    }
}

impl<C: Service> Service for Patient<'_, C> {
    patiently! {
        async fn service(&self, cluster: &str, service: &str) -> CloudResult<Option<ServiceSnapshot>>;
        async fn stopped_tasks(&self, cluster: &str, service: &str) -> CloudResult<Vec<StoppedTask>>;
        async fn target_health(&self, target_group_arn: &str) -> CloudResult<Vec<TargetHealth>>;
        async fn alarms_firing(&self, prefix: &str) -> CloudResult<Vec<Alarm>>;
        async fn force_new_deployment(&self, cluster: &str, service: &str) -> CloudResult<Deployment>;
        async fn metric(&self, query: &MetricQuery) -> CloudResult<Option<f64>>;
    }
}

impl<C: Account> Account for Patient<'_, C> {
    patiently! {
        async fn identity(&self) -> CloudResult<Identity>;
        async fn subnets(&self, ids: &[String]) -> CloudResult<Vec<Subnet>>;
        async fn vpc(&self, id: &str) -> CloudResult<Option<VpcInfo>>;
        async fn hosted_zone(&self, id: &str) -> CloudResult<Option<HostedZone>>;
        async fn instance_type(&self, name: &str) -> CloudResult<Option<InstanceTypeInfo>>;
        async fn managed_prefix_list(&self, name: &str) -> CloudResult<Option<String>>;
    }
}

impl<C: Secrets> Secrets for Patient<'_, C> {
    patiently! {
        async fn secret_value(&self, id: &str) -> CloudResult<String>;
        async fn put_secret_value(&self, id: &str, value: &str) -> CloudResult<()>;
        async fn random_password(&self, length: u32, exclude_characters: &str) -> CloudResult<String>;
    }
}

impl<C: Data> Data for Patient<'_, C> {
    patiently! {
        async fn empty_bucket(&self, bucket: &str) -> CloudResult<usize>;
        async fn delete_bucket(&self, bucket: &str) -> CloudResult<()>;
        async fn delete_file_system(&self, id: &str) -> CloudResult<()>;
        async fn delete_backup_vault(&self, name: &str) -> CloudResult<usize>;
        async fn delete_secret(&self, id: &str) -> CloudResult<()>;
        async fn schedule_key_deletion(&self, key_id: &str) -> CloudResult<()>;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_throttling_but_not_real_errors() {
        let calls = Cell::new(0);
        let r: CloudResult<u32> = retry(|| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 4 { Err(CloudError::throttled()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(r, Ok(4));

        calls.set(0);
        let r: CloudResult<u32> = retry(|| {
            calls.set(calls.get() + 1);
            async { Err(CloudError::new(ErrorKind::Invalid, "ValidationError", "bad")) }
        })
        .await;
        assert_eq!(calls.get(), 1);
        assert!(r.is_err());

        calls.set(0);
        let r: CloudResult<u32> = retry(|| {
            calls.set(calls.get() + 1);
            async { Err(CloudError::throttled()) }
        })
        .await;
        assert_eq!(calls.get(), ATTEMPTS);
        assert!(r.is_err());
    }
}
