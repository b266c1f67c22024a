//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), the virtual MFA device's
//! `otpauth://` URI and its QR code.
//!
//! Pure functions: the caller passes the seed, the code and `now`. Codes are compared in constant
//! time; [`Seed`] and [`Code`] have redacted `Debug`, no `Display` and no `PartialEq`.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::random_bytes;
use crate::error::StoreError;

/// RFC 6238's time step X, as every authenticator app uses it.
pub const STEP_SECS: i64 = 30;
/// Digits of an IAM MFA code.
pub const DIGITS: u32 = 6;
/// Seed length in bytes: 40 bytes are the 64 base32 characters of AWS's `Base32StringSeed`.
pub const SEED_BYTES: usize = 40;

/// The HMAC of the HOTP computation. IAM's virtual devices use SHA-1; the others exist for the
/// RFC's test vectors and for tools that generate codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

fn hmac_of(alg: Algorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of every length, so this never fails.
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(msg);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    match alg {
        Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, msg),
        Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, msg),
        Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, msg),
    }
}

/// HOTP (RFC 4226 §5.3): HMAC of the big-endian counter, dynamic truncation, `digits` digits.
pub fn hotp(alg: Algorithm, key: &[u8], counter: u64, digits: u32) -> u32 {
    let h = hmac_of(alg, key, &counter.to_be_bytes());
    let offset = usize::from(h.last().copied().unwrap_or(0) & 0x0f);
    let word: [u8; 4] = h
        .get(offset..offset + 4)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 4]);
    let bin = u32::from_be_bytes(word) & 0x7fff_ffff;
    bin % 10u32.pow(digits)
}

/// The time step of `t` (RFC 6238 §4.2, T0 = 0).
pub fn step_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(STEP_SECS)
}

/// The code of `step` as text with leading zeros, e.g. `"045236"`.
pub fn code_text(alg: Algorithm, key: &[u8], step: i64, digits: u32) -> String {
    let n = hotp(alg, key, u64::try_from(step).unwrap_or(0), digits);
    format!("{n:0width$}", width = digits as usize)
}

/// A virtual MFA device's secret. Zeroised on drop; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Seed(Vec<u8>);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(**redacted**)")
    }
}

impl Seed {
    /// A fresh random seed of [`SEED_BYTES`] bytes.
    pub fn generate() -> Result<Self, StoreError> {
        let mut bytes = vec![0u8; SEED_BYTES];
        random_bytes(&mut bytes)?;
        Ok(Seed(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Seed(bytes)
    }

    /// The raw secret, for sealing and for code computation.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding, as authenticator apps take it.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0))
    }

    fn code(&self, step: i64) -> u32 {
        hotp(
            Algorithm::Sha1,
            &self.0,
            u64::try_from(step).unwrap_or(0),
            DIGITS,
        )
    }

    /// The code the device shows at `step` (for tests and tools; servers compare with [`Code`]).
    pub fn code_at(&self, step: i64) -> String {
        code_text(Algorithm::Sha1, &self.0, step, DIGITS)
    }
}

/// A six-digit code as the user typed it. No `PartialEq`: compare with [`Code::matches`].
pub struct Code(u32);

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(**redacted**)")
    }
}

impl Code {
    /// Exactly six ASCII digits, or `None`.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != DIGITS as usize || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().map(Code)
    }

    /// Constant-time comparison with an expected value.
    pub fn matches(&self, expected: u32) -> bool {
        self.0.ct_eq(&expected).into()
    }
}

/// A code as it arrived in a request, before validation. Redacted `Debug`; equality is
/// constant-time (requests are compared in tests, never codes against each other).
#[derive(Clone, Eq)]
pub struct CodeInput(String);

impl CodeInput {
    pub fn new(text: String) -> Self {
        CodeInput(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for CodeInput {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for CodeInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeInput(**redacted**)")
    }
}

impl Drop for CodeInput {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Verification settings (DESIGN.md: "the accepted window is ±1 step by default and configurable").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpConfig {
    /// Steps either side of the device's expected step that are accepted.
    pub window_steps: i64,
    /// Steps either side of now that `ResyncMFADevice` searches for two consecutive codes.
    pub resync_window_steps: i64,
    /// Steps either side of now searched to tell how far a refused code's device has drifted.
    pub drift_search_steps: i64,
    /// Failures of one device within `throttle_window_secs` that lock it.
    pub throttle_failures: usize,
    pub throttle_window_secs: i64,
    /// How long a locked device refuses every code.
    pub lockout_secs: i64,
}

impl Default for TotpConfig {
    fn default() -> Self {
        TotpConfig {
            window_steps: 1,
            resync_window_steps: 240,
            drift_search_steps: 20,
            throttle_failures: 5,
            throttle_window_secs: 60,
            lockout_secs: 60,
        }
    }
}

/// What a device's verifier knows besides its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceClock {
    /// How many steps the device runs ahead (positive) or behind the server clock.
    pub offset_steps: i64,
    /// The last step whose code was accepted; only later steps are accepted again.
    pub last_step: Option<i64>,
}

/// The outcome of checking one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The code of `step` is valid and was not used before.
    Accepted { step: i64 },
    /// The code is valid but its step was already used.
    Replay { step: i64 },
    /// No step in the window matches. `drift_secs`: where, relative to the server's clock, the
    /// code would have matched (within `drift_search_steps`), if anywhere.
    Wrong { drift_secs: Option<i64> },
}

/// Checks `code` at `now` against the window around the device's expected step.
pub fn check(
    seed: &Seed,
    code: &Code,
    now: OffsetDateTime,
    dev: DeviceClock,
    cfg: &TotpConfig,
) -> Check {
    let center = step_of(now) + dev.offset_steps;
    let mut accepted = None;
    let mut replayed = None;
    // Every step of the window is computed and compared, match or not.
    for step in (center - cfg.window_steps)..=(center + cfg.window_steps) {
        if code.matches(seed.code(step)) {
            if dev.last_step.is_some_and(|last| step <= last) {
                replayed.get_or_insert(step);
            } else {
                accepted.get_or_insert(step);
            }
        }
    }
    match (accepted, replayed) {
        (Some(step), _) => Check::Accepted { step },
        (None, Some(step)) => Check::Replay { step },
        (None, None) => Check::Wrong {
            drift_secs: drift_of(seed, code, now, cfg.drift_search_steps),
        },
    }
}

/// The offset in seconds from the server clock's step at which `code` matches, nearest first.
pub fn drift_of(seed: &Seed, code: &Code, now: OffsetDateTime, radius: i64) -> Option<i64> {
    let now_step = step_of(now);
    nearest_first(radius)
        .find(|d| code.matches(seed.code(now_step + d)))
        .map(|d| d * STEP_SECS)
}

/// `0, -1, 1, -2, 2, ...` up to `±radius`.
fn nearest_first(radius: i64) -> impl Iterator<Item = i64> {
    std::iter::once(0).chain((1..=radius).flat_map(|d| [-d, d]))
}

/// Finds the step `t` nearest to `center` within `±radius` such that `first` is the code of `t`
/// and `second` the code of `t + 1`; returns `t + 1` (the step of the second code).
pub fn find_pair(
    seed: &Seed,
    first: &Code,
    second: &Code,
    center: i64,
    radius: i64,
) -> Option<i64> {
    nearest_first(radius)
        .map(|d| center + d)
        .find(|second_step| {
            let a = first.matches(seed.code(second_step - 1));
            let b = second.matches(seed.code(*second_step));
            a & b
        })
}

/// `otpauth://totp/keyward:NAME@ACCOUNT?secret=...&issuer=keyward` (Google's Key Uri Format),
/// with the label percent-encoded.
pub fn otpauth_uri(device_name: &str, account: &str, seed: &Seed) -> Zeroizing<String> {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let label = format!("{device_name}@{account}");
    let label = utf8_percent_encode(&label, NON_ALPHANUMERIC).to_string();
    Zeroizing::new(format!(
        "otpauth://totp/keyward:{label}?secret={}&issuer=keyward",
        seed.to_base32().as_str()
    ))
}

/// Renders `text` as a QR code in a greyscale PNG (8 pixels per module, 4-module quiet zone).
pub fn qr_png(text: &str) -> Result<Vec<u8>, StoreError> {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| StoreError::new(format!("render QR code: {e}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let size = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![0xffu8; size * size];
    for (i, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            if let Some(row) = pixels.get_mut(y * size + mx * SCALE..y * size + (mx + 1) * SCALE) {
                row.fill(0);
            }
        }
    }
    let side = u32::try_from(size).map_err(|_| StoreError::new("render QR code: size"))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let png_err = |e: png::EncodingError| StoreError::new(format!("encode QR PNG: {e}"));
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(&pixels).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    pixels.zeroize();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6238 Appendix B: seeds are the ASCII strings "1234567890" repeated to 20, 32 and 64
    /// bytes; 8-digit codes at the listed Unix times.
    #[test]
    fn rfc6238_appendix_b() {
        let sha1 = b"12345678901234567890".to_vec();
        let sha256 = b"12345678901234567890123456789012".to_vec();
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234".to_vec();
        let cases: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, c1, c256, c512) in cases {
            let step = t / STEP_SECS;
            assert_eq!(code_text(Algorithm::Sha1, &sha1, step, 8), c1, "SHA1 {t}");
            assert_eq!(
                code_text(Algorithm::Sha256, &sha256, step, 8),
                c256,
                "SHA256 {t}"
            );
            assert_eq!(
                code_text(Algorithm::Sha512, &sha512, step, 8),
                c512,
                "SHA512 {t}"
            );
        }
    }

    /// RFC 4226 Appendix D: HOTP values of the same SHA-1 seed for counters 0..9.
    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(
                hotp(Algorithm::Sha1, b"12345678901234567890", counter as u64, 6),
                *want
            );
        }
    }

    #[test]
    fn codes_parse_only_six_digits_and_debug_is_redacted() {
        assert!(Code::parse("012345").is_some());
        for bad in ["12345", "1234567", "12a456", "", "-12345", "+12345"] {
            assert!(Code::parse(bad).is_none(), "{bad}");
        }
        let seed = Seed::from_bytes(b"12345678901234567890".to_vec());
        assert!(!format!("{seed:?}").contains("123"));
        assert!(!format!("{:?}", Code::parse("123456").unwrap()).contains("123"));
        assert_eq!(
            seed.to_base32().as_str(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn uri_and_qr() {
        let seed = Seed::from_bytes(b"12345678901234567890".to_vec());
        let uri = otpauth_uri("alice+phone", "123456789012", &seed);
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/keyward:alice%2Bphone%40123456789012?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=keyward"
        );
        let png = qr_png(&uri).unwrap();
        assert_eq!(png.get(..8).unwrap(), b"\x89PNG\r\n\x1a\n");
    }

    fn at(step: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(step * STEP_SECS + 7).unwrap()
    }

    fn code_of(seed: &Seed, step: i64) -> Code {
        Code::parse(&seed.code_at(step)).unwrap()
    }

    fn seed_strategy() -> impl Strategy<Value = Seed> {
        proptest::collection::vec(any::<u8>(), 20..41).prop_map(Seed::from_bytes)
    }

    proptest! {
        /// A code for step T is accepted within ±window of the device's step, refused outside
        /// (unless another step happens to share the code, which the test excludes).
        #[test]
        fn window(seed in seed_strategy(), t in 1_000_000i64..100_000_000, delta in -6i64..=6, offset in -20i64..=20) {
            let cfg = TotpConfig::default();
            let dev = DeviceClock { offset_steps: offset, last_step: None };
            let device_step = t + offset;
            let code_step = device_step + delta;
            let code = code_of(&seed, code_step);
            let result = check(&seed, &code, at(t), dev, &cfg);
            let collides = ((device_step - 1)..=(device_step + 1))
                .any(|s| s != code_step && seed.code_at(s) == seed.code_at(code_step));
            if delta.abs() <= cfg.window_steps {
                prop_assert_eq!(result, Check::Accepted { step: code_step });
            } else if !collides {
                prop_assert!(matches!(result, Check::Wrong { .. }), "{:?}", result);
            }
        }

        /// Once accepted, a code is never accepted again, at any later time in its window.
        #[test]
        fn never_twice(seed in seed_strategy(), t in 1_000_000i64..100_000_000, later in 0i64..=2) {
            let cfg = TotpConfig::default();
            let mut dev = DeviceClock::default();
            let code = code_of(&seed, t);
            // A later step inside the window may share the code (a 6-digit collision); its code
            // is then genuinely valid, so such inputs say nothing about replay.
            if ((t - 1)..=(t + 3)).any(|s| s != t && seed.code_at(s) == seed.code_at(t)) {
                return Ok(());
            }
            let Check::Accepted { step } = check(&seed, &code, at(t), dev, &cfg) else {
                panic!("fresh code refused");
            };
            dev.last_step = Some(step);
            let again = check(&seed, &code, at(t + later), dev, &cfg);
            prop_assert!(!matches!(again, Check::Accepted { .. }), "{:?}", again);
        }

        /// A device 5 minutes behind or ahead is refused, its drift is reported, and a resync with
        /// two consecutive codes restores acceptance of its next code.
        #[test]
        fn resync_restores(seed in seed_strategy(), t in 1_000_000i64..100_000_000, ahead in any::<bool>()) {
            let cfg = TotpConfig::default();
            let drift = if ahead { 10 } else { -10 };
            let mut dev = DeviceClock { offset_steps: 0, last_step: Some(t - 1) };
            let device_step = t + drift;
            let code = code_of(&seed, device_step);
            // The drift reported is the nearest step with the code; when another step within the
            // search range shares it (a 6-digit collision, about 4 in 100,000), that is the answer.
            let search = cfg.drift_search_steps;
            if ((t - search)..=(t + search)).any(|s| s != device_step && seed.code_at(s) == seed.code_at(device_step)) {
                return Ok(());
            }
            match check(&seed, &code, at(t), dev, &cfg) {
                Check::Wrong { drift_secs } => prop_assert_eq!(drift_secs, Some(drift * STEP_SECS)),
                // A random collision with a code inside the window: nothing to test.
                _ => return Ok(()),
            }
            let second = find_pair(
                &seed,
                &code_of(&seed, device_step),
                &code_of(&seed, device_step + 1),
                // The second code shows one step later: that is when the resync is sent.
                step_of(at(t + 1)),
                cfg.resync_window_steps,
            );
            prop_assert_eq!(second, Some(device_step + 1));
            dev = DeviceClock { offset_steps: device_step + 1 - (t + 1), last_step: Some(device_step + 1) };
            // Thirty seconds later the device shows its next code.
            let next = code_of(&seed, device_step + 2);
            prop_assert_eq!(check(&seed, &next, at(t + 2), dev, &cfg), Check::Accepted { step: device_step + 2 });
        }
    }
}
