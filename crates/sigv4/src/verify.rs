//! Signature verification, the clock check and the signing-key cache.

use std::collections::HashMap;
use std::sync::RwLock;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use zeroize::Zeroize;

use crate::canonical::{UriMode, canonical_request, sha256_hex};
use crate::error::{ALLOWED_SKEW, ScopeProblem, window_text};
use crate::parse::{ALGORITHM, format_basic, header, push_basic};
use crate::{
    AuthError, AuthLocation, MAX_PRESIGN_EXPIRES_SECS, ParsedAuth, RequestParts, SecretKey,
};

const BLOCK: usize = 64;

/// HMAC-SHA256 with the inner and outer pads already absorbed, so a cached key costs two
/// compressions less per use. Written out (RFC 2104) rather than through `hmac::Hmac` so that no
/// fallible constructor sits on an infallible path.
#[derive(Clone)]
pub(crate) struct HmacKey {
    inner: Sha256,
    outer: Sha256,
}

impl HmacKey {
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK];
        if key.len() > BLOCK {
            if let Some(dst) = block.get_mut(..32) {
                dst.copy_from_slice(&Sha256::digest(key));
            }
        } else if let Some(dst) = block.get_mut(..key.len()) {
            dst.copy_from_slice(key);
        }
        let mut ipad = block;
        let mut opad = block;
        for b in &mut ipad {
            *b ^= 0x36;
        }
        for b in &mut opad {
            *b ^= 0x5c;
        }
        let inner = Sha256::new_with_prefix(ipad);
        let outer = Sha256::new_with_prefix(opad);
        block.zeroize();
        ipad.zeroize();
        opad.zeroize();
        Self { inner, outer }
    }

    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for p in parts {
            inner.update(p);
        }
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    HmacKey::new(key).mac(&[data])
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
pub(crate) fn derive_signing_key(
    secret: &SecretKey,
    date: &str,
    region: &str,
    service: &str,
) -> HmacKey {
    let mut k_secret = Vec::with_capacity(4 + secret.expose().len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.expose().as_bytes());
    let mut k = hmac(&k_secret, date.as_bytes());
    k_secret.zeroize();
    for part in [
        region.as_bytes(),
        service.as_bytes(),
        b"aws4_request".as_slice(),
    ] {
        let next = hmac(&k, part);
        k.zeroize();
        k = next;
    }
    let key = HmacKey::new(&k);
    k.zeroize();
    key
}

struct CacheEntry {
    /// The secret the key was derived from: a hit needs the same secret (constant-time check),
    /// so a rotated or wrong secret never reuses a stale key.
    secret: SecretKey,
    key: HmacKey,
}

/// Bounded, thread-safe cache of derived signing keys, keyed by the credential
/// (`access key id/date/region/service/aws4_request`), so the four-HMAC derivation runs once per
/// key per day. When full, an arbitrary entry makes room.
pub struct SigningKeyCache {
    capacity: usize,
    map: RwLock<HashMap<String, CacheEntry>>,
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl SigningKeyCache {
    /// A cache holding at most `capacity` keys (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: RwLock::new(HashMap::with_capacity(capacity.min(1024))),
        }
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no key is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get_or_derive(&self, parsed: &ParsedAuth, secret: &SecretKey) -> HmacKey {
        if let Ok(map) = self.map.read()
            && let Some(e) = map.get(&parsed.credential)
            && bool::from(
                e.secret
                    .expose()
                    .as_bytes()
                    .ct_eq(secret.expose().as_bytes()),
            )
        {
            return e.key.clone();
        }
        let key = derive_signing_key(
            secret,
            &parsed.scope.date,
            &parsed.scope.region,
            &parsed.scope.service,
        );
        if self.capacity > 0
            && let Ok(mut map) = self.map.write()
        {
            if map.len() >= self.capacity
                && !map.contains_key(&parsed.credential)
                && let Some(victim) = map.keys().next().cloned()
            {
                map.remove(&victim);
            }
            map.insert(
                parsed.credential.clone(),
                CacheEntry {
                    secret: secret.clone(),
                    key: key.clone(),
                },
            );
        }
        key
    }
}

pub(crate) fn string_to_sign(amz_date: OffsetDateTime, scope: &str, creq: &str) -> String {
    let mut out = String::with_capacity(ALGORITHM.len() + 16 + scope.len() + 64 + 3);
    out.push_str(ALGORITHM);
    out.push('\n');
    push_basic(&mut out, amz_date);
    out.push('\n');
    out.push_str(scope);
    out.push('\n');
    out.push_str(&sha256_hex(creq.as_bytes()));
    out
}

/// Clock check: AWS allows [`ALLOWED_SKEW`] either way; a presigned request also expires
/// `X-Amz-Expires` seconds after its date. A lifetime of 0 has always expired (S3 answers 403
/// for it; 1 is the documented minimum), and one over [`MAX_PRESIGN_EXPIRES_SECS`] is refused.
pub fn check_time(parsed: &ParsedAuth, now: OffsetDateTime) -> Result<(), AuthError> {
    let window = match parsed.location {
        AuthLocation::Header => ALLOWED_SKEW,
        AuthLocation::Query { expires_secs } if expires_secs <= MAX_PRESIGN_EXPIRES_SECS => {
            time::Duration::seconds(
                i64::try_from(expires_secs).map_err(|_| AuthError::ExpiresTooLong)?,
            )
        }
        AuthLocation::Query { .. } => return Err(AuthError::ExpiresTooLong),
    };
    // Whole seconds, as the messages show them.
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let latest = now + ALLOWED_SKEW;
    if parsed.amz_date > latest {
        return Err(AuthError::SignatureNotYetCurrent {
            request: format_basic(parsed.amz_date),
            latest: format_basic(latest),
            now: format_basic(now),
            window: window_text(ALLOWED_SKEW),
        });
    }
    let earliest = now
        .checked_sub(window)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    if parsed.amz_date < earliest || window.is_zero() {
        return Err(AuthError::SignatureExpired {
            request: format_basic(parsed.amz_date),
            earliest: format_basic(earliest),
            now: format_basic(now),
            window: window_text(window),
        });
    }
    Ok(())
}

/// Checks the scope's region and service against what this server serves (the date and the
/// terminator were already checked by [`crate::parse`]).
pub fn check_scope(
    parsed: &ParsedAuth,
    region_is_valid: impl Fn(&str) -> bool,
    expected_service: &str,
) -> Result<(), AuthError> {
    let mut problems = Vec::new();
    if !region_is_valid(&parsed.scope.region) {
        problems.push(ScopeProblem::Region(parsed.scope.region.clone()));
    }
    if parsed.scope.service != expected_service {
        problems.push(ScopeProblem::Service(expected_service.to_owned()));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AuthError::BadScope(problems))
    }
}

/// Recomputes the signature with `secret` and compares in constant time.
pub fn verify(
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    secret: &SecretKey,
    cache: &SigningKeyCache,
) -> Result<(), AuthError> {
    verify_with_mode(req, parsed, secret, cache, UriMode::NON_S3)
}

pub(crate) fn verify_with_mode(
    req: &RequestParts<'_>,
    parsed: &ParsedAuth,
    secret: &SecretKey,
    cache: &SigningKeyCache,
    mode: UriMode,
) -> Result<(), AuthError> {
    if !parsed.signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::HostNotSigned);
    }
    let payload_hash = sha256_hex(req.body);
    // A signed x-amz-content-sha256 must describe this body: otherwise the signature would
    // cover a hash while the server acts on a different payload.
    if parsed
        .signed_headers
        .iter()
        .any(|h| h == "x-amz-content-sha256")
        && let Some(claimed) = header(req, "x-amz-content-sha256")
        && !claimed.trim().eq_ignore_ascii_case(&payload_hash)
    {
        return Err(AuthError::SignatureDoesNotMatch);
    }
    // For a presigned request the X-Amz-* parameters are part of the query; the canonical
    // query leaves out X-Amz-Signature.
    let creq = canonical_request(req, req.query, &parsed.signed_headers, &payload_hash, mode);
    let scope = parsed
        .credential
        .split_once('/')
        .map(|(_, s)| s)
        .unwrap_or_default();
    let sts = string_to_sign(parsed.amz_date, scope, &creq);
    let key = cache.get_or_derive(parsed, secret);
    if parsed.signature.matches_mac(&key.mac(&[sts.as_bytes()])) {
        Ok(())
    } else {
        Err(AuthError::SignatureDoesNotMatch)
    }
}
