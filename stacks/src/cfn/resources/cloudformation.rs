use crate::cfn::{resource, Expr};

resource!("AWS::CloudFormation::Stack", Stack {
    #[serde(rename = "TemplateURL")]
    template_url: Expr,
    parameters: Option<Expr>,
    timeout_in_minutes: Option<Expr>,
});
