//! Authentication: from a SigV4-signed request to a [`Caller`].
//!
//! Errors are AWS's: `MissingAuthenticationToken`, `IncompleteSignature`, `InvalidClientTokenId`
//! (unknown, inactive or orphaned key, or a session token that does not open), `SignatureDoesNotMatch`
//! (wrong secret, or the clock-skew "Signature expired" form), `ExpiredToken` (a session past its
//! expiry).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keyward_sigv4::{self as sigv4, ParsedAuth, RequestParts, SecretKey, SigningKeyCache};
use time::OffsetDateTime;

use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::principal::{Caller, Principal};
use crate::session::{Session, SessionKeyRing, SessionKind};
use crate::store::Tx;

/// Why a request was not authenticated: the AWS error, and the key it claimed if it got that far
/// (for the audit record).
#[derive(Debug)]
pub struct AuthFailure {
    pub error: OpError,
    pub access_key_id: Option<String>,
    /// The account the claimed credentials belong to, when the store (a long-term key it knows,
    /// active or not) or the opened session token names one: where the refusal is recorded. It
    /// says whose key was presented, never that the caller proved to be anyone in that account.
    pub account_id: Option<String>,
    /// What the store said about a long-term key refused as `InvalidClientTokenId` (for metrics
    /// and alerts only; the answer to the client is the same whatever it is).
    pub key_hint: Option<Box<KeyHint>>,
}

/// Why a long-term access key was refused, as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHint {
    /// No key with this ID exists (never did, or deleted).
    Unknown,
    /// The key exists but is `Inactive`.
    Inactive {
        account_id: String,
        user_id: Option<String>,
    },
    /// The key's user no longer exists.
    UserGone { account_id: String },
}

impl AuthFailure {
    fn api(error: ApiError, access_key_id: Option<&str>) -> Self {
        AuthFailure {
            error: OpError::Api(error),
            access_key_id: access_key_id.map(str::to_owned),
            account_id: None,
            key_hint: None,
        }
    }

    fn store(error: crate::error::StoreError, access_key_id: &str) -> Self {
        AuthFailure {
            error: OpError::Store(error),
            access_key_id: Some(access_key_id.to_owned()),
            account_id: None,
            key_hint: None,
        }
    }

    fn with_hint(mut self, hint: KeyHint) -> Self {
        self.key_hint = Some(Box::new(hint));
        self
    }

    fn in_account(mut self, account_id: &str) -> Self {
        self.account_id = Some(account_id.to_owned());
        self
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

/// IAM's answer to temporary credentials it does not take (`GetSessionToken` credentials without
/// MFA, federated users'): `InvalidClientTokenId` (403), worded without the final period that the
/// answer to an unknown key has.
pub fn session_token_refused_by_iam() -> ApiError {
    ApiError::new(
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid",
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
    verify_session(keys, cache, req, parsed, now).map_err(|(e, _)| e)
}

/// [`verify_session_request`]; a refusal also names the session's account once the token has
/// opened (a token that does not open names nothing).
fn verify_session(
    keys: &SessionKeyRing,
    cache: &SigningKeyCache,
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    now: OffsetDateTime,
) -> Result<Session, (ApiError, Option<String>)> {
    let token = parsed
        .security_token
        .as_deref()
        .ok_or_else(|| (invalid_client_token_id(), None))?;
    let claims = keys
        .open_cached(token, &parsed.access_key_id)
        .map_err(|_| (invalid_client_token_id(), None))?;
    let session = claims.session.clone();
    let refused = |e: ApiError| (e, Some(session.account_id.clone()));
    let secret = SecretKey::new(claims.secret.clone());
    if session.is_expired(now) {
        return Err(refused(expired_token()));
    }
    sigv4::check_time(parsed, now).map_err(|e| refused(from_sigv4(&e)))?;
    sigv4::verify(req, parsed, &secret, cache).map_err(|e| refused(from_sigv4(&e)))?;
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

/// Finds the signing key, checks its state, the clock and the signature. Session credentials
/// (`ASIA...`) are opened from their sealed token; long-term keys are looked up in the store.
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
    if is_session_key(key_id) {
        let session =
            verify_session(session_keys, cache, req, parsed, now).map_err(|(e, account)| {
                match account {
                    Some(account) => fail(e).in_account(&account),
                    None => fail(e),
                }
            })?;
        // A session whose user or role is gone is refused in the session's account.
        let principal = session_principal(tx, &session)
            .await
            .map_err(|e| AuthFailure::store(e, key_id))?
            .ok_or_else(|| fail(invalid_client_token_id()).in_account(&session.account_id))?;
        return Ok(Caller {
            principal,
            access_key_id: key_id.to_owned(),
            key_last_used: None,
            session: Some(session),
        });
    }
    // A token on a long-term key is refused, as AWS does.
    if parsed.security_token.is_some() {
        return Err(fail(invalid_client_token_id()));
    }
    let (principal, secret, key_last_used) = resolve_access_key(tx, master_key, key_id).await?;
    check_signature(req, parsed, &secret, cache, now)
        .map_err(|f| f.in_account(principal.account_id()))?;
    Ok(Caller {
        principal,
        access_key_id: key_id.to_owned(),
        key_last_used,
        session: None,
    })
}

/// The principal of an active long-term access key and its opened secret; `InvalidClientTokenId`
/// for an unknown or inactive key and for a key whose user is gone (the last two in the key's
/// account).
pub async fn resolve_access_key<T: Tx>(
    tx: &mut T,
    master_key: &MasterKey,
    key_id: &str,
) -> Result<(Principal, SecretKey, Option<OffsetDateTime>), AuthFailure> {
    let fail = |e: ApiError| AuthFailure::api(e, Some(key_id));
    let store_fail = |e| AuthFailure::store(e, key_id);
    let key = match tx.get_access_key(key_id).await.map_err(store_fail)? {
        Some(k) if k.status == crate::model::KeyStatus::Active => k,
        Some(k) => {
            return Err(fail(invalid_client_token_id())
                .in_account(&k.account_id)
                .with_hint(KeyHint::Inactive {
                    account_id: k.account_id,
                    user_id: k.user_id,
                }));
        }
        None => return Err(fail(invalid_client_token_id()).with_hint(KeyHint::Unknown)),
    };
    let principal = match &key.user_id {
        None => Principal::Root {
            account_id: key.account_id.clone(),
        },
        Some(user_id) => match tx.get_user_by_id(user_id).await.map_err(store_fail)? {
            Some(user) => Principal::User(user),
            None => {
                return Err(fail(invalid_client_token_id())
                    .in_account(&key.account_id)
                    .with_hint(KeyHint::UserGone {
                        account_id: key.account_id.clone(),
                    }));
            }
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

    /// Caches a resolved key at the current generation (benches and tools; the request path
    /// resolves through the store).
    pub fn remember(
        &self,
        key_id: &str,
        principal: Principal,
        secret: SecretKey,
        last_used: Option<OffsetDateTime>,
    ) {
        let generation = self.generation.load(Ordering::SeqCst);
        self.put(
            key_id,
            Arc::new(CachedKey {
                generation,
                principal,
                secret,
                last_used,
            }),
        );
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

/// The cached path of [`authenticate_cached`]: `None` when the key is not cached (or the cache
/// was invalidated since), otherwise the result of checking the request's signature and clock
/// against the cached secret. No store access; the in-process cost of authenticating a request
/// with a long-term key (`cargo bench -p keyward-core --bench auth`).
pub fn authenticate_from_cache(
    credentials: &CredentialCache,
    cache: &SigningKeyCache,
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    now: OffsetDateTime,
) -> Option<Result<Caller, AuthFailure>> {
    let key_id = parsed.access_key_id.as_str();
    if is_session_key(key_id) || parsed.security_token.is_some() {
        return None;
    }
    let entry = credentials.get(key_id)?;
    Some(
        check_signature(req, parsed, &entry.secret, cache, now)
            .map_err(|f| f.in_account(entry.principal.account_id()))
            .map(|()| Caller {
                principal: entry.principal.clone(),
                access_key_id: key_id.to_owned(),
                key_last_used: entry.last_used,
                session: None,
            }),
    )
}

/// [`authenticate`] through the [`CredentialCache`].
#[allow(clippy::too_many_arguments)]
pub async fn authenticate_cached<T: Tx>(
    tx: &mut T,
    credentials: &CredentialCache,
    master_key: &MasterKey,
    session_keys: &SessionKeyRing,
    cache: &SigningKeyCache,
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    now: OffsetDateTime,
) -> Result<Caller, AuthFailure> {
    let key_id = parsed.access_key_id.as_str();
    if is_session_key(key_id) || parsed.security_token.is_some() {
        return authenticate(tx, master_key, session_keys, cache, req, parsed, now).await;
    }
    if let Some(done) = authenticate_from_cache(credentials, cache, req, parsed, now) {
        return done;
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
    check_signature(req, parsed, &entry.secret, cache, now)
        .map_err(|f| f.in_account(entry.principal.account_id()))?;
    Ok(Caller {
        principal: entry.principal.clone(),
        access_key_id: key_id.to_owned(),
        key_last_used: entry.last_used,
        session: None,
    })
}
