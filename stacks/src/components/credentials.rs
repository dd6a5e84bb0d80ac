//! The service credentials: two Secrets Manager secrets whose passwords
//! CloudFormation generates, one per [`Role`]. A password exists only inside
//! Secrets Manager; containers receive each secret whole at start, `pypictl
//! creds` reads it on demand.
//!
//! A secret's value is JSON: `username` and `password` (what clients use),
//! and during a rotation `pending_password`, the next password, which the
//! containers accept beside `password` (see `src/engine/creds.rs`).

use crate::cfn::resources::secretsmanager::{GenerateSecretString, ResourcePolicy, Secret};
use crate::cfn::{aws, Expr, PolicyDocument, StackOutput, Statement, Template};
use crate::config::Config;
use crate::outputs::RootOutput;

use super::{encryption, Ctx};

/// What a credential may do. The proxy and pypiserver enforce it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// List and download: pip, uv, Poetry sources, every installer.
    Read,
    /// Upload (and list and download): the CI jobs that publish.
    Publish,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Read, Role::Publish];

    /// As `pypictl creds --format json` and the docs name it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Publish => "publish",
        }
    }

    /// The environment variable a container receives the whole secret in
    /// (its JSON, as ECS injects a secret referenced by its ARN alone).
    pub const fn env_var(self) -> &'static str {
        match self {
            Role::Read => "PYPI_READ_CREDENTIALS",
            Role::Publish => "PYPI_PUBLISH_CREDENTIALS",
        }
    }

    pub fn username(self, cfg: &Config) -> String {
        match self {
            Role::Read => cfg.username(),
            Role::Publish => cfg.publish_username(),
        }
    }

    /// The root output with the ARN of its secret.
    pub const fn secret_arn_output(self) -> RootOutput {
        match self {
            Role::Read => RootOutput::PypiUserSecretArn,
            Role::Publish => RootOutput::PypiPublishSecretArn,
        }
    }

    /// The root output with the name of its secret.
    pub const fn secret_name_output(self) -> RootOutput {
        match self {
            Role::Read => RootOutput::PypiUserSecret,
            Role::Publish => RootOutput::PypiPublishSecret,
        }
    }

    /// The secret's logical id. The read secret keeps the id the single
    /// secret had, so an update never replaces it.
    const fn logical_id(self) -> &'static str {
        match self {
            Role::Read => "Credentials",
            Role::Publish => "PublishCredentials",
        }
    }

    /// Between `credentials-` and the stack's suffix in the secret's name,
    /// which pypictl's own IAM policy matches (`pypictl/<service>/credentials-*`).
    const fn name_part(self) -> &'static str {
        match self {
            Role::Read => "",
            Role::Publish => "publish-",
        }
    }

    fn readers(self, cfg: &Config) -> &[String] {
        match self {
            Role::Read => &cfg.credentials.secret_readers,
            Role::Publish => &cfg.credentials.publish_secret_readers,
        }
    }
}

/// The keys of a secret's JSON value.
pub const USERNAME_KEY: &str = "username";
pub const PASSWORD_KEY: &str = "password";
/// Present only while a rotation is under way: the next password, accepted
/// beside `password` by every task started while it is there.
pub const PENDING_PASSWORD_KEY: &str = "pending_password";

/// One secret's exports.
pub struct SecretOutputs {
    pub arn: StackOutput,
    pub name: StackOutput,
}

pub struct Outputs {
    pub read: SecretOutputs,
    pub publish: SecretOutputs,
}

impl Outputs {
    pub fn of(&self, role: Role) -> &SecretOutputs {
        match role {
            Role::Read => &self.read,
            Role::Publish => &self.publish,
        }
    }
}

/// Generated password length: ~250 bits from Secrets Manager's alphabet.
pub const PASSWORD_LENGTH: u32 = 40;
/// Characters left out of generated passwords: quotes, backslash and backtick
/// survive every transport but make copy-pasting into shells and INI files
/// error-prone, and without `"` and `\` a password needs no escaping inside
/// the secret's JSON, which the proxy's start script reads with `sed`.
/// Everything else is percent-encoded where it goes into a URL.
pub const EXCLUDED_CHARACTERS: &str = "\"'\\`";

fn secret(t: &mut Template, cfg: &Config, role: Role, key_arn: &Expr) -> SecretOutputs {
    let name = Expr::sub_with(
        format!("pypictl/{}/credentials-{}${{Suffix}}", cfg.service_name, role.name_part()),
        vec![("Suffix", aws::stack_id_suffix())],
    );
    let template = serde_json::json!({ USERNAME_KEY: role.username(cfg) }).to_string();
    let what = match role {
        Role::Read => "read (list and download)",
        Role::Publish => "publish (upload)",
    };
    let secret = t
        .add(
            role.logical_id(),
            Secret {
                name: Some(name.clone()),
                description: Some(Expr::str(format!("Username and password of the {} package index: {what}", cfg.service_name))),
                kms_key_id: Some(key_arn.clone()),
                generate_secret_string: Some(GenerateSecretString {
                    secret_string_template: Some(template.into()),
                    generate_string_key: Some(PASSWORD_KEY.into()),
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

    let readers = role.readers(cfg);
    if !readers.is_empty() {
        let policy = PolicyDocument::new(vec![Statement::allow(&["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"])
            .sid("SecretReaders")
            .aws(readers.iter().map(Expr::from).collect())
            .on_any()]);
        t.add(&format!("{}Readers", role.logical_id()), ResourcePolicy { secret_id: secret.r(), resource_policy: policy.to_expr(), block_public_policy: Some(true) });
    }
    let (arn_export, name_export) = match role {
        Role::Read => ("SecretArn", "SecretName"),
        Role::Publish => ("PublishSecretArn", "PublishSecretName"),
    };
    let arn = t.export(arn_export, &format!("ARN of the {} credential's secret", role.as_str()), secret.r());
    let name = t.export(name_export, &format!("Name of the {} credential's secret", role.as_str()), name);
    SecretOutputs { arn, name }
}

pub fn build(ctx: Ctx, enc: &encryption::Outputs) -> (Template, Outputs) {
    let cfg = ctx.cfg;
    let mut t = Template::new("Credentials", format!("pypictl {}: generated service credentials", cfg.service_name));
    let key_arn = t.import(&enc.key_arn, "KMS key that encrypts the secrets");
    let read = secret(&mut t, cfg, Role::Read, &key_arn);
    let publish = secret(&mut t, cfg, Role::Publish, &key_arn);
    (t, Outputs { read, publish })
}
