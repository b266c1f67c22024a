//! Parameter validation with the exact wording of AWS's generated validators:
//! `1 validation error detected: Value 'x' at 'userName' failed to satisfy constraint: Member must
//! satisfy regular expression pattern: [\w+=,.@-]+`. Constraints come from botocore's IAM and STS
//! models: every operation's input members and their shapes are generated into
//! [`crate::ops::shapes`] (`scripts/iam-shapes`), and [`check_members`] checks a request's members
//! against them once, when it is decoded. The [`StringShape`]s below are what handlers still
//! check by hand: AWS's rules that the models do not carry.

use std::fmt;

use crate::error::ApiError;
use crate::members::{ListItem, Members};

/// The largest list index (`Names.member.N`, `Tags.member.N.Key`, `Map.entry.N`) a request may use.
/// botocore's IAM and STS models cap their longest lists at 256 items (`PolicyExclusionsListType`;
/// a few, such as `ActionNames`, have no cap) and the SDKs number items from 1 without gaps. An
/// index is only ever a key, never a length: this bounds what a parameter's name can ask for,
/// which matters most before a request's signature is checked.
pub const MAX_LIST_INDEX: u64 = 1000;

/// Collects every violated constraint of a request, then renders them as one `ValidationError`.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<String>,
}

/// A string constraint a handler checks by hand, where AWS's rule is not botocore's shape.
#[derive(Debug, Clone, Copy)]
pub struct StringShape {
    pub min: usize,
    pub max: usize,
    /// The pattern as botocore's model spells it (this text appears in the error message).
    pub pattern: Option<&'static str>,
    pub matches: fn(&str) -> bool,
}

/// `[\w+=,.@-]+` (`userNameType`, `roleNameType`, ...), Java's `\w` being ASCII.
pub fn name_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// `virtualMFADeviceName`: botocore's model gives no maximum; the API reference says 226.
pub const VIRTUAL_MFA_DEVICE_NAME: StringShape = StringShape {
    min: 1,
    max: 226,
    pattern: Some(r"[\w+=,.@-]+"),
    matches: name_chars,
};

// ── botocore's shapes ───────────────────────────────────────────────────────────────────────────

/// A member of an operation's input or of a structure: its wire name, whether botocore's model
/// requires it, and its shape ([`crate::ops::shapes`]).
#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub required: bool,
    pub shape: &'static Shape,
}

impl Member {
    pub const fn required(name: &'static str, shape: &'static Shape) -> Self {
        Member {
            name,
            required: true,
            shape,
        }
    }

    pub const fn optional(name: &'static str, shape: &'static Shape) -> Self {
        Member {
            name,
            required: false,
            shape,
        }
    }
}

/// The constraint of one of botocore's shapes.
#[derive(Debug)]
pub enum Shape {
    /// Length in characters (no `max`: unbounded) and pattern.
    String {
        min: usize,
        max: Option<usize>,
        pattern: Option<&'static Pattern>,
    },
    /// A string with an enumerated set of values.
    Enum {
        values: &'static [&'static str],
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// No constraint beyond its type, which the member's decoding reads.
    Boolean,
    /// No constraint beyond its type, which the member's decoding reads.
    Timestamp,
    /// A list: how many items, and each item's shape.
    List {
        min: Option<usize>,
        max: Option<usize>,
        member: &'static Shape,
    },
    /// A structure (the items of a list: `Tag`, `PolicyDescriptorType`): its name, with which AWS
    /// renders a value of it (`Tag(Key=k, Value=v)`), and its members.
    Structure {
        name: &'static str,
        members: &'static [Member],
    },
    /// A shape botocore marks sensitive: AWS's message hides the value (`'*******'`) and names
    /// only the pattern.
    Sensitive(&'static Shape),
}

/// A pattern of botocore's model: its text, which AWS's message quotes, and how it is matched.
#[derive(Debug)]
pub struct Pattern {
    pub text: &'static str,
    pub matcher: Matcher,
}

/// How a [`Pattern`] is matched: one character class repeated, compiled by the generator, or
/// one of the few other patterns of the models, by hand.
#[derive(Debug)]
pub enum Matcher {
    /// `[...]+` or `[...]*`.
    Class(&'static CharClass),
    /// `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)` (`pathType`).
    Path,
    /// `\u002F[\u0021-\u007F]*` (`pathPrefixType`).
    PathPrefix,
    /// `((/[A-Za-z0-9\.,\+@=_-]+)*)/` (`policyPathType`).
    PolicyPath,
    /// `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?` (`policyVersionIdType`).
    PolicyVersionId,
    /// `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$` (`accountAliasType`).
    AccountAlias,
}

/// A Java character class: its ranges (Java's `\w` and `\d` are ASCII, expanded into ranges)
/// and Unicode categories; `at_least_one` for `+`, not `*`.
#[derive(Debug)]
pub struct CharClass {
    pub ranges: &'static [(char, char)],
    pub unicode: &'static [Unicode],
    pub at_least_one: bool,
}

/// The Unicode categories botocore's patterns use.
#[derive(Debug, Clone, Copy)]
pub enum Unicode {
    /// `\p{L}`, as Rust's `char::is_alphabetic` (which also admits the few combining marks that
    /// Unicode counts as alphabetic).
    Letter,
    /// `\p{Z}`: space, line and paragraph separators.
    Separator,
    /// `\p{N}`.
    Number,
}

impl Unicode {
    fn contains(self, c: char) -> bool {
        match self {
            Unicode::Letter => c.is_alphabetic(),
            // White_Space without the controls (tab to carriage return, next line) is Z.
            Unicode::Separator => c.is_whitespace() && !matches!(c, '\t'..='\r' | '\u{85}'),
            Unicode::Number => c.is_numeric(),
        }
    }
}

impl CharClass {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
            || self.unicode.iter().any(|u| u.contains(c))
    }
}

impl Pattern {
    /// Whether all of `s` matches.
    pub fn matches(&self, s: &str) -> bool {
        match self.matcher {
            Matcher::Class(class) => {
                (!class.at_least_one || !s.is_empty()) && s.chars().all(|c| class.contains(c))
            }
            Matcher::Path => path_chars(s),
            Matcher::PathPrefix => {
                s.starts_with('/') && s.chars().all(|c| ('\u{21}'..='\u{7F}').contains(&c))
            }
            Matcher::PolicyPath => policy_path_chars(s),
            Matcher::PolicyVersionId => policy_version_id_chars(s),
            Matcher::AccountAlias => account_alias_chars(s),
        }
    }
}

fn path_chars(s: &str) -> bool {
    s == "/"
        || (s.len() >= 3
            && s.starts_with('/')
            && s.ends_with('/')
            && s.chars().all(|c| ('\u{21}'..='\u{7E}').contains(&c)))
}

fn policy_path_chars(s: &str) -> bool {
    s.strip_suffix('/').is_some_and(|inner| {
        inner.is_empty()
            || inner.strip_prefix('/').is_some_and(|rest| {
                rest.split('/').all(|seg| {
                    !seg.is_empty()
                        && seg
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".,+@=_-".contains(c))
                })
            })
    })
}

fn policy_version_id_chars(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let (num, suffix) = rest
        .split_once('.')
        .map_or((rest, None), |(n, x)| (n, Some(x)));
    num.starts_with(|c: char| ('1'..='9').contains(&c))
        && num.chars().all(|c| c.is_ascii_digit())
        && suffix.is_none_or(|x| x.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// 3 to 63 of `[a-z0-9-]`, not starting or ending with `-`, no `--`.
fn account_alias_chars(s: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&s.chars().count())
        && s.starts_with(ok_char)
        && s.ends_with(ok_char)
        && s.chars().all(|c| ok_char(c) || c == '-')
        && !s.contains("--")
}

/// How a sensitive member's value shows in AWS's messages.
const HIDDEN_VALUE: &str = "'*******'";

/// Checks a request's members against an input's [`Member`]s (from [`crate::ops::shapes`]),
/// in their order, and answers every violated constraint in one `ValidationError`, in AWS's
/// wording: a required member that is absent (or a required list without items), a string's
/// length and pattern, an enum's values, an integer that is not one or out of range, each item of
/// a list (`tags.1.member.key`, `tagKeys.1.member`) and then the list's length.
pub fn check_members(members: &[Member], m: &dyn Members) -> Result<(), ApiError> {
    let mut v = Validator::new();
    for member in members {
        let at = At::Member(member.name);
        match member.shape {
            Shape::List {
                min,
                max,
                member: item,
            } => {
                let items = m.items(member.name)?;
                if items.is_empty() {
                    if member.required {
                        v.push("null", at, "Member must not be null");
                    }
                    continue;
                }
                for (i, it) in items.iter().enumerate() {
                    match item {
                        Shape::Structure { members, .. } => {
                            for f in *members {
                                let at = At::ItemField(member.name, i + 1, f.name);
                                v.value(at, it.field(f.name), f.required, f.shape);
                            }
                        }
                        shape => v.value(At::Item(member.name, i + 1), it.text(), true, shape),
                    }
                }
                let n = items.len();
                if let Some(min) = min
                    && n < *min
                {
                    let rendered = render_list(&items, item);
                    v.push(
                        &rendered,
                        at,
                        &format!("Member must have length greater than or equal to {min}"),
                    );
                }
                if let Some(max) = max
                    && n > *max
                {
                    v.list_len(at, &render_list(&items, item), n, *max);
                }
            }
            Shape::Structure { members, .. } => {
                for f in *members {
                    let name = format!("{}.{}", member.name, f.name);
                    let at = At::Field(member.name, f.name);
                    v.value(at, m.get(&name), member.required && f.required, f.shape);
                }
            }
            shape => v.value(at, m.get(member.name), member.required, shape),
        }
    }
    v.finish()
}

/// A list as AWS renders it in a message about its length: `[a, b]`, or for structures
/// `[Tag(Key=k, Value=v)]`.
fn render_list(items: &[ListItem], item: &Shape) -> String {
    let rendered: Vec<String> = items
        .iter()
        .map(|it| match item {
            Shape::Structure { name, members } => {
                let fields: Vec<String> = members
                    .iter()
                    .map(|f| format!("{}={}", f.name, it.field(f.name).unwrap_or("null")))
                    .collect();
                format!("{name}({})", fields.join(", "))
            }
            _ => it.text().unwrap_or("null").to_owned(),
        })
        .collect();
    format!("[{}]", rendered.join(", "))
}

/// Where a value is, as AWS's messages name it (`userName`, `tags.1.member.key`,
/// `tagKeys.1.member`), from botocore's member names; written only into a message.
#[derive(Debug, Clone, Copy)]
enum At<'a> {
    Member(&'a str),
    /// A structure member's field.
    Field(&'a str, &'a str),
    /// A list's item (from 1).
    Item(&'a str, usize),
    /// A field of a list's item.
    ItemField(&'a str, usize, &'a str),
}

/// Writes `MaxItems` as `maxItems`.
fn write_lower_camel(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let mut chars = name.chars();
    if let Some(first) = chars.next() {
        write!(f, "{}{}", first.to_ascii_lowercase(), chars.as_str())?;
    }
    Ok(())
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            At::Member(m) => write_lower_camel(f, m),
            At::Field(m, field) => {
                write_lower_camel(f, m)?;
                f.write_str(".")?;
                write_lower_camel(f, field)
            }
            At::Item(m, i) => {
                write_lower_camel(f, m)?;
                write!(f, ".{i}.member")
            }
            At::ItemField(m, i, field) => {
                write_lower_camel(f, m)?;
                write!(f, ".{i}.member.")?;
                write_lower_camel(f, field)
            }
        }
    }
}

/// Renders a value the way AWS quotes it in validation messages.
fn quoted(value: &str) -> String {
    format!("'{value}'")
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: &str, field: impl fmt::Display, constraint: &str) {
        self.errors.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member that is absent.
    pub fn required<'a>(
        &mut self,
        field: impl fmt::Display,
        value: Option<&'a str>,
    ) -> Option<&'a str> {
        if value.is_none() {
            self.push("null", field, "Member must not be null");
        }
        value
    }

    /// A required string member checked against its shape: reported as null when absent (and
    /// then `""` is returned so validation can go on collecting errors).
    pub fn required_string<'a>(
        &mut self,
        field: &str,
        value: Option<&'a str>,
        shape: &StringShape,
    ) -> &'a str {
        match value {
            None => {
                self.required(field, None);
                ""
            }
            Some(s) => {
                self.string(field, s, shape);
                s
            }
        }
    }

    /// Checks length (in characters, as AWS counts them) and pattern of a string member.
    pub fn string(&mut self, field: &str, value: &str, shape: &StringShape) {
        self.length_and_pattern(
            field,
            value,
            shape.min,
            shape.max,
            shape.pattern.map(|p| (p, shape.matches)),
        );
    }

    /// A string's length, then its pattern: checked only on a value long enough (AWS reports a
    /// value that is too short once, by its length).
    fn length_and_pattern(
        &mut self,
        field: impl fmt::Display + Copy,
        value: &str,
        min: usize,
        max: usize,
        pattern: Option<(&str, impl Fn(&str) -> bool)>,
    ) {
        let len = value.chars().count();
        if len < min {
            self.push(
                &quoted(value),
                field,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                &quoted(value),
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        if let Some((text, matches)) = pattern
            && len >= min.max(1)
            && !matches(value)
        {
            self.push(
                &quoted(value),
                field,
                &format!("Member must satisfy regular expression pattern: {text}"),
            );
        }
    }

    /// A scalar member (or list item) against its shape: null when required and absent.
    fn value(&mut self, at: At<'_>, value: Option<&str>, required: bool, shape: &Shape) {
        let Some(value) = value else {
            if required {
                self.push("null", at, "Member must not be null");
            }
            return;
        };
        match shape {
            Shape::String { min, max, pattern } => self.length_and_pattern(
                at,
                value,
                *min,
                max.unwrap_or(usize::MAX),
                pattern.map(|p| (p.text, |s: &str| p.matches(s))),
            ),
            Shape::Enum { values } => self.one_of(at, value, values),
            Shape::Integer { min, max } => match value.trim().parse::<i64>() {
                Ok(n) => self.range(at, n, min.unwrap_or(i64::MIN), max.unwrap_or(i64::MAX)),
                Err(_) => self.push(&quoted(value), at, "Member must be a number"),
            },
            // The generator wraps only strings. AWS names the pattern whichever constraint failed.
            Shape::Sensitive(Shape::String { min, max, pattern }) => {
                let len = value.chars().count();
                let max = max.unwrap_or(usize::MAX);
                let constraint = match pattern {
                    Some(p) if len < *min || len > max || !p.matches(value) => {
                        format!("Member must satisfy regular expression pattern: {}", p.text)
                    }
                    _ if len < *min => {
                        format!("Member must have length greater than or equal to {min}")
                    }
                    _ if len > max => {
                        format!("Member must have length less than or equal to {max}")
                    }
                    _ => return,
                };
                self.push(HIDDEN_VALUE, at, &constraint);
            }
            Shape::Sensitive(inner) => self.value(at, Some(value), required, inner),
            Shape::Boolean | Shape::Timestamp | Shape::List { .. } | Shape::Structure { .. } => {}
        }
    }

    pub fn opt_string(&mut self, field: &str, value: Option<&str>, shape: &StringShape) {
        if let Some(v) = value {
            self.string(field, v, shape);
        }
    }

    /// An integer member with an inclusive range.
    pub fn range(&mut self, field: impl fmt::Display + Copy, value: i64, min: i64, max: i64) {
        if value < min {
            self.push(
                &value.to_string(),
                field,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if value > max {
            self.push(
                &value.to_string(),
                field,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// A list member with a maximum number of entries.
    pub fn list_len(&mut self, field: impl fmt::Display, rendered: &str, len: usize, max: usize) {
        if len > max {
            self.push(
                rendered,
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// An enumerated member, e.g. `statusType`.
    pub fn one_of(&mut self, field: impl fmt::Display, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.push(
                &quoted(value),
                field,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// Adds a free-form failure for a value that failed a nested constraint (list members).
    pub fn custom(&mut self, value: &str, field: &str, constraint: &str) {
        self.push(value, field, constraint);
    }

    /// `Ok(())` when nothing failed, otherwise the combined `ValidationError`.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.errors.len() {
            0 => Ok(()),
            n => {
                let noun = if n == 1 { "error" } else { "errors" };
                Err(ApiError::validation(format!(
                    "{n} validation {noun} detected: {}",
                    self.errors.join("; ")
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_pattern_error_matches_aws_wording() {
        let mut v = Validator::new();
        v.string(
            "virtualMFADeviceName",
            "bad name!",
            &VIRTUAL_MFA_DEVICE_NAME,
        );
        let err = v.finish().unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert_eq!(
            err.message,
            r"1 validation error detected: Value 'bad name!' at 'virtualMFADeviceName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
        );
        let mut v = Validator::new();
        v.string(
            "virtualMFADeviceName",
            &"a".repeat(227),
            &VIRTUAL_MFA_DEVICE_NAME,
        );
        assert!(
            v.finish()
                .unwrap_err()
                .message
                .ends_with("Member must have length less than or equal to 226")
        );
    }

    #[test]
    fn several_errors_are_counted_and_joined() {
        let mut v = Validator::new();
        v.required("userName", None);
        v.range("maxItems", 0, 1, 1000);
        assert_eq!(
            v.finish().unwrap_err().message,
            "2 validation errors detected: Value null at 'userName' failed to satisfy constraint: Member must not be null; \
             Value 0 at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn policy_shapes() {
        for ok in ["/", "/a/", "/a.b/c-d/"] {
            assert!(policy_path_chars(ok), "{ok}");
        }
        for bad in ["", "a/", "//", "/a", "/a b/"] {
            assert!(!policy_path_chars(bad), "{bad}");
        }
        for ok in ["v1", "v12", "v3.x-y"] {
            assert!(policy_version_id_chars(ok), "{ok}");
        }
        for bad in ["v0", "1", "v", "vx", "v1.x y"] {
            assert!(!policy_version_id_chars(bad), "{bad}");
        }
        let document = pattern_of(OpName::CreatePolicy, "PolicyDocument");
        assert!(!document.matches("{\"x\": \"\u{263A}\"}"));
        assert!(document.matches("{\"x\": \"\u{e9}\"}\n"));
    }

    #[test]
    fn paths() {
        for ok in ["/", "/a/", "/division_abc/subdivision_xyz/"] {
            assert!(path_chars(ok), "{ok}");
        }
        for bad in ["", "a", "/a", "a/", "//x y/"] {
            assert!(!path_chars(bad), "{bad}");
        }
    }

    use crate::ops::{MemberMap, OpName, shapes};

    fn check(op: OpName, members: &[(&str, &str)]) -> Result<(), String> {
        let m: MemberMap = members.iter().copied().collect();
        check_members(shapes::input(op), &m).map_err(|e| {
            assert_eq!((e.code, e.status), ("ValidationError", 400));
            e.message
        })
    }

    fn one(value: &str, field: &str, constraint: &str) -> Result<(), String> {
        Err(format!(
            "1 validation error detected: Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    #[test]
    fn a_valid_request_passes() {
        assert_eq!(
            check(
                OpName::CreateUser,
                &[
                    ("UserName", "bob+x@y.z-_="),
                    ("Path", "/division/"),
                    ("Tags.member.1.Key", "Cost Center"),
                    ("Tags.member.1.Value", ""),
                ]
            ),
            Ok(())
        );
        assert_eq!(check(OpName::ListUsers, &[]), Ok(()));
        assert_eq!(check(OpName::GetCallerIdentity, &[("Bogus", "x")]), Ok(()));
    }

    #[test]
    fn string_length_and_pattern() {
        assert_eq!(
            check(OpName::CreateUser, &[("UserName", &"a".repeat(65))]),
            one(
                &format!("'{}'", "a".repeat(65)),
                "userName",
                "Member must have length less than or equal to 64"
            )
        );
        assert_eq!(
            check(OpName::GetUser, &[("UserName", "bad name!")]),
            one(
                "'bad name!'",
                "userName",
                r"Member must satisfy regular expression pattern: [\w+=,.@-]+"
            )
        );
        // A value too short is reported by its length only.
        assert_eq!(
            check(
                OpName::AssumeRole,
                &[
                    ("RoleArn", "arn:aws:iam::123456789012:role/r"),
                    ("RoleSessionName", "s1"),
                    ("ExternalId", "x"),
                ]
            ),
            one(
                "'x'",
                "externalId",
                "Member must have length greater than or equal to 2"
            )
        );
    }

    #[test]
    fn required_members_in_botocore_order() {
        assert_eq!(
            check(OpName::CreateUser, &[("Path", "nope")]).unwrap_err(),
            "2 validation errors detected: Value 'nope' at 'path' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F); \
             Value null at 'userName' failed to satisfy constraint: Member must not be null"
        );
        // A required list without items is absent.
        assert_eq!(
            check(OpName::TagUser, &[("UserName", "bob")]),
            one("null", "tags", "Member must not be null")
        );
    }

    #[test]
    fn enums_and_integers() {
        assert_eq!(
            check(
                OpName::UpdateAccessKey,
                &[("AccessKeyId", "AKIAIOSFODNN7EXAMPLE"), ("Status", "On")]
            ),
            one(
                "'On'",
                "status",
                "Member must satisfy enum value set: [Active, Inactive, Expired]"
            )
        );
        assert_eq!(
            check(OpName::ListUsers, &[("MaxItems", "0")]),
            one(
                "0",
                "maxItems",
                "Member must have value greater than or equal to 1"
            )
        );
        assert_eq!(
            check(OpName::GetSessionToken, &[("DurationSeconds", "129601")]),
            one(
                "129601",
                "durationSeconds",
                "Member must have value less than or equal to 129600"
            )
        );
        assert_eq!(
            check(OpName::ListUsers, &[("MaxItems", "ten")]),
            one("'ten'", "maxItems", "Member must be a number")
        );
    }

    #[test]
    fn list_items_then_list_length() {
        let mut members: Vec<(String, String)> = (1..=51)
            .flat_map(|i| {
                [
                    (format!("Tags.member.{i}.Key"), format!("k{i}")),
                    (format!("Tags.member.{i}.Value"), "v".to_owned()),
                ]
            })
            .collect();
        members.push(("Tags.member.2.Key".to_owned(), "bad!".to_owned()));
        members.retain(|(k, v)| k != "Tags.member.2.Key" || v == "bad!");
        members.push(("UserName".to_owned(), "bob".to_owned()));
        let m: MemberMap = members.into_iter().collect();
        let message = check_members(shapes::input(OpName::TagUser), &m)
            .unwrap_err()
            .message;
        assert!(
            message.starts_with(
                "2 validation errors detected: Value 'bad!' at 'tags.2.member.key' failed to \
                 satisfy constraint: Member must satisfy regular expression pattern: \
                 [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+; Value [Tag(Key=k1, Value=v), Tag(Key=bad!, Value=v), "
            ),
            "{message}"
        );
        assert!(
            message.ends_with(
                "] at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
            ),
            "{message}"
        );
        // A structure's required field that is absent.
        assert_eq!(
            check(
                OpName::TagUser,
                &[("UserName", "bob"), ("Tags.member.1.Key", "k")]
            ),
            one("null", "tags.1.member.value", "Member must not be null")
        );
        // Items of a list of strings, and of enums.
        assert_eq!(
            check(
                OpName::UntagUser,
                &[("UserName", "bob"), ("TagKeys.member.1", "a\tb")]
            ),
            one(
                "'a\tb'",
                "tagKeys.1.member",
                r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+"
            )
        );
        assert_eq!(
            check(
                OpName::GetAccountAuthorizationDetails,
                &[("Filter.member.1", "User"), ("Filter.member.2", "Users")]
            ),
            one(
                "'Users'",
                "filter.2.member",
                "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]"
            )
        );
        // A list's minimum.
        assert!(check(OpName::AssumeRole, &[("ProvidedContexts.member.1.ProviderArn", "x")])
            .unwrap_err()
            .contains("at 'providedContexts.1.member.providerArn' failed to satisfy constraint: Member must have length greater than or equal to 20"));
    }

    #[test]
    fn a_list_index_above_the_bound() {
        assert_eq!(
            check(
                OpName::UntagUser,
                &[("UserName", "bob"), ("TagKeys.member.1001", "k")]
            ),
            one(
                "'1001'",
                "tagKeys",
                "Member index must be less than or equal to 1000"
            )
        );
    }

    #[test]
    fn sensitive_values_are_hidden() {
        let long = "x".repeat(129);
        assert_eq!(
            check(
                OpName::CreateLoginProfile,
                &[("UserName", "bob"), ("Password", &long)]
            ),
            one(
                "'*******'",
                "password",
                r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+"
            )
        );
        let err = check(
            OpName::ChangePassword,
            &[("OldPassword", "secret\u{263A}"), ("NewPassword", "ok")],
        )
        .unwrap_err();
        assert!(!err.contains("secret"), "{err}");
        assert!(err.contains("at 'oldPassword'"), "{err}");
    }

    #[test]
    fn a_sensitive_string_without_pattern_names_its_length() {
        const SECRET: Shape = Shape::Sensitive(&Shape::String {
            min: 2,
            max: Some(3),
            pattern: None,
        });
        let mut v = Validator::new();
        v.value(At::Member("Secret"), Some("abcd"), true, &SECRET);
        v.value(At::Member("Secret"), Some("ab"), true, &SECRET);
        v.value(
            At::ItemField("Secrets", 2, "Value"),
            Some("a"),
            true,
            &SECRET,
        );
        assert_eq!(
            v.finish().unwrap_err().message,
            "2 validation errors detected: Value '*******' at 'secret' failed to satisfy \
             constraint: Member must have length less than or equal to 3; Value '*******' at \
             'secrets.2.member.value' failed to satisfy constraint: Member must have length \
             greater than or equal to 2"
        );
    }

    fn pattern_of(op: OpName, member: &str) -> &'static Pattern {
        let shape = shapes::input(op)
            .iter()
            .find(|m| m.name == member)
            .map(|m| m.shape)
            .unwrap();
        match shape {
            Shape::String {
                pattern: Some(p), ..
            } => p,
            Shape::List { member, .. } => match member {
                Shape::String {
                    pattern: Some(p), ..
                } => p,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn botocore_patterns() {
        let name = pattern_of(OpName::CreateUser, "UserName");
        assert!(name.matches("bob+x@y.z-_=,"));
        // Java's \w is ASCII.
        for bad in ["bad name!", "jos\u{e9}", ""] {
            assert!(!name.matches(bad), "{bad}");
        }
        let tag_key = pattern_of(OpName::UntagUser, "TagKeys");
        for ok in [
            "Cost Center",
            "\u{e9}t\u{e9}",
            "a\u{a0}b",
            "\u{661}",
            "a:b/c=d+e-f@g_h.",
        ] {
            assert!(tag_key.matches(ok), "{ok}");
        }
        for bad in ["a\tb", "a!b", "a\nb", ""] {
            assert!(!tag_key.matches(bad), "{bad:?}");
        }
        let arn = pattern_of(OpName::AssumeRole, "RoleArn");
        assert!(arn.matches("arn:aws:iam::123456789012:role/x"));
        assert!(!arn.matches("arn\u{1}"));
        let alias = pattern_of(OpName::CreateAccountAlias, "AccountAlias");
        assert!(alias.matches("my-alias-1"));
        for bad in ["-ab", "ab-", "a--b", "AB1", "ab"] {
            assert!(!alias.matches(bad), "{bad}");
        }
        let prefix = pattern_of(OpName::ListUsers, "PathPrefix");
        assert!(prefix.matches("/a"));
        assert!(!prefix.matches("a/"));
        let code = pattern_of(OpName::EnableMFADevice, "AuthenticationCode1");
        assert!(code.matches("012345"));
        assert!(!code.matches("12345a"));
        let description = pattern_of(OpName::UpdateRoleDescription, "Description");
        assert!(description.matches(""));
        assert!(!description.matches("\u{7f}"));
    }
}
