//! `verify` with a warm signing-key cache, for a typical STS GetCallerIdentity POST as the
//! aws CLI sends it (8 headers, 43-byte body). Target: >= 300k verifications/s on one core.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_sigv4::{
    RequestParts, SecretKey, SigningKeyCache, SigningParams, check_time, parse, sign_headers,
    verify,
};

fn bench(c: &mut Criterion) {
    let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let now = time::macros::datetime!(2026-01-15 10:00:00 UTC);
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    assert_eq!(body.len(), 43);
    let base = [
        ("Host", "sts.us-east-1.amazonaws.com"),
        ("Accept-Encoding", "identity"),
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
        (
            "User-Agent",
            "aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.12.6 cmd/sts.get-caller-identity",
        ),
        ("Content-Length", "43"),
    ];
    let req = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &base,
        body,
    };
    let params = SigningParams {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret: &secret,
        security_token: None,
        region: "us-east-1",
        service: "sts",
        time: now,
    };
    let added = sign_headers(&req, &params);
    let mut headers: Vec<(&str, &str)> = base.to_vec();
    headers.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    assert_eq!(headers.len(), 7);
    headers.push(("Connection", "keep-alive")); // unsigned, as sent
    let req = RequestParts {
        headers: &headers,
        ..req
    };
    let cache = SigningKeyCache::new(1024);
    let parsed = parse(&req).unwrap().unwrap();
    verify(&req, &parsed, &secret, &cache).unwrap();

    c.bench_function("verify_warm_cache_sts_get_caller_identity", |b| {
        b.iter(|| verify(black_box(&req), black_box(&parsed), &secret, &cache))
    });
    c.bench_function("parse_check_time_verify_sts_get_caller_identity", |b| {
        b.iter(|| {
            let p = parse(black_box(&req)).unwrap().unwrap();
            check_time(&p, now).unwrap();
            verify(&req, &p, &secret, &cache)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
