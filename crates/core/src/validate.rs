//! Parameter validation with the exact wording of AWS's generated validators:
//! `1 validation error detected: Value 'x' at 'userName' failed to satisfy constraint: Member must
//! satisfy regular expression pattern: [\w+=,.@-]+`. Constraints come from botocore's IAM model
//! (`data/iam/2010-05-08/service-2.json`), e.g. `userNameType`, `pathType`, `tagKeyType`.

use crate::error::ApiError;

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

/// One of IAM's named string shapes.
#[derive(Debug, Clone, Copy)]
pub struct StringShape {
    pub min: usize,
    pub max: usize,
    /// The pattern as botocore's model spells it (this text appears in the error message).
    pub pattern: Option<&'static str>,
    pub matches: fn(&str) -> bool,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `userNameType`, `groupNameType`, `roleNameType`-like names: `[\w+=,.@-]+`.
pub fn name_chars(s: &str) -> bool {
    s.chars().all(|c| is_word_char(c) || "+=,.@-".contains(c))
}

pub const USER_NAME: StringShape = StringShape {
    min: 1,
    max: 64,
    pattern: Some(r"[\w+=,.@-]+"),
    matches: name_chars,
};
pub const EXISTING_USER_NAME: StringShape = StringShape {
    min: 1,
    max: 128,
    pattern: Some(r"[\w+=,.@-]+"),
    matches: name_chars,
};
pub const PATH: StringShape = StringShape {
    min: 1,
    max: 512,
    pattern: Some(r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)"),
    matches: |s| {
        s == "/"
            || (s.len() >= 3
                && s.starts_with('/')
                && s.ends_with('/')
                && s.chars().all(|c| ('\u{21}'..='\u{7E}').contains(&c)))
    },
};
pub const PATH_PREFIX: StringShape = StringShape {
    min: 1,
    max: 512,
    pattern: Some(r"\u002F[\u0021-\u007F]*"),
    matches: |s| s.starts_with('/') && s.chars().all(|c| ('\u{21}'..='\u{7F}').contains(&c)),
};
pub const MARKER: StringShape = StringShape {
    min: 1,
    max: 320,
    pattern: Some(r"[\u0020-\u00FF]+"),
    matches: |s| s.chars().all(|c| ('\u{20}'..='\u{FF}').contains(&c)),
};
pub const TAG_KEY: StringShape = StringShape {
    min: 1,
    max: 128,
    pattern: Some(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"),
    matches: tag_chars,
};
pub const TAG_VALUE: StringShape = StringShape {
    min: 0,
    max: 256,
    pattern: Some(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"),
    matches: tag_chars,
};
pub const ACCESS_KEY_ID: StringShape = StringShape {
    min: 16,
    max: 128,
    pattern: Some(r"[\w]+"),
    matches: |s| s.chars().all(is_word_char),
};

pub const POLICY_NAME: StringShape = StringShape {
    min: 1,
    max: 128,
    pattern: Some(r"[\w+=,.@-]+"),
    matches: name_chars,
};
pub const GROUP_NAME: StringShape = StringShape {
    min: 1,
    max: 128,
    pattern: Some(r"[\w+=,.@-]+"),
    matches: name_chars,
};
pub const POLICY_PATH: StringShape = StringShape {
    min: 1,
    max: 512,
    pattern: Some(r"((/[A-Za-z0-9\.,\+@=_-]+)*)/"),
    matches: |s| {
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
    },
};
pub const POLICY_DOCUMENT: StringShape = StringShape {
    min: 1,
    max: 131_072,
    pattern: Some(r"[\u0009\u000A\u000D\u0020-\u00FF]+"),
    matches: |s| {
        s.chars()
            .all(|c| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{FF}'))
    },
};
pub const POLICY_DESCRIPTION: StringShape = StringShape {
    min: 0,
    max: 1000,
    pattern: None,
    matches: |_| true,
};
pub const ARN: StringShape = StringShape {
    min: 20,
    max: 2048,
    pattern: None,
    matches: |_| true,
};
pub const POLICY_VERSION_ID: StringShape = StringShape {
    min: 0,
    max: usize::MAX,
    pattern: Some(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?"),
    matches: |s| {
        let Some(rest) = s.strip_prefix('v') else {
            return false;
        };
        let (num, suffix) = rest
            .split_once('.')
            .map_or((rest, None), |(n, x)| (n, Some(x)));
        num.starts_with(|c: char| ('1'..='9').contains(&c))
            && num.chars().all(|c| c.is_ascii_digit())
            && suffix.is_none_or(|x| x.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    },
};

/// `serialNumberType`.
pub const SERIAL_NUMBER: StringShape = StringShape {
    min: 9,
    max: 256,
    pattern: Some(r"[\w+=/:,.@-]+"),
    matches: |s| s.chars().all(|c| is_word_char(c) || "+=/:,.@-".contains(c)),
};
/// `authenticationCodeType`: six digits.
pub const AUTHENTICATION_CODE: StringShape = StringShape {
    min: 6,
    max: 6,
    pattern: Some(r"[\d]+"),
    matches: |s| s.chars().all(|c| c.is_ascii_digit()),
};
/// `virtualMFADeviceName` (the model gives no maximum; the API reference says 226).
pub const VIRTUAL_MFA_DEVICE_NAME: StringShape = StringShape {
    min: 1,
    max: 226,
    pattern: Some(r"[\w+=,.@-]+"),
    matches: name_chars,
};

fn tag_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphabetic() || c.is_numeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// Renders a value the way AWS quotes it in validation messages.
fn quoted(value: &str) -> String {
    format!("'{value}'")
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: &str, field: &str, constraint: &str) {
        self.errors.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member that is absent.
    pub fn required<'a>(&mut self, field: &str, value: Option<&'a str>) -> Option<&'a str> {
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
        let len = value.chars().count();
        if len < shape.min {
            self.push(
                &quoted(value),
                field,
                &format!(
                    "Member must have length greater than or equal to {}",
                    shape.min
                ),
            );
        }
        if len > shape.max {
            self.push(
                &quoted(value),
                field,
                &format!(
                    "Member must have length less than or equal to {}",
                    shape.max
                ),
            );
        }
        if let Some(pattern) = shape.pattern
            && len >= shape.min.max(1)
            && !(shape.matches)(value)
        {
            self.push(
                &quoted(value),
                field,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub fn opt_string(&mut self, field: &str, value: Option<&str>, shape: &StringShape) {
        if let Some(v) = value {
            self.string(field, v, shape);
        }
    }

    /// An integer member with an inclusive range.
    pub fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
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
    pub fn list_len(&mut self, field: &str, rendered: &str, len: usize, max: usize) {
        if len > max {
            self.push(
                rendered,
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// An enumerated member, e.g. `statusType`.
    pub fn one_of(&mut self, field: &str, value: &str, allowed: &[&str]) {
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
        v.string("userName", "bad name!", &USER_NAME);
        let err = v.finish().unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert_eq!(
            err.message,
            r"1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
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
            assert!((POLICY_PATH.matches)(ok), "{ok}");
        }
        for bad in ["", "a/", "//", "/a", "/a b/"] {
            assert!(!(POLICY_PATH.matches)(bad), "{bad}");
        }
        for ok in ["v1", "v12", "v3.x-y"] {
            assert!((POLICY_VERSION_ID.matches)(ok), "{ok}");
        }
        for bad in ["v0", "1", "v", "vx", "v1.x y"] {
            assert!(!(POLICY_VERSION_ID.matches)(bad), "{bad}");
        }
        assert!(!(POLICY_DOCUMENT.matches)("{\"x\": \"\u{263A}\"}"));
    }

    #[test]
    fn paths() {
        for ok in ["/", "/a/", "/division_abc/subdivision_xyz/"] {
            assert!((PATH.matches)(ok), "{ok}");
        }
        for bad in ["", "a", "/a", "a/", "//x y/"] {
            assert!(!(PATH.matches)(bad), "{bad}");
        }
    }

    #[test]
    fn too_long_name() {
        let mut v = Validator::new();
        v.string("userName", &"a".repeat(65), &USER_NAME);
        assert!(
            v.finish()
                .unwrap_err()
                .message
                .ends_with("Member must have length less than or equal to 64")
        );
    }
}
