//! Canonical request, as AWS SDKs build it for non-S3 services (aws-sdk-rust `aws-sigv4`
//! `canonical_request.rs`, botocore `auth.py` `SigV4Auth`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};

use crate::RequestParts;

/// RFC 3986 unreserved characters stay; everything else is %XX (uppercase).
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Path segments: as the query, but '/' separates segments and stays.
const PATH_SET: &AsciiSet = &QUERY_SET.remove(b'/');

/// S3-style single encoding: an existing %XX stays as it is.
const PATH_SET_SINGLE: &AsciiSet = &PATH_SET.remove(b'%');

/// How the path becomes the canonical URI.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UriMode {
    /// Remove dot segments and empty segments (every service but S3).
    pub normalize: bool,
    /// Encode the (already encoded) path again, so `%3D` becomes `%253D` (every service but S3).
    pub double_encode: bool,
}

impl UriMode {
    /// IAM, STS and every other non-S3 service.
    pub const NON_S3: Self = Self {
        normalize: true,
        double_encode: true,
    };
}

/// RFC 3986 5.2.4 dot-segment removal, also dropping empty segments, keeping a trailing slash
/// (the test suite's `*-normalized` cases; aws-sigv4 `uri_path_normalization.rs`).
fn normalize_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !(path.contains('.') || path.contains("//")) && path.starts_with('/') {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    let ends_with_slash = path.ends_with('/')
        || path.ends_with("/.")
        || path.ends_with("/..")
        || path == "."
        || path == "..";
    if out.is_empty() || (ends_with_slash && !out.ends_with('/')) {
        out.push('/');
    }
    std::borrow::Cow::Owned(out)
}

pub(crate) fn write_canonical_uri(out: &mut String, raw_path: &str, mode: UriMode) {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let path = if mode.normalize {
        normalize_path(path)
    } else {
        std::borrow::Cow::Borrowed(path)
    };
    let set = if mode.double_encode {
        PATH_SET
    } else {
        PATH_SET_SINGLE
    };
    if !path.starts_with('/') {
        out.push('/');
    }
    for part in percent_encode(path.as_bytes(), set) {
        out.push_str(part);
    }
}

fn encode_component(raw: &str) -> String {
    let decoded = percent_decode_str(raw).collect::<Vec<u8>>();
    percent_encode(&decoded, QUERY_SET).to_string()
}

/// Splits a raw query into (name, value) pairs as sent (still encoded), skipping empty pieces.
pub(crate) fn raw_query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Decoded form of one query component (lossy for invalid UTF-8: only used for lookups).
pub(crate) fn decode_component(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// Canonical query string: each name and value decoded then re-encoded (RFC 3986 unreserved
/// kept), sorted by name then value, `X-Amz-Signature` left out when `skip_signature`.
pub(crate) fn write_canonical_query(out: &mut String, query: &str, skip_signature: bool) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = raw_query_pairs(query)
        .map(|(k, v)| (encode_component(k), encode_component(v)))
        .filter(|(k, _)| !(skip_signature && k == "X-Amz-Signature"))
        .collect();
    pairs.sort_unstable();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

/// Trims spaces and collapses runs of spaces to one (aws-sigv4 `trim_all`; SigV4 docs "Trimall").
fn write_header_value(out: &mut String, value: &str) {
    let value = value.trim_matches(' ');
    if !value.contains("  ") {
        // What SDKs send: nothing to collapse, one copy.
        out.push_str(value);
        return;
    }
    let mut prev_space = false;
    for c in value.chars() {
        if c == ' ' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
}

/// `name:v1,v2\n` for each signed header (names lowercase, sorted), then a blank line, then the
/// signed-headers list. A signed header the request does not carry gets an empty value.
pub(crate) fn write_canonical_headers(
    out: &mut String,
    headers: &[(&str, &str)],
    signed: &[String],
) {
    for name in signed {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for (n, v) in headers {
            if n.eq_ignore_ascii_case(name) {
                if !first {
                    out.push(',');
                }
                first = false;
                write_header_value(out, v);
            }
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in signed.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
}

/// The full canonical request. `query` is the query as it takes part in signing (for presigned
/// requests it holds the X-Amz-* parameters; `X-Amz-Signature` is skipped).
pub(crate) fn canonical_request(
    req: &RequestParts<'_>,
    query: &str,
    signed: &[String],
    payload_hash: &str,
    mode: UriMode,
) -> String {
    let mut out = String::with_capacity(256 + req.path.len() + query.len());
    out.push_str(req.method);
    out.push('\n');
    write_canonical_uri(&mut out, req.path, mode);
    out.push('\n');
    write_canonical_query(&mut out, query, true);
    out.push('\n');
    write_canonical_headers(&mut out, req.headers, signed);
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// Lowercase hex of a SHA-256 digest, on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Hex64([u8; 64]);

impl Hex64 {
    pub(crate) fn of(bytes: &[u8; 32]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
            if let [hi, lo] = pair {
                *hi = DIGITS[usize::from(b >> 4)];
                *lo = DIGITS[usize::from(b & 0x0f)];
            }
        }
        Self(out)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::ops::Deref for Hex64 {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

pub(crate) fn sha256_hex(data: &[u8]) -> Hex64 {
    Hex64::of(&Sha256::digest(data).into())
}

/// Signed header names: lowercased, sorted, deduplicated, empty names dropped.
pub(crate) fn normalize_signed_headers<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = names
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Percent-encodes a query component for the X-Amz-* parameters this crate writes.
pub(crate) fn encode_query_value(s: &str) -> String {
    percent_encode(s.as_bytes(), QUERY_SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(path: &str, mode: UriMode) -> String {
        let mut s = String::new();
        write_canonical_uri(&mut s, path, mode);
        s
    }

    #[test]
    fn normalizes_like_the_suite() {
        let m = UriMode::NON_S3;
        assert_eq!(uri("", m), "/");
        assert_eq!(uri("/", m), "/");
        assert_eq!(uri("//", m), "/");
        assert_eq!(uri("/./", m), "/");
        assert_eq!(uri("/example/..", m), "/");
        assert_eq!(uri("/example1/example2/../..", m), "/");
        assert_eq!(uri("//example//", m), "/example/");
        assert_eq!(uri("/./example", m), "/example");
        assert_eq!(uri("/../../a", m), "/a");
        assert_eq!(uri("/a/b/.", m), "/a/b/");
        assert_eq!(uri("/a%3Db", m), "/a%253Db");
        assert_eq!(uri("/ሴ", m), "/%E1%88%B4");
        assert_eq!(uri("relative", m), "/relative");
    }

    #[test]
    fn query_is_decoded_then_encoded_and_sorted() {
        let mut s = String::new();
        write_canonical_query(&mut s, "b=2&a=%7e&a=1&c&&X-Amz-Signature=zz&sp=a%20b", true);
        assert_eq!(s, "a=1&a=~&b=2&c=&sp=a%20b");
        let mut s = String::new();
        write_canonical_query(&mut s, "k=%zz&p=a+b", true);
        assert_eq!(s, "k=%25zz&p=a%2Bb");
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        let mut s = String::new();
        write_canonical_headers(
            &mut s,
            &[("My-H", "  a   b  c "), ("my-h", "d"), ("Host", "x")],
            &["host".into(), "my-h".into()],
        );
        assert_eq!(s, "host:x\nmy-h:a b c,d\n\nhost;my-h");
    }
}
