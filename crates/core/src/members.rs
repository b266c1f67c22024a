//! A request's members, protocol-neutral: what every adapter (the Query protocol's form, the
//! admin CLI's member map) gives the operation table to decode and validate. Below `ops` and
//! `validate`, which both read it.

use crate::error::ApiError;
use crate::model::Tag;
use crate::password::Password;
use crate::totp::CodeInput;

/// A request's members as its protocol carries them, by their botocore names (`UserName`,
/// `Tags` — a list of `Key`/`Value` structures —, `PolicyArns` — a list of structures with `arn`).
/// The Query protocol's form parameters implement it; so can any other adapter.
pub trait Members {
    /// A scalar member's text.
    fn get(&self, name: &str) -> Option<&str>;
    /// A list of strings, in member order; an index beyond AWS's bound is its validation error.
    fn list(&self, name: &str) -> Result<Vec<String>, ApiError>;
    /// A list of `Tag` structures.
    fn tags(&self, name: &str) -> Result<Vec<Tag>, ApiError>;
    /// One string field of each structure of a list (`PolicyArns` → `arn`), in member order.
    fn structure_list(&self, name: &str, field: &str) -> Result<Vec<String>, ApiError>;
    /// Every item of a list, in member order: a string (`TagKeys.member.1`) or a structure's
    /// fields (`Tags.member.1.Key`); what the input's shape checks (`validate::check_members`).
    fn items(&self, name: &str) -> Result<Vec<ListItem>, ApiError>;

    fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// An integer member; a value that is not one is AWS's validation error, naming the member as
    /// the generated validators do (`maxItems`).
    fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.trim().parse().map(Some).map_err(|_| {
                ApiError::validation(format!(
                    "1 validation error detected: Value '{text}' at '{}' failed to satisfy constraint: Member must be a number",
                    lower_camel(name)
                ))
            }),
        }
    }

    /// A boolean member: `true` in any case; anything else (or nothing) is false, as the SDKs only
    /// send the two.
    fn boolean(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A boolean member where absent and `false` differ.
    fn opt_boolean(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A TOTP code member (redacted `Debug`, constant-time comparison).
    fn code(&self, name: &str) -> Option<CodeInput> {
        self.get(name).map(|c| CodeInput::new(c.to_owned()))
    }

    /// A password member (redacted `Debug`).
    fn password(&self, name: &str) -> Option<Password> {
        self.get(name).map(Password::new)
    }
}

/// One item of a list member as the protocol carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListItem {
    /// The item of a list of strings (`TagKeys.member.1`).
    pub text: Option<String>,
    /// The fields of an item of a list of structures (`Tags.member.1.Key`), by name.
    pub fields: Vec<(String, String)>,
}

impl ListItem {
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `MaxItems` → `maxItems`: how AWS's validation messages name a member.
pub fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}
