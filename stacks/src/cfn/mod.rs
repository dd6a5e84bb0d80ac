//! A small typed model of CloudFormation: values ([`expr`]), templates and
//! nested-stack wiring ([`template`]), IAM documents ([`iam_doc`]) and one
//! module of typed property structs per AWS service ([`resources`]).

pub mod expr;
pub mod iam_doc;
pub mod resources;
pub mod template;

pub use expr::{aws, Expr};
pub use iam_doc::{PolicyDocument, Principal, Statement};
pub use template::{render, Binding, Output, Parameter, Policy, Res, Resource, StackOutput, Template};

/// Declares a property struct: PascalCase keys, unset options omitted.
/// Field names that CloudFormation spells irregularly carry a `#[serde(rename)]`.
macro_rules! props {
    ($(#[$m:meta])* $name:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? }) => {
        #[serde_with::skip_serializing_none]
        #[derive(Clone, Debug, Default, serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        $(#[$m])*
        pub struct $name { $( $(#[$fm])* pub $field: $ty ),* }
    };
}

/// Declares a resource: a property struct plus its CloudFormation type.
macro_rules! resource {
    ($type:literal, $(#[$m:meta])* $name:ident { $($body:tt)* }) => {
        $crate::cfn::props!($(#[$m])* $name { $($body)* });
        impl $crate::cfn::template::Resource for $name {
            const TYPE: &'static str = $type;
        }
    };
}

pub(crate) use props;
pub(crate) use resource;

props!(
    /// A `{Key, Value}` tag.
    Tag { key: String, value: Expr }
);

impl Tag {
    pub fn new(key: &str, value: impl Into<Expr>) -> Tag {
        Tag { key: key.to_string(), value: value.into() }
    }
}
