//! IAM policy documents, typed so that a statement cannot grant `*` by
//! accident: actions are checked when a statement is built.

use serde::Serialize;

use super::expr::Expr;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> PolicyDocument {
        PolicyDocument { version: "2012-10-17", statement }
    }

    pub fn to_expr(&self) -> Expr {
        // Statements hold Exprs; going through serde keeps intrinsics intact.
        Expr::Json(serde_json::to_value(self).expect("policy documents serialize"))
    }

    /// Every action granted by an Allow statement.
    pub fn allowed_actions(&self) -> impl Iterator<Item = &str> {
        self.statement.iter().filter(|s| s.effect == "Allow").flat_map(|s| s.action.iter().map(String::as_str))
    }
}

#[derive(Clone, Debug, Serialize)]
pub enum Principal {
    #[serde(rename = "Service")]
    Service(Vec<String>),
    #[serde(rename = "AWS")]
    Aws(Vec<Expr>),
}

#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: &'static str,
    pub principal: Option<Principal>,
    pub action: Vec<String>,
    pub resource: Option<Vec<Expr>>,
    pub condition: Option<Expr>,
}

impl Statement {
    fn new(effect: &'static str, actions: &[&str]) -> Statement {
        // A Deny may cover a whole service (e.g. refuse s3:* without TLS);
        // an Allow never grants one.
        if effect == "Allow" {
            for a in actions {
                assert!(*a != "*" && !a.ends_with(":*"), "wildcard action {a}: list the actions needed");
            }
        }
        Statement {
            sid: None,
            effect,
            principal: None,
            action: actions.iter().map(|a| a.to_string()).collect(),
            resource: None,
            condition: None,
        }
    }

    pub fn allow(actions: &[&str]) -> Statement {
        Statement::new("Allow", actions)
    }

    pub fn deny(actions: &[&str]) -> Statement {
        Statement::new("Deny", actions)
    }

    pub fn sid(mut self, sid: &str) -> Statement {
        self.sid = Some(sid.to_string());
        self
    }

    pub fn on(mut self, resources: Vec<Expr>) -> Statement {
        self.resource = Some(resources);
        self
    }

    pub fn on_any(self) -> Statement {
        self.on(vec![Expr::str("*")])
    }

    pub fn service(mut self, services: &[&str]) -> Statement {
        self.principal = Some(Principal::Service(services.iter().map(|s| s.to_string()).collect()));
        self
    }

    pub fn aws(mut self, principals: Vec<Expr>) -> Statement {
        self.principal = Some(Principal::Aws(principals));
        self
    }

    pub fn when(mut self, condition: Expr) -> Statement {
        self.condition = Some(condition);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "wildcard action")]
    fn wildcard_actions_are_refused() {
        let _ = Statement::allow(&["s3:*"]);
    }

    #[test]
    fn serializes_like_iam() {
        let d = PolicyDocument::new(vec![Statement::allow(&["s3:GetObject"]).on(vec!["arn:aws:s3:::b/*".into()]).service(&["ec2.amazonaws.com"])]);
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["Statement"][0]["Principal"]["Service"][0], "ec2.amazonaws.com");
        assert_eq!(v["Statement"][0]["Action"][0], "s3:GetObject");
        assert!(v["Statement"][0].get("Condition").is_none());
    }
}
