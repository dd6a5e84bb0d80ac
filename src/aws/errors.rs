//! Turning AWS SDK errors into [`CloudError`]s the engine can decide on.
//!
//! The service's own code and message are kept (the user must see the root
//! cause, e.g. `ValidationError: Template format error: ...`, not the SDK's
//! wrapper "service error"); only when the service sent no message does the
//! SDK's chain of causes stand in (as [`DisplayErrorContext`] prints it,
//! without its debug dump of the whole response).

use std::error::Error;

use aws_config::retry::ErrorKind as RetryKind;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};

use crate::engine::model::{CloudError, ErrorKind};

#[cfg(doc)]
use aws_sdk_cloudformation::error::DisplayErrorContext;

/// Any SDK error (every `aws_sdk_*` crate uses the same `SdkError` and
/// response types) as a [`CloudError`].
pub fn cloud_error<E>(err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = err.code().unwrap_or_default().to_string();
            let message = match err.message() {
                Some(m) if !m.trim().is_empty() => m.to_string(),
                _ => format!("HTTP {status}: {}", causes(service.err())),
            };
            let kind = classify(&code, &message, Some(status));
            CloudError::new(kind, code, message)
        }
        SdkError::TimeoutError(_) => CloudError::new(ErrorKind::Transient, "", causes(&err)),
        SdkError::DispatchFailure(failure) => {
            if let Some(cause) = super::reach::unreachable_cause(&err) {
                let endpoint = super::wire::last_endpoint().unwrap_or_else(|| "the AWS endpoint".into());
                return CloudError::new(ErrorKind::Unreachable, "", super::reach::unreachable_message(&endpoint, &cause));
            }
            let kind = if failure.is_io() || failure.is_timeout() {
                ErrorKind::Transient
            } else {
                match failure.as_other() {
                    Some(RetryKind::ThrottlingError) => ErrorKind::Throttled,
                    Some(RetryKind::TransientError | RetryKind::ServerError) => ErrorKind::Transient,
                    // User errors (a malformed request) and unclassified ones,
                    // such as credentials that could not be loaded: retrying
                    // does not help.
                    _ => ErrorKind::Other,
                }
            };
            CloudError::new(kind, "", causes(&err))
        }
        // A response that could not be read or parsed: usually a connection
        // cut mid-response; the SDK's own retry classifier treats it as
        // transient too.
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            CloudError::new(ErrorKind::Transient, "", format!("HTTP {status}: {}", causes(&err)))
        }
        _ => CloudError::new(ErrorKind::Other, "", causes(&err)),
    }
}

/// `error: its cause: its cause...`, each message once.
fn causes(err: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && parts.last() != Some(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Classifies a service error by its code, message and HTTP status.
pub fn classify(code: &str, message: &str, status: Option<u16>) -> ErrorKind {
    const THROTTLED: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "RequestThrottled",
        "RequestThrottledException",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
        "BandwidthLimitExceeded",
    ];
    const NOT_FOUND: &[&str] = &["NoSuchKey", "NotFound", "ResourceNotFoundException", "NoSuchHostedZone"];
    const ACCESS_DENIED: &[&str] = &[
        "UnauthorizedOperation",
        "UnauthorizedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidAccessKeyId",
        "InvalidToken",
        // S3's code for a 403 to a HEAD request (which has no body).
        "Forbidden",
    ];
    const INVALID: &[&str] = &[
        "ValidationError",
        "ValidationException",
        "InvalidInput",
        "InvalidArgument",
        "InvalidRequest",
        "InvalidRequestException",
        "InvalidAction",
        "MalformedQueryString",
    ];
    const TRANSIENT: &[&str] = &[
        "InternalFailure",
        "InternalError",
        "InternalErrorException",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServerException",
        "RequestTimeout",
        "RequestTimeoutException",
        "Unavailable",
    ];

    let status = status.unwrap_or(0);
    if THROTTLED.contains(&code) {
        ErrorKind::Throttled
    } else if NOT_FOUND.contains(&code)
        // InvalidVpcID.NotFound, TargetGroupNotFound, ChangeSetNotFound...
        || code.ends_with("NotFound")
        || code.ends_with("NotFoundException")
        || code.starts_with("NoSuch")
        || (code == "ValidationError" && message.contains("does not exist"))
    {
        ErrorKind::NotFound
    } else if code.starts_with("AccessDenied") || code.starts_with("ExpiredToken") || ACCESS_DENIED.contains(&code) {
        ErrorKind::AccessDenied
    } else if INVALID.contains(&code) || code.starts_with("InvalidParameter") || code.ends_with(".Malformed") {
        ErrorKind::Invalid
    } else if TRANSIENT.contains(&code) || (500..600).contains(&status) {
        ErrorKind::Transient
    } else if code.is_empty() {
        // No code (a HEAD request has no body; S3 names 404s NotFound
        // itself): the status has to do. A 404 without a code is an endpoint
        // that does not serve the API (an emulator lacking it), not a
        // missing resource.
        match status {
            401 | 403 => ErrorKind::AccessDenied,
            429 => ErrorKind::Throttled,
            _ => ErrorKind::Other,
        }
    } else {
        ErrorKind::Other
    }
}

/// Epoch milliseconds of an SDK timestamp.
pub fn millis(t: &aws_sdk_cloudformation::primitives::DateTime) -> i64 {
    t.to_millis().unwrap_or_else(|_| t.secs().saturating_mul(1000))
}

/// An error for a response that lacks something it always has.
pub fn missing(what: &str) -> CloudError {
    CloudError::new(ErrorKind::Other, "", format!("the response has no {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
    use aws_sdk_s3::primitives::SdkBody;
    use aws_sdk_s3::operation::head_object::HeadObjectError;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
    }

    fn cfn(code: &str, message: &str, status: u16) -> CloudError {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        cloud_error(SdkError::service_error(DescribeStacksError::generic(meta), response(status)))
    }

    #[test]
    fn throttling_codes() {
        let codes = ["Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"];
        for code in codes.into_iter().chain(["RequestThrottled"]) {
            assert_eq!(classify(code, "Rate exceeded", Some(400)), ErrorKind::Throttled, "{code}");
        }
        let e = cfn("Throttling", "Rate exceeded", 400);
        assert_eq!(e, CloudError::new(ErrorKind::Throttled, "Throttling", "Rate exceeded"));
        assert!(e.is_retryable());
    }

    #[test]
    fn not_found_codes() {
        let codes = [
            "NoSuchKey",
            "NotFound",
            "ResourceNotFoundException",
            "NoSuchHostedZone",
            "InvalidVpcID.NotFound",
            "InvalidSubnetID.NotFound",
            "ClusterNotFoundException",
            "ChangeSetNotFound",
            "NoSuchBucket",
        ];
        for code in codes {
            assert_eq!(classify(code, "", Some(400)), ErrorKind::NotFound, "{code}");
        }
    }

    #[test]
    fn validation_error_that_says_does_not_exist_is_not_found() {
        let e = cfn("ValidationError", "Stack with id pypi does not exist", 400);
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.to_string(), "ValidationError: Stack with id pypi does not exist");
    }

    #[test]
    fn other_validation_errors_are_invalid_with_the_service_message() {
        let message = "Template format error: Unresolved resource dependencies [Bucket] in the Resources block of the template";
        let e = cfn("ValidationError", message, 400);
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.code, "ValidationError");
        assert!(e.message.starts_with("Template format error"), "{}", e.message);
        assert!(!e.message.contains("service error"));
        for code in ["InvalidParameterValue", "InvalidParameterCombination", "InvalidParameterException", "ValidationException"] {
            assert_eq!(classify(code, "bad", Some(400)), ErrorKind::Invalid, "{code}");
        }
        assert!(!cfn("ValidationError", "No updates are to be performed.", 400).is_retryable());
    }

    #[test]
    fn access_denied_codes() {
        for code in ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "ExpiredToken", "ExpiredTokenException"] {
            assert_eq!(classify(code, "", Some(403)), ErrorKind::AccessDenied, "{code}");
        }
    }

    #[test]
    fn server_errors_are_transient() {
        let e = cfn("InternalFailure", "We encountered an internal error", 500);
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(cfn("SomethingNew", "boom", 503).kind, ErrorKind::Transient);
        assert_eq!(cfn("SomethingNew", "boom", 400).kind, ErrorKind::Other);
    }

    #[test]
    fn timeouts_and_io_failures_are_transient() {
        let e: CloudError = cloud_error(SdkError::<DescribeStacksError, HttpResponse>::timeout_error("read timed out"));
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(e.message.contains("timed out"), "{}", e.message);

        // A connection that was made, then reset: the SDK and pypictl retry.
        let io = ConnectorError::io("connection reset by peer".into());
        let e = cloud_error(SdkError::<DescribeStacksError, HttpResponse>::dispatch_failure(io));
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(e.message.contains("connection reset"), "{}", e.message);

        // No connection at all: not retried again, and said plainly.
        let io = ConnectorError::io("tcp connect error: Connection refused (os error 111)".into());
        let e = cloud_error(SdkError::<DescribeStacksError, HttpResponse>::dispatch_failure(io));
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(!e.is_retryable());
        assert!(e.message.contains("the connection was refused") && e.message.contains("AWS_ENDPOINT_URL"), "{}", e.message);

        // Credentials that cannot be loaded end up as an unclassified
        // dispatch failure: not worth retrying.
        let other = ConnectorError::other("no credentials in the environment".into(), None);
        let e = cloud_error(SdkError::<DescribeStacksError, HttpResponse>::dispatch_failure(other));
        assert_eq!(e.kind, ErrorKind::Other);
        assert!(e.message.contains("no credentials"), "{}", e.message);
    }

    #[test]
    fn a_message_less_error_keeps_the_chain_of_causes() {
        // S3 answers HEAD with a bare status; the SDK names a 404 NotFound.
        let meta = ErrorMetadata::builder().code("NotFound").build();
        let e = cloud_error(SdkError::service_error(HeadObjectError::generic(meta), response(404)));
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.code, "NotFound");
        assert!(e.message.starts_with("HTTP 404: "), "{}", e.message);

        let e = cloud_error(SdkError::service_error(HeadObjectError::generic(ErrorMetadata::builder().build()), response(403)));
        assert_eq!(e.kind, ErrorKind::AccessDenied);
        assert!(e.message.starts_with("HTTP 403"), "{}", e.message);

        // A page that is no AWS answer at all (an emulator without the API).
        let e = cloud_error(SdkError::service_error(HeadObjectError::generic(ErrorMetadata::builder().build()), response(404)));
        assert_eq!(e.kind, ErrorKind::Other);
        let e = cloud_error(SdkError::service_error(HeadObjectError::generic(ErrorMetadata::builder().build()), response(502)));
        assert_eq!(e.kind, ErrorKind::Transient);
    }

    #[test]
    fn the_chain_has_no_debug_dump() {
        let io = ConnectorError::io("connection closed before message completed".into());
        let e = cloud_error(SdkError::<DescribeStacksError, HttpResponse>::dispatch_failure(io));
        assert_eq!(e.message, "dispatch failure: io error: connection closed before message completed");
        assert_eq!(e.to_string(), e.message);
    }

    #[test]
    fn millis_of_timestamps() {
        let t = aws_sdk_cloudformation::primitives::DateTime::from_millis(1_700_000_000_123);
        assert_eq!(millis(&t), 1_700_000_000_123);
    }
}
