//! The authorisation step every operation passes before it runs.
//!
//! **Architecture invariant**: [`crate::ops::execute`] is the only way to run an operation, and it
//! calls [`authorize`] with the operation's action and resource before the handler is reached.
//! Until identity policies can be attached (the IAM management issue), the decision is AWS's
//! implicit deny for every principal but the account root.

use crate::error::ApiError;
use crate::principal::Principal;

/// A request for permission: `action` on `resource`, by `principal`.
#[derive(Debug, Clone)]
pub struct AuthzRequest<'a> {
    pub principal: &'a Principal,
    pub principal_arn: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
}

/// Allows or refuses with AWS's exact `AccessDenied` text.
pub fn authorize(req: &AuthzRequest<'_>) -> Result<(), ApiError> {
    match req.principal {
        Principal::Root { .. } => Ok(()),
        Principal::User(_) => Err(ApiError::access_denied(implicit_deny_message(req))),
    }
}

/// `User: ARN is not authorized to perform: ACTION on resource: RES because no identity-based
/// policy allows the ACTION action` (IAM User Guide, "Troubleshooting access denied error messages").
pub fn implicit_deny_message(req: &AuthzRequest<'_>) -> String {
    format!(
        "User: {} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action",
        req.principal_arn, req.action, req.resource, req.action
    )
}
