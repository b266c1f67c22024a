//! The request context: case-insensitive condition keys, each with one or more string values.

/// Condition keys of a request (`aws:username`, `aws:SourceIp`, `aws:TagKeys`, ...). Key names are
/// case-insensitive, as in IAM; values are kept as text and converted per condition operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Sorted by lower-cased key.
    entries: Vec<(String, Vec<String>)>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    fn slot(&mut self, key: &str) -> &mut Vec<String> {
        let key = key.to_ascii_lowercase();
        let at = match self.entries.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(at) => at,
            Err(at) => {
                self.entries.insert(at, (key, Vec::new()));
                at
            }
        };
        &mut self.entries[at].1
    }

    /// Adds one value to a key (a key given twice becomes multi-valued).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> &mut Context {
        self.slot(key).push(value.into());
        self
    }

    /// Sets a key to exactly these values (an empty list is a present key with no values).
    pub fn set<I, S>(&mut self, key: &str, values: I) -> &mut Context
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let slot = self.slot(key);
        slot.clear();
        slot.extend(values.into_iter().map(Into::into));
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Context {
        self.insert(key, value);
        self
    }

    pub fn remove(&mut self, key: &str) {
        let key = key.to_ascii_lowercase();
        self.entries.retain(|(k, _)| *k != key);
    }

    /// Values of a key; `key` must already be lower-case (compiled policies lower-case theirs).
    pub(crate) fn get(&self, lower_key: &str) -> Option<&[String]> {
        self.entries
            .binary_search_by(|(k, _)| k.as_str().cmp(lower_key))
            .ok()
            .and_then(|at| self.entries.get(at))
            .map(|(_, v)| v.as_slice())
    }

    /// Values of a key, any case.
    pub fn values(&self, key: &str) -> Option<&[String]> {
        self.get(&key.to_ascii_lowercase())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}
