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
pub struct Signature(String);

impl Signature {
    pub(crate) fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// Constant-time comparison with a computed hex signature.
    pub fn matches(&self, computed_hex: &str) -> bool {
        self.0.as_bytes().ct_eq(computed_hex.as_bytes()).into()
    }

    /// The signature as sent, e.g. for audit logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A signature is not a secret, but there is no reason to spray it into logs either.
        let shown: String = self.0.chars().take(8).collect();
        write!(f, "Signature({shown}…)")
    }
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
}
