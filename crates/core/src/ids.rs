//! Identifiers shaped like AWS's: 12-digit account IDs, 21-character unique IDs with AWS's
//! prefixes, 20-character access key IDs and 40-character secret access keys.

use crate::crypto::random_bytes;
use crate::error::StoreError;

/// The alphabet of AWS unique IDs and access key IDs (upper-case base32: A–Z, 2–7).
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The alphabet of secret access keys.
const SECRET_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// What an ID names; the prefix is AWS's.
#[derive(Debug, Clone, Copy)]
pub enum IdKind {
    User,
    Role,
    Group,
    Policy,
    LongTermKey,
    TemporaryKey,
}

impl IdKind {
    fn prefix(self) -> &'static str {
        match self {
            IdKind::User => "AIDA",
            IdKind::Role => "AROA",
            IdKind::Group => "AGPA",
            IdKind::Policy => "ANPA",
            IdKind::LongTermKey => "AKIA",
            IdKind::TemporaryKey => "ASIA",
        }
    }

    /// Total length: unique IDs are 21 characters, access key IDs 20.
    fn len(self) -> usize {
        match self {
            IdKind::LongTermKey | IdKind::TemporaryKey => 20,
            _ => 21,
        }
    }
}

fn random_from(alphabet: &[u8], n: usize) -> Result<String, StoreError> {
    let mut bytes = vec![0u8; n];
    random_bytes(&mut bytes)?;
    // Both alphabets have a power-of-two size, so masking keeps the choice uniform.
    let mask = alphabet.len() - 1;
    Ok(bytes
        .iter()
        .map(|b| {
            char::from(
                alphabet
                    .get(usize::from(*b) & mask)
                    .copied()
                    .unwrap_or(b'A'),
            )
        })
        .collect())
}

/// A fresh ID of the given kind, e.g. `AIDA` + 17 characters.
pub fn new_id(kind: IdKind) -> Result<String, StoreError> {
    let prefix = kind.prefix();
    Ok(format!(
        "{prefix}{}",
        random_from(ID_ALPHABET, kind.len() - prefix.len())?
    ))
}

/// A fresh 40-character secret access key.
pub fn new_secret_access_key() -> Result<String, StoreError> {
    random_from(SECRET_ALPHABET, 40)
}

/// A random 12-digit account ID that does not start with 0.
pub fn new_account_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 12];
    random_bytes(&mut bytes)?;
    Ok(bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let digit = if i == 0 { 1 + b % 9 } else { b % 10 };
            char::from(b'0' + digit)
        })
        .collect())
}

/// IDs taken from one refill of a thread's pool.
const ID_POOL_IDS: usize = 64;

/// 16 random bytes for an identifier that is not a secret (request and event IDs): taken from a
/// per-thread pool that the OS RNG refills 64 IDs at a time, so a request's IDs cost no system
/// call. If the OS RNG fails, the clock stands in (such IDs only need to be unique enough).
fn id_bytes() -> [u8; 16] {
    use std::cell::RefCell;
    thread_local! {
        static POOL: RefCell<(usize, [u8; 16 * ID_POOL_IDS])> =
            const { RefCell::new((ID_POOL_IDS, [0; 16 * ID_POOL_IDS])) };
    }
    let from_pool = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (next, bytes) = &mut *pool;
        if *next >= ID_POOL_IDS {
            random_bytes(bytes).ok()?;
            *next = 0;
        }
        let start = *next * 16;
        let id: [u8; 16] = bytes.get(start..start + 16)?.try_into().ok()?;
        *next += 1;
        Some(id)
    });
    from_pool.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            .to_le_bytes()
    })
}

/// A request ID in the UUID form AWS uses (`x-amzn-RequestId`).
pub fn new_request_id() -> String {
    let mut b = id_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// 16 bytes in the UUID text form (`8-4-4-4-12` lower-case hex digits), written in one pass.
fn uuid_text(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// `true` for a syntactically valid 12-digit account ID.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A CloudTrail event ID: a UUID version 7 (RFC 9562: 48-bit Unix milliseconds, then random bits),
/// so IDs of later records sort later and their index grows at its right edge.
pub fn new_event_id(now: time::OffsetDateTime) -> String {
    let mut b = id_bytes();
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    for (i, byte) in millis.to_be_bytes().iter().skip(2).enumerate() {
        if let Some(slot) = b.get_mut(i) {
            *slot = *byte;
        }
    }
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// The millisecond a time-ordered event ID (from [`new_event_id`]) was made in: its first 48
/// bits. `None` for anything else (another UUID version, not a UUID).
pub fn event_id_millis(id: &str) -> Option<i64> {
    let b = id.as_bytes();
    let canonical = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if !canonical || b.get(14) != Some(&b'7') {
        return None;
    }
    let high = i64::from_str_radix(id.get(0..8)?, 16).ok()?;
    let low = i64::from_str_radix(id.get(9..13)?, 16).ok()?;
    Some((high << 16) | low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let u = new_id(IdKind::User).unwrap();
        assert_eq!(u.len(), 21);
        assert!(u.starts_with("AIDA"));
        let k = new_id(IdKind::LongTermKey).unwrap();
        assert_eq!(k.len(), 20);
        assert!(k.starts_with("AKIA"));
        assert!(k.bytes().all(|b| ID_ALPHABET.contains(&b)));
        let s = new_secret_access_key().unwrap();
        assert_eq!(s.len(), 40);
        let a = new_account_id().unwrap();
        assert!(is_account_id(&a) && !a.starts_with('0'));
        let r = new_request_id();
        assert_eq!(r.len(), 36);
        assert_eq!(r.as_bytes()[14], b'4');
    }

    #[test]
    fn pooled_ids_never_repeat_across_refills_and_threads() {
        use std::collections::HashSet;
        let per_thread = ID_POOL_IDS * 5 + 3;
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || (0..per_thread).map(|_| id_bytes()).collect::<Vec<_>>())
            })
            .collect();
        let mut seen = HashSet::new();
        for h in handles {
            for id in h.join().unwrap() {
                assert!(seen.insert(id), "an ID repeated");
            }
        }
        assert_eq!(seen.len(), 4 * per_thread);
        let t = time::macros::datetime!(2026-11-25 10:00:00 UTC);
        let (a, b) = (
            new_event_id(t),
            new_event_id(t + time::Duration::milliseconds(1)),
        );
        assert_eq!(a.as_bytes()[14], b'7');
        assert!(a < b, "event IDs sort by time");
    }

    #[test]
    fn uuid_text_is_the_canonical_form() {
        let b: [u8; 16] = std::array::from_fn(|i| u8::try_from(i * 17).unwrap());
        assert_eq!(uuid_text(&b), "00112233-4455-6677-8899-aabbccddeeff");
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn an_event_id_tells_its_millisecond() {
        let t = time::macros::datetime!(2026-11-25 10:00:00.123 UTC);
        let millis = crate::clock::to_millis(t);
        assert_eq!(event_id_millis(&new_event_id(t)), Some(millis));
        assert_eq!(
            event_id_millis(&new_event_id(t + time::Duration::milliseconds(1))),
            Some(millis + 1)
        );
        // A random (version 4) UUID, a truncated ID and other text tell nothing.
        assert_eq!(
            event_id_millis("3f1c2a4e-8d2b-4c1e-9a7b-2f6d8e0c1b3a"),
            None
        );
        assert_eq!(event_id_millis(&new_event_id(t)[..35]), None);
        assert_eq!(
            event_id_millis("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4g5h"),
            None
        );
        assert_eq!(event_id_millis(""), None);
    }
}
