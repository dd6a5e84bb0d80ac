//! CloudFormation values: literals and intrinsic functions.
//!
//! Every property value in a template is an [`Expr`]. Builders never write raw
//! `{"Fn::GetAtt": ...}` JSON by hand, so an intrinsic is always well formed.

use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A CloudFormation value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Expr {
    /// A required property a builder forgot to set. Serializing it fails, so a
    /// missing value is caught by the first synth instead of by CloudFormation.
    #[default]
    Missing,
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Expr>),
    /// A free-form object (policy documents, tag maps). Keys keep their order.
    Object(Vec<(String, Expr)>),
    Ref(String),
    GetAtt(String, String),
    Sub(String),
    SubWith(String, Vec<(String, Expr)>),
    Join(String, Vec<Expr>),
    Select(u32, Box<Expr>),
    Split(String, Box<Expr>),
    Base64(Box<Expr>),
    GetAzs,
    /// `Fn::ToJsonString`-free JSON: a literal JSON value embedded as-is
    /// (used for dashboard bodies and other documents built with serde_json).
    Json(serde_json::Value),
}

impl Expr {
    pub fn str(s: impl Into<String>) -> Expr {
        Expr::Str(s.into())
    }

    /// `Fn::Sub` with only pseudo parameters and resources of the same template.
    pub fn sub(s: impl Into<String>) -> Expr {
        Expr::Sub(s.into())
    }

    pub fn sub_with(s: impl Into<String>, vars: Vec<(&str, Expr)>) -> Expr {
        Expr::SubWith(s.into(), vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    pub fn join(sep: &str, parts: Vec<Expr>) -> Expr {
        Expr::Join(sep.to_string(), parts)
    }

    pub fn list<I, T>(items: I) -> Expr
    where
        I: IntoIterator<Item = T>,
        T: Into<Expr>,
    {
        Expr::List(items.into_iter().map(Into::into).collect())
    }

    pub fn object(pairs: Vec<(&str, Expr)>) -> Expr {
        Expr::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    pub fn select(i: u32, list: Expr) -> Expr {
        Expr::Select(i, Box::new(list))
    }

    pub fn split(sep: &str, value: Expr) -> Expr {
        Expr::Split(sep.to_string(), Box::new(value))
    }

    pub fn base64(value: Expr) -> Expr {
        Expr::Base64(Box::new(value))
    }

    /// `Fn::Select [i, Fn::GetAZs ""]`.
    pub fn az(i: u32) -> Expr {
        Expr::Select(i, Box::new(Expr::GetAzs))
    }
}

/// Pseudo parameters.
pub mod aws {
    use super::Expr;
    pub fn region() -> Expr {
        Expr::Ref("AWS::Region".into())
    }
    pub fn account_id() -> Expr {
        Expr::Ref("AWS::AccountId".into())
    }
    pub fn partition() -> Expr {
        Expr::Ref("AWS::Partition".into())
    }
    pub fn stack_name() -> Expr {
        Expr::Ref("AWS::StackName".into())
    }
    pub fn url_suffix() -> Expr {
        Expr::Ref("AWS::URLSuffix".into())
    }
    pub fn no_value() -> Expr {
        Expr::Ref("AWS::NoValue".into())
    }
    pub fn stack_id() -> Expr {
        Expr::Ref("AWS::StackId".into())
    }
    /// The first 8 hex digits of this stack's id: a suffix that is unique
    /// per stack instance, for names that outlive a deleted stack (retained
    /// resources) and must not collide with the next deployment's.
    pub fn stack_id_suffix() -> Expr {
        Expr::select(0, Expr::split("-", Expr::select(2, Expr::split("/", stack_id()))))
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Expr {
        Expr::Str(s.to_string())
    }
}
impl From<String> for Expr {
    fn from(s: String) -> Expr {
        Expr::Str(s)
    }
}
impl From<&String> for Expr {
    fn from(s: &String) -> Expr {
        Expr::Str(s.clone())
    }
}
impl From<i64> for Expr {
    fn from(n: i64) -> Expr {
        Expr::Int(n)
    }
}
impl From<u32> for Expr {
    fn from(n: u32) -> Expr {
        Expr::Int(n.into())
    }
}
impl From<u64> for Expr {
    fn from(n: u64) -> Expr {
        Expr::Int(n as i64)
    }
}
impl From<bool> for Expr {
    fn from(b: bool) -> Expr {
        Expr::Bool(b)
    }
}
impl From<Vec<Expr>> for Expr {
    fn from(v: Vec<Expr>) -> Expr {
        Expr::List(v)
    }
}

struct One<'a, T: Serialize + ?Sized>(&'a str, &'a T);
impl<T: Serialize + ?Sized> Serialize for One<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

struct Pairs<'a>(&'a [(String, Expr)]);
impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A heterogeneous two-element sequence such as `[template, {vars}]`.
struct Tuple2<'a, A: Serialize, B: Serialize>(&'a A, &'a B);
impl<A: Serialize, B: Serialize> Serialize for Tuple2<'_, A, B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(2))?;
        q.serialize_element(self.0)?;
        q.serialize_element(self.1)?;
        q.end()
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Expr::Missing => Err(S::Error::custom("a required CloudFormation property was not set")),
            Expr::Str(v) => s.serialize_str(v),
            Expr::Int(v) => s.serialize_i64(*v),
            Expr::Bool(v) => s.serialize_bool(*v),
            Expr::List(v) => v.serialize(s),
            Expr::Object(pairs) => Pairs(pairs).serialize(s),
            Expr::Ref(name) => One("Ref", name).serialize(s),
            Expr::GetAtt(res, attr) => One("Fn::GetAtt", &[res, attr]).serialize(s),
            Expr::Sub(t) => One("Fn::Sub", t).serialize(s),
            Expr::SubWith(t, vars) => One("Fn::Sub", &Tuple2(t, &Pairs(vars))).serialize(s),
            Expr::Join(sep, parts) => One("Fn::Join", &Tuple2(sep, parts)).serialize(s),
            Expr::Select(i, list) => One("Fn::Select", &Tuple2(&i.to_string(), list.as_ref())).serialize(s),
            Expr::Split(sep, v) => One("Fn::Split", &Tuple2(sep, v.as_ref())).serialize(s),
            Expr::Base64(v) => One("Fn::Base64", v.as_ref()).serialize(s),
            Expr::GetAzs => One("Fn::GetAZs", "").serialize(s),
            Expr::Json(v) => v.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn j(e: &Expr) -> serde_json::Value {
        serde_json::to_value(e).unwrap()
    }

    #[test]
    fn intrinsics_serialize_in_cloudformation_form() {
        assert_eq!(j(&Expr::Ref("A".into())), json!({"Ref": "A"}));
        assert_eq!(j(&Expr::GetAtt("Fs".into(), "Arn".into())), json!({"Fn::GetAtt": ["Fs", "Arn"]}));
        assert_eq!(
            j(&Expr::sub_with("${X}-a", vec![("X", Expr::Ref("Y".into()))])),
            json!({"Fn::Sub": ["${X}-a", {"X": {"Ref": "Y"}}]})
        );
        assert_eq!(j(&Expr::join(",", vec!["a".into(), aws::region()])), json!({"Fn::Join": [",", ["a", {"Ref": "AWS::Region"}]]}));
        assert_eq!(j(&Expr::az(1)), json!({"Fn::Select": ["1", {"Fn::GetAZs": ""}]}));
    }

    #[test]
    fn a_missing_required_value_fails_serialization() {
        let err = serde_json::to_value(Expr::Missing).unwrap_err();
        assert!(err.to_string().contains("required CloudFormation property"));
    }
}
