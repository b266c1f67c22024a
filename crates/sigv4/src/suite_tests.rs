//! Known-answer tests over AWS's official SigV4 test suite (STYLE row 10).
//!
//! Source: the `aws-signing-test-suite/v4` folder shipped inside the `aws-sigv4` crate
//! (smithy-lang/smithy-rs `aws/rust-runtime/aws-sigv4/aws-signing-test-suite`, itself AWS's
//! "Signature Version 4 test suite" as maintained in awslabs/aws-c-auth). It is located at test
//! time through `cargo metadata`, so it always matches the `aws-sigv4` in Cargo.lock.
//!
//! Two upstream quirks, handled as aws-sigv4's own tests handle them:
//! - `double-encode-path` and `double-url-encode` have no `context.json`: credentials come from
//!   aws-credential-types `Credentials::for_tests()` (`ANOTREAL`) or the suite's `AKIDEXAMPLE`,
//!   region/service/date from the signed request; each file is checked at the date written in it
//!   (`double-encode-path`'s canonical request was generated at 20210511T154045Z, its signed
//!   request at 20150830T123600Z — aws-sigv4 `canonical_request.rs` `test_double_url_encode_path`
//!   and `sign.rs` `test_sign_url_escape`).
//! - `get-space-normalized` expects single encoding of `%20` (aws-sigv4 `sign.rs` ignores it:
//!   "relies on single encode of path segments ... skipped until we add control over
//!   double_uri_encode in context.json"); we run it with single encoding instead of skipping.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::canonical::UriMode;
use crate::sign::{SignOptions, SigningParams, presign_with, sign_headers_with};
use crate::verify::verify_with_mode;
use crate::{AuthLocation, RequestParts, SecretKey, SigningKeyCache, check_time, parse};

const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// aws-credential-types `Credentials::for_tests()`.
const NOTREAL_SECRET: &str = "notrealrnrELgWzOk3IfjzDKtFBhDby";
const SINGLE_ENCODE_CASES: &[&str] = &["get-space-normalized"];
const EXPECTED_CASES: usize = 40;

/// The suite folder inside the `aws-sigv4` package this workspace resolved.
pub(crate) fn suite_dir() -> PathBuf {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let manifest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "aws-sigv4")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("aws-sigv4 in cargo metadata");
    Path::new(manifest)
        .parent()
        .expect("package dir")
        .join("aws-signing-test-suite/v4")
}

#[derive(Debug)]
pub(crate) struct Http {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Http {
    pub(crate) fn with<R>(&self, f: impl FnOnce(&RequestParts<'_>) -> R) -> R {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        f(&RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        })
    }
}

/// Parses the suite's request files: request line (the target may hold raw spaces), headers
/// (`Name:value`, continuation lines are obs-fold and become one space), blank line, body.
pub(crate) fn parse_http(text: &str) -> Http {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b),
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    // double-url-encode's signed request has no HTTP version.
    let target = match rest.rsplit_once(' ') {
        Some((t, v)) if v.starts_with("HTTP/") => t,
        _ => rest,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("continuation after a header");
            last.1.push(' ');
            last.1.push_str(line);
        } else {
            let (n, v) = line.split_once(':').expect("header colon");
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
    }
    Http {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

/// A known-answer file's text; some upstream files end with a newline, most do not.
fn answer(dir: &Path, file: &str) -> Option<String> {
    read(dir, file).map(|s| s.strip_suffix('\n').map(str::to_owned).unwrap_or(s))
}

fn amz_time(raw: &str) -> OffsetDateTime {
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &raw[0..4],
        &raw[4..6],
        &raw[6..8],
        &raw[9..11],
        &raw[11..13],
        &raw[13..15]
    );
    OffsetDateTime::parse(&rfc, &Rfc3339).unwrap()
}

struct Context {
    access_key_id: String,
    secret: SecretKey,
    token: Option<String>,
    region: String,
    service: String,
    /// Signing time for the header files and for the query files.
    header_time: OffsetDateTime,
    canonical_time: OffsetDateTime,
    expires: u64,
    normalize: bool,
    sign_body: bool,
    omit_session_token: bool,
}

fn context(dir: &Path, signed_header_req: &Http) -> Context {
    if let Some(json) = read(dir, "context.json") {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let t = OffsetDateTime::parse(v["timestamp"].as_str().unwrap(), &Rfc3339).unwrap();
        return Context {
            access_key_id: v["credentials"]["access_key_id"]
                .as_str()
                .unwrap()
                .to_owned(),
            secret: SecretKey::new(v["credentials"]["secret_access_key"].as_str().unwrap()),
            token: v["credentials"]["token"].as_str().map(str::to_owned),
            region: v["region"].as_str().unwrap().to_owned(),
            service: v["service"].as_str().unwrap().to_owned(),
            header_time: t,
            canonical_time: t,
            expires: v["expiration_in_seconds"].as_u64().unwrap(),
            normalize: v["normalize"].as_bool().unwrap(),
            sign_body: v["sign_body"].as_bool().unwrap(),
            omit_session_token: v["omit_session_token"].as_bool().unwrap_or(false),
        };
    }
    // No context.json: take identity, scope and date from the signed request itself.
    let parsed = signed_header_req
        .with(parse)
        .unwrap()
        .expect("signed request carries SigV4");
    let secret = match parsed.access_key_id.as_str() {
        "ANOTREAL" => NOTREAL_SECRET,
        _ => EXAMPLE_SECRET,
    };
    let creq = answer(dir, "header-canonical-request.txt").unwrap();
    let creq_date = creq
        .lines()
        .find_map(|l| l.strip_prefix("x-amz-date:"))
        .expect("x-amz-date in canonical request");
    Context {
        access_key_id: parsed.access_key_id.clone(),
        secret: SecretKey::new(secret),
        token: None,
        region: parsed.scope.region.clone(),
        service: parsed.scope.service.clone(),
        header_time: parsed.amz_date,
        canonical_time: amz_time(creq_date),
        expires: 3600,
        normalize: true,
        sign_body: false,
        omit_session_token: false,
    }
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    header_canonical: usize,
    header_verified: usize,
    query_canonical: usize,
    query_verified: usize,
}

fn run_case(name: &str, dir: &Path, tally: &mut Tally) {
    let req = parse_http(&read(dir, "request.txt").expect("request.txt"));
    let signed_req =
        parse_http(&read(dir, "header-signed-request.txt").expect("header-signed-request.txt"));
    let ctx = context(dir, &signed_req);
    let opts = SignOptions {
        mode: UriMode {
            normalize: ctx.normalize,
            double_encode: !SINGLE_ENCODE_CASES.contains(&name),
        },
        sign_body: ctx.sign_body,
        omit_session_token: ctx.omit_session_token,
    };
    let params_at = |time| SigningParams {
        access_key_id: &ctx.access_key_id,
        secret: &ctx.secret,
        security_token: ctx.token.as_deref(),
        region: &ctx.region,
        service: &ctx.service,
        time,
    };
    let cache = SigningKeyCache::new(16);

    // Header signing: canonical request and string to sign at the canonical file's date.
    let signed = req.with(|r| sign_headers_with(r, &params_at(ctx.canonical_time), opts));
    let expected_creq = answer(dir, "header-canonical-request.txt").unwrap();
    assert_eq!(
        signed.canonical_request, expected_creq,
        "{name}: header canonical request"
    );
    if let Some(sts) = answer(dir, "header-string-to-sign.txt") {
        assert_eq!(signed.string_to_sign, sts, "{name}: header string to sign");
    }
    if let Some(sig) = answer(dir, "header-signature.txt") {
        assert_eq!(signed.signature, sig.trim(), "{name}: header signature");
    }
    tally.header_canonical += 1;

    // Our signature at the signed request's date equals the one in the signed request.
    let ours = req.with(|r| sign_headers_with(r, &params_at(ctx.header_time), opts));
    // Verify the signed request as the server would receive it.
    signed_req.with(|r| {
        let parsed = parse(r).unwrap().expect("signed");
        assert_eq!(parsed.location, AuthLocation::Header);
        assert!(
            parsed.signature().matches(&ours.signature),
            "{name}: header signature vs signed request"
        );
        check_time(&parsed, ctx.header_time).unwrap();
        verify_with_mode(r, &parsed, &ctx.secret, &cache, opts.mode)
            .unwrap_or_else(|e| panic!("{name}: header verify: {e}"));
        if opts.mode.normalize && opts.mode.double_encode {
            crate::verify(r, &parsed, &ctx.secret, &cache).unwrap();
        }
        // The same request with a wrong secret fails.
        let wrong = SecretKey::new("wrong");
        assert!(verify_with_mode(r, &parsed, &wrong, &cache, opts.mode).is_err());
    });
    tally.header_verified += 1;

    // Presigned variant.
    if let Some(expected_creq) = answer(dir, "query-canonical-request.txt") {
        let presigned =
            req.with(|r| presign_with(r, &params_at(ctx.canonical_time), ctx.expires, opts));
        assert_eq!(
            presigned.canonical_request, expected_creq,
            "{name}: query canonical request"
        );
        if let Some(sts) = answer(dir, "query-string-to-sign.txt") {
            assert_eq!(
                presigned.string_to_sign, sts,
                "{name}: query string to sign"
            );
        }
        if let Some(sig) = answer(dir, "query-signature.txt") {
            assert_eq!(presigned.signature, sig.trim(), "{name}: query signature");
        }
        tally.query_canonical += 1;

        let mut signed_req = parse_http(&read(dir, "query-signed-request.txt").unwrap());
        if ctx.omit_session_token {
            // The token was added after signing (services such as IoT accept that); our server
            // signs it, so verify the request as signed.
            signed_req.query = signed_req
                .query
                .split('&')
                .filter(|p| !p.starts_with("X-Amz-Security-Token="))
                .collect::<Vec<_>>()
                .join("&");
        }
        signed_req.with(|r| {
            let parsed = parse(r).unwrap().expect("presigned");
            assert_eq!(
                parsed.location,
                AuthLocation::Query {
                    expires_secs: ctx.expires
                }
            );
            assert!(
                parsed.signature().matches(&presigned.signature),
                "{name}: query signature vs signed request"
            );
            check_time(&parsed, ctx.header_time).unwrap();
            verify_with_mode(r, &parsed, &ctx.secret, &cache, opts.mode)
                .unwrap_or_else(|e| panic!("{name}: query verify: {e}"));
        });
        tally.query_verified += 1;
    }
    tally.cases += 1;
}

#[test]
fn aws_sigv4_test_suite() {
    let root = suite_dir();
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("read {}: {e}", root.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut tally = Tally::default();
    for name in &names {
        run_case(name, &root.join(name), &mut tally);
    }
    assert_eq!(tally.cases, EXPECTED_CASES, "{tally:?}");
    assert_eq!(tally.header_canonical, EXPECTED_CASES, "{tally:?}");
    assert_eq!(tally.header_verified, EXPECTED_CASES, "{tally:?}");
    // double-encode-path and double-url-encode ship no presigned files.
    assert_eq!(tally.query_canonical, EXPECTED_CASES - 2, "{tally:?}");
    assert_eq!(tally.query_verified, EXPECTED_CASES - 2, "{tally:?}");
}
