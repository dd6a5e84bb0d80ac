//! A CloudFormation template under construction, and the wiring between
//! nested stacks.
//!
//! A nested template *imports* a value from a sibling stack with
//! [`Template::import`], which declares a parameter and records where its
//! value comes from; the root stack turns that record into
//! `Fn::GetAtt <Sibling>.Outputs.<Name>`. A template *exports* a value with
//! [`Template::export`], which declares an output and returns the handle
//! siblings import. Wiring therefore lives where a value is used.

use std::marker::PhantomData;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::expr::Expr;

/// A typed resource: its property struct knows its CloudFormation type.
pub trait Resource: Serialize {
    const TYPE: &'static str;
}

/// A resource added to a template: its logical id, for `Ref` and `Fn::GetAtt`.
#[derive(Debug)]
pub struct Res<T> {
    id: String,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Res<T> {
    fn clone(&self) -> Self {
        Res { id: self.id.clone(), _t: PhantomData }
    }
}

impl<T> Res<T> {
    /// A handle to a resource added elsewhere (e.g. a sibling nested stack
    /// in the root template).
    pub fn named(id: &str) -> Res<T> {
        Res { id: id.to_string(), _t: PhantomData }
    }
    pub fn id(&self) -> &str {
        &self.id
    }
    /// `Ref`: what the resource type returns (a name, id or ARN).
    pub fn r(&self) -> Expr {
        Expr::Ref(self.id.clone())
    }
    /// `Fn::GetAtt`.
    pub fn att(&self, attribute: &str) -> Expr {
        Expr::GetAtt(self.id.clone(), attribute.to_string())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Policy {
    Delete,
    Retain,
    /// Retain, except that a rollback of the operation that created the
    /// resource deletes it: a failed first deploy leaves no orphan behind
    /// (DeletionPolicy attribute, CloudFormation User Guide). Not valid as
    /// an UpdateReplacePolicy.
    RetainExceptOnCreate,
    Snapshot,
}

#[derive(Clone, Debug)]
struct Entry {
    type_: &'static str,
    properties: Result<Value, String>,
    depends_on: Vec<String>,
    deletion_policy: Option<Policy>,
    update_replace_policy: Option<Policy>,
    creation_policy: Option<Value>,
    update_policy: Option<Value>,
    checkov_skips: Vec<(&'static str, &'static str)>,
    cfn_lint_ignores: Vec<(&'static str, &'static str)>,
}

/// Options on a just-added resource.
pub struct EntryMut<'a, T> {
    entry: &'a mut Entry,
    res: Res<T>,
}

impl<T> EntryMut<'_, T> {
    pub fn depends_on<U>(self, other: &Res<U>) -> Self {
        self.entry.depends_on.push(other.id.clone());
        self
    }
    /// Keep the resource when the stack is deleted or the resource replaced:
    /// for stateful resources, whose loss loses data. A rollback of the
    /// operation that created it deletes it (it holds nothing yet): failed
    /// first deploys leave no key, file system, secret or vault behind.
    pub fn retain(self) -> Self {
        self.entry.deletion_policy = Some(Policy::RetainExceptOnCreate);
        self.entry.update_replace_policy = Some(Policy::Retain);
        self
    }
    pub fn deletion_policy(self, p: Policy) -> Self {
        self.entry.deletion_policy = Some(p);
        self.entry.update_replace_policy = Some(p);
        self
    }
    pub fn creation_policy(self, v: Value) -> Self {
        self.entry.creation_policy = Some(v);
        self
    }
    pub fn update_policy(self, v: Value) -> Self {
        self.entry.update_policy = Some(v);
        self
    }
    /// Suppresses a checkov check on this resource. `why` is the
    /// justification; it is written next to the suppression in the template.
    pub fn checkov_skip(self, check: &'static str, why: &'static str) -> Self {
        self.entry.checkov_skips.push((check, why));
        self
    }
    /// Suppresses a cfn-lint rule on this resource, with its justification.
    pub fn cfn_lint_ignore(self, rule: &'static str, why: &'static str) -> Self {
        self.entry.cfn_lint_ignores.push((rule, why));
        self
    }
    pub fn handle(self) -> Res<T> {
        self.res
    }
}

/// Where a parameter's value comes from: an output of a sibling nested stack.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StackOutput {
    /// Logical id of the nested stack in the root template.
    pub stack: String,
    pub output: String,
}

impl StackOutput {
    pub fn in_root(&self) -> Expr {
        Expr::GetAtt(self.stack.clone(), format!("Outputs.{}", self.output))
    }
}

/// What feeds a nested template's parameter in the root template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// A sibling nested stack's output.
    Output(StackOutput),
    /// A parameter of the root template of the same name, whose value
    /// `pypictl deploy` looks up in the account (it differs per region).
    RootParameter,
}

impl Binding {
    /// The value the root passes for the parameter `name`.
    pub fn in_root(&self, name: &str) -> Expr {
        match self {
            Binding::Output(o) => o.in_root(),
            Binding::RootParameter => Expr::Ref(name.to_string()),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub type_: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_echo: Option<bool>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub description: String,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub struct Template {
    /// Logical id of this template's stack in the root (empty for the root).
    stack_id: String,
    description: String,
    parameters: IndexMap<String, Parameter>,
    /// Parameter name → what feeds it.
    bindings: IndexMap<String, Binding>,
    resources: IndexMap<String, Entry>,
    outputs: IndexMap<String, Output>,
}

impl Template {
    pub fn new(stack_id: &str, description: impl Into<String>) -> Template {
        Template {
            stack_id: stack_id.to_string(),
            description: description.into(),
            parameters: IndexMap::new(),
            bindings: IndexMap::new(),
            resources: IndexMap::new(),
            outputs: IndexMap::new(),
        }
    }

    pub fn stack_id(&self) -> &str {
        &self.stack_id
    }

    pub fn add<T: Resource>(&mut self, id: &str, props: T) -> EntryMut<'_, T> {
        assert!(
            !self.resources.contains_key(id),
            "duplicate logical id {id} in {}",
            self.stack_id
        );
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "logical id {id} must be alphanumeric");
        let properties = serde_json::to_value(&props).map_err(|e| e.to_string());
        let entry = self.resources.entry(id.to_string()).or_insert(Entry {
            type_: T::TYPE,
            properties,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            creation_policy: None,
            update_policy: None,
            checkov_skips: Vec::new(),
            cfn_lint_ignores: Vec::new(),
        });
        EntryMut { entry, res: Res { id: id.to_string(), _t: PhantomData } }
    }

    /// Declares a parameter of this template (not fed by a sibling).
    pub fn parameter(&mut self, name: &str, p: Parameter) -> Expr {
        self.parameters.insert(name.to_string(), p);
        Expr::Ref(name.to_string())
    }

    /// Declares a parameter fed by a sibling's output; returns its `Ref`.
    pub fn import(&mut self, from: &StackOutput, description: &str) -> Expr {
        let name = from.output.clone();
        self.parameters.insert(
            name.clone(),
            Parameter { type_: "String".into(), description: description.to_string(), default: None, no_echo: None },
        );
        self.bindings.insert(name.clone(), Binding::Output(from.clone()));
        Expr::Ref(name)
    }

    /// Declares a parameter fed by the root template's parameter of the same
    /// name (one `pypictl deploy` resolves); returns its `Ref`.
    pub fn import_root(&mut self, name: &str, description: &str) -> Expr {
        self.parameters.insert(
            name.to_string(),
            Parameter { type_: "String".into(), description: description.to_string(), default: None, no_echo: None },
        );
        self.bindings.insert(name.to_string(), Binding::RootParameter);
        Expr::Ref(name.to_string())
    }

    /// The description of a declared parameter.
    pub fn parameter_description(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(|p| p.description.as_str())
    }

    /// Declares an output and returns the handle siblings import it by.
    pub fn export(&mut self, name: &str, description: &str, value: Expr) -> StackOutput {
        self.output(name, description, value);
        StackOutput { stack: self.stack_id.clone(), output: name.to_string() }
    }

    pub fn output(&mut self, name: &str, description: &str, value: Expr) {
        self.outputs.insert(name.to_string(), Output { description: description.to_string(), value });
    }

    pub fn bindings(&self) -> &IndexMap<String, Binding> {
        &self.bindings
    }

    pub fn output_names(&self) -> impl Iterator<Item = &str> {
        self.outputs.keys().map(String::as_str)
    }

    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    /// (logical id, type) of every resource, in template order.
    pub fn resource_types(&self) -> impl Iterator<Item = (&str, &'static str)> {
        self.resources.iter().map(|(k, e)| (k.as_str(), e.type_))
    }

    /// The logical ids a stack deletion keeps (`DeletionPolicy: Retain` or
    /// `RetainExceptOnCreate`).
    pub fn retained(&self) -> impl Iterator<Item = (&str, &'static str)> {
        self.resources
            .iter()
            .filter(|(_, e)| matches!(e.deletion_policy, Some(Policy::Retain | Policy::RetainExceptOnCreate)))
            .map(|(k, e)| (k.as_str(), e.type_))
    }

    /// The template as CloudFormation JSON.
    pub fn to_json(&self) -> Result<Value, String> {
        let mut resources = Map::new();
        for (id, e) in &self.resources {
            let props = e.properties.clone().map_err(|err| format!("{}: resource {id} ({}): {err}", self.stack_id, e.type_))?;
            let mut r = Map::new();
            r.insert("Type".into(), json!(e.type_));
            if !e.depends_on.is_empty() {
                r.insert("DependsOn".into(), json!(e.depends_on));
            }
            if let Some(p) = e.deletion_policy {
                r.insert("DeletionPolicy".into(), json!(p));
            }
            if let Some(p) = e.update_replace_policy {
                r.insert("UpdateReplacePolicy".into(), json!(p));
            }
            if let Some(v) = &e.creation_policy {
                r.insert("CreationPolicy".into(), v.clone());
            }
            if let Some(v) = &e.update_policy {
                r.insert("UpdatePolicy".into(), v.clone());
            }
            let mut metadata = Map::new();
            if !e.checkov_skips.is_empty() {
                let skips: Vec<Value> = e.checkov_skips.iter().map(|(id, why)| json!({"id": id, "comment": why})).collect();
                metadata.insert("checkov".into(), json!({ "skip": skips }));
            }
            if !e.cfn_lint_ignores.is_empty() {
                let rules: Vec<&str> = e.cfn_lint_ignores.iter().map(|(r, _)| *r).collect();
                let why: Map<String, Value> = e.cfn_lint_ignores.iter().map(|(r, w)| (r.to_string(), json!(w))).collect();
                metadata.insert("cfn-lint".into(), json!({ "config": { "ignore_checks": rules }, "justification": why }));
            }
            if !metadata.is_empty() {
                r.insert("Metadata".into(), Value::Object(metadata));
            }
            if !props.as_object().is_some_and(Map::is_empty) {
                r.insert("Properties".into(), props);
            }
            resources.insert(id.clone(), Value::Object(r));
        }
        let mut t = Map::new();
        t.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        t.insert("Description".into(), json!(self.description));
        if !self.parameters.is_empty() {
            t.insert("Parameters".into(), serde_json::to_value(&self.parameters).map_err(|e| e.to_string())?);
        }
        t.insert("Resources".into(), Value::Object(resources));
        if !self.outputs.is_empty() {
            let outputs = serde_json::to_value(&self.outputs).map_err(|e| format!("{}: outputs: {e}", self.stack_id))?;
            t.insert("Outputs".into(), outputs);
        }
        Ok(Value::Object(t))
    }
}

/// Pretty JSON with a trailing newline: the on-disk and uploaded form.
pub fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values always serialize");
    s.push('\n');
    s
}
