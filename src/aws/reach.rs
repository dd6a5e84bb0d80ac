//! Whether AWS can be reached at all. A wrong endpoint, no network or a
//! captive portal must end a command within seconds with what to check, not
//! after minutes of retries with the SDK's "dispatch failure". Throttling
//! and server errors are another matter: those keep their patient retries.

use std::error::Error;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use super::AwsCloud;

/// The whole budget of the first call of a command (GetCallerIdentity), on
/// which it decides that AWS is unreachable: with [`super::CONNECT_TIMEOUT`]
/// and two attempts, a command that cannot reach AWS ends within 10 s.
pub const FIRST_CALL_BUDGET: Duration = Duration::from_secs(8);

/// What to check, once for every way of not reaching AWS.
pub const FIX: &str = "Check the endpoint (--endpoint-url or AWS_ENDPOINT_URL; unset both for AWS itself), \
this machine's network (proxy, VPN, captive portal) and the region (`region` in pypictl.toml, --region).";

/// Why no answer came from an endpoint, in plain words; None when the
/// failure is of another kind (a reset mid-response, missing credentials, an
/// answer that could not be parsed).
pub fn unreachable_cause(err: &(dyn Error + 'static)) -> Option<String> {
    let chain: Vec<&(dyn Error + 'static)> = std::iter::successors(Some(err), |e| (*e).source()).collect();
    let text = chain.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(": ").to_lowercase();
    let io_kind = chain.iter().find_map(|e| e.downcast_ref::<std::io::Error>()).map(|e| e.kind());
    let connecting = chain
        .iter()
        .any(|e| e.downcast_ref::<hyper_util::client::legacy::Error>().is_some_and(|h| h.is_connect()))
        || text.contains("tcp connect error")
        || text.contains("connect timeout");
    use std::io::ErrorKind as Io;
    if text.contains("dns error") || text.contains("failed to lookup address") || text.contains("name or service not known") {
        Some("the host name does not resolve (DNS)".into())
    } else if io_kind == Some(Io::ConnectionRefused) || text.contains("connection refused") {
        Some("the connection was refused: nothing listens at that address and port".into())
    } else if connecting && (io_kind == Some(Io::TimedOut) || text.contains("timeout") || text.contains("timed out")) {
        Some(format!("no connection could be opened within {} s", super::CONNECT_TIMEOUT.as_secs()))
    } else if matches!(io_kind, Some(Io::NetworkUnreachable | Io::HostUnreachable)) || text.contains("network is unreachable") {
        Some("there is no route to it (network unreachable)".into())
    } else if connecting && (text.contains("certificate") || text.contains("tls") || text.contains("handshake")) {
        Some("the TLS handshake failed: something other than AWS answered (a proxy or a captive portal?)".into())
    } else if connecting {
        Some(format!("no connection could be opened ({})", chain.last().map(|e| e.to_string()).unwrap_or_default()))
    } else {
        None
    }
}

/// The sentence for an endpoint that gave no answer.
pub fn unreachable_message(endpoint: &str, cause: &str) -> String {
    format!("cannot reach AWS at {endpoint}: {cause}. {FIX}")
}

/// Makes the command's first call (STS GetCallerIdentity) on a short leash:
/// an endpoint that refuses, does not resolve, or accepts and never answers
/// ends the command here, within [`FIRST_CALL_BUDGET`], with the reason and
/// the fix. Any other failure (credentials, permissions) is left for the
/// command's own calls to report in their context.
pub async fn ensure_reachable(cloud: &AwsCloud) -> anyhow::Result<()> {
    use aws_sdk_sts::error::SdkError;
    let result = cloud
        .sts
        .get_caller_identity()
        .customize()
        .config_override(
            aws_sdk_sts::config::Builder::default()
                .timeout_config(TimeoutConfig::builder().operation_timeout(FIRST_CALL_BUDGET).build())
                .retry_config(RetryConfig::standard().with_max_attempts(2)),
        )
        .send()
        .await;
    let err = match result {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let endpoint = super::wire::last_endpoint().unwrap_or_else(|| format!("https://sts.{}.amazonaws.com", cloud.region()));
    let cause = match &err {
        SdkError::TimeoutError(_) => Some(format!("no answer within {} s (it may accept connections and never answer)", FIRST_CALL_BUDGET.as_secs())),
        SdkError::DispatchFailure(_) => unreachable_cause(&err),
        _ => None,
    };
    match cause {
        Some(cause) => Err(anyhow::anyhow!(unreachable_message(&endpoint, &cause))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapped(&'static str, Option<Box<dyn Error + 'static>>);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    fn chain(outer: &'static str, inner: std::io::Error) -> Wrapped {
        Wrapped("dispatch failure", Some(Box::new(Wrapped(outer, Some(Box::new(inner))))))
    }

    #[test]
    fn each_way_of_not_connecting_in_plain_words() {
        use std::io::{Error as IoError, ErrorKind as Io};
        let refused = chain("client error (Connect)", IoError::new(Io::ConnectionRefused, "Connection refused (os error 111)"));
        assert_eq!(unreachable_cause(&refused).unwrap(), "the connection was refused: nothing listens at that address and port");
        let dns = chain("client error (Connect)", IoError::other("dns error: failed to lookup address information: Name or service not known"));
        assert_eq!(unreachable_cause(&dns).unwrap(), "the host name does not resolve (DNS)");
        let timeout = chain("client error (Connect)", IoError::new(Io::TimedOut, "HTTP connect timeout occurred after 3s"));
        assert_eq!(unreachable_cause(&timeout).unwrap(), "no connection could be opened within 3 s");
        let unreachable = chain("client error (Connect)", IoError::new(Io::NetworkUnreachable, "Network is unreachable (os error 101)"));
        assert!(unreachable_cause(&unreachable).unwrap().contains("no route"));
        // A connection that was made and then reset is not "unreachable":
        // the SDK and pypictl retry it.
        let reset = chain("client error (SendRequest)", IoError::new(Io::ConnectionReset, "connection reset by peer"));
        assert_eq!(unreachable_cause(&reset), None);
    }

    #[test]
    fn the_message_names_the_endpoint_the_cause_and_the_fix() {
        let m = unreachable_message("http://127.0.0.1:9", "the connection was refused: nothing listens at that address and port");
        assert!(m.starts_with("cannot reach AWS at http://127.0.0.1:9: the connection was refused"), "{m}");
        for fix in ["--endpoint-url", "AWS_ENDPOINT_URL", "network", "region"] {
            assert!(m.contains(fix), "{fix}: {m}");
        }
    }
}
