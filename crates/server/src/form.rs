//! The Query protocol's request parameters: `application/x-www-form-urlencoded` bodies and query
//! strings, with AWS's list (`Names.member.N`) and map (`Tags.member.N.Key`) conventions.

use std::collections::BTreeMap;

use keyward_core::model::Tag;
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
    pub fn list(&self, prefix: &str) -> Vec<String> {
        let head = format!("{prefix}.member.");
        let mut items: Vec<(u64, String)> = self
            .map
            .range(head.clone()..)
            .take_while(|(k, _)| k.starts_with(&head))
            .filter_map(|(k, v)| {
                let idx = k.get(head.len()..)?;
                Some((idx.parse().ok()?, v.clone()))
            })
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// One field of each structure of a list, `PREFIX.member.N.FIELD`, in index order.
    pub fn structure_list(&self, prefix: &str, field: &str) -> Vec<String> {
        let head = format!("{prefix}.member.");
        let tail = format!(".{field}");
        let mut items: Vec<(u64, String)> = self
            .map
            .range(head.clone()..)
            .take_while(|(k, _)| k.starts_with(&head))
            .filter_map(|(k, v)| {
                let idx = k.get(head.len()..)?.strip_suffix(&tail)?;
                Some((idx.parse().ok()?, v.clone()))
            })
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// Tags `PREFIX.member.N.Key` / `.Value`, in index order. A member without `Value` gets an
    /// empty value, as the SDKs never send one without the other.
    pub fn tags(&self, prefix: &str) -> Vec<Tag> {
        let head = format!("{prefix}.member.");
        let mut by_index: BTreeMap<u64, (Option<String>, Option<String>)> = BTreeMap::new();
        for (k, v) in self
            .map
            .range(head.clone()..)
            .take_while(|(k, _)| k.starts_with(&head))
        {
            let Some(rest) = k.get(head.len()..) else {
                continue;
            };
            let Some((idx, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(idx) = idx.parse::<u64>() else {
                continue;
            };
            let entry = by_index.entry(idx).or_default();
            match field {
                "Key" => entry.0 = Some(v.clone()),
                "Value" => entry.1 = Some(v.clone()),
                _ => {}
            }
        }
        by_index
            .into_values()
            .filter_map(|(k, v)| {
                Some(Tag {
                    key: k?,
                    value: v.unwrap_or_default(),
                })
            })
            .collect()
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
            p.tags("Tags"),
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
        assert_eq!(p.list("TagKeys"), vec!["k2", "k10"]);
        assert!(Params::parse(b"A=%ff").is_err());
        assert_eq!(Params::parse(b"&&A&=B").unwrap().get("A"), Some(""));
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
