//! Condition operators: parsing of the operator name and its values, and evaluation against the
//! request context (single-valued, `ForAnyValue:`, `ForAllValues:`, `...IfExists`, `Null`).

use std::net::IpAddr;

use ipnet::IpNet;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::context::Context;
use crate::error::PolicyError;
use crate::pattern::Template;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// The positive form of an operator; negated operators set [`Condition::negated`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    BinaryEquals,
    IpAddress,
    Arn,
    Null,
}

/// Resolves an operator name (`ForAnyValue:StringLikeIfExists`, ...); `None` if IAM has no such operator.
pub(crate) fn parse_operator(name: &str) -> Option<(Qualifier, Op, bool, bool)> {
    let (qualifier, rest) = if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
        (Qualifier::ForAnyValue, r)
    } else if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
        (Qualifier::ForAllValues, r)
    } else {
        (Qualifier::Single, name)
    };
    let (base, if_exists) = match strip_suffix_ci(rest, "IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let lower = base.to_ascii_lowercase();
    let (op, negated) = match lower.as_str() {
        "stringequals" => (Op::StringEquals, false),
        "stringnotequals" => (Op::StringEquals, true),
        "stringequalsignorecase" => (Op::StringEqualsIgnoreCase, false),
        "stringnotequalsignorecase" => (Op::StringEqualsIgnoreCase, true),
        "stringlike" => (Op::StringLike, false),
        "stringnotlike" => (Op::StringLike, true),
        "numericequals" => (Op::Numeric(Cmp::Eq), false),
        "numericnotequals" => (Op::Numeric(Cmp::Eq), true),
        "numericlessthan" => (Op::Numeric(Cmp::Lt), false),
        "numericlessthanequals" => (Op::Numeric(Cmp::Le), false),
        "numericgreaterthan" => (Op::Numeric(Cmp::Gt), false),
        "numericgreaterthanequals" => (Op::Numeric(Cmp::Ge), false),
        "dateequals" => (Op::Date(Cmp::Eq), false),
        "datenotequals" => (Op::Date(Cmp::Eq), true),
        "datelessthan" => (Op::Date(Cmp::Lt), false),
        "datelessthanequals" => (Op::Date(Cmp::Le), false),
        "dategreaterthan" => (Op::Date(Cmp::Gt), false),
        "dategreaterthanequals" => (Op::Date(Cmp::Ge), false),
        "bool" => (Op::Bool, false),
        "binaryequals" => (Op::BinaryEquals, false),
        "ipaddress" => (Op::IpAddress, false),
        "notipaddress" => (Op::IpAddress, true),
        "arnequals" | "arnlike" => (Op::Arn, false),
        "arnnotequals" | "arnnotlike" => (Op::Arn, true),
        "null" if !if_exists => (Op::Null, false),
        _ => return None,
    };
    Some((qualifier, op, negated, if_exists))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix)
        .then(|| s.get(..cut))
        .flatten()
}

/// Policy-side values, converted once at compile time.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    Text(Vec<Template>),
    Number(Vec<f64>),
    Date(Vec<i128>),
    Bool(Vec<String>),
    Binary(Vec<String>),
    Ip(Vec<IpNet>),
    Null(Vec<bool>),
}

/// One `operator: { key: values }` entry of a condition block.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) op: Op,
    pub(crate) negated: bool,
    pub(crate) qualifier: Qualifier,
    pub(crate) if_exists: bool,
    /// Lower-cased key name.
    pub(crate) key: Box<str>,
    pub(crate) values: Values,
}

pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Dates as IAM accepts them: ISO 8601 / RFC 3339 date-times, plain dates, or epoch seconds.
pub(crate) fn parse_date(s: &str) -> Option<i128> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = s.parse().ok()?;
        return Some(i128::from(secs) * 1_000_000_000);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    let date_only = format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &date_only) {
        return Some(d.midnight().assume_utc().unix_timestamp_nanos());
    }
    let no_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]Z");
    if let Ok(t) = time::PrimitiveDateTime::parse(s, &no_seconds) {
        return Some(t.assume_utc().unix_timestamp_nanos());
    }
    None
}

fn parse_ip_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

impl Condition {
    /// Builds a condition; `Err(LegacyParsing)` for values IAM's parser rejects.
    pub(crate) fn new(
        (qualifier, op, negated, if_exists): (Qualifier, Op, bool, bool),
        key: &str,
        raw: &[String],
        variables: bool,
    ) -> Result<Condition, PolicyError> {
        let values = match op {
            Op::StringEquals | Op::StringEqualsIgnoreCase | Op::StringLike | Op::Arn => {
                Values::Text(raw.iter().map(|v| Template::parse(v, variables)).collect())
            }
            Op::Numeric(_) => Values::Number(
                raw.iter()
                    .map(|v| parse_number(v).ok_or(PolicyError::LegacyParsing))
                    .collect::<Result<_, _>>()?,
            ),
            Op::Date(_) => Values::Date(
                raw.iter()
                    .map(|v| parse_date(v).ok_or(PolicyError::LegacyParsing))
                    .collect::<Result<_, _>>()?,
            ),
            Op::Bool => Values::Bool(raw.iter().map(|v| v.to_ascii_lowercase()).collect()),
            Op::BinaryEquals => Values::Binary(raw.to_vec()),
            Op::IpAddress => Values::Ip(
                raw.iter()
                    .map(|v| parse_ip_net(v).ok_or(PolicyError::LegacyParsing))
                    .collect::<Result<_, _>>()?,
            ),
            Op::Null => Values::Null(
                raw.iter()
                    .map(|v| match v.to_ascii_lowercase().as_str() {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(PolicyError::LegacyParsing),
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Condition {
            op,
            negated,
            qualifier,
            if_exists,
            key: key.to_ascii_lowercase().into(),
            values,
        })
    }

    /// Whether one request value matches any policy value (positive form of the operator).
    fn matches_one(&self, ctx: &Context, v: &str) -> bool {
        match (&self.values, self.op) {
            (Values::Text(ts), Op::StringEquals) => {
                ts.iter().any(|t| t.matches_equal(ctx, v, false))
            }
            (Values::Text(ts), Op::StringEqualsIgnoreCase) => {
                ts.iter().any(|t| t.matches_equal(ctx, v, true))
            }
            (Values::Text(ts), Op::StringLike) => ts.iter().any(|t| t.matches_like(ctx, v)),
            (Values::Text(ts), _) => ts.iter().any(|t| t.matches_arn(ctx, v)),
            (Values::Number(ns), Op::Numeric(cmp)) => {
                parse_number(v).is_some_and(|x| ns.iter().any(|n| cmp.holds(x, *n)))
            }
            (Values::Date(ds), Op::Date(cmp)) => {
                parse_date(v).is_some_and(|x| ds.iter().any(|d| cmp.holds(x, *d)))
            }
            (Values::Bool(bs), _) => bs.iter().any(|b| b.eq_ignore_ascii_case(v.trim())),
            (Values::Binary(bs), _) => bs.iter().any(|b| b == v),
            (Values::Ip(nets), _) => v
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| nets.iter().any(|n| n.contains(&ip))),
            _ => false,
        }
    }

    /// Evaluates against the context; `missing` is set when the key was absent.
    pub(crate) fn evaluate(&self, ctx: &Context, missing: &mut bool) -> bool {
        let values = ctx.get(&self.key);
        if let Values::Null(wants) = &self.values {
            let absent = values.is_none_or(|v| v.is_empty());
            return wants.contains(&absent);
        }
        let Some(values) = values else {
            *missing = true;
            if self.if_exists {
                return true;
            }
            return match self.qualifier {
                Qualifier::ForAllValues => true,
                Qualifier::ForAnyValue => false,
                Qualifier::Single => self.negated,
            };
        };
        match self.qualifier {
            Qualifier::Single => values.iter().any(|v| self.matches_one(ctx, v)) != self.negated,
            Qualifier::ForAnyValue => values
                .iter()
                .any(|v| self.matches_one(ctx, v) != self.negated),
            Qualifier::ForAllValues => values
                .iter()
                .all(|v| self.matches_one(ctx, v) != self.negated),
        }
    }

    /// Variable keys used in this condition's values.
    pub(crate) fn variable_keys(&self) -> Vec<&str> {
        match &self.values {
            Values::Text(ts) => ts.iter().flat_map(|t| t.variable_keys()).collect(),
            _ => Vec::new(),
        }
    }
}
