//! Retrying throttled and transient failures of single calls. The watcher
//! has its own rhythm (it keeps polling and reports each retry); every other
//! call of a command goes through [`Patient`], so a throttled request —
//! which AWS did not carry out — is simply made again a little later.

use std::future::Future;
use std::time::Duration;

use tokio::time::sleep;

use super::cloud::{Account, Clock, CloudResult, RetainedData, Secrets, Service, Stacks};
use super::model::*;

pub const ATTEMPTS: u32 = 10;
const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(20);

/// Told before each pause of a retried call, so that a user waiting on a
/// throttled or failing call sees why: (what, the error, the pause, the
/// attempt about to be made). The command layer decides how to show it.
pub type OnRetry = fn(&str, &CloudError, Duration, u32);

/// Calls `f` until it succeeds, fails for good, or [`ATTEMPTS`] run out.
pub async fn retry<T, F, Fut>(f: F) -> CloudResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = CloudResult<T>>,
{
    retry_observed("", None, f).await
}

/// [`retry`], telling `on_retry` about each retry of `what`.
pub async fn retry_observed<T, F, Fut>(what: &str, on_retry: Option<OnRetry>, mut f: F) -> CloudResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = CloudResult<T>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                if let Some(tell) = on_retry {
                    tell(what, &e, delay, attempt + 1);
                }
                sleep(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Any cloud, with every call retried when throttled.
pub struct Patient<'a, C> {
    cloud: &'a C,
    on_retry: Option<OnRetry>,
}

impl<'a, C> Patient<'a, C> {
    /// Retries silently.
    pub fn new(cloud: &'a C) -> Self {
        Patient { cloud, on_retry: None }
    }

    /// Retries, telling `on_retry` before each pause.
    pub fn observed(cloud: &'a C, on_retry: Option<OnRetry>) -> Self {
        Patient { cloud, on_retry }
    }
}

macro_rules! patiently {
    ($( async fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        $( async fn $name(&self $(, $arg: $ty)*) -> $ret {
            retry_observed(stringify!($name), self.on_retry, || self.cloud.$name($($arg),*)).await
        } )*
    };
}

impl<C: Clock> Clock for Patient<'_, C> {
    fn now(&self) -> Millis {
        self.cloud.now()
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
        async fn execute_change_set(&self, request: &Execute) -> CloudResult<()>;
        async fn delete_change_set(&self, id: &str) -> CloudResult<()>;
        async fn delete_stack(&self, request: &DeleteStack) -> CloudResult<()>;
        async fn continue_update_rollback(&self, request: &ContinueRollback) -> CloudResult<()>;
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

impl<C: RetainedData> RetainedData for Patient<'_, C> {
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

    /// A retried call is told about before each pause (what, why, how long,
    /// which attempt), so that the user sees it; a call that fails for good
    /// or succeeds at once tells nothing.
    #[tokio::test(start_paused = true)]
    async fn each_retry_is_told_before_its_pause() {
        use std::sync::atomic::{AtomicU32, Ordering};
        static TOLD: AtomicU32 = AtomicU32::new(0);
        static LAST_ATTEMPT: AtomicU32 = AtomicU32::new(0);
        fn tell(what: &str, err: &CloudError, pause: Duration, attempt: u32) {
            assert_eq!(what, "create_change_set");
            assert_eq!(err.kind, ErrorKind::Throttled);
            assert_eq!(pause, FIRST_DELAY * 2u32.pow(attempt - 2), "the pause doubles");
            TOLD.fetch_add(1, Ordering::SeqCst);
            LAST_ATTEMPT.store(attempt, Ordering::SeqCst);
        }
        let calls = Cell::new(0);
        let r: CloudResult<u32> = retry_observed("create_change_set", Some(tell), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 4 { Err(CloudError::throttled()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(r, Ok(4));
        assert_eq!((TOLD.load(Ordering::SeqCst), LAST_ATTEMPT.load(Ordering::SeqCst)), (3, 4));
        let r: CloudResult<u32> = retry_observed("create_change_set", Some(tell), || async { Err(CloudError::new(ErrorKind::Invalid, "ValidationError", "bad")) }).await;
        assert!(r.is_err());
        assert_eq!(TOLD.load(Ordering::SeqCst), 3, "no retry, nothing told");
    }

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
