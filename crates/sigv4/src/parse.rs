//! Reading what a request claims (no secret involved).
//!
//! Order of checks and wordings follow dacut/scratchstack-aws-signature (`canonical.rs`
//! `get_auth_parameters*`, `auth.rs` `prevalidate`), which reproduces AWS's error ordering.

use time::{
    OffsetDateTime, PrimitiveDateTime, format_description::BorrowedFormatItem,
    macros::format_description,
};

use crate::canonical::{decode_component, normalize_signed_headers, raw_query_pairs};
use crate::error::ScopeProblem;
use crate::secret::Signature;
use crate::{AuthError, AuthLocation, CredentialScope, ParsedAuth, RequestParts};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(crate) const TERMINATOR: &str = "aws4_request";

/// What AWS non-S3 services use when a presigned request carries no X-Amz-Expires: about
/// 15 minutes (aws/aws-sdk-go#2167, #2224).
pub const DEFAULT_PRESIGN_EXPIRES_SECS: u64 = 900;

/// The longest X-Amz-Expires SigV4 query authentication allows: seven days, "because the signing
/// key you use in signature calculation is valid for up to seven days" (Amazon S3 API Reference,
/// "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)": "The minimum
/// value you can set is 1, and the maximum is 604800 (seven days)").
pub const MAX_PRESIGN_EXPIRES_SECS: u64 = 604_800;

const ISO_BASIC: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
const ISO_DATE: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day]");
/// RFC 7231 IMF-fixdate, what botocore puts in `Date` when a caller set one.
const IMF_FIXDATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

pub(crate) fn header<'a>(req: &RequestParts<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

fn query_param(query: &str, name: &str) -> Option<String> {
    raw_query_pairs(query)
        .find(|(k, _)| decode_component(k) == name)
        .map(|(_, v)| decode_component(v))
}

pub(crate) fn format_basic(t: OffsetDateTime) -> String {
    let mut out = String::with_capacity(16);
    push_basic(&mut out, t);
    out
}

fn push_digits(out: &mut String, value: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = value;
    for slot in buf.iter_mut().take(width).rev() {
        *slot = b'0' + u8::try_from(v % 10).unwrap_or(0);
        v /= 10;
    }
    for &d in buf.iter().take(width) {
        out.push(char::from(d));
    }
}

/// `yyyymmddThhmmssZ` (years outside 0..=9999 keep their low four digits, as nothing signs them).
pub(crate) fn push_basic(out: &mut String, t: OffsetDateTime) {
    let year = u32::try_from(t.year().rem_euclid(10_000)).unwrap_or(0);
    push_digits(out, year, 4);
    push_digits(out, u32::from(u8::from(t.month())), 2);
    push_digits(out, u32::from(t.day()), 2);
    out.push('T');
    push_digits(out, u32::from(t.hour()), 2);
    push_digits(out, u32::from(t.minute()), 2);
    push_digits(out, u32::from(t.second()), 2);
    out.push('Z');
}

/// Whether `scope_date` is `yyyymmdd` of `t`, without formatting.
fn is_day_of(scope_date: &str, t: OffsetDateTime) -> bool {
    let mut day = String::with_capacity(16);
    push_basic(&mut day, t);
    day.get(..8) == Some(scope_date)
}

/// `yyyymmddThhmmssZ` read by hand (what every SDK sends); `None` sends the caller to the
/// general parser.
pub(crate) fn parse_basic_fast(raw: &str) -> Option<OffsetDateTime> {
    let b = raw.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0, 4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(num(4, 6)?).ok()?).ok()?;
    let day = u8::try_from(num(6, 8)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(num(9, 11)?).ok()?,
        u8::try_from(num(11, 13)?).ok()?,
        u8::try_from(num(13, 15)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, clock).assume_utc())
}

pub(crate) fn format_date(t: OffsetDateTime) -> String {
    t.format(ISO_DATE).unwrap_or_default()
}

fn parse_date(raw: &str) -> Result<OffsetDateTime, AuthError> {
    let trimmed = raw.trim();
    if let Some(t) = parse_basic_fast(trimmed) {
        return Ok(t);
    }
    PrimitiveDateTime::parse(trimmed, ISO_BASIC)
        .or_else(|_| PrimitiveDateTime::parse(trimmed, IMF_FIXDATE))
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| AuthError::InvalidDate(raw.to_owned()))
}

const REQ_CREDENTIAL: &str = "Authorization header requires 'Credential' parameter.";
const REQ_SIGNATURE: &str = "Authorization header requires 'Signature' parameter.";
const REQ_SIGNED_HEADERS: &str = "Authorization header requires 'SignedHeaders' parameter.";
const REQ_DATE: &str =
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
const Q_CREDENTIAL: &str = "AWS query-string parameters must include 'X-Amz-Credential'.";
const Q_SIGNATURE: &str = "AWS query-string parameters must include 'X-Amz-Signature'.";
const Q_SIGNED_HEADERS: &str = "AWS query-string parameters must include 'X-Amz-SignedHeaders'.";
const Q_DATE: &str = "AWS query-string parameters must include 'X-Amz-Date'.";

struct Claimed {
    credential: String,
    signature: String,
    signed_headers: String,
    date_raw: String,
    security_token: Option<String>,
    location: AuthLocation,
}

fn from_header(req: &RequestParts<'_>, auth: &str) -> Result<Claimed, AuthError> {
    let auth = auth.trim();
    let (scheme, rest) = auth.split_once([' ', '\t']).unwrap_or((auth, ""));
    let (mut credential, mut signature, mut signed_headers) = (None, None, None);
    // Parameters are comma separated; clients differ on spaces around them, and some send
    // spaces alone, so both separate.
    for pair in rest.split([',', ' ', '\t']).filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(AuthError::MalformedAuthorizationPair {
                pair: pair.to_owned(),
                header: auth.to_owned(),
            });
        };
        match k {
            "Credential" => credential = Some(v),
            "Signature" => signature = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            _ => {}
        }
    }
    let date = header(req, "x-amz-date").or_else(|| header(req, "date"));
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push(REQ_CREDENTIAL);
    }
    if signature.is_none() {
        missing.push(REQ_SIGNATURE);
    }
    if signed_headers.is_none() {
        missing.push(REQ_SIGNED_HEADERS);
    }
    if date.is_none() {
        missing.push(REQ_DATE);
    }
    match (credential, signature, signed_headers, date) {
        (Some(c), Some(s), Some(h), Some(d)) if missing.is_empty() => {
            if scheme != ALGORITHM {
                return Err(AuthError::UnsupportedAlgorithm(scheme.to_owned()));
            }
            Ok(Claimed {
                credential: c.to_owned(),
                signature: s.to_owned(),
                signed_headers: h.to_owned(),
                date_raw: d.trim().to_owned(),
                security_token: header(req, "x-amz-security-token").map(|t| t.trim().to_owned()),
                location: AuthLocation::Header,
            })
        }
        _ => Err(AuthError::MissingAuthorizationParts {
            missing,
            scheme: scheme.to_owned(),
        }),
    }
}

fn from_query(query: &str, algorithm: Option<String>) -> Result<Claimed, AuthError> {
    // A presign with any other algorithm (or none) is not SigV4 at all (scratchstack rule 7a).
    if algorithm.as_deref() != Some(ALGORITHM) {
        return Err(AuthError::MissingAuthenticationToken);
    }
    let credential = query_param(query, "X-Amz-Credential");
    let signature = query_param(query, "X-Amz-Signature");
    let signed_headers = query_param(query, "X-Amz-SignedHeaders");
    let date = query_param(query, "X-Amz-Date");
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push(Q_CREDENTIAL);
    }
    if signature.is_none() {
        missing.push(Q_SIGNATURE);
    }
    if signed_headers.is_none() {
        missing.push(Q_SIGNED_HEADERS);
    }
    if date.is_none() {
        missing.push(Q_DATE);
    }
    let (Some(credential), Some(signature), Some(signed_headers), Some(date_raw)) =
        (credential, signature, signed_headers, date)
    else {
        return Err(AuthError::MissingQueryParts { missing });
    };
    let expires_secs = match query_param(query, "X-Amz-Expires") {
        None => DEFAULT_PRESIGN_EXPIRES_SECS,
        Some(raw) => parse_expires(&raw)?,
    };
    Ok(Claimed {
        credential,
        signature,
        signed_headers,
        date_raw,
        security_token: query_param(query, "X-Amz-Security-Token"),
        location: AuthLocation::Query { expires_secs },
    })
}

/// X-Amz-Expires: a whole number of seconds, not negative, at most
/// [`MAX_PRESIGN_EXPIRES_SECS`]; digits too many for a `u64` are a number all the same, and too
/// large. (0 passes here; [`crate::check_time`] treats it as already expired.)
fn parse_expires(raw: &str) -> Result<u64, AuthError> {
    let text = raw.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::InvalidExpires(raw.to_owned()));
    }
    let zero = digits.bytes().all(|b| b == b'0');
    if negative && !zero {
        return Err(AuthError::NegativeExpires);
    }
    match digits.parse::<u64>() {
        Ok(secs) if secs <= MAX_PRESIGN_EXPIRES_SECS => Ok(secs),
        _ => Err(AuthError::ExpiresTooLong),
    }
}

/// Reads the SigV4 claims of a request. `Ok(None)`: no SigV4 at all.
pub fn parse(req: &RequestParts<'_>) -> Result<Option<ParsedAuth>, AuthError> {
    let auth_header = header(req, "authorization");
    let algorithm = query_param(req.query, "X-Amz-Algorithm");
    let has_query_auth = algorithm.is_some() || query_param(req.query, "X-Amz-Signature").is_some();
    let claimed = match (auth_header, has_query_auth) {
        (None, false) => return Ok(None),
        // Both ways at once: AWS refuses without detail (scratchstack rule 5).
        (Some(_), true) => return Err(AuthError::SignatureDoesNotMatch),
        (Some(h), false) => from_header(req, h)?,
        (None, true) => from_query(req.query, algorithm)?,
    };

    let parts: Vec<&str> = claimed.credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = parts.as_slice() else {
        return Err(AuthError::MalformedCredential(claimed.credential));
    };

    let amz_date = parse_date(&claimed.date_raw)?;

    let mut problems = Vec::new();
    if *terminator != TERMINATOR {
        problems.push(ScopeProblem::Terminator((*terminator).to_owned()));
    }
    if !is_day_of(scope_date, amz_date) {
        problems.push(ScopeProblem::Date {
            scope: (*scope_date).to_owned(),
            request: format_date(amz_date),
            request_raw: format_basic(amz_date),
        });
    }
    if !problems.is_empty() {
        return Err(AuthError::BadScope(problems));
    }

    let signed_headers = normalize_signed_headers(claimed.signed_headers.split(';'));
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::HostNotSigned);
    }

    Ok(Some(ParsedAuth {
        access_key_id: (*access_key_id).to_owned(),
        scope: CredentialScope {
            date: (*scope_date).to_owned(),
            region: (*region).to_owned(),
            service: (*service).to_owned(),
        },
        signed_headers,
        amz_date,
        amz_date_raw: claimed.date_raw,
        security_token: claimed.security_token,
        location: claimed.location,
        signature: Signature::new(claimed.signature),
        credential: claimed.credential,
    }))
}
