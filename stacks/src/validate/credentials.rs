//! Credentials and IAM rules: the roles that may read the secret (one role
//! each, as a resource policy's Principal requires), the username, and the
//! IAM policy documents a user adds to the instance profile.

use crate::config::Config;

use super::{arn_parts, quoted, Checker};

/// `arn:<partition>:iam::<12 digits>:role/<path/><name>`, exactly one role.
/// A resource policy's Principal takes no wildcard ("You cannot use a
/// wildcard to match part of a principal name or ARN": IAM User Guide, "AWS
/// JSON policy elements: Principal"); a role name is 1-64 of letters,
/// digits and `+=,.@_-`, a path printable ASCII between slashes (IAM API
/// reference, CreateRole).
fn is_role_arn(s: &str) -> bool {
    let Some((svc, region, _, res)) = arn_parts(s) else { return false };
    let Some(rest) = res.strip_prefix("role/") else { return false };
    let (path, name) = match rest.rsplit_once('/') {
        Some((path, name)) => (Some(path), name),
        None => (None, rest),
    };
    let name_ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    let path_ok = path.is_none_or(|p| {
        p.len() <= 510 && p.split('/').all(|seg| !seg.is_empty() && seg.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'*' && b != b'?'))
    });
    svc == "iam" && region.is_empty() && name_ok && path_ok
}

/// Checks a JSON IAM policy document supplied by the user.
pub(super) fn check_policy_document(text: &str) -> Result<(), String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("must be a JSON IAM policy document: {e}"))?;
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(obj @ serde_json::Value::Object(_)) => vec![obj.clone()],
        _ => return Err("must be a JSON IAM policy document with a `Statement`".into()),
    };
    for st in statements {
        let actions = match st.get("Action") {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => vec![],
        };
        // A wildcard anywhere (`*`, `s3:*Object`, `iam:P*`; `?` matches one
        // character) grants every action it matches, including those AWS
        // adds later ("IAM JSON policy elements: Action", IAM User Guide).
        if let Some(a) = actions.iter().find(|a| a.contains(['*', '?'])) {
            return Err(format!("grants every action matching `{a}`: no wildcards in actions; list the actions the instances need (least privilege)"));
        }
        if st.get("NotAction").is_some() {
            return Err("uses NotAction, which grants everything else; list the actions the instances need".into());
        }
        // iam:PassRole on every role lets the instances hand any role, an
        // administrator's too, to a service they start: name the roles
        // ("Grant a user permissions to pass a role to an AWS service", IAM
        // User Guide).
        let allows = st.get("Effect").and_then(|e| e.as_str()) == Some("Allow");
        if allows && actions.iter().any(|a| a.eq_ignore_ascii_case("iam:PassRole")) {
            let resources = match st.get("Resource") {
                Some(serde_json::Value::String(s)) => vec![s.as_str()],
                Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
                _ => vec![],
            };
            if resources.contains(&"*") || st.get("NotResource").is_some() {
                return Err("allows iam:PassRole on every role (`\"Resource\": \"*\"`); list the ARNs of the roles the instances pass".into());
            }
        }
    }
    Ok(())
}

/// Who may read the service's secret, and the username pypiserver checks.
pub(super) fn credentials(c: &mut Checker, cfg: &Config) {
    let cr = &cfg.credentials;
    for (key, readers) in [("credentials.secret_readers", &cr.secret_readers), ("credentials.publish_secret_readers", &cr.publish_secret_readers)] {
        for (i, arn) in readers.iter().enumerate() {
            c.check(is_role_arn(arn), format!("{key}[{i}]"), quoted(arn), "must be the ARN of one IAM role, such as \"arn:aws:iam::123456789012:role/ci\" (no wildcards: a policy's Principal takes none; role names are 1-64 of letters, digits and +=,.@_-)");
        }
        c.unique(key, readers);
    }
    if let Some(u) = &cr.username {
        let ok = !u.is_empty() && u.len() <= 64 && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        c.check(ok, "credentials.username", quoted(u), "must be 1-64 of letters, digits, '.', '_' and '-' (no ':', which htpasswd uses as separator)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::problem;

    #[test]
    fn user_policies_must_not_grant_everything() {
        assert!(check_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#).is_ok());
        assert!(check_policy_document(r#"{"Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*"}]}"#).unwrap_err().contains("s3:*"));
        assert!(check_policy_document("not json").unwrap_err().contains("JSON"));
    }

    /// IAM User Guide, "IAM JSON policy elements: Action" (wildcards * and ?
    /// in action names) and "Grant a user permissions to pass a role to an
    /// AWS service" (name the roles).
    #[test]
    fn user_policies_have_no_wildcard_actions_and_pass_no_role_on_everything() {
        let doc = |st: &str| check_policy_document(&format!(r#"{{"Version":"2012-10-17","Statement":[{st}]}}"#));
        for action in ["*", "iam:P*", "s3:*Object", "s3:Get?bject", "ec2:Describe*"] {
            let err = doc(&format!(r#"{{"Effect":"Allow","Action":["s3:GetObject","{action}"],"Resource":"*"}}"#)).unwrap_err();
            assert!(err.contains(action) && err.contains("wildcard"), "{action}: {err}");
        }
        let pass = |resource: &str| doc(&format!(r#"{{"Effect":"Allow","Action":"iam:PassRole","Resource":{resource}}}"#));
        assert!(pass(r#""*""#).unwrap_err().contains("iam:PassRole"));
        assert!(pass(r#"["arn:aws:iam::123456789012:role/a","*"]"#).is_err());
        assert!(doc(r#"{"Effect":"Allow","Action":"IAM:passrole","NotResource":"arn:aws:iam::123456789012:role/admin"}"#).is_err());
        assert!(pass(r#""arn:aws:iam::123456789012:role/ecs-task""#).is_ok());
        assert!(doc(r#"{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}"#).is_ok());
        let e = problem(|c| c.compute.extra_instance_profile_permissions = Some(r#"{"Statement":{"Effect":"Allow","Action":"s3:*Object","Resource":"*"}}"#.into()));
        assert_eq!(e.key, "compute.extra_instance_profile_permissions");
    }

    /// IAM User Guide, "AWS JSON policy elements: Principal": no wildcards
    /// in a principal's ARN; IAM API reference, CreateRole: role names.
    #[test]
    fn secret_readers_are_exactly_one_role_each() {
        for ok in ["arn:aws:iam::123456789012:role/ci", "arn:aws-us-gov:iam::123456789012:role/teams/build/ci+deploy=1,a.b@c_d-e", "arn:aws-cn:iam::123456789012:role/a"] {
            assert!(is_role_arn(ok), "{ok}");
        }
        for bad in [
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::123456789012:role/ci-*",
            "arn:aws:iam::123456789012:role/c?",
            "arn:aws:iam::123456789012:role/*/ci",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role//ci",
            "arn:aws:iam::123456789012:role/ci job",
            &format!("arn:aws:iam::123456789012:role/{}", "r".repeat(65)),
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::*:role/ci",
            "arn:*:iam::123456789012:role/ci",
            "arn:aws:sts::123456789012:assumed-role/ci/session",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
        let e = problem(|c| c.credentials.secret_readers = vec!["arn:aws:iam::123456789012:role/*".into()]);
        assert_eq!(e.key, "credentials.secret_readers[0]");
        assert!(e.rule.contains("no wildcards"), "{e}");
    }
}
