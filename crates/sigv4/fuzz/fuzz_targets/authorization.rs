//! Fuzzes the Authorization-header and presigned-query parser: `parse` (and, when it accepts,
//! `check_time` and `verify`) must never panic.
//!
//! Run: `cargo +nightly fuzz run authorization` (or `RUSTC_BOOTSTRAP=1 cargo fuzz run
//! authorization` on stable) from `crates/sigv4`.
#![no_main]

use keyward_sigv4::{RequestParts, SecretKey, SigningKeyCache, check_time, parse, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Split the input into the Authorization header, X-Amz-Date, query and path, so one corpus
    // exercises both the header and the presigned form.
    let mut parts = text.splitn(4, '\n');
    let auth = parts.next().unwrap_or_default();
    let date = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or("/");
    let headers = [
        ("Host", "sts.amazonaws.com"),
        ("Authorization", auth),
        ("X-Amz-Date", date),
    ];
    let with_header = RequestParts {
        method: "POST",
        path,
        query: "",
        headers: &headers,
        body: data,
    };
    let presigned = RequestParts {
        method: "GET",
        path,
        query,
        headers: &headers[..1],
        body: b"",
    };
    let cache = SigningKeyCache::new(4);
    let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    for req in [with_header, presigned] {
        if let Ok(Some(parsed)) = parse(&req) {
            let _ = check_time(&parsed, time::OffsetDateTime::UNIX_EPOCH);
            let _ = verify(&req, &parsed, &secret, &cache);
        }
    }
});
