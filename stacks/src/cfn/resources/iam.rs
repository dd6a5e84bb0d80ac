use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::IAM::Role", Role {
    description: Option<Expr>,
    assume_role_policy_document: Expr,
    managed_policy_arns: Option<Vec<Expr>>,
    policies: Option<Vec<InlinePolicy>>,
    path: Option<Expr>,
    tags: Option<Vec<Tag>>,
});

props!(InlinePolicy { policy_name: Expr, policy_document: Expr });

resource!("AWS::IAM::InstanceProfile", InstanceProfile { roles: Vec<Expr>, path: Option<Expr> });
