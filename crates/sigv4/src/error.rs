//! Authentication errors with the codes, messages and statuses AWS's Query-protocol endpoints
//! (IAM, STS) return.
//!
//! Sources for the wordings (each checked against more than one independent record):
//! - dacut/scratchstack-aws-signature `src/constants.rs`, `src/canonical.rs`, `src/auth.rs`: a
//!   verifier written against observed AWS behaviour ("AWS Auth Error Ordering"); the
//!   `Authorization header requires ...` / `AWS query-string parameters must include ...` /
//!   `Credential must have exactly 5 slash-delimited elements` / `Date must be in ISO-8601 'basic
//!   format'` / `Signature expired` / `Signature not yet current` texts.
//! - Real AWS responses quoted in bug reports: rclone `amazonclouddrive.go` and API Gateway users
//!   (the four `Authorization header requires` sentences + `Authorization=<scheme>`), the cloudfoundry
//!   bosh-aws-cpi troubleshooting page (`Signature expired: 20141106T010406Z is now earlier than
//!   20141106T011252Z (20141106T011752Z - 5 min.)`), an `eb deploy` report (`Signature not yet
//!   current: 20170424T013926Z is still later than 20170424T013832Z (20170424T013332Z + 5 min.)`),
//!   an STS wire oracle (`Credential should be scoped to a valid region. `, with the trailing space),
//!   boto/boto3#756 (STS `SignatureDoesNotMatch` text), and an AWS SQS 403
//!   `SignatureDoesNotMatch` for a wrong-region scope (scope errors are 403, not 400).
//! - X-Amz-Expires: IAM and STS document nothing; the established SigV4 answers are S3's
//!   `AuthorizationQueryParametersError` (400 in the S3 error-code list) with `X-Amz-Expires should
//!   be a number` (minio/minio-js#1312), `X-Amz-Expires must be non-negative`
//!   (catalyst/moodle-tool_objectfs#270, whole XML) and `X-Amz-Expires must be less than a week (in
//!   seconds); that is, the given X-Amz-Expires must be less than 604800 seconds`
//!   (bryanjos/aws_auth#31, aws/aws-cli#5464), each quoted from a real response.

/// The five minutes AWS allows between the request's date and the server clock, either way.
pub const ALLOWED_SKEW: time::Duration = time::Duration::minutes(5);

/// AWS's text for a signature that does not verify (STS, IAM; see boto/boto3#756).
pub const MSG_SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// AWS's text for a request without any authentication.
pub const MSG_MISSING_AUTH_TOKEN: &str = "Request is missing Authentication Token";

/// One thing wrong with a request's credential scope. AWS reports all of them at once, each
/// sentence followed by a space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeProblem {
    /// The region is not one this server serves.
    Region(String),
    /// The service is not the one the request was routed to (holds the expected service).
    Service(String),
    /// The fifth element is not `aws4_request` (holds what was sent).
    Terminator(String),
    /// The scope's date differs from the request's date.
    Date {
        /// yyyymmdd from the scope.
        scope: String,
        /// yyyymmdd of the request's date.
        request: String,
        /// The request's date, ISO-8601 basic.
        request_raw: String,
    },
}

impl ScopeProblem {
    fn write(&self, out: &mut String) {
        use std::fmt::Write as _;
        // STS writes the region sentence without naming the region (STS wire oracle); the
        // other three follow scratchstack-aws-signature / DynamoDB's wording.
        let _ = match self {
            Self::Region(_) => write!(out, "Credential should be scoped to a valid region. "),
            Self::Service(expected) => {
                write!(
                    out,
                    "Credential should be scoped to correct service: '{expected}'. "
                )
            }
            Self::Terminator(sent) => write!(
                out,
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{sent}'. "
            ),
            Self::Date {
                scope,
                request,
                request_raw,
            } => write!(
                out,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope}' != '{request}', from '{request_raw}'. "
            ),
        };
    }
}

/// Why a request failed SigV4 authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No SigV4 authentication at all (or an unusable presign algorithm).
    #[error("MissingAuthenticationToken: {MSG_MISSING_AUTH_TOKEN}")]
    MissingAuthenticationToken,

    /// The Authorization header lacks parameters or a date header.
    /// `missing` holds the sentences, `scheme` what preceded the parameters.
    #[error("IncompleteSignature: {}", self.message())]
    MissingAuthorizationParts {
        /// The `Authorization header requires ...` sentences, in AWS's order.
        missing: Vec<&'static str>,
        /// The scheme the client sent (e.g. `AWS4-HMAC-SHA256`).
        scheme: String,
    },

    /// Presigned query lacks parameters.
    #[error("IncompleteSignature: {}", self.message())]
    MissingQueryParts {
        /// The `AWS query-string parameters must include ...` sentences.
        missing: Vec<&'static str>,
    },

    /// An Authorization parameter without '='.
    #[error("IncompleteSignature: {}", self.message())]
    MalformedAuthorizationPair {
        /// The offending parameter.
        pair: String,
        /// The whole header.
        header: String,
    },

    /// The scheme is not AWS4-HMAC-SHA256.
    #[error("IncompleteSignature: {}", self.message())]
    UnsupportedAlgorithm(String),

    /// The credential is not `keyid/date/region/service/aws4_request`.
    #[error("IncompleteSignature: {}", self.message())]
    MalformedCredential(String),

    /// X-Amz-Date / Date is not a date.
    #[error("IncompleteSignature: {}", self.message())]
    InvalidDate(String),

    /// X-Amz-Expires is not a whole number (holds what was sent).
    #[error("AuthorizationQueryParametersError: {}", self.message())]
    InvalidExpires(String),

    /// X-Amz-Expires is negative.
    #[error("AuthorizationQueryParametersError: {}", self.message())]
    NegativeExpires,

    /// X-Amz-Expires is more than [`crate::MAX_PRESIGN_EXPIRES_SECS`] (seven days).
    #[error("AuthorizationQueryParametersError: {}", self.message())]
    ExpiresTooLong,

    /// The credential scope does not fit the request (date, terminator) or the server (region,
    /// service).
    #[error("SignatureDoesNotMatch: {}", self.message())]
    BadScope(Vec<ScopeProblem>),

    /// `host` is not among the signed headers.
    #[error("SignatureDoesNotMatch: {}", self.message())]
    HostNotSigned,

    /// The request's date is more than the allowed skew in the past (header auth) or the presigned
    /// URL has outlived X-Amz-Expires.
    #[error("SignatureDoesNotMatch: {}", self.message())]
    SignatureExpired {
        /// The request's date, ISO-8601 basic.
        request: String,
        /// The earliest acceptable date, ISO-8601 basic.
        earliest: String,
        /// The server clock, ISO-8601 basic.
        now: String,
        /// The window, e.g. `5 min`.
        window: String,
    },

    /// The request's date is more than the allowed skew in the future.
    #[error("SignatureDoesNotMatch: {}", self.message())]
    SignatureNotYetCurrent {
        /// The request's date, ISO-8601 basic.
        request: String,
        /// The latest acceptable date, ISO-8601 basic.
        latest: String,
        /// The server clock, ISO-8601 basic.
        now: String,
        /// The window, e.g. `5 min`.
        window: String,
    },

    /// The signature (or the signed payload hash) does not match.
    #[error("SignatureDoesNotMatch: {MSG_SIGNATURE_MISMATCH}")]
    SignatureDoesNotMatch,
}

impl AuthError {
    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::MissingAuthorizationParts { .. }
            | Self::MissingQueryParts { .. }
            | Self::MalformedAuthorizationPair { .. }
            | Self::UnsupportedAlgorithm(_)
            | Self::MalformedCredential(_)
            | Self::InvalidDate(_) => "IncompleteSignature",
            Self::InvalidExpires(_) | Self::NegativeExpires | Self::ExpiresTooLong => {
                "AuthorizationQueryParametersError"
            }
            Self::BadScope(_)
            | Self::HostNotSigned
            | Self::SignatureExpired { .. }
            | Self::SignatureNotYetCurrent { .. }
            | Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn http_status(&self) -> u16 {
        match self.code() {
            "IncompleteSignature" | "AuthorizationQueryParametersError" => 400,
            _ => 403,
        }
    }

    /// The message, worded as AWS words it.
    pub fn message(&self) -> String {
        match self {
            Self::MissingAuthenticationToken => MSG_MISSING_AUTH_TOKEN.to_owned(),
            Self::MissingAuthorizationParts { missing, scheme } => {
                format!("{} Authorization={scheme}", missing.join(" "))
            }
            Self::MissingQueryParts { missing } => {
                format!(
                    "{} Re-examine the query-string parameters.",
                    missing.join(" ")
                )
            }
            Self::MalformedAuthorizationPair { pair, header } => format!(
                "'{pair}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'"
            ),
            Self::UnsupportedAlgorithm(alg) => format!("Unsupported AWS 'algorithm': '{alg}'."),
            Self::MalformedCredential(cred) => format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{cred}'"
            ),
            Self::InvalidDate(raw) => format!(
                "Date must be in ISO-8601 'basic format'. Got '{raw}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ),
            // IAM and STS document nothing for X-Amz-Expires (they ignore it, aws/aws-sdk-go#2167);
            // these three are S3's answers for SigV4 query authentication, as quoted from real
            // responses: minio/minio-js#1312, catalyst/moodle-tool_objectfs#270 (with the code),
            // bryanjos/aws_auth#31 and aws/aws-cli#5464.
            Self::InvalidExpires(_) => "X-Amz-Expires should be a number".to_owned(),
            Self::NegativeExpires => "X-Amz-Expires must be non-negative".to_owned(),
            Self::ExpiresTooLong => format!(
                "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than {} seconds",
                crate::MAX_PRESIGN_EXPIRES_SECS
            ),
            Self::BadScope(problems) => {
                let mut out = String::new();
                for p in problems {
                    p.write(&mut out);
                }
                out
            }
            Self::HostNotSigned => {
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
                    .to_owned()
            }
            Self::SignatureExpired {
                request,
                earliest,
                now,
                window,
            } => format!(
                "Signature expired: {request} is now earlier than {earliest} ({now} - {window}.)"
            ),
            Self::SignatureNotYetCurrent {
                request,
                latest,
                now,
                window,
            } => format!(
                "Signature not yet current: {request} is still later than {latest} ({now} + {window}.)"
            ),
            Self::SignatureDoesNotMatch => MSG_SIGNATURE_MISMATCH.to_owned(),
        }
    }
}

/// `5 min` for whole minutes, else `N sec` (scratchstack-aws-signature `duration_to_string`).
pub(crate) fn window_text(d: time::Duration) -> String {
    let secs = d.whole_seconds();
    if secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} sec")
    }
}
