use crate::cfn::{props, resource, Expr, Tag};

resource!("AWS::SNS::Topic", Topic {
    display_name: Option<Expr>,
    kms_master_key_id: Option<Expr>,
    subscription: Option<Vec<Subscription>>,
    tags: Option<Vec<Tag>>,
});

props!(Subscription { endpoint: Expr, protocol: Expr });

resource!("AWS::SNS::TopicPolicy", TopicPolicy { topics: Vec<Expr>, policy_document: Expr });
