use crate::cfn::{props, resource, Expr};

resource!("AWS::Route53::RecordSet", RecordSet {
    hosted_zone_id: Option<Expr>,
    name: Expr,
    #[serde(rename = "Type")]
    type_: Expr,
    alias_target: Option<AliasTarget>,
    #[serde(rename = "TTL")]
    ttl: Option<Expr>,
    resource_records: Option<Vec<Expr>>,
});

props!(AliasTarget {
    #[serde(rename = "DNSName")]
    dns_name: Expr,
    hosted_zone_id: Expr,
    evaluate_target_health: Option<bool>,
});
