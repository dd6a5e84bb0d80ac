//! The customer managed KMS key that encrypts the deployment's data at rest:
//! the file system, the credentials secret, container logs, the alarm topic
//! and the backup vault. One key, rotated yearly, retained on delete (losing
//! it would make the retained file system and backups unreadable).

use crate::cfn::resources::kms::{Alias, Key};
use crate::cfn::{aws, Expr, PolicyDocument, StackOutput, Statement, Template};

use super::{account_root, Ctx};

pub struct Outputs {
    pub key_arn: StackOutput,
}

/// Key administration, listed (no wildcards) for the account's IAM.
const ADMIN_ACTIONS: &[&str] = &[
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
];

const USE_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

pub fn build(ctx: Ctx) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let mut t = Template::new("Encryption", format!("pypictl {}: KMS key for data at rest", cfg.service_name));

    let mut statements = vec![
        Statement::allow(ADMIN_ACTIONS).sid("AccountAdministers").aws(vec![account_root()]).on_any(),
        // Principals of this account use the key as their IAM policies allow.
        Statement::allow(USE_ACTIONS).sid("AccountUses").aws(vec![account_root()]).on_any(),
        Statement::allow(USE_ACTIONS)
            .sid("CloudWatchLogsEncryptsLogGroups")
            .service(&[&format!("logs.{}.amazonaws.com", cfg.region)])
            .on_any()
            .when(Expr::object(vec![(
                "ArnLike",
                Expr::object(vec![(
                    "kms:EncryptionContext:aws:logs:arn",
                    Expr::sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
                )]),
            )])),
        // Alarms publish to the encrypted topic as cloudwatch.amazonaws.com.
        Statement::allow(&["kms:Decrypt", "kms:GenerateDataKey"])
            .sid("CloudWatchAlarmsPublish")
            .service(&["cloudwatch.amazonaws.com"])
            .on_any()
            .when(super::same_account()),
    ];
    // The readers of either secret: which secret each may read is the
    // secret's own resource policy's business.
    let cr = &cfg.credentials;
    let readers: Vec<&String> = cr.secret_readers.iter().chain(cr.publish_secret_readers.iter().filter(|r| !cr.secret_readers.contains(r))).collect();
    if !readers.is_empty() {
        statements.push(
            Statement::allow(&["kms:Decrypt", "kms:DescribeKey"])
                .sid("SecretReadersDecryptThroughSecretsManager")
                .aws(readers.iter().map(|r| Expr::from(*r)).collect())
                .on_any()
                .when(Expr::object(vec![(
                    "StringEquals",
                    Expr::object(vec![("kms:ViaService", Expr::sub("secretsmanager.${AWS::Region}.amazonaws.com"))]),
                )])),
        );
    }

    let key = t
        .add(
            "DataKey",
            Key {
                description: Some(Expr::str(format!("pypictl {}: packages, credentials, logs, alarms and backups", cfg.service_name))),
                enable_key_rotation: Some(true),
                key_policy: PolicyDocument::new(statements).to_expr(),
                pending_window_in_days: Some(30u32.into()),
                ..Default::default()
            },
        )
        .retain()
        .handle();
    t.add(
        "DataKeyAlias",
        Alias {
            alias_name: Expr::sub_with(format!("alias/pypictl/{}-${{Suffix}}", cfg.service_name), vec![("Suffix", aws::stack_id_suffix())]),
            target_key_id: key.r(),
        },
    );

    let key_arn = t.export("DataKeyArn", "ARN of the KMS key for data at rest", key.att("Arn"));
    (t, Outputs { key_arn })
}
