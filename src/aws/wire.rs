//! What pypictl learns from the wire itself, beside the APIs' answers: the
//! cloud's clock (each response's `Date` header) and the endpoint each
//! request went to (named when it cannot be reached). One interceptor,
//! attached to every client. With `PYPICTL_RECORD_API_CALLS=<file>` it also
//! appends each operation's IAM action to that file (`tests/it/iam_policy.rs`
//! checks them against `pypictl iam-policy`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_sts::config::interceptors::{BeforeDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef};
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sts::error::BoxError;
use aws_sdk_sts::primitives::{DateTime, DateTimeFormat};

use crate::engine::model::Millis;

/// Names the file every SDK operation appends its IAM action to, one line
/// each (`cloudformation:DescribeStacks`; S3's `HeadObject` as
/// `s3:GetObject`: [`super::permissions::iam_actions`]).
pub const RECORD_ENV: &str = "PYPICTL_RECORD_API_CALLS";

/// Appends the operation's IAM actions to the file named by [`RECORD_ENV`]:
/// opened in append mode for each line, so that several processes can
/// record into one file. Recording never fails a call.
fn record(service: &str, operation: &str) {
    let Some(path) = std::env::var_os(RECORD_ENV).filter(|p| !p.is_empty()) else { return };
    for action in super::permissions::iam_actions(service, operation) {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            // One write per line: appends of a line are not interleaved.
            let _ = file.write_all(format!("{action}\n").as_bytes());
        }
    }
}

/// `scheme://host[:port]` of the latest request of this process. A command
/// makes one request at a time, so when a request fails, this is where it
/// went (the SDK's connection errors do not say).
static LAST_ENDPOINT: Mutex<Option<String>> = Mutex::new(None);

/// Where the latest request went.
pub fn last_endpoint() -> Option<String> {
    LAST_ENDPOINT.lock().ok()?.clone()
}

/// Shared by every client of one [`super::AwsCloud`]: the server's time from
/// the latest `Date` header, and when it arrived.
#[derive(Clone, Debug, Default)]
pub struct WireFacts(Arc<Mutex<Option<(Millis, Instant)>>>);

impl WireFacts {
    /// The cloud's time: the latest `Date` header plus the time since it
    /// arrived (by this machine's monotonic clock, which only measures
    /// intervals). Before any response, this machine's clock stands in.
    pub fn now(&self) -> Millis {
        match *self.0.lock().expect("wire facts") {
            Some((server, at)) => server + at.elapsed().as_millis() as Millis,
            None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0),
        }
    }

    fn saw_date(&self, header: &str) {
        if let Ok(t) = DateTime::from_str(header, DateTimeFormat::HttpDate) {
            if let Ok(ms) = t.to_millis() {
                *self.0.lock().expect("wire facts") = Some((ms, Instant::now()));
            }
        }
    }
}

/// `scheme://authority` of a request URI.
pub fn endpoint_of(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split(['/', '?']).next().unwrap_or(rest)),
        None => uri.to_string(),
    }
}

impl Intercept for WireFacts {
    fn name(&self) -> &'static str {
        "pypictl::WireFacts"
    }

    /// Once per operation (retries are not serialized again), once its
    /// configuration, the operation's metadata included, is complete.
    fn read_before_serialization(&self, _: &BeforeSerializationInterceptorContextRef<'_>, _: &RuntimeComponents, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            record(m.service(), m.name());
        }
        Ok(())
    }

    fn read_before_transmit(&self, context: &BeforeTransmitInterceptorContextRef<'_>, _: &RuntimeComponents, _: &mut ConfigBag) -> Result<(), BoxError> {
        if let Ok(mut last) = LAST_ENDPOINT.lock() {
            *last = Some(endpoint_of(context.request().uri()));
        }
        Ok(())
    }

    fn read_before_deserialization(&self, context: &BeforeDeserializationInterceptorContextRef<'_>, _: &RuntimeComponents, _: &mut ConfigBag) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            self.saw_date(date);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_follows_the_server_not_this_machine() {
        let facts = WireFacts::default();
        // A server 10 minutes behind... and one in 2031: whatever this machine says.
        for (header, ms) in [("Tue, 01 Dec 2026 19:45:00 GMT", 1_796_154_300_000), ("Sun, 15 Jun 2031 12:00:00 GMT", 1_939_291_200_000)] {
            facts.saw_date(header);
            let now = facts.now();
            assert!((ms..ms + 5_000).contains(&now), "{header}: {now}");
        }
        // An unreadable header changes nothing.
        facts.saw_date("yesterday");
        assert!(facts.now() >= 1_939_291_200_000);
    }

    #[test]
    fn endpoints_are_scheme_and_authority() {
        assert_eq!(endpoint_of("https://sts.us-east-1.amazonaws.com/"), "https://sts.us-east-1.amazonaws.com");
        assert_eq!(endpoint_of("http://127.0.0.1:9/?Action=GetCallerIdentity"), "http://127.0.0.1:9");
        assert_eq!(endpoint_of("https://cloudformation.eu-west-1.amazonaws.com"), "https://cloudformation.eu-west-1.amazonaws.com");
    }
}
