//! The one place every request's outcome passes: principal, action, result, error.
//!
//! Each request yields exactly one [`AuditEvent`], written in the request's own transaction (see
//! [`crate::store::Tx::insert_audit_event`]). The audit-trail issue grows this into CloudTrail's
//! full record format; the fields here are the ones the request path already knows.

use time::OffsetDateTime;

/// One request's record. It never holds a secret: secret keys, passwords and codes are not
/// fields of it, and request parameters are not recorded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub event_id: String,
    pub event_time: OffsetDateTime,
    /// `iam.amazonaws.com` or `sts.amazonaws.com`.
    pub event_source: String,
    /// The API action, e.g. `CreateUser`.
    pub event_name: String,
    pub aws_region: String,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub request_id: String,
    pub read_only: bool,
    /// CloudTrail's `userIdentity.type` (`Root`, `IAMUser`), absent when authentication failed.
    pub identity_type: Option<String>,
    pub principal_id: Option<String>,
    pub principal_arn: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Event source of a service name from the credential scope.
pub fn event_source(service: &str) -> String {
    format!("{service}.amazonaws.com")
}
