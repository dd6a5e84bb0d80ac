//! Monitoring rules: the addresses and SNS topics the alarms notify, and
//! the alarms' thresholds.

use crate::config::Config;

use super::{arn_parts, is_region, quoted, Checker};

pub fn is_email(s: &str) -> bool {
    email_address::EmailAddress::parse_with_options(s, email_address::Options::default().without_display_text())
        .is_ok_and(|e| e.domain().contains('.'))
}

/// Who the alarms notify, and the EFS burst-credit alarm's threshold.
pub(super) fn monitoring(c: &mut Checker, cfg: &Config) {
    let m = &cfg.monitoring;
    if m.alarm_emails.is_empty() {
        c.fail("monitoring.alarm_emails", "[]", "needs at least one email address for alarm notifications");
    }
    for (i, e) in m.alarm_emails.iter().enumerate() {
        c.check(is_email(e), format!("monitoring.alarm_emails[{i}]"), quoted(e), "must be an email address such as \"ops@example.com\"");
    }
    c.unique("monitoring.alarm_emails", &m.alarm_emails);
    for (i, arn) in m.alarm_topic_arns.iter().enumerate() {
        let ok = arn_parts(arn).is_some_and(|(svc, region, _, _)| svc == "sns" && is_region(&region));
        c.check(ok, format!("monitoring.alarm_topic_arns[{i}]"), quoted(arn), "must be an SNS topic ARN such as \"arn:aws:sns:us-east-1:123456789012:pager\"");
        // "Invalid region ... specified. Only <region> is supported": an
        // alarm's actions must be in its own region (CloudWatch PutMetricAlarm).
        if let Some((_, region, _, _)) = arn_parts(arn).filter(|(svc, region, _, _)| svc == "sns" && is_region(region) && *region != cfg.region) {
            c.fail(format!("monitoring.alarm_topic_arns[{i}]"), quoted(arn), &format!("is in {region}: a CloudWatch alarm notifies topics of its own region only ({}); use a topic in {}", cfg.region, cfg.region));
        }
    }
    c.check(m.efs_burst_credit_threshold > 0, "monitoring.efs_burst_credit_threshold", m.efs_burst_credit_threshold, "must be a positive number of bytes");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses() {
        assert!(is_email("ops@example.com") && !is_email("ops@localhost") && !is_email("not an email"));
    }
}
