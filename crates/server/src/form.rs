//! The Query protocol's request parameters: `application/x-www-form-urlencoded` bodies and query
//! strings, with AWS's list (`Names.member.N`) and map (`Tags.member.N.Key`) conventions.

use std::collections::BTreeMap;

use keyward_core::ApiError;
use keyward_core::model::Tag;
use keyward_core::ops::ListItem;
use keyward_core::ops::query::{self, ListMember};
#[cfg(doc)]
use keyward_core::validate::MAX_LIST_INDEX;
use percent_encoding::percent_decode;

/// Decoded parameters. The first occurrence of a name wins.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// A parameter string that is not valid form encoding (invalid UTF-8 after percent-decoding).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request parameters are not valid UTF-8 form encoding")]
pub struct FormError;

fn decode_component(raw: &[u8]) -> Result<String, FormError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| FormError)
}

impl Params {
    /// Adds every `name=value` pair of `raw` (a form body or a query string).
    pub fn extend_from_form(&mut self, raw: &[u8]) -> Result<(), FormError> {
        for pair in raw.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (
                    pair.get(..i).unwrap_or_default(),
                    pair.get(i + 1..).unwrap_or_default(),
                ),
                None => (pair, &[][..]),
            };
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            self.map.entry(name).or_insert(value);
        }
        Ok(())
    }

    pub fn parse(raw: &[u8]) -> Result<Self, FormError> {
        let mut p = Params::default();
        p.extend_from_form(raw)?;
        Ok(p)
    }

    /// Every parameter, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// An integer parameter; a value that is not one is kept as `Err(text)` so the caller can
    /// report AWS's error for it.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| v.to_owned()),
        }
    }

    /// Members `PREFIX.member.1`, `PREFIX.member.2`, ... in index order.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        Ok(self
            .members(prefix)?
            .into_iter()
            .filter(|(_, field, _)| field.is_none())
            .map(|(_, _, v)| v.to_owned())
            .collect())
    }

    /// One field of a list of structures, `PREFIX.member.N.FIELD`, in index order.
    pub fn list_of(&self, prefix: &str, field: &str) -> Result<Vec<String>, ApiError> {
        Ok(self
            .members(prefix)?
            .into_iter()
            .filter(|(_, f, _)| *f == Some(field))
            .map(|(_, _, v)| v.to_owned())
            .collect())
    }

    /// Tags `PREFIX.member.N.Key` / `.Value`, in index order. A member without `Value` gets an
    /// empty value, as the SDKs never send one without the other.
    pub fn tags(&self, prefix: &str) -> Result<Vec<Tag>, ApiError> {
        let mut by_index: BTreeMap<u64, (Option<&str>, Option<&str>)> = BTreeMap::new();
        for (idx, field, v) in self.members(prefix)? {
            let entry = by_index.entry(idx).or_default();
            match field {
                Some("Key") => entry.0 = Some(v),
                Some("Value") => entry.1 = Some(v),
                _ => {}
            }
        }
        Ok(by_index
            .into_values()
            .filter_map(|(k, v)| {
                Some(Tag {
                    key: k?.to_owned(),
                    value: v.unwrap_or_default().to_owned(),
                })
            })
            .collect())
    }

    /// Every item `PREFIX.member.N` (a string) or `PREFIX.member.N.FIELD` (a structure's
    /// fields), in index order.
    pub fn items(&self, prefix: &str) -> Result<Vec<ListItem>, ApiError> {
        Ok(query::list_items(self.members(prefix)?))
    }

    /// Every `PREFIX.member.N[.FIELD]` as (N, FIELD, value), in index order (gaps closed); an
    /// index above [`MAX_LIST_INDEX`] is AWS's `ValidationError`.
    fn members(&self, prefix: &str) -> Result<Vec<ListMember<'_>>, ApiError> {
        query::list_members(&self.map, prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_lists_tags_and_escapes() {
        let p = Params::parse(
            b"Action=TagUser&UserName=bob%2Bx&Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=x+y&Tags.member.2.Value=&TagKeys.member.10=k10&TagKeys.member.2=k2",
        )
        .unwrap();
        assert_eq!(p.get("UserName"), Some("bob+x"));
        assert_eq!(
            p.tags("Tags").unwrap(),
            vec![
                Tag {
                    key: "a".into(),
                    value: "x y".into()
                },
                Tag {
                    key: "b".into(),
                    value: String::new()
                }
            ]
        );
        assert_eq!(p.list("TagKeys").unwrap(), vec!["k2", "k10"]);
        assert!(Params::parse(b"A=%ff").is_err());
        assert_eq!(Params::parse(b"&&A&=B").unwrap().get("A"), Some(""));
    }

    #[test]
    fn list_indices_above_the_bound_are_validation_errors() {
        let p = Params::parse(
            b"TagKeys.member.1000=last&TagKeys.member.3=a&Tags.member.1000.Key=k&\
              PolicyArns.member.7.arn=x&PolicyArns.member.2.arn=y",
        )
        .unwrap();
        assert_eq!(p.list("TagKeys").unwrap(), vec!["a", "last"]);
        assert_eq!(p.tags("Tags").unwrap().len(), 1);
        assert_eq!(p.list_of("PolicyArns", "arn").unwrap(), vec!["y", "x"]);
        for raw in [
            &b"TagKeys.member.1001=x"[..],
            b"TagKeys.member.5000000=x",
            b"TagKeys.member.99999999999999999999999999999999=x",
        ] {
            let e = Params::parse(raw).unwrap().list("TagKeys").unwrap_err();
            assert_eq!(e.code, "ValidationError");
            assert!(e.message.contains("at 'tagKeys'"), "{}", e.message);
            assert!(e.message.len() < 200, "{}", e.message);
        }
        let e = Params::parse(b"Tags.member.1000000000.Key=k")
            .unwrap()
            .tags("Tags")
            .unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value '1000000000' at 'tags' failed to satisfy \
             constraint: Member index must be less than or equal to 1000"
        );
        // Not a number: not a member, as before.
        let p = Params::parse(b"TagKeys.member.x=1&TagKeys.member.=2").unwrap();
        assert_eq!(p.list("TagKeys").unwrap(), Vec::<String>::new());
    }

    proptest! {
        #[test]
        fn never_panics(raw in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(p) = Params::parse(&raw) {
                let _ = p.tags("Tags");
                let _ = p.list("TagKeys");
                let _ = p.integer("MaxItems");
            }
        }

        #[test]
        fn round_trips_encoded_pairs(pairs in proptest::collection::vec(("[A-Za-z.0-9]{1,12}", "\\PC{0,20}"), 0..8)) {
            let encoded: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", k,
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))).collect();
            let p = Params::parse(encoded.join("&").as_bytes()).unwrap();
            for (k, v) in &pairs {
                let first = pairs.iter().find(|(k2, _)| k2 == k).map(|(_, v)| v.as_str());
                prop_assert_eq!(p.get(k), first);
                let _ = v;
            }
        }
    }
}
