use crate::cfn::{resource, Expr, Tag};

resource!("AWS::Logs::LogGroup", LogGroup {
    log_group_name: Option<Expr>,
    retention_in_days: Option<Expr>,
    kms_key_id: Option<Expr>,
    tags: Option<Vec<Tag>>,
});
