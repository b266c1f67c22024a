//! Secrets at rest: AES-256-GCM under a master key, with the key's ID and the record's identity as
//! associated data so a sealed value cannot be moved to another record.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::StoreError;

/// Fills `buf` from the operating system's random number generator.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), StoreError> {
    getrandom::fill(buf).map_err(|e| StoreError::new(format!("read OS randomness: {e}")))
}

/// Format version of a sealed blob: `1 | key_id (4 bytes BE) | nonce (12) | ciphertext+tag`.
const SEALED_V1: u8 = 1;

/// The master key. Its `Debug` shows only the key ID.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    #[zeroize(skip)]
    id: u32,
    key: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("key", &"**redacted**")
            .finish()
    }
}

impl MasterKey {
    /// A fresh random key with the given ID.
    pub fn generate(id: u32) -> Result<Self, StoreError> {
        let mut key = [0u8; 32];
        random_bytes(&mut key)?;
        Ok(MasterKey { id, key })
    }

    /// The key file's text: `keyward-master-key v1 <id> <hex>`.
    pub fn to_file_text(&self) -> String {
        format!(
            "keyward-master-key v1 {} {}\n",
            self.id,
            hex::encode(self.key)
        )
    }

    pub fn from_file_text(text: &str) -> Result<Self, StoreError> {
        let bad = || {
            StoreError::corrupt("master key file is not in the form 'keyward-master-key v1 ID HEX'")
        };
        let mut parts = text.split_whitespace();
        if parts.next() != Some("keyward-master-key") || parts.next() != Some("v1") {
            return Err(bad());
        }
        let id = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(parts.next().ok_or_else(bad)?, &mut key).map_err(|_| bad())?;
        Ok(MasterKey { id, key })
    }

    fn cipher(&self) -> Result<Aes256Gcm, StoreError> {
        Aes256Gcm::new_from_slice(&self.key).map_err(|_| StoreError::new("master key length"))
    }

    fn aad(&self, context: &str) -> Vec<u8> {
        let mut aad = self.id.to_be_bytes().to_vec();
        aad.extend_from_slice(context.as_bytes());
        aad
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the access key ID it belongs to).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; 12];
        random_bytes(&mut nonce)?;
        let aad = self.aad(context);
        let ct = self
            .cipher()?
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::new("seal secret"))?;
        let mut out = Vec::with_capacity(1 + 4 + 12 + ct.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a blob made by [`MasterKey::seal`] with the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, StoreError> {
        let bad = || StoreError::corrupt(format!("open sealed secret for {context}"));
        let (version, rest) = sealed.split_first().ok_or_else(bad)?;
        if *version != SEALED_V1 || rest.len() < 4 + 12 + 16 {
            return Err(bad());
        }
        let (id, rest) = rest.split_at(4);
        if id != self.id.to_be_bytes() {
            return Err(StoreError::corrupt(format!(
                "secret for {context} is sealed under another master key"
            )));
        }
        let (nonce, ct) = rest.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| bad())?;
        let aad = self.aad(context);
        self.cipher()?
            .decrypt(&nonce.into(), Payload { msg: ct, aad: &aad })
            .map_err(|_| bad())
    }
}

impl MasterKey {
    pub fn id(&self) -> u32 {
        self.id
    }

    /// A 32-byte key for another purpose, derived as HMAC-SHA256(master key, `label`), so the
    /// master key itself never leaves this type.
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, KeyInit, Mac};
        let mut out = [0u8; 32];
        if let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.key) {
            mac.update(label);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let k = MasterKey::generate(1).unwrap();
        let sealed = k
            .seal(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAEXAMPLE")
            .unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"wJalrXUt"));
        assert_eq!(
            k.open(&sealed, "AKIAEXAMPLE").unwrap(),
            b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        assert!(k.open(&sealed, "AKIAOTHER").is_err());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(k.open(&flipped, "AKIAEXAMPLE").is_err());
        // A secret that does not open is corrupt data, and its error shows no secret.
        let other_key = MasterKey::generate(2).unwrap();
        for e in [
            k.open(&sealed, "AKIAOTHER").unwrap_err(),
            k.open(&flipped, "AKIAEXAMPLE").unwrap_err(),
            k.open(&[], "AKIAEXAMPLE").unwrap_err(),
            other_key.open(&sealed, "AKIAEXAMPLE").unwrap_err(),
        ] {
            assert_eq!(e.kind(), crate::error::StoreErrorKind::Corrupt, "{e}");
            assert!(!format!("{e} {e:?}").contains("wJalr"), "{e:?}");
        }
        assert_eq!(
            MasterKey::from_file_text("keyward-master-key v1 1 zz")
                .unwrap_err()
                .kind(),
            crate::error::StoreErrorKind::Corrupt
        );
        let k2 = MasterKey::from_file_text(&k.to_file_text()).unwrap();
        assert_eq!(k2.open(&sealed, "AKIAEXAMPLE").unwrap().len(), 40);
        assert!(!format!("{k:?}").contains(&hex::encode(k.key)));
    }
}
