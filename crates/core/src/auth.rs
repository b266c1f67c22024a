//! Authentication: from a SigV4-signed request to a [`Caller`].
//!
//! Errors are AWS's: `MissingAuthenticationToken`, `IncompleteSignature`, `InvalidClientTokenId`
//! (unknown, inactive or orphaned key), `SignatureDoesNotMatch` (wrong secret, or the clock-skew
//! "Signature expired" form).

use keyward_sigv4::{self as sigv4, ParsedAuth, RequestParts, SecretKey, SigningKeyCache};
use time::OffsetDateTime;

use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::principal::{Caller, Principal};
use crate::store::Tx;

/// Why a request was not authenticated: the AWS error, and the key it claimed if it got that far
/// (for the audit record).
#[derive(Debug)]
pub struct AuthFailure {
    pub error: OpError,
    pub access_key_id: Option<String>,
}

impl AuthFailure {
    fn api(error: ApiError, access_key_id: Option<&str>) -> Self {
        AuthFailure {
            error: OpError::Api(error),
            access_key_id: access_key_id.map(str::to_owned),
        }
    }
}

/// "Request is missing Authentication Token" (403), AWS's answer to an unsigned request.
pub fn missing_authentication_token() -> ApiError {
    ApiError::new(
        "MissingAuthenticationToken",
        403,
        "Request is missing Authentication Token",
    )
}

/// "The security token included in the request is invalid." (403)
pub fn invalid_client_token_id() -> ApiError {
    ApiError::new(
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid.",
    )
}

fn from_sigv4(e: &sigv4::AuthError) -> ApiError {
    ApiError::new(e.code(), e.http_status(), e.message())
}

/// Parses the request's signature, without looking anything up.
pub fn parse(req: &RequestParts<'_>) -> Result<ParsedAuth, AuthFailure> {
    match sigv4::parse(req) {
        Ok(Some(parsed)) => Ok(parsed),
        Ok(None) => Err(AuthFailure::api(missing_authentication_token(), None)),
        Err(e) => Err(AuthFailure::api(from_sigv4(&e), None)),
    }
}

/// Finds the signing key, checks its state, the clock and the signature.
pub async fn authenticate<T: Tx>(
    tx: &mut T,
    master_key: &MasterKey,
    cache: &SigningKeyCache,
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    now: OffsetDateTime,
) -> Result<Caller, AuthFailure> {
    let key_id = parsed.access_key_id.as_str();
    let fail = |e: ApiError| AuthFailure::api(e, Some(key_id));
    let store_fail = |e| AuthFailure {
        error: OpError::Store(e),
        access_key_id: Some(key_id.to_owned()),
    };
    // Temporary credentials arrive with the STS issue; a token on a long-term key is refused as AWS does.
    if parsed.security_token.is_some() {
        return Err(fail(invalid_client_token_id()));
    }
    let key = match tx.get_access_key(key_id).await.map_err(store_fail)? {
        Some(k) if k.status == crate::model::KeyStatus::Active => k,
        _ => return Err(fail(invalid_client_token_id())),
    };
    let principal = match &key.user_id {
        None => Principal::Root {
            account_id: key.account_id.clone(),
        },
        Some(user_id) => match tx.get_user_by_id(user_id).await.map_err(store_fail)? {
            Some(user) => Principal::User(user),
            None => return Err(fail(invalid_client_token_id())),
        },
    };
    sigv4::check_time(parsed, now).map_err(|e| fail(from_sigv4(&e)))?;
    let secret = master_key
        .open(&key.sealed_secret, key_id)
        .map_err(store_fail)?;
    let secret = SecretKey::new(String::from_utf8(secret).map_err(|_| fail(ApiError::internal()))?);
    sigv4::verify(req, parsed, &secret, cache).map_err(|e| fail(from_sigv4(&e)))?;
    Ok(Caller {
        principal,
        access_key_id: key.access_key_id,
        key_last_used: key.last_used.as_ref().map(|u| u.date),
    })
}
