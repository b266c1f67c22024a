//! The Query protocol's naming of a request's members over a sorted map of parameters: scalars by
//! name (`UserName`), lists as `PREFIX.member.N` and lists of structures as
//! `PREFIX.member.N.FIELD`. The server's form parameters use it, and [`MemberMap`] is the
//! [`Members`] of requests an adapter builds itself (the admin CLI) and of tests.

use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::model::Tag;
use crate::validate::MAX_LIST_INDEX;

use super::{ListItem, Members};

/// A list member: its index, the field after the index (`Key` of `Tags.member.1.Key`) and value.
pub type ListMember<'a> = (u64, Option<&'a str>, &'a str);

/// Every `PREFIX.member.N[.FIELD]` of `map` as (N, FIELD, value), in index order (gaps closed).
/// An index is a key, never a length; one above [`MAX_LIST_INDEX`] is AWS's `ValidationError`.
/// A name whose N is not a number is not a member.
pub fn list_members<'a>(
    map: &'a BTreeMap<String, String>,
    prefix: &str,
) -> Result<Vec<ListMember<'a>>, ApiError> {
    let head = format!("{prefix}.member.");
    let mut items = Vec::new();
    for (k, v) in map
        .range(head.clone()..)
        .take_while(|(k, _)| k.starts_with(&head))
    {
        let Some(rest) = k.get(head.len()..) else {
            continue;
        };
        let (idx, field) = match rest.split_once('.') {
            Some((idx, field)) => (idx, Some(field)),
            None => (rest, None),
        };
        let idx = match idx.parse::<u64>() {
            Ok(i) if i <= MAX_LIST_INDEX => i,
            Err(_) if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) => continue,
            _ => return Err(index_too_large(prefix, idx)),
        };
        items.push((idx, field, v.as_str()));
    }
    items.sort_by_key(|(i, _, _)| *i);
    Ok(items)
}

/// The items of a list from its [`list_members`]: one per index, in index order.
pub fn list_items(members: Vec<ListMember<'_>>) -> Vec<ListItem> {
    let mut items: Vec<(u64, ListItem)> = Vec::new();
    for (idx, field, v) in members {
        if items.last().is_none_or(|(i, _)| *i != idx) {
            items.push((idx, ListItem::default()));
        }
        if let Some((_, item)) = items.last_mut() {
            match field {
                None => item.text = Some(v.to_owned()),
                Some(f) => item.fields.push((f.to_owned(), v.to_owned())),
            }
        }
    }
    items.into_iter().map(|(_, item)| item).collect()
}

/// AWS's `ValidationError` for a list index above [`MAX_LIST_INDEX`], in the generated
/// validators' wording; the member named as their messages do (`tagKeys`).
fn index_too_large(prefix: &str, idx: &str) -> ApiError {
    let mut chars = prefix.chars();
    let field: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    // Digits only; a long one is cut.
    let shown = idx.get(..idx.len().min(24)).unwrap_or_default();
    ApiError::validation(format!(
        "1 validation error detected: Value '{shown}' at '{field}' failed to satisfy constraint: \
         Member index must be less than or equal to {MAX_LIST_INDEX}"
    ))
}

/// A request's members by their Query protocol names, for requests an adapter builds itself:
/// decoded by [`super::Operation::decode`], they are validated like any request's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberMap(BTreeMap<String, String>);

impl MemberMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets member `name` (`UserName`, `Tags.member.1.Key`).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MemberMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        MemberMap(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Members for MemberMap {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        Ok(self
            .items(name)?
            .into_iter()
            .filter_map(|i| i.text)
            .collect())
    }

    fn tags(&self, name: &str) -> Result<Vec<Tag>, ApiError> {
        Ok(self
            .items(name)?
            .iter()
            .filter_map(|i| {
                Some(Tag {
                    key: i.field("Key")?.to_owned(),
                    value: i.field("Value").unwrap_or_default().to_owned(),
                })
            })
            .collect())
    }

    fn structure_list(&self, name: &str, field: &str) -> Result<Vec<String>, ApiError> {
        Ok(self
            .items(name)?
            .iter()
            .filter_map(|i| i.field(field).map(str::to_owned))
            .collect())
    }

    fn items(&self, name: &str) -> Result<Vec<ListItem>, ApiError> {
        Ok(list_items(list_members(&self.0, name)?))
    }
}
