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
}

/// A failure of the storage layer. Never shown to clients: it becomes [`ApiError::internal`].
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    pub fn new(context: impl fmt::Display) -> Self {
        StoreError(context.to_string())
    }
}

/// The result of an operation: an AWS error, or a store failure the server logs and hides.
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
        }
    }
}

impl std::error::Error for OpError {}

impl OpError {
    /// What the client is told.
    pub fn to_api(&self) -> ApiError {
        match self {
            OpError::Api(e) => e.clone(),
            OpError::Store(_) => ApiError::internal(),
            OpError::MfaRejected { error, .. } => error.clone(),
        }
    }
}
