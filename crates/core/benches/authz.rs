//! Authorisation overhead per request inside the server for the "realistic principal" of the
//! policy issue (10 managed policies, 2 groups with 2 policies each, ~60 statements, a boundary):
//! the gathered policy set from the cache, the request context, evaluation and the AccessDenied
//! text. `cargo bench -p keyward-core --bench authz`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_core::authz::{Permission, PolicyCache, PrincipalPolicies, RequestInfo, decide};
use keyward_core::crypto::MasterKey;
use keyward_core::model::{Tag, User};
use keyward_core::ops::Ctx;
use keyward_core::principal::{Caller, Principal};
use keyward_core::totp::TotpConfig;
use keyward_policy::PolicyKind;
use keyward_policy::workload::{BOUNDARY, identity_documents};

fn bench(c: &mut Criterion) {
    let user = User {
        account_id: "111122223333".into(),
        user_id: "AIDAEXAMPLEEXAMPLE123".into(),
        name: "alice".into(),
        path: "/".into(),
        created: time::OffsetDateTime::UNIX_EPOCH,
        tags: vec![Tag {
            key: "team".into(),
            value: "blue".into(),
        }],
        permissions_boundary: Some("arn:aws:iam::111122223333:policy/Boundary".into()),
        password_last_used: None,
    };
    let cache = PolicyCache::new();
    let identity = identity_documents()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            cache
                .compile(
                    PolicyKind::Identity,
                    &format!("arn:aws:iam::111122223333:policy/P{i}"),
                    d,
                )
                .unwrap()
        })
        .collect();
    let boundary = Some(
        cache
            .compile(
                PolicyKind::Boundary,
                "arn:aws:iam::111122223333:policy/Boundary",
                BOUNDARY,
            )
            .unwrap(),
    );
    cache.keep(
        &keyward_core::authz::user_cache_key(&user),
        PrincipalPolicies { identity, boundary },
    );

    let master_key = MasterKey::generate(1).unwrap();
    let caller = Caller {
        principal: Principal::User(user.clone()),
        access_key_id: "AKIAEXAMPLE".into(),
        key_last_used: None,
        session: None,
    };
    let info = RequestInfo {
        source_ip: "10.1.2.3".into(),
        user_agent: Some("aws-sdk-rust".into()),
        secure_transport: true,
        region: "us-east-1".into(),
    };
    let totp = TotpConfig::default();
    let session_keys = keyward_core::session::SessionKeyRing::new(&master_key);
    let ctx = Ctx {
        partition: "aws",
        now: time::OffsetDateTime::now_utc(),
        master_key: &master_key,
        caller: &caller,
        info: &info,
        policies: &cache,
        totp: &totp,
        session_keys: &session_keys,
    };
    let allowed = Permission {
        action: "logs:GetLogEvents".into(),
        resource: "arn:aws:logs:us-east-1:111122223333:res0/stream".into(),
        context: vec![],
    };
    let denied = Permission {
        action: "iam:CreateUser".into(),
        resource: "arn:aws:iam::111122223333:user/bob".into(),
        context: vec![],
    };
    let key = keyward_core::authz::user_cache_key(&user);
    let set = cache.gathered(&key).unwrap();
    assert!(decide(&ctx, &user, &set, &allowed).is_allowed());
    assert!(!decide(&ctx, &user, &set, &denied).is_allowed());

    let mut g = c.benchmark_group("authorize_realistic_principal");
    g.bench_function("allowed", |b| {
        b.iter(|| {
            let set = cache.gathered(black_box(&key)).unwrap();
            decide(&ctx, &user, &set, black_box(&allowed))
        })
    });
    g.bench_function("implicitly_denied", |b| {
        b.iter(|| {
            let set = cache.gathered(black_box(&key)).unwrap();
            decide(&ctx, &user, &set, black_box(&denied))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
