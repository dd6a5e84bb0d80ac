use crate::cfn::{resource, Expr, Tag};

resource!("AWS::KMS::Key", Key {
    description: Option<Expr>,
    enable_key_rotation: Option<bool>,
    key_policy: Expr,
    pending_window_in_days: Option<Expr>,
    tags: Option<Vec<Tag>>,
});

resource!("AWS::KMS::Alias", Alias { alias_name: Expr, target_key_id: Expr });
