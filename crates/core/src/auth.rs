//! Authentication: from a SigV4-signed request to a [`Caller`].
//!
//! Errors are AWS's: `MissingAuthenticationToken`, `IncompleteSignature`, `InvalidClientTokenId`
//! (unknown, inactive or orphaned key), `SignatureDoesNotMatch` (wrong secret, or the clock-skew
//! "Signature expired" form).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    // Temporary credentials arrive with the STS issue; a token on a long-term key is refused as AWS does.
    if parsed.security_token.is_some() {
        return Err(AuthFailure::api(invalid_client_token_id(), Some(key_id)));
    }
    let (principal, secret, key_last_used) = resolve_access_key(tx, master_key, key_id).await?;
    check_signature(req, parsed, &secret, cache, now)?;
    Ok(Caller {
        principal,
        access_key_id: key_id.to_owned(),
        key_last_used,
    })
}

/// The principal of an active long-term access key and its opened secret; `InvalidClientTokenId`
/// for an unknown or inactive key and for a key whose user is gone.
pub async fn resolve_access_key<T: Tx>(
    tx: &mut T,
    master_key: &MasterKey,
    key_id: &str,
) -> Result<(Principal, SecretKey, Option<OffsetDateTime>), AuthFailure> {
    let fail = |e: ApiError| AuthFailure::api(e, Some(key_id));
    let store_fail = |e| AuthFailure {
        error: OpError::Store(e),
        access_key_id: Some(key_id.to_owned()),
    };
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
    let secret = master_key
        .open(&key.sealed_secret, key_id)
        .map_err(store_fail)?;
    let secret = SecretKey::new(String::from_utf8(secret).map_err(|_| fail(ApiError::internal()))?);
    Ok((principal, secret, key.last_used.as_ref().map(|u| u.date)))
}

fn check_signature(
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    secret: &SecretKey,
    cache: &SigningKeyCache,
    now: OffsetDateTime,
) -> Result<(), AuthFailure> {
    let fail = |e: &sigv4::AuthError| AuthFailure::api(from_sigv4(e), Some(&parsed.access_key_id));
    sigv4::check_time(parsed, now).map_err(|e| fail(&e))?;
    sigv4::verify(req, parsed, secret, cache).map_err(|e| fail(&e))
}

/// Long-term access keys already resolved: key ID → (principal, opened secret), so that an
/// authenticated request needs no store read and no unsealing.
///
/// **Architecture invariant: read-your-writes.** Every committed write bumps the generation
/// ([`CredentialCache::invalidate`], called by the request path after commit and before the
/// response); an entry is used only if it was resolved at the current generation, and a resolver
/// reads the generation *before* it reads the store, so an entry read before a commit can never be
/// served after it. The secrets held here are `SecretKey`s (redacted, zeroised on drop), the same
/// values every request opens anyway. One process's cache: nodes sharing a database must also
/// invalidate on each other's writes.
#[derive(Debug, Default)]
pub struct CredentialCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Arc<CachedKey>>>,
}

#[derive(Debug)]
struct CachedKey {
    generation: u64,
    principal: Principal,
    secret: SecretKey,
    last_used: Option<OffsetDateTime>,
}

/// Keys kept before the cache starts over.
const CREDENTIAL_CACHE_CAPACITY: usize = 10_000;

impl CredentialCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every entry (lazily): called after each committed write.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn get(&self, key_id: &str) -> Option<Arc<CachedKey>> {
        let current = self.generation.load(Ordering::SeqCst);
        let entries = self.entries.lock().ok()?;
        entries
            .get(key_id)
            .filter(|e| e.generation == current)
            .cloned()
    }

    fn put(&self, key_id: &str, entry: Arc<CachedKey>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CREDENTIAL_CACHE_CAPACITY {
                entries.clear();
            }
            entries.insert(key_id.to_owned(), entry);
        }
    }
}

/// [`authenticate`] through the [`CredentialCache`].
pub async fn authenticate_cached<T: Tx>(
    tx: &mut T,
    credentials: &CredentialCache,
    master_key: &MasterKey,
    cache: &SigningKeyCache,
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    now: OffsetDateTime,
) -> Result<Caller, AuthFailure> {
    let key_id = parsed.access_key_id.as_str();
    if parsed.security_token.is_some() {
        return authenticate(tx, master_key, cache, req, parsed, now).await;
    }
    let entry = match credentials.get(key_id) {
        Some(hit) => hit,
        None => {
            let generation = credentials.generation.load(Ordering::SeqCst);
            let (principal, secret, last_used) = resolve_access_key(tx, master_key, key_id).await?;
            let entry = Arc::new(CachedKey {
                generation,
                principal,
                secret,
                last_used,
            });
            credentials.put(key_id, Arc::clone(&entry));
            entry
        }
    };
    check_signature(req, parsed, &entry.secret, cache, now)?;
    Ok(Caller {
        principal: entry.principal.clone(),
        access_key_id: key_id.to_owned(),
        key_last_used: entry.last_used,
    })
}
