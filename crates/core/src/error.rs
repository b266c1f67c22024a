//! The errors an IAM or STS operation can answer with, in AWS's vocabulary.
//!
//! Exactly one place (the server's encoder) turns an [`ApiError`] into an HTTP status and an
//! `<ErrorResponse>` body; everything below it only says which AWS error happened and why.

use std::fmt;

/// Who AWS blames for an error: `<Type>Sender</Type>` or `<Type>Receiver</Type>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Sender => "Sender",
            Fault::Receiver => "Receiver",
        }
    }
}

/// An AWS API error: code, message and HTTP status exactly as AWS returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
    pub fault: Fault,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        let fault = if status >= 500 {
            Fault::Receiver
        } else {
            Fault::Sender
        };
        ApiError {
            code,
            message: message.into(),
            status,
            fault,
        }
    }

    /// `AccessDenied` (403) with the policy engine's explanation.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDenied", 403, message)
    }

    /// `NoSuchEntity` (404), e.g. "The user with name bob cannot be found."
    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Self::new("NoSuchEntity", 404, message)
    }

    /// `EntityAlreadyExists` (409), e.g. "User with name bob already exists."
    pub fn entity_already_exists(message: impl Into<String>) -> Self {
        Self::new("EntityAlreadyExists", 409, message)
    }

    /// `DeleteConflict` (409), e.g. "Cannot delete entity, must delete access keys first."
    pub fn delete_conflict(message: impl Into<String>) -> Self {
        Self::new("DeleteConflict", 409, message)
    }

    /// `LimitExceeded` (409), e.g. "Cannot exceed quota for AccessKeysPerUser: 2".
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new("LimitExceeded", 409, message)
    }

    /// `ValidationError` (400) with AWS's constraint wording; see [`crate::validate`].
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", 400, message)
    }

    /// `InvalidInput` (400), IAM's error for semantically wrong input.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new("InvalidInput", 400, message)
    }

    /// `InvalidAction` (400): "The action X is not valid for this web service."
    pub fn invalid_action(action: &str) -> Self {
        Self::new(
            "InvalidAction",
            400,
            format!("The action {action} is not valid for this web service."),
        )
    }

    /// `InvalidAuthenticationCode` (403): "Authentication code for device is not valid."
    pub fn invalid_authentication_code() -> Self {
        Self::new(
            "InvalidAuthenticationCode",
            403,
            "Authentication code for device is not valid.",
        )
    }

    /// `ServiceFailure` (500). The client sees a generic message; details go to the log where the
    /// failure is handled.
    pub fn internal() -> Self {
        Self::new(
            "ServiceFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    /// `ServiceUnavailable` (503), AWS's common error for "a temporary failure of the server":
    /// the request may succeed if retried (the SDKs retry a 503 on their own).
    pub fn service_unavailable() -> Self {
        Self::new(
            "ServiceUnavailable",
            503,
            "The request has failed due to a temporary failure of the server.",
        )
    }
}

/// What kind of failure a [`StoreError`] is: what callers (and the client's error) go by, never
/// the error's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// A row the store needed is not there (a query that must answer one row answered none).
    NotFound,
    /// The change breaks a constraint (a unique name, a foreign key) or lost a conditional update.
    Conflict,
    /// A limit of the store itself: the disk is full, a value is too big, no position is left.
    LimitExceeded,
    /// The store cannot serve now but may soon: the database is busy or locked (another process
    /// holds its write lock past the busy timeout), I/O fails, the store is closing.
    Unavailable,
    /// Stored data cannot be read: an undecodable row, a sealed secret that does not open, a
    /// damaged database file.
    Corrupt,
    /// Anything else (a bug, most likely).
    Internal,
}

impl StoreErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::NotFound => "not found",
            StoreErrorKind::Conflict => "conflict",
            StoreErrorKind::LimitExceeded => "limit exceeded",
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Corrupt => "corrupt",
            StoreErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of the storage layer: its [`StoreErrorKind`] and what was being done. Never shown to
/// clients (they get the AWS error of its kind, see [`OpError::to_api`]); it is logged, so its
/// context names what failed and never holds a secret value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store {kind}: {context}")]
pub struct StoreError {
    kind: StoreErrorKind,
    context: String,
}

impl StoreError {
    /// An [`StoreErrorKind::Internal`] failure.
    pub fn new(context: impl fmt::Display) -> Self {
        Self::with_kind(StoreErrorKind::Internal, context)
    }

    pub fn with_kind(kind: StoreErrorKind, context: impl fmt::Display) -> Self {
        StoreError {
            kind,
            context: context.to_string(),
        }
    }

    pub fn not_found(context: impl fmt::Display) -> Self {
        Self::with_kind(StoreErrorKind::NotFound, context)
    }

    pub fn conflict(context: impl fmt::Display) -> Self {
        Self::with_kind(StoreErrorKind::Conflict, context)
    }

    pub fn limit_exceeded(context: impl fmt::Display) -> Self {
        Self::with_kind(StoreErrorKind::LimitExceeded, context)
    }

    pub fn unavailable(context: impl fmt::Display) -> Self {
        Self::with_kind(StoreErrorKind::Unavailable, context)
    }

    pub fn corrupt(context: impl fmt::Display) -> Self {
        Self::with_kind(StoreErrorKind::Corrupt, context)
    }

    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// What was being done, without the kind.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The same failure, seen from a step that contains it: `"{outer}: {context}"`, same kind.
    pub fn within(self, outer: impl fmt::Display) -> Self {
        StoreError {
            kind: self.kind,
            context: format!("{outer}: {}", self.context),
        }
    }
}

impl From<&StoreError> for ApiError {
    /// What the client is told of a store failure, by its kind alone: a store that may serve again
    /// soon answers AWS's `ServiceUnavailable` (503); any other failure is the server's own,
    /// `ServiceFailure` (500). A store conflict or missing row is not the client's
    /// `EntityAlreadyExists` or `NoSuchEntity`: the operations check those first and answer them
    /// in AWS's words, so reaching the store means something else went wrong.
    fn from(e: &StoreError) -> Self {
        match e.kind {
            StoreErrorKind::Unavailable => ApiError::service_unavailable(),
            StoreErrorKind::NotFound
            | StoreErrorKind::Conflict
            | StoreErrorKind::LimitExceeded
            | StoreErrorKind::Corrupt
            | StoreErrorKind::Internal => ApiError::internal(),
        }
    }
}

/// The result of an operation: an AWS error, or a store failure the server logs and answers by
/// its kind alone.
#[derive(Debug)]
pub enum OpError {
    Api(ApiError),
    Store(StoreError),
    /// A refused MFA code. The client is told `error`; `failure` must be kept although the
    /// request's transaction rolls back (the server writes it with the audit record).
    MfaRejected {
        error: ApiError,
        failure: Box<crate::model::MfaFailure>,
    },
    /// Refused by authorisation: the decision says why, and its `AccessDenied` text is the
    /// client's answer.
    Denied(Box<crate::decision::Decision>),
}

impl From<ApiError> for OpError {
    fn from(e: ApiError) -> Self {
        OpError::Api(e)
    }
}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> Self {
        OpError::Store(e)
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Api(e) => e.fmt(f),
            OpError::Store(e) => e.fmt(f),
            OpError::MfaRejected { error, failure } => {
                write!(f, "{error} ({})", failure.reason.as_str())
            }
            OpError::Denied(decision) => write!(
                f,
                "AccessDenied: {}",
                decision.denial.as_deref().unwrap_or_default()
            ),
        }
    }
}

impl std::error::Error for OpError {}

impl OpError {
    /// What the client is told.
    pub fn to_api(&self) -> ApiError {
        match self {
            OpError::Api(e) => e.clone(),
            OpError::Store(e) => ApiError::from(e),
            OpError::MfaRejected { error, .. } => error.clone(),
            OpError::Denied(decision) => {
                ApiError::access_denied(decision.denial.clone().unwrap_or_default())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [StoreErrorKind; 6] = [
        StoreErrorKind::NotFound,
        StoreErrorKind::Conflict,
        StoreErrorKind::LimitExceeded,
        StoreErrorKind::Unavailable,
        StoreErrorKind::Corrupt,
        StoreErrorKind::Internal,
    ];

    /// A busy or unavailable store is AWS's retryable 503; every other store failure is IAM's
    /// `ServiceFailure` 500, whatever its text says.
    #[test]
    fn each_kind_answers_its_aws_error() {
        for kind in KINDS {
            let api =
                OpError::from(StoreError::with_kind(kind, "UNIQUE constraint failed")).to_api();
            let (code, status, message) = match kind {
                StoreErrorKind::Unavailable => (
                    "ServiceUnavailable",
                    503,
                    "The request has failed due to a temporary failure of the server.",
                ),
                _ => (
                    "ServiceFailure",
                    500,
                    "The request processing has failed because of an unknown error, exception or failure.",
                ),
            };
            assert_eq!(
                (api.code, api.status, api.message.as_str(), api.fault),
                (code, status, message, Fault::Receiver),
                "{kind}"
            );
        }
    }

    /// `new` keeps its old meaning (an internal failure); `within` keeps the kind.
    #[test]
    fn constructors_and_context() {
        let e = StoreError::new("render QR code");
        assert_eq!(e.kind(), StoreErrorKind::Internal);
        assert_eq!(e.to_string(), "store internal: render QR code");
        let e = StoreError::unavailable("begin: database is locked").within("group commit");
        assert_eq!(e.kind(), StoreErrorKind::Unavailable);
        assert_eq!(e.context(), "group commit: begin: database is locked");
        assert_eq!(
            e.to_string(),
            "store unavailable: group commit: begin: database is locked"
        );
        for (e, kind) in [
            (StoreError::not_found("x"), StoreErrorKind::NotFound),
            (StoreError::conflict("x"), StoreErrorKind::Conflict),
            (
                StoreError::limit_exceeded("x"),
                StoreErrorKind::LimitExceeded,
            ),
            (StoreError::corrupt("x"), StoreErrorKind::Corrupt),
        ] {
            assert_eq!(e.kind(), kind);
        }
    }
}
