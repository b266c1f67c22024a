//! Secrets and signatures as types (STYLE row 8): no `Display`, redacted `Debug`, zeroised on drop,
//! signatures compared in constant time only.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret access key. Its only way out is [`SecretKey::expose`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a secret access key.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for signing-key derivation and for storage.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(**redacted**)")
    }
}

/// The signature a request carries (hex, as sent). No `PartialEq`: compare with
/// [`Signature::matches`], which runs in constant time.
#[derive(Clone)]
pub struct Signature {
    hex: String,
    /// The 32 bytes the hex stands for, when it is 64 lowercase hex digits (the only form a
    /// computed signature can match): verification compares MACs without hex-encoding ours.
    bytes: Option<[u8; 32]>,
}

impl Signature {
    pub(crate) fn new(s: impl Into<String>) -> Self {
        let hex = s.into();
        let bytes = decode_lower_hex(hex.as_bytes());
        Self { hex, bytes }
    }

    /// Constant-time comparison with a computed hex signature.
    pub fn matches(&self, computed_hex: &str) -> bool {
        self.hex.as_bytes().ct_eq(computed_hex.as_bytes()).into()
    }

    /// Constant-time comparison with a computed MAC (same answer as [`Signature::matches`] on
    /// its lowercase hex).
    pub(crate) fn matches_mac(&self, mac: &[u8; 32]) -> bool {
        match &self.bytes {
            Some(b) => b.ct_eq(mac).into(),
            None => false,
        }
    }

    /// The signature as sent, e.g. for audit logs.
    pub fn as_str(&self) -> &str {
        &self.hex
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A signature is not a secret, but there is no reason to spray it into logs either.
        let shown: String = self.hex.chars().take(8).collect();
        write!(f, "Signature({shown}…)")
    }
}

/// 64 lowercase hex digits to 32 bytes; anything else is `None` (uppercase digits never match
/// the lowercase signature SigV4 defines).
fn decode_lower_hex(hex: &[u8]) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *o = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert_eq!(format!("{s:?}"), "SecretKey(**redacted**)");
        assert_eq!(
            s.clone().expose(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        );
    }

    #[test]
    fn signature_compares_exactly() {
        let sig = Signature::new("abcd");
        assert!(sig.matches("abcd"));
        assert!(!sig.matches("abce"));
        assert!(!sig.matches("abc"));
        assert!(!sig.matches("abcde"));
    }

    #[test]
    fn mac_comparison_agrees_with_hex_comparison() {
        let mac: [u8; 32] = std::array::from_fn(|i| u8::try_from(i * 7 + 3).unwrap());
        let lower = hex::encode(mac);
        assert!(Signature::new(lower.clone()).matches_mac(&mac));
        assert!(!Signature::new(lower.to_uppercase()).matches_mac(&mac));
        assert!(!Signature::new(&lower[..62]).matches_mac(&mac));
        let mut other = mac;
        other[31] ^= 1;
        assert!(!Signature::new(lower).matches_mac(&other));
        assert!(!Signature::new("zz".repeat(32)).matches_mac(&mac));
    }
}
