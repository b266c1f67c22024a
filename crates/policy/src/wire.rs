//! The wire model: IAM's JSON shapes as serde types (string-or-list, `"*"`, every element).
//! Only [`crate::Policy::parse`] turns it into the compiled form the evaluator sees.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A JSON value that may be one item or a list of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }
}

/// A policy document as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(rename = "Id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Statement")]
    pub statement: OneOrMany<StatementDocument>,
}

/// A condition block: operator → key → values.
pub type ConditionDocument = BTreeMap<String, BTreeMap<String, OneOrMany<ConditionValue>>>;

/// One statement as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementDocument {
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "Effect", default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<PrincipalDocument>,
    #[serde(
        rename = "NotPrincipal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub not_principal: Option<PrincipalDocument>,
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    #[serde(rename = "NotAction", default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    #[serde(
        rename = "NotResource",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub not_resource: Option<OneOrMany<String>>,
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionDocument>,
}

/// `"Principal": "*"` or `{"AWS": ..., "Service": ..., "Federated": ..., "CanonicalUser": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PrincipalDocument {
    Star(String),
    Map(BTreeMap<String, OneOrMany<String>>),
}

/// Condition values may be written as strings, booleans or numbers; all compare as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionValue {
    Str(String),
    Bool(bool),
    Num(serde_json::Number),
}

impl ConditionValue {
    pub fn to_text(&self) -> String {
        match self {
            ConditionValue::Str(s) => s.clone(),
            ConditionValue::Bool(b) => b.to_string(),
            ConditionValue::Num(n) => n.to_string(),
        }
    }
}
