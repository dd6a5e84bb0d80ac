use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::SecretsManager::Secret", Secret {
    name: Option<Expr>,
    description: Option<Expr>,
    kms_key_id: Option<Expr>,
    generate_secret_string: Option<GenerateSecretString>,
    tags: Option<Vec<Tag>>,
});

props!(GenerateSecretString {
    secret_string_template: Option<Expr>,
    generate_string_key: Option<Expr>,
    password_length: Option<Expr>,
    exclude_characters: Option<Expr>,
    exclude_punctuation: Option<bool>,
    require_each_included_type: Option<bool>,
    include_space: Option<bool>,
});

resource!("AWS::SecretsManager::ResourcePolicy", ResourcePolicy {
    secret_id: Expr,
    resource_policy: Expr,
    block_public_policy: Option<bool>,
});
