//! Signing, for tests, the bench load generator and tools. Produces what aws-sdk-rust produces
//! for a non-S3 service.

use time::OffsetDateTime;

use crate::canonical::{
    UriMode, canonical_request, encode_query_value, normalize_signed_headers, sha256_hex,
};
use crate::parse::{ALGORITHM, format_basic, format_date};
use crate::verify::{derive_signing_key, string_to_sign};
use crate::{RequestParts, SecretKey};

/// Who signs, for which region and service, when.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// Its secret.
    pub secret: &'a SecretKey,
    /// The session token of temporary credentials.
    pub security_token: Option<&'a str>,
    /// The region in the credential scope.
    pub region: &'a str,
    /// The service in the credential scope (`iam`, `sts`).
    pub service: &'a str,
    /// The signing time.
    pub time: OffsetDateTime,
}

/// Knobs the official test suite needs; the public functions use the defaults.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignOptions {
    pub mode: UriMode,
    /// Add and sign `x-amz-content-sha256` (header signing only).
    pub sign_body: bool,
    /// Add the session token after signing instead of signing it.
    pub omit_session_token: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            mode: UriMode::NON_S3,
            sign_body: false,
            omit_session_token: false,
        }
    }
}

/// The intermediate results, for known-answer tests.
#[derive(Debug)]
pub(crate) struct Signed {
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the known-answer tests")
    )]
    pub canonical_request: String,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the known-answer tests")
    )]
    pub string_to_sign: String,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the known-answer tests")
    )]
    pub signature: String,
    /// Headers to add (header signing) or the full query (presigning, in `query`).
    pub headers: Vec<(String, String)>,
    pub query: String,
}

fn is_managed(name: &str) -> bool {
    [
        "x-amz-date",
        "authorization",
        "x-amz-security-token",
        "x-amz-content-sha256",
    ]
    .iter()
    .any(|m| name.eq_ignore_ascii_case(m))
}

fn scope(params: &SigningParams<'_>) -> String {
    format!(
        "{}/{}/{}/aws4_request",
        format_date(params.time),
        params.region,
        params.service
    )
}

fn signature(params: &SigningParams<'_>, sts: &str) -> String {
    let key = derive_signing_key(
        params.secret,
        &format_date(params.time),
        params.region,
        params.service,
    );
    hex::encode(key.mac(&[sts.as_bytes()]))
}

pub(crate) fn sign_headers_with(
    req: &RequestParts<'_>,
    params: &SigningParams<'_>,
    opts: SignOptions,
) -> Signed {
    let amz_date = format_basic(params.time);
    let payload_hash = sha256_hex(req.body);
    let mut added: Vec<(String, String)> = vec![("x-amz-date".to_owned(), amz_date)];
    if opts.sign_body {
        added.push((
            "x-amz-content-sha256".to_owned(),
            payload_hash.as_str().to_owned(),
        ));
    }
    let token_signed = params.security_token.filter(|_| !opts.omit_session_token);
    if let Some(t) = token_signed {
        added.push(("x-amz-security-token".to_owned(), t.to_owned()));
    }
    let mut headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(n, _)| !is_managed(n))
        .copied()
        .collect();
    headers.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let signed = normalize_signed_headers(headers.iter().map(|(n, _)| *n));
    let full = RequestParts {
        headers: &headers,
        ..*req
    };
    let creq = canonical_request(&full, req.query, &signed, &payload_hash, opts.mode);
    let scope = scope(params);
    let sts = string_to_sign(params.time, &scope, &creq);
    let sig = signature(params, &sts);
    let mut out = added;
    if opts.omit_session_token
        && let Some(t) = params.security_token
    {
        out.push(("x-amz-security-token".to_owned(), t.to_owned()));
    }
    out.push((
        "authorization".to_owned(),
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={sig}",
            params.access_key_id,
            signed.join(";")
        ),
    ));
    Signed {
        canonical_request: creq,
        string_to_sign: sts,
        signature: sig,
        headers: out,
        query: req.query.to_owned(),
    }
}

pub(crate) fn presign_with(
    req: &RequestParts<'_>,
    params: &SigningParams<'_>,
    expires_secs: u64,
    opts: SignOptions,
) -> Signed {
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(n, _)| !is_managed(n))
        .copied()
        .collect();
    let signed = normalize_signed_headers(headers.iter().map(|(n, _)| *n));
    let scope = scope(params);
    let mut amz = vec![
        ("X-Amz-Algorithm", ALGORITHM.to_owned()),
        (
            "X-Amz-Credential",
            format!("{}/{scope}", params.access_key_id),
        ),
        ("X-Amz-Date", format_basic(params.time)),
        ("X-Amz-Expires", expires_secs.to_string()),
        ("X-Amz-SignedHeaders", signed.join(";")),
    ];
    let token_signed = params.security_token.filter(|_| !opts.omit_session_token);
    if let Some(t) = token_signed {
        amz.push(("X-Amz-Security-Token", t.to_owned()));
    }
    let mut query = req.query.to_owned();
    for (k, v) in &amz {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(k);
        query.push('=');
        query.push_str(&encode_query_value(v));
    }
    let full = RequestParts {
        headers: &headers,
        ..*req
    };
    let payload_hash = sha256_hex(req.body);
    let creq = canonical_request(&full, &query, &signed, &payload_hash, opts.mode);
    let sts = string_to_sign(params.time, &scope, &creq);
    let sig = signature(params, &sts);
    if opts.omit_session_token
        && let Some(t) = params.security_token
    {
        query.push_str("&X-Amz-Security-Token=");
        query.push_str(&encode_query_value(t));
    }
    query.push_str("&X-Amz-Signature=");
    query.push_str(&sig);
    Signed {
        canonical_request: creq,
        string_to_sign: sts,
        signature: sig,
        headers: Vec::new(),
        query,
    }
}

/// Signs `req` in the Authorization header. Returns the headers to add: `x-amz-date`,
/// `x-amz-security-token` (when the credentials have one) and `authorization`. Every header in
/// `req.headers` is signed (it must contain `host`); any `x-amz-date`, `authorization`,
/// `x-amz-security-token` or `x-amz-content-sha256` it holds is ignored and must be replaced by
/// the returned ones.
pub fn sign_headers(req: &RequestParts<'_>, params: &SigningParams<'_>) -> Vec<(String, String)> {
    sign_headers_with(req, params, SignOptions::default()).headers
}

/// Presigns `req`: returns the full query string (the existing query, then the X-Amz-*
/// parameters, `X-Amz-Signature` last). Every header in `req.headers` is signed. `expires_secs`
/// is written as given; verification accepts 1 to [`crate::MAX_PRESIGN_EXPIRES_SECS`].
pub fn presign_query(
    req: &RequestParts<'_>,
    params: &SigningParams<'_>,
    expires_secs: u64,
) -> String {
    presign_with(req, params, expires_secs, SignOptions::default()).query
}
