//! The service credentials: a Secrets Manager secret whose password
//! CloudFormation generates. The password exists only inside Secrets Manager;
//! containers receive it at start, `pypictl creds` reads it on demand.

use crate::cfn::resources::secretsmanager::{GenerateSecretString, ResourcePolicy, Secret};
use crate::cfn::{aws, Expr, PolicyDocument, StackOutput, Statement, Template};

use super::{encryption, Ctx};

pub struct Outputs {
    pub secret_arn: StackOutput,
    pub secret_name: StackOutput,
}

/// Generated password length: ~250 bits from Secrets Manager's alphabet.
pub const PASSWORD_LENGTH: u32 = 40;
/// Characters left out of generated passwords: quotes, backslash and backtick
/// survive every transport but make copy-pasting into shells and INI files
/// error-prone. Everything else is percent-encoded where it goes into a URL.
pub const EXCLUDED_CHARACTERS: &str = "\"'\\`";

pub fn build(ctx: Ctx, enc: &encryption::Outputs) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let mut t = Template::new("Credentials", format!("pypictl {}: generated service credentials", cfg.service_name));
    let key_arn = t.import(&enc.key_arn, "KMS key that encrypts the secret");

    let name = Expr::sub_with(format!("pypictl/{}/credentials-${{Suffix}}", cfg.service_name), vec![("Suffix", aws::stack_id_suffix())]);
    let template = serde_json::json!({ "username": cfg.username() }).to_string();
    let secret = t
        .add(
            "Credentials",
            Secret {
                name: Some(name.clone()),
                description: Some(Expr::str(format!("Username and password of the {} package index", cfg.service_name))),
                kms_key_id: Some(key_arn),
                generate_secret_string: Some(GenerateSecretString {
                    secret_string_template: Some(template.into()),
                    generate_string_key: Some("password".into()),
                    password_length: Some(PASSWORD_LENGTH.into()),
                    exclude_characters: Some(EXCLUDED_CHARACTERS.into()),
                    require_each_included_type: Some(true),
                    include_space: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .retain()
        .handle();

    let readers = &cfg.credentials.secret_readers;
    if !readers.is_empty() {
        let policy = PolicyDocument::new(vec![Statement::allow(&["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"])
            .sid("SecretReaders")
            .aws(readers.iter().map(Expr::from).collect())
            .on_any()]);
        t.add("CredentialsReaders", ResourcePolicy { secret_id: secret.r(), resource_policy: policy.to_expr(), block_public_policy: Some(true) });
    }

    let secret_arn = t.export("SecretArn", "ARN of the credentials secret", secret.r());
    let secret_name = t.export("SecretName", "Name of the credentials secret", name);
    (t, Outputs { secret_arn, secret_name })
}
