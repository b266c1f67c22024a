//! Authentication: from a SigV4-signed request to a [`Caller`].
//!
//! Errors are AWS's: `MissingAuthenticationToken`, `IncompleteSignature`, `InvalidClientTokenId`
//! (unknown, inactive or orphaned key, or a session token that does not open), `SignatureDoesNotMatch`
//! (wrong secret, or the clock-skew "Signature expired" form), `ExpiredToken` (a session past its
//! expiry).

use keyward_sigv4::{self as sigv4, ParsedAuth, RequestParts, SecretKey, SigningKeyCache};
use time::OffsetDateTime;

use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::principal::{Caller, Principal};
use crate::session::{SealedClaims, Session, SessionKeyRing, SessionKind};
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

/// "The security token included in the request is expired" (403).
pub fn expired_token() -> ApiError {
    ApiError::new(
        "ExpiredToken",
        403,
        "The security token included in the request is expired",
    )
}

/// Whether an access key ID names temporary credentials.
pub fn is_session_key(access_key_id: &str) -> bool {
    access_key_id.starts_with("ASIA")
}

/// Checks a request signed with session credentials without any database read: the token opens
/// for this access key ID, is not expired, the clock is within the skew and the signature is
/// made with the session's secret. Returns the session.
pub fn verify_session_request(
    keys: &SessionKeyRing,
    cache: &SigningKeyCache,
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    now: OffsetDateTime,
) -> Result<Session, ApiError> {
    let token = parsed
        .security_token
        .as_deref()
        .ok_or_else(invalid_client_token_id)?;
    let claims: SealedClaims = keys
        .open(token, &parsed.access_key_id)
        .map_err(|_| invalid_client_token_id())?;
    let (session, secret) = claims.into_parts();
    if session.is_expired(now) {
        return Err(expired_token());
    }
    sigv4::check_time(parsed, now).map_err(|e| from_sigv4(&e))?;
    sigv4::verify(req, parsed, &secret, cache).map_err(|e| from_sigv4(&e))?;
    Ok(session)
}

/// The principal a session stands for, as the store holds it now: a deleted user or role revokes
/// its sessions at once.
async fn session_principal<T: Tx>(
    tx: &mut T,
    session: &Session,
) -> Result<Option<Principal>, crate::error::StoreError> {
    Ok(match session.kind {
        SessionKind::Root => Some(Principal::Root {
            account_id: session.account_id.clone(),
        }),
        SessionKind::User => tx
            .get_user_by_id(&session.principal_id)
            .await?
            .map(Principal::User),
        SessionKind::Role => {
            tx.get_role_by_id(&session.principal_id)
                .await?
                .map(|role| Principal::AssumedRole {
                    role,
                    session_name: session.name.clone(),
                })
        }
        SessionKind::Federated if session.principal_id.is_empty() => {
            Some(Principal::FederatedUser {
                account_id: session.account_id.clone(),
                parent: None,
                name: session.name.clone(),
            })
        }
        SessionKind::Federated => {
            tx.get_user_by_id(&session.principal_id)
                .await?
                .map(|user| Principal::FederatedUser {
                    account_id: user.account_id.clone(),
                    parent: Some(user),
                    name: session.name.clone(),
                })
        }
    })
}

/// Finds the signing key, checks its state, the clock and the signature.
pub async fn authenticate<T: Tx>(
    tx: &mut T,
    master_key: &MasterKey,
    session_keys: &SessionKeyRing,
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
    if is_session_key(key_id) {
        let session =
            verify_session_request(session_keys, cache, req, parsed, now).map_err(fail)?;
        let principal = session_principal(tx, &session)
            .await
            .map_err(store_fail)?
            .ok_or_else(|| fail(invalid_client_token_id()))?;
        return Ok(Caller {
            principal,
            access_key_id: key_id.to_owned(),
            session: Some(session),
        });
    }
    // A token on a long-term key is refused, as AWS does.
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
        session: None,
    })
}
