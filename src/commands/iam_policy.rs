//! `pypictl iam-policy [--role-arn ARN] [--for deployer|cloudformation-role]`:
//! the least-privilege IAM policy for this configuration, as JSON on stdout.
//!
//! - No `--role-arn`: CloudFormation acts with the deployer's credentials,
//!   so the deployer needs pypictl's own calls ([`crate::aws::permissions`])
//!   and everything CloudFormation does for the templates
//!   ([`pypictl_stacks::permissions`]).
//! - `--role-arn ARN --for deployer` (the default): pypictl's own calls,
//!   the staging bucket's stack (which pypictl creates without the role)
//!   and `iam:PassRole` on ARN. `--for cloudformation-role`: the role's policy
//!   (what CloudFormation does for the templates); its trust policy goes to
//!   stderr as a comment line.
//!
//! No AWS call: the templates are synthesized locally. The account is the
//! role's when `--role-arn` names one, else `*` (pypictl.toml names none).

use anyhow::Result;
use pypictl_stacks::app;
use pypictl_stacks::permissions::{self, Target};

use crate::aws::permissions as calls;
use crate::cli::{Global, IamPolicyArgs, PolicyFor};
use crate::config_file;

/// The largest managed policy IAM accepts, whitespace not counted.
const MANAGED_POLICY_MAX: usize = 6_144;

pub fn run(global: &Global, args: &IamPolicyArgs) -> Result<()> {
    let d = config_file::load(&args.config.path)?;
    let assembly = app::synthesize(&d).map_err(|e| anyhow::anyhow!("synthesis failed: {e}"))?;
    // Validated by clap (`--role-arn`): a role ARN has an account.
    let account = args.role_arn.as_deref().and_then(crate::cli::role_account);
    let target = Target::new(&d.config, account);
    let who = args.for_.unwrap_or(PolicyFor::Deployer);
    let resources = || permissions::resource_statements(&assembly, &target).map_err(|e| anyhow::anyhow!(e));

    let statements = match (who, args.role_arn.as_deref()) {
        (PolicyFor::Deployer, None) => {
            let mut s = calls::statements(&target);
            s.extend(resources()?);
            s
        }
        (PolicyFor::Deployer, Some(role)) => {
            // pypictl creates the staging bucket's stack without the role.
            let mut s = calls::statements(&target);
            s.push(permissions::staging_statement(&target));
            s.push(calls::pass_role(role));
            s.sort_by(|a, b| a.sid.cmp(&b.sid));
            s
        }
        (PolicyFor::CloudformationRole, _) => {
            let trust = serde_json::to_string(&permissions::cloudformation_trust_policy())?;
            eprintln!("# trust policy of the role (CloudFormation assumes it): {trust}");
            resources()?
        }
    };
    let document = permissions::document(&statements);
    println!("{}", serde_json::to_string_pretty(&document)?);

    if global.verbose > 0 && who == PolicyFor::Deployer {
        let actions: std::collections::BTreeSet<&str> = calls::CALLS.iter().map(|c| c.action).collect();
        for a in actions {
            eprintln!("# {a}: {}", calls::commands_of(a).unwrap_or_default());
        }
    }
    let size = serde_json::to_string(&document)?.len();
    if size > MANAGED_POLICY_MAX {
        eprintln!(
            "# {size} characters without whitespace: more than one managed policy holds ({MANAGED_POLICY_MAX}); \
             split the statements over several managed policies, or attach it as a role's inline policy (10,240)."
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn role_arns_name_their_account() {
        use crate::cli::role_account;
        assert_eq!(role_account("arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role"), Some("123456789012"));
        assert_eq!(role_account("arn:aws-cn:iam::123456789012:role/path/deployer"), Some("123456789012"));
        for bad in ["arn:aws:iam::123456789012:user/alice", "arn:aws:iam::1234:role/x", "role/x", "arn:aws:s3:::bucket"] {
            assert_eq!(role_account(bad), None, "{bad}");
        }
    }
}
