//! Page time of `ListUsers` and `GetAccountAuthorizationDetails` (filter `User`) as the account
//! grows from 1,000 to 100,000 users: a page from the middle of the list, through the real
//! operation path (`ops::execute` as the root user) on the SQLite store.
//! `cargo bench -p keyward-store --bench pages`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_core::authz::{PolicyCache, RequestInfo};
use keyward_core::crypto::MasterKey;
use keyward_core::model::{Account, User};
use keyward_core::ops::{self, Ctx, Operation, Output};
use keyward_core::principal::{Caller, Principal};
use keyward_core::session::SessionKeyRing;
use keyward_core::store::{Store, Tx};
use keyward_core::totp::TotpConfig;
use keyward_store::SqliteStore;

const ACCOUNT: &str = "111122223333";

async fn populate(store: &SqliteStore, n: usize) {
    let now = time::OffsetDateTime::now_utc();
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&Account {
        id: ACCOUNT.into(),
        created: now,
    })
    .await
    .unwrap();
    for i in 0..n {
        tx.insert_user(&User {
            account_id: ACCOUNT.into(),
            user_id: format!("AIDA{i:017}"),
            name: format!("user{i:06}"),
            path: "/".into(),
            created: now,
            tags: vec![],
            permissions_boundary: None,
            password_last_used: None,
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// The marker of a page that starts after `name` (as `ListUsers` encodes it).
fn marker_after(name: &str) -> String {
    data_encoding::BASE64.encode(name.as_bytes())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let master_key = MasterKey::generate(1).unwrap();
    let session_keys = SessionKeyRing::new(&master_key);
    let caller = Caller {
        principal: Principal::Root {
            account_id: ACCOUNT.into(),
        },
        access_key_id: "AKIAEXAMPLE".into(),
        key_last_used: None,
        session: None,
    };
    let info = RequestInfo {
        source_ip: "127.0.0.1".into(),
        user_agent: None,
        secure_transport: false,
        region: "us-east-1".into(),
    };
    let policies = PolicyCache::new();
    let totp = TotpConfig::default();
    let mut g = c.benchmark_group("page_of_100");
    g.sample_size(20);
    for n in [1_000usize, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let store = rt.block_on(async {
            let store = SqliteStore::open(dir.path()).await.unwrap();
            populate(&store, n).await;
            store
        });
        let middle = format!("user{:06}", n / 2);
        let run = |op: Operation| {
            rt.block_on(async {
                let ctx = Ctx {
                    partition: "aws",
                    now: time::OffsetDateTime::now_utc(),
                    master_key: &master_key,
                    caller: &caller,
                    info: &info,
                    policies: &policies,
                    totp: &totp,
                    session_keys: &session_keys,
                };
                let mut tx = store.begin_read().await.unwrap();
                let out = ops::execute(&mut tx, &ctx, op).await.result.unwrap();
                assert!(matches!(
                    out,
                    Output::Users { .. } | Output::AuthorizationDetails { .. }
                ));
            })
        };
        g.bench_function(format!("ListUsers/{n}_users"), |b| {
            b.iter(|| {
                run(Operation::ListUsers(ops::users::ListUsers {
                    path_prefix: None,
                    marker: Some(marker_after(&middle)),
                    max_items: Some(100),
                }))
            })
        });
        let details_marker = data_encoding::BASE64.encode(format!("u\n{middle}").as_bytes());
        g.bench_function(format!("GetAccountAuthorizationDetails/{n}_users"), |b| {
            b.iter(|| {
                run(Operation::GetAccountAuthorizationDetails(
                    ops::account::GetAccountAuthorizationDetails {
                        filter: vec!["User".into()],
                        marker: Some(details_marker.clone()),
                        max_items: Some(100),
                    },
                ))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
