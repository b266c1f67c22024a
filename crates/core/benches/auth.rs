//! Authenticating a request signed with a cached long-term key: parse the Authorization header,
//! find the key in the credential cache, check the clock and the signature (STS
//! GetCallerIdentity, as the AWS SDK signs it). `cargo bench -p keyward-core --bench auth`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_core::auth::{CredentialCache, authenticate_from_cache, parse};
use keyward_core::principal::Principal;
use keyward_sigv4::{RequestParts, SecretKey, SigningKeyCache, SigningParams, sign_headers};

fn bench(c: &mut Criterion) {
    let key_id = "AKIAIOSFODNN7EXAMPLE";
    let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let now = time::OffsetDateTime::now_utc();
    let base = vec![
        ("host".to_owned(), "127.0.0.1:4600".to_owned()),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        ),
        ("content-length".to_owned(), body.len().to_string()),
        (
            "user-agent".to_owned(),
            "aws-sdk-rust/1.3 os/linux lang/rust/1.95".to_owned(),
        ),
    ];
    let refs: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let unsigned = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &refs,
        body,
    };
    let signed = sign_headers(
        &unsigned,
        &SigningParams {
            access_key_id: key_id,
            secret: &secret,
            security_token: None,
            region: "us-east-1",
            service: "sts",
            time: now,
        },
    );
    let all: Vec<(String, String)> = base.into_iter().chain(signed).collect();
    let headers: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let req = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body,
    };

    let credentials = CredentialCache::new();
    credentials.remember(
        key_id,
        Principal::Root {
            account_id: "111122223333".into(),
        },
        secret.clone(),
        None,
    );
    let signing_keys = SigningKeyCache::new(64);
    let parsed = parse(&req).unwrap();
    assert!(
        authenticate_from_cache(&credentials, &signing_keys, &req, &parsed, now)
            .unwrap()
            .is_ok()
    );

    c.bench_function("authenticate_cached_long_term_key", |b| {
        b.iter(|| {
            let parsed = parse(black_box(&req)).unwrap();
            authenticate_from_cache(&credentials, &signing_keys, &req, &parsed, now)
                .unwrap()
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
