//! Property tests: sign/verify round trips, mutations never verify, `parse` never panics.

use proptest::prelude::*;
use time::OffsetDateTime;

use crate::*;

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    time: OffsetDateTime,
}

fn arb_req() -> impl Strategy<Value = Req> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "HEAD"]),
        prop::collection::vec("[a-zA-Z0-9._~%:@!$-]{0,8}", 0..4),
        prop::collection::vec(
            ("[a-z][a-zA-Z0-9._~-]{0,5}", "[a-zA-Z0-9%+ ~._/:=-]{0,8}"),
            0..4,
        ),
        prop::collection::vec(("x-[a-z]{1,6}", "[ -~]{0,12}"), 0..4),
        prop::collection::vec(any::<u8>(), 0..64),
        0i64..4_000_000_000,
    )
        .prop_map(|(method, segs, query, mut headers, body, secs)| {
            headers.insert(0, ("Host".to_owned(), "sts.example.com".to_owned()));
            Req {
                method: method.to_owned(),
                path: format!("/{}", segs.join("/")),
                query: query
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.replace(['&', '='], "")))
                    .collect::<Vec<_>>()
                    .join("&"),
                headers,
                body,
                time: OffsetDateTime::from_unix_timestamp(secs).unwrap(),
            }
        })
}

fn with<R>(r: &Req, extra: &[(String, String)], f: impl FnOnce(&RequestParts<'_>) -> R) -> R {
    let headers: Vec<(&str, &str)> = r
        .headers
        .iter()
        .chain(extra)
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    f(&RequestParts {
        method: &r.method,
        path: &r.path,
        query: &r.query,
        headers: &headers,
        body: &r.body,
    })
}

fn accepted(
    r: &Req,
    extra: &[(String, String)],
    secret: &SecretKey,
    cache: &SigningKeyCache,
) -> bool {
    with(r, extra, |req| match parse(req) {
        Ok(Some(p)) => check_time(&p, r.time).is_ok() && verify(req, &p, secret, cache).is_ok(),
        _ => false,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn header_sign_verify_round_trip_and_mutations(r in arb_req(), token in proptest::option::of("[A-Za-z0-9+/=]{1,40}"), flip in 0usize..64) {
        let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let params = SigningParams { access_key_id: "AKIDEXAMPLE", secret: &secret, security_token: token.as_deref(), region: "us-east-1", service: "sts", time: r.time };
        let added = with(&r, &[], |req| sign_headers(req, &params));
        let cache = SigningKeyCache::new(8);
        prop_assert!(accepted(&r, &added, &secret, &cache));
        // Again, from the cache.
        prop_assert!(accepted(&r, &added, &secret, &cache));
        prop_assert!(!accepted(&r, &added, &SecretKey::new("another"), &cache));

        // Signature: one hex digit changed.
        let mut bad = added.clone();
        let auth = bad.iter_mut().find(|(n, _)| n == "authorization").unwrap();
        let at = auth.1.len() - 64 + flip;
        let c = auth.1.as_bytes()[at];
        let repl = if c == b'0' { "1" } else { "0" };
        auth.1.replace_range(at..=at, repl);
        prop_assert!(!accepted(&r, &bad, &secret, &cache));

        // Date: one second later (still within the skew window).
        let mut bad = added.clone();
        let d = bad.iter_mut().find(|(n, _)| n == "x-amz-date").unwrap();
        d.1 = crate::parse::format_basic(r.time + time::Duration::seconds(1));
        prop_assert!(!accepted(&r, &bad, &secret, &cache));

        // A signed header value.
        let mut m = r.clone();
        let last = m.headers.len() - 1;
        m.headers[last].1.push('z');
        prop_assert!(!accepted(&m, &added, &secret, &cache));

        // The body.
        let mut m = r.clone();
        m.body.push(b'!');
        prop_assert!(!accepted(&m, &added, &secret, &cache));

        // The query.
        let mut m = r.clone();
        m.query = if m.query.is_empty() { "zz=1".into() } else { format!("{}&zz=1", m.query) };
        prop_assert!(!accepted(&m, &added, &secret, &cache));

        // The method.
        let mut m = r.clone();
        m.method.push('X');
        prop_assert!(!accepted(&m, &added, &secret, &cache));
    }

    #[test]
    fn presign_verify_round_trip_and_mutations(r in arb_req(), token in proptest::option::of("[A-Za-z0-9+/=]{1,40}"), expires in 1u64..604_800) {
        let secret = SecretKey::new("secret/with+chars=");
        let params = SigningParams { access_key_id: "ASIAEXAMPLE", secret: &secret, security_token: token.as_deref(), region: "eu-west-1", service: "sts", time: r.time };
        let query = with(&r, &[], |req| presign_query(req, &params, expires));
        let signed = Req { query: query.clone(), ..r.clone() };
        let cache = SigningKeyCache::new(8);
        prop_assert!(accepted(&signed, &[], &secret, &cache));
        let parsed = with(&signed, &[], parse).unwrap().unwrap();
        prop_assert_eq!(parsed.location, AuthLocation::Query { expires_secs: expires });
        prop_assert_eq!(parsed.security_token.as_deref(), token.as_deref());
        prop_assert!(check_time(&parsed, r.time + time::Duration::seconds(expires as i64)).is_ok());
        prop_assert!(check_time(&parsed, r.time + time::Duration::seconds(expires as i64 + 1)).is_err());

        let mut m = signed.clone();
        m.body.push(b'!');
        prop_assert!(!accepted(&m, &[], &secret, &cache));
        let mut m = signed.clone();
        m.query = m.query.replacen("X-Amz-Expires=", "X-Amz-Expires=1", 1);
        prop_assert!(!accepted(&m, &[], &secret, &cache));
        let mut m = signed.clone();
        m.headers[0].1.push('z');
        prop_assert!(!accepted(&m, &[], &secret, &cache));
        let mut m = signed.clone();
        m.query = format!("a=b&{}", m.query);
        prop_assert!(!accepted(&m, &[], &secret, &cache));
    }

    #[test]
    fn parse_never_panics(auth in proptest::option::of(".*"), date in proptest::option::of(".*"), query in ".*", path in ".*", token in proptest::option::of(".*")) {
        let mut headers: Vec<(&str, &str)> = vec![("host", "h")];
        if let Some(a) = &auth { headers.push(("Authorization", a)); }
        if let Some(d) = &date { headers.push(("X-Amz-Date", d)); }
        if let Some(t) = &token { headers.push(("x-amz-security-token", t)); }
        let req = RequestParts { method: "POST", path: &path, query: &query, headers: &headers, body: b"" };
        if let Ok(Some(p)) = parse(&req) {
            let _ = check_time(&p, OffsetDateTime::UNIX_EPOCH);
            let _ = check_scope(&p, |_| true, "sts");
            let _ = verify(&req, &p, &SecretKey::new("s"), &SigningKeyCache::new(1));
        }
    }

    #[test]
    fn parse_never_panics_on_structured_garbage(
        cred in "[A-Za-z0-9/_ -]{0,60}",
        signed in "[a-zA-Z;:-]{0,30}",
        sig in "[0-9a-fA-F]{0,70}",
        date in "[0-9TZ:, a-zA-Z]{0,32}",
        presign in any::<bool>(),
    ) {
        let auth = format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature={sig}");
        let query = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={cred}&X-Amz-Date={date}&X-Amz-SignedHeaders={signed}&X-Amz-Signature={sig}&X-Amz-Expires={sig}");
        let headers: Vec<(&str, &str)> = if presign { vec![("host", "h")] } else { vec![("host", "h"), ("authorization", &auth), ("x-amz-date", &date)] };
        let req = RequestParts { method: "GET", path: "/", query: if presign { &query } else { "" }, headers: &headers, body: b"" };
        if let Ok(Some(p)) = parse(&req) {
            let _ = check_time(&p, OffsetDateTime::UNIX_EPOCH);
            let _ = verify(&req, &p, &SecretKey::new("s"), &SigningKeyCache::new(0));
        }
    }
}

#[test]
fn cache_is_bounded_and_checks_the_secret() {
    let cache = SigningKeyCache::new(2);
    let secret = SecretKey::new("s1");
    for (i, region) in ["r1", "r2", "r3"].iter().enumerate() {
        let r = Req {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![("host".into(), "h".into())],
            body: vec![],
            time: OffsetDateTime::from_unix_timestamp(1_440_938_160 + i as i64).unwrap(),
        };
        let params = SigningParams {
            access_key_id: "AKID",
            secret: &secret,
            security_token: None,
            region,
            service: "sts",
            time: r.time,
        };
        let added = with(&r, &[], |req| sign_headers(req, &params));
        assert!(accepted(&r, &added, &secret, &cache));
        assert!(cache.len() <= 2);
        // Same credential, other secret: the cached key is not reused.
        assert!(!accepted(&r, &added, &SecretKey::new("s2"), &cache));
        assert!(accepted(&r, &added, &secret, &cache));
    }
    assert_eq!(cache.len(), 2);
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SigningKeyCache>();
}

proptest! {
    /// The hand-written `yyyymmddThhmmssZ` reader and writer agree with `time`'s formatter and
    /// parser for every second of years 0–9999, and refuse what `time` refuses.
    #[test]
    fn basic_dates_match_the_time_crate(secs in -62_167_219_200i64..253_402_300_799) {
        use time::macros::format_description;
        let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
        let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
        let ours = crate::parse::format_basic(t);
        prop_assert_eq!(&ours, &t.format(fmt).unwrap());
        prop_assert_eq!(crate::parse::parse_basic_fast(&ours), Some(t));
    }

    #[test]
    fn fast_date_reader_never_accepts_what_time_refuses(raw in "[0-9T Z]{14,18}") {
        use time::macros::format_description;
        let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
        if let Some(t) = crate::parse::parse_basic_fast(&raw) {
            let reference = time::PrimitiveDateTime::parse(&raw, fmt).map(|p| p.assume_utc());
            prop_assert_eq!(Ok(t), reference);
        }
    }
}
