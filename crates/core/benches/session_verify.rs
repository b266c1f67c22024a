//! Verifying a request signed with session credentials, in process: open the session token
//! (AES-256-GCM + claims decoding) and check the SigV4 signature with a warm signing-key cache —
//! `auth::verify_session_request`, everything but the store read of the principal (its opened
//! tokens are cached per node), and the same work for a token seen for the first time. Target:
//! under 5 µs median.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_core::auth::verify_session_request;
use keyward_core::crypto::MasterKey;
use keyward_core::session::{SealedClaims, Session, SessionKeyRing, SessionKind};
use keyward_sigv4::{RequestParts, SecretKey, SigningKeyCache, SigningParams, parse, sign_headers};

fn bench(c: &mut Criterion) {
    let now = time::macros::datetime!(2026-01-15 10:00:00 UTC);
    let ring = SessionKeyRing::new(&MasterKey::generate(1).unwrap());
    let secret_text = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let claims = SealedClaims {
        secret: secret_text.into(),
        session: Session {
            access_key_id: "ASIAAAAAAAAAEXAMPLE1".into(),
            kind: SessionKind::Role,
            account_id: "123456789012".into(),
            principal_id: "AROADBQP57FF2AEXAMPLE".into(),
            name: "alice-session".into(),
            issued: now.unix_timestamp(),
            expires: now.unix_timestamp() + 3600,
            mfa_auth_time: Some(now.unix_timestamp()),
            source_identity: None,
            tags: vec![("Team".into(), "blue".into())],
            transitive_tag_keys: vec![],
            policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}"#.into()),
            policy_arns: vec![],
        },
    };
    let token = ring.seal(&claims).unwrap();
    let secret = SecretKey::new(secret_text);
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let base = [
        ("Host", "sts.us-east-1.amazonaws.com"),
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
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
        access_key_id: "ASIAAAAAAAAAEXAMPLE1",
        secret: &secret,
        security_token: Some(&token),
        region: "us-east-1",
        service: "sts",
        time: now,
    };
    let added = sign_headers(&req, &params);
    let mut headers: Vec<(&str, &str)> = base.to_vec();
    headers.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let req = RequestParts {
        headers: &headers,
        ..req
    };
    let cache = SigningKeyCache::new(1024);
    let parsed = parse(&req).unwrap().unwrap();
    verify_session_request(&ring, &cache, &req, &parsed, now).unwrap();

    c.bench_function("open_session_token_only", |b| {
        b.iter(|| ring.open(black_box(&token), "ASIAAAAAAAAAEXAMPLE1"))
    });
    // A token this node has not opened yet: decrypt and decode the claims, then the signature.
    c.bench_function("first_sight_open_token_and_signature", |b| {
        b.iter(|| {
            let claims = ring
                .open(black_box(&token), "ASIAAAAAAAAAEXAMPLE1")
                .unwrap();
            let secret = SecretKey::new(claims.secret.clone());
            keyward_sigv4::check_time(&parsed, now).unwrap();
            keyward_sigv4::verify(black_box(&req), &parsed, &secret, &cache).unwrap();
        })
    });
    c.bench_function("verify_session_request_open_token_and_signature", |b| {
        b.iter(|| verify_session_request(&ring, &cache, black_box(&req), black_box(&parsed), now))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
