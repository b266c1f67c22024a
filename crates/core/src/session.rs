//! Session credentials: `ASIA...` access keys whose secret and claims travel in the session token.
//!
//! **Architecture invariant**: a session token is an AEAD-sealed, versioned blob
//! (`version | sealing key id (4 bytes BE) | nonce (12) | AES-256-GCM(claims)`), bound to its
//! version and access key ID by the associated data. Any node holding the sealing keys opens it without a database read;
//! a token that does not open — unknown key, altered byte, other access key — is
//! `InvalidClientTokenId`. Sealing keys are derived from master keys, so rotating the master key
//! keeps live sessions readable as long as the old key stays in the [`SessionKeyRing`].

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::{MasterKey, random_bytes};
use crate::error::StoreError;

/// Claims as one flattened JSON object (still opened, no longer sealed).
const TOKEN_V1: u8 = 1;
const AAD_LABEL_V1: &[u8] = b"keyward-session-token-v1:";
/// Claims as the JSON pair `[secret, session]`: no flattening, so opening decodes in one pass.
const TOKEN_V2: u8 = 2;
const AAD_LABEL_V2: &[u8] = b"keyward-session-token-v2:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// What kind of principal a session stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    /// `GetSessionToken` of an IAM user.
    User,
    /// `GetSessionToken` of the account root user.
    Root,
    /// `AssumeRole`.
    Role,
    /// `GetFederationToken` (of an IAM user, or of the root user when `principal_id` is empty).
    Federated,
}

/// The claims a session token carries, minus its secret. `Debug` shows no secret because there is
/// none here: the secret lives only in [`SealedClaims`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_key_id: String,
    pub kind: SessionKind,
    pub account_id: String,
    /// The user ID (`AIDA...`) or role ID (`AROA...`) behind the session; empty for root.
    pub principal_id: String,
    /// The role session name, or the federated user's name; empty for `GetSessionToken`.
    pub name: String,
    /// Issue and expiry, Unix seconds.
    pub issued: i64,
    pub expires: i64,
    /// When MFA was verified for this session (Unix seconds), if it was.
    pub mfa_auth_time: Option<i64>,
    pub source_identity: Option<String>,
    /// Session tags, in the order given.
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    /// The inline session policy, as given.
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Vec<String>,
}

impl Session {
    pub fn issued_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.issued).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.expires).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now.unix_timestamp() >= self.expires
    }

    /// Whether the session was issued by `AssumeRole` (calling `AssumeRole` with it is chaining).
    pub fn is_role(&self) -> bool {
        self.kind == SessionKind::Role
    }
}

/// A session and its secret access key, as sealed in the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedClaims {
    pub secret: String,
    #[serde(flatten)]
    pub session: Session,
}

impl fmt::Debug for SealedClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedClaims")
            .field("secret", &"**redacted**")
            .field("session", &self.session)
            .finish()
    }
}

impl SealedClaims {
    /// Splits the claims into the session and its secret (which zeroises on drop).
    pub fn into_parts(self) -> (Session, keyward_sigv4::SecretKey) {
        (self.session, keyward_sigv4::SecretKey::new(self.secret))
    }
}

/// Why a token did not open. Every variant is `InvalidClientTokenId` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidToken;

struct SealingKey {
    id: u32,
    cipher: Aes256Gcm,
}

/// The keys that seal and open session tokens: the current one seals, any of them opens.
pub struct SessionKeyRing {
    keys: Vec<SealingKey>,
    /// Tokens already opened. A sealed token always opens to the same claims, so a presented
    /// token's claims can be reused (expiry is still checked on every use); bounded.
    opened: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<SealedClaims>>>,
}

/// Opened tokens kept before the cache starts over.
const OPENED_TOKENS_CAPACITY: usize = 10_000;

/// A session token as issued: a secret (it carries the sealed secret access key). It has no
/// `Display` and no `Serialize`, its `Debug` is redacted, and it is zeroised on drop; the one
/// response that returns it (`Credentials` in STS's answer) reads it with [`SessionToken::expose`].
#[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn new(token: String) -> Self {
        SessionToken(token)
    }

    /// The token's text, for the response that returns it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(**redacted**)")
    }
}

impl fmt::Debug for SessionKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u32> = self.keys.iter().map(|k| k.id).collect();
        f.debug_struct("SessionKeyRing").field("ids", &ids).finish()
    }
}

/// The highest sealing-key generation (a generation is part of the key ID in every token).
pub const MAX_GENERATION: u32 = 0xFFFF;

impl SessionKeyRing {
    /// A ring whose sealing key is generation 0, derived from `master`.
    pub fn new(master: &MasterKey) -> Self {
        Self::generation(master, 0)
    }

    /// A ring that seals with sealing-key generation `generation` (derived from `master`) and
    /// also opens tokens of the generation before it. Rotating the sealing key is starting
    /// every node with the next generation: live sessions, sealed under the previous one, keep
    /// working until they expire (at most 36 hours), and tokens two generations old are refused.
    pub fn generation(master: &MasterKey, generation: u32) -> Self {
        let mut keys = vec![sealing_key(master, generation)];
        if let Some(previous) = generation.checked_sub(1) {
            keys.push(sealing_key(master, previous));
        }
        SessionKeyRing {
            keys,
            opened: std::sync::Mutex::default(),
        }
    }

    /// Seals `claims` for their access key ID; the token is base64 text.
    pub fn seal(&self, claims: &SealedClaims) -> Result<String, StoreError> {
        let key = self
            .keys
            .first()
            .ok_or_else(|| StoreError::new("no session sealing key"))?;
        let plaintext = serde_json::to_vec(&(&claims.secret, &claims.session))
            .map_err(|e| StoreError::new(format!("encode session claims: {e}")))?;
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let aad = aad(AAD_LABEL_V2, key.id, &claims.session.access_key_id);
        let ct = key
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::new("seal session token"))?;
        let mut out = Vec::with_capacity(1 + 4 + NONCE_LEN + ct.len());
        out.push(TOKEN_V2);
        out.extend_from_slice(&key.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(data_encoding::BASE64.encode(&out))
    }

    /// [`SessionKeyRing::open`], reusing the claims of a token this ring opened before.
    pub fn open_cached(
        &self,
        token: &str,
        access_key_id: &str,
    ) -> Result<std::sync::Arc<SealedClaims>, InvalidToken> {
        if let Ok(opened) = self.opened.lock()
            && let Some(claims) = opened.get(token)
        {
            // The access key ID is bound to the token by its associated data when it was first
            // opened; a token presented with another key ID is refused as `open` refuses it.
            return if claims.session.access_key_id == access_key_id {
                Ok(std::sync::Arc::clone(claims))
            } else {
                Err(InvalidToken)
            };
        }
        let claims = std::sync::Arc::new(self.open(token, access_key_id)?);
        if let Ok(mut opened) = self.opened.lock() {
            if opened.len() >= OPENED_TOKENS_CAPACITY {
                opened.clear();
            }
            opened.insert(token.to_owned(), std::sync::Arc::clone(&claims));
        }
        Ok(claims)
    }

    /// Opens a token presented with `access_key_id`; no database read.
    pub fn open(&self, token: &str, access_key_id: &str) -> Result<SealedClaims, InvalidToken> {
        let bytes = data_encoding::BASE64
            .decode(token.as_bytes())
            .map_err(|_| InvalidToken)?;
        let (version, rest) = bytes.split_first().ok_or(InvalidToken)?;
        let label = match *version {
            TOKEN_V1 => AAD_LABEL_V1,
            TOKEN_V2 => AAD_LABEL_V2,
            _ => return Err(InvalidToken),
        };
        if rest.len() < 4 + NONCE_LEN + TAG_LEN {
            return Err(InvalidToken);
        }
        let (id, rest) = rest.split_at(4);
        let id = u32::from_be_bytes(id.try_into().map_err(|_| InvalidToken)?);
        let key = self.keys.iter().find(|k| k.id == id).ok_or(InvalidToken)?;
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| InvalidToken)?;
        let aad = aad(label, id, access_key_id);
        let plaintext = key
            .cipher
            .decrypt(&nonce.into(), Payload { msg: ct, aad: &aad })
            .map_err(|_| InvalidToken)?;
        let claims: SealedClaims = if *version == TOKEN_V1 {
            serde_json::from_slice(&plaintext).map_err(|_| InvalidToken)?
        } else {
            let (secret, session): (String, Session) =
                serde_json::from_slice(&plaintext).map_err(|_| InvalidToken)?;
            SealedClaims { secret, session }
        };
        if claims.session.access_key_id != access_key_id {
            return Err(InvalidToken);
        }
        Ok(claims)
    }
}

/// Generation 0 is the key every token had before generations existed (same label, key ID =
/// the master key's ID); generation `g` adds `/g` to the label and `g` to the ID's upper bits.
fn sealing_key(master: &MasterKey, generation: u32) -> SealingKey {
    let generation = generation.min(MAX_GENERATION);
    let key = if generation == 0 {
        master.derive(b"keyward session-token sealing key v1")
    } else {
        master.derive(format!("keyward session-token sealing key v1/{generation}").as_bytes())
    };
    SealingKey {
        id: (generation << 16) | (master.id() & 0xFFFF),
        cipher: Aes256Gcm::new(&key.into()),
    }
}

fn aad(label: &[u8], key_id: u32, access_key_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(label.len() + 4 + access_key_id.len());
    aad.extend_from_slice(label);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(access_key_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn session_token_debug_is_redacted() {
        let t = super::SessionToken::new("FwoGZXIvYXdzEXAMPLETOKEN".to_owned());
        assert_eq!(format!("{t:?}"), "SessionToken(**redacted**)");
        assert_eq!(t.expose(), "FwoGZXIvYXdzEXAMPLETOKEN");
    }
    use proptest::prelude::*;

    fn claims() -> SealedClaims {
        SealedClaims {
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session: Session {
                access_key_id: "ASIAIOSFODNN7EXAMPLE".into(),
                kind: SessionKind::Role,
                account_id: "123456789012".into(),
                principal_id: "AROADBQP57FF2AEXAMPLE".into(),
                name: "s".into(),
                issued: 1_700_000_000,
                expires: 1_700_003_600,
                mfa_auth_time: Some(1_700_000_000),
                source_identity: Some("alice".into()),
                tags: vec![("Team".into(), "blue".into())],
                transitive_tag_keys: vec!["Team".into()],
                policy: None,
                policy_arns: vec![],
            },
        }
    }

    #[test]
    fn seal_open_and_bind_to_the_access_key() {
        let ring = SessionKeyRing::new(&MasterKey::generate(1).unwrap());
        let token = ring.seal(&claims()).unwrap();
        assert!(!token.contains("wJalrXUt"));
        assert_eq!(ring.open(&token, "ASIAIOSFODNN7EXAMPLE").unwrap(), claims());
        assert_eq!(ring.open(&token, "ASIAOTHERKEY7EXAMPLE"), Err(InvalidToken));
        assert!(!format!("{:?}", claims()).contains("wJalrXUt"));
    }

    /// Seals as builds before token version 2 did: one flattened JSON object, v1 label.
    fn seal_v1(ring: &SessionKeyRing, claims: &SealedClaims) -> String {
        let key = &ring.keys[0];
        let plaintext = serde_json::to_vec(claims).unwrap();
        let nonce = [9u8; NONCE_LEN];
        let aad = aad(AAD_LABEL_V1, key.id, &claims.session.access_key_id);
        let ct = key
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .unwrap();
        let mut out = vec![TOKEN_V1];
        out.extend_from_slice(&key.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        data_encoding::BASE64.encode(&out)
    }

    #[test]
    fn version_1_tokens_still_open_and_versions_cannot_be_swapped() {
        let ring = SessionKeyRing::new(&MasterKey::generate(1).unwrap());
        let v1 = seal_v1(&ring, &claims());
        assert_eq!(ring.open(&v1, "ASIAIOSFODNN7EXAMPLE").unwrap(), claims());
        // The version byte is bound by the associated data: relabelling either way fails.
        for (token, to) in [(v1, TOKEN_V2), (ring.seal(&claims()).unwrap(), TOKEN_V1)] {
            let mut bytes = data_encoding::BASE64.decode(token.as_bytes()).unwrap();
            bytes[0] = to;
            let relabelled = data_encoding::BASE64.encode(&bytes);
            assert_eq!(
                ring.open(&relabelled, "ASIAIOSFODNN7EXAMPLE"),
                Err(InvalidToken)
            );
        }
    }

    #[test]
    fn rotation_keeps_live_sessions_readable() {
        let master = MasterKey::generate(1).unwrap();
        let gen0 = SessionKeyRing::new(&master).seal(&claims()).unwrap();
        let rotated = SessionKeyRing::generation(&master, 1);
        assert!(rotated.open(&gen0, "ASIAIOSFODNN7EXAMPLE").is_ok());
        let gen1 = rotated.seal(&claims()).unwrap();
        assert!(rotated.open(&gen1, "ASIAIOSFODNN7EXAMPLE").is_ok());
        assert!(
            SessionKeyRing::new(&master)
                .open(&gen1, "ASIAIOSFODNN7EXAMPLE")
                .is_err(),
            "a ring of an older generation refuses newer tokens"
        );
        let twice = SessionKeyRing::generation(&master, 2);
        assert!(twice.open(&gen1, "ASIAIOSFODNN7EXAMPLE").is_ok());
        assert!(
            twice.open(&gen0, "ASIAIOSFODNN7EXAMPLE").is_err(),
            "two rotations retire a generation"
        );
        let other = MasterKey::generate(1).unwrap();
        assert!(
            SessionKeyRing::generation(&other, 1)
                .open(&gen1, "ASIAIOSFODNN7EXAMPLE")
                .is_err(),
            "another master key with the same ID opens nothing"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Any single bit flip anywhere in a token makes it refused.
        #[test]
        fn a_token_cannot_be_altered(bit in 0usize..4096) {
            let ring = SessionKeyRing::new(&MasterKey::generate(7).unwrap());
            let token = ring.seal(&claims()).unwrap();
            let mut bytes = data_encoding::BASE64.decode(token.as_bytes()).unwrap();
            let bit = bit % (bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
            let altered = data_encoding::BASE64.encode(&bytes);
            prop_assert_eq!(ring.open(&altered, "ASIAIOSFODNN7EXAMPLE"), Err(InvalidToken));
        }

        /// A token forged without the sealing key (any bytes) is refused.
        #[test]
        fn a_token_cannot_be_forged(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let ring = SessionKeyRing::new(&MasterKey::generate(7).unwrap());
            let forged = data_encoding::BASE64.encode(&bytes);
            prop_assert_eq!(ring.open(&forged, "ASIAIOSFODNN7EXAMPLE"), Err(InvalidToken));
        }
    }
}
