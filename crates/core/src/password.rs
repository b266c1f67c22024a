//! Console passwords: the account password policy, argon2id hashing, generation.
//!
//! Hashing parameters: Argon2id, 32 MiB of memory, 3 passes, 1 lane (above OWASP's recommended
//! minimum of 19 MiB and 2 passes), chosen for about 50 ms per hash on the 2-core reference
//! machine (`cargo bench -p keyward-core --bench password`: 68 ms with the machine's load average
//! at 3; 19 MiB and 2 passes measured 15 ms).
//! The PHC string keeps the parameters, so raising them later still verifies old hashes.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::crypto::random_bytes;
use crate::error::{ApiError, StoreError};

/// Memory cost in KiB, passes and lanes of the argon2id hash.
pub const ARGON2_MEMORY_KIB: u32 = 32 * 1024;
pub const ARGON2_PASSES: u32 = 3;
pub const ARGON2_LANES: u32 = 1;

/// The symbols a password policy's `RequireSymbols` counts (IAM User Guide, "Setting an account
/// password policy for IAM users").
pub const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// An account password policy, as `UpdateAccountPasswordPolicy` sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_password_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    /// Days a password stays valid.
    pub max_password_age: Option<u32>,
    /// How many previous passwords may not be reused.
    pub password_reuse_prevention: Option<u32>,
    pub hard_expiry: bool,
}

impl Default for PasswordPolicy {
    /// What `UpdateAccountPasswordPolicy` sets for every parameter the request omits.
    fn default() -> Self {
        PasswordPolicy {
            minimum_password_length: 6,
            require_symbols: false,
            require_numbers: false,
            require_uppercase_characters: false,
            require_lowercase_characters: false,
            allow_users_to_change_password: false,
            max_password_age: None,
            password_reuse_prevention: None,
            hard_expiry: false,
        }
    }
}

/// The rules a password meets when the account has no custom policy: AWS's default password
/// policy (at least 8 characters, at least three of the four character classes, not the
/// account's name or e-mail address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules<'a> {
    Default,
    Custom(&'a PasswordPolicy),
}

fn is_symbol(c: char) -> bool {
    SYMBOLS.contains(c)
}

fn classes(password: &str) -> [bool; 4] {
    [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
}

/// `PasswordPolicyViolation` (400) with IAM's message.
pub fn violation() -> ApiError {
    ApiError::new(
        "PasswordPolicyViolation",
        400,
        "Password does not conform to the account password policy.",
    )
}

impl Rules<'_> {
    /// Whether `password` meets the rules; `account_name` is the account ID or alias, which the
    /// default policy forbids as a password.
    pub fn allows(&self, password: &str, account_name: &str) -> bool {
        let len = password.chars().count();
        match self {
            Rules::Default => {
                len >= 8
                    && classes(password).iter().filter(|c| **c).count() >= 3
                    && password != account_name
            }
            Rules::Custom(p) => {
                let [upper, lower, digit, _] = classes(password);
                len >= usize::try_from(p.minimum_password_length).unwrap_or(usize::MAX)
                    && (!p.require_uppercase_characters || upper)
                    && (!p.require_lowercase_characters || lower)
                    && (!p.require_numbers || digit)
                    && (!p.require_symbols || password.chars().any(is_symbol))
            }
        }
    }

    pub fn check(&self, password: &str, account_name: &str) -> Result<(), ApiError> {
        if self.allows(password, account_name) {
            Ok(())
        } else {
            Err(violation())
        }
    }

    /// A random password that meets the rules (for `keyward admin create-user --console-password generate`).
    pub fn generate(&self) -> Result<String, StoreError> {
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const DIGIT: &[u8] = b"23456789";
        let symbols = SYMBOLS.as_bytes();
        let min = match self {
            Rules::Default => 8,
            Rules::Custom(p) => usize::try_from(p.minimum_password_length).unwrap_or(128),
        };
        let len = min.max(20);
        let all: Vec<u8> = [UPPER, LOWER, DIGIT, symbols].concat();
        let mut rnd = vec![0u8; len * 2];
        random_bytes(&mut rnd)?;
        let pick = |set: &[u8], r: u8| {
            char::from(set.get(usize::from(r) % set.len()).copied().unwrap_or(b'x'))
        };
        // One of each class first, then the rest from every class, then shuffle.
        let mut chars: Vec<char> = vec![
            pick(UPPER, rnd.first().copied().unwrap_or(0)),
            pick(LOWER, rnd.get(1).copied().unwrap_or(0)),
            pick(DIGIT, rnd.get(2).copied().unwrap_or(0)),
            pick(symbols, rnd.get(3).copied().unwrap_or(0)),
        ];
        chars.extend(rnd.iter().skip(4).take(len - 4).map(|r| pick(&all, *r)));
        for i in (1..chars.len()).rev() {
            let j = usize::from(rnd.get(len + i % len).copied().unwrap_or(0)) % (i + 1);
            chars.swap(i, j);
        }
        Ok(chars.into_iter().collect())
    }
}

fn argon2() -> Result<Argon2<'static>, StoreError> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .map_err(|e| StoreError::new(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string of an argon2id hash of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::new(format!("hash password: {e}")))
}

/// Whether `password` matches the PHC string `hash` (argon2's comparison is constant-time).
pub fn verify_password(hash: &str, password: &str) -> bool {
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), hash).is_ok())
}

/// A hash that matches nothing, verified against when a sign-in names no user, so that a
/// missing user costs the same time as a wrong password.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=32768,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$2M1W7Mhfk0aIDX3PmT3u9X5bS1T5wIuhxeXyGjJq1Vg"
}

/// A password as received: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=32768,t=3,p=1$"));
        let decoy_params = decoy_hash().split('$').nth(3);
        assert_eq!(
            decoy_params,
            h.split('$').nth(3),
            "the decoy costs what a real hash costs"
        );
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsf"));
        assert!(!verify_password(decoy_hash(), "anything"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn default_rules() {
        assert!(Rules::Default.allows("Abcdefg1", "123456789012"));
        assert!(
            !Rules::Default.allows("abcdefg1", "123456789012"),
            "two classes"
        );
        assert!(!Rules::Default.allows("Abc1!", "123456789012"), "too short");
        assert!(!Rules::Default.allows("Acct-name1", "Acct-name1"));
    }

    /// A straightforward restatement of the policy's rules, the oracle for the property test.
    fn reference(p: &PasswordPolicy, pw: &str) -> bool {
        let mut ok = pw.chars().count() as u32 >= p.minimum_password_length;
        if p.require_uppercase_characters {
            ok &= pw.bytes().any(|b| b.is_ascii_uppercase());
        }
        if p.require_lowercase_characters {
            ok &= pw.bytes().any(|b| b.is_ascii_lowercase());
        }
        if p.require_numbers {
            ok &= pw.bytes().any(|b| b.is_ascii_digit());
        }
        if p.require_symbols {
            ok &= pw.chars().any(|c| "!@#$%^&*()_+-=[]{}|'".contains(c));
        }
        ok
    }

    fn policy() -> impl Strategy<Value = PasswordPolicy> {
        (6u32..=40, any::<[bool; 4]>()).prop_map(|(min, [s, n, u, l])| PasswordPolicy {
            minimum_password_length: min,
            require_symbols: s,
            require_numbers: n,
            require_uppercase_characters: u,
            require_lowercase_characters: l,
            ..PasswordPolicy::default()
        })
    }

    proptest! {
        #[test]
        fn custom_rules_match_the_reference(p in policy(), pw in "[ -~]{0,48}") {
            prop_assert_eq!(Rules::Custom(&p).allows(&pw, "123456789012"), reference(&p, &pw));
        }

        #[test]
        fn generated_passwords_meet_their_policy(p in policy()) {
            let pw = Rules::Custom(&p).generate().unwrap();
            prop_assert!(Rules::Custom(&p).allows(&pw, "123456789012"), "{}", pw);
            prop_assert!(Rules::Default.allows(&Rules::Default.generate().unwrap(), "123456789012"));
        }
    }
}
