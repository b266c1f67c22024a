//! AWS Signature Version 4: verification (Authorization header and presigned query) and signing,
//! for a server speaking the IAM/STS Query protocol to real AWS SDKs and the aws CLI.
//!
//! Pure: no I/O, no globals; the clock is an argument. Canonicalisation is the non-S3 one
//! (normalised path, encoded twice), as aws-sdk-rust and botocore sign for IAM and STS.
//!
//! ```
//! use keyward_sigv4::*;
//! let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
//! let now = time::macros::datetime!(2015-08-30 12:36:00 UTC);
//! let body = b"Action=GetCallerIdentity&Version=2011-06-15";
//! let base = [("host", "sts.amazonaws.com")];
//! let req = RequestParts { method: "POST", path: "/", query: "", headers: &base, body };
//! let params = SigningParams { access_key_id: "AKIDEXAMPLE", secret: &secret,
//!     security_token: None, region: "us-east-1", service: "sts", time: now };
//! let added = sign_headers(&req, &params);
//! let mut headers: Vec<(&str, &str)> = base.to_vec();
//! headers.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_str())));
//! let req = RequestParts { headers: &headers, ..req };
//!
//! let parsed = parse(&req).unwrap().expect("signed");
//! check_time(&parsed, now).unwrap();
//! verify(&req, &parsed, &secret, &SigningKeyCache::new(1024)).unwrap();
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod canonical;
mod error;
mod parse;
mod secret;
mod sign;
mod verify;

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod suite_tests;

pub use error::{
    ALLOWED_SKEW, AuthError, MSG_MISSING_AUTH_TOKEN, MSG_SIGNATURE_MISMATCH, ScopeProblem,
};
pub use parse::{DEFAULT_PRESIGN_EXPIRES_SECS, MAX_PRESIGN_EXPIRES_SECS, parse};
pub use secret::{SecretKey, Signature};
pub use sign::{SigningParams, presign_query, sign_headers};
pub use verify::{SigningKeyCache, check_scope, check_time, verify};

/// A request as received by the server.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The raw request-target path exactly as sent (still percent-encoded).
    pub path: &'a str,
    /// The raw query string without '?' ("" if none).
    pub query: &'a str,
    /// Headers in arrival order, names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The full payload.
    pub body: &'a [u8],
}

/// The `date/region/service` part of a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// yyyymmdd.
    pub date: String,
    /// e.g. `us-east-1`.
    pub region: String,
    /// e.g. `sts`, `iam`.
    pub service: String,
}

/// Where the signature travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLocation {
    /// `Authorization: AWS4-HMAC-SHA256 ...`.
    Header,
    /// Presigned: `X-Amz-Algorithm=...&X-Amz-Signature=...` (`X-Amz-Expires`, or
    /// [`DEFAULT_PRESIGN_EXPIRES_SECS`] when absent).
    Query {
        /// Lifetime in seconds from the request date, at most [`MAX_PRESIGN_EXPIRES_SECS`]
        /// ([`check_time`] refuses more).
        expires_secs: u64,
    },
}

/// What the request claims; produced without any secret.
#[derive(Debug, Clone)]
pub struct ParsedAuth {
    /// The access key id from the credential.
    pub access_key_id: String,
    /// The credential scope.
    pub scope: CredentialScope,
    /// Signed header names, lowercase, sorted, deduplicated; always contains `host`.
    pub signed_headers: Vec<String>,
    /// From X-Amz-Date (header or query), or the Date header.
    pub amz_date: time::OffsetDateTime,
    /// As the client sent it, e.g. `20150830T123600Z`.
    pub amz_date_raw: String,
    /// X-Amz-Security-Token header or query parameter.
    pub security_token: Option<String>,
    /// Header or presigned query.
    pub location: AuthLocation,
    pub(crate) signature: Signature,
    /// The whole credential (`AKID/date/region/service/aws4_request`), the cache key.
    pub(crate) credential: String,
}

impl ParsedAuth {
    /// The signature the request carries (no `PartialEq`; see [`Signature::matches`]).
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
}
