//! The store contract, checked against SQLite: every engine must pass this suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyward_core::StoreErrorKind;
use keyward_core::audit::{AuditEvent, AuditQuery, LookupKey, StoredRecord};
use keyward_core::model::{AccessKey, Account, KeyStatus, Tag, User};
use keyward_core::store::{Store, Tx};
use keyward_store::SqliteStore;
use time::macros::datetime;

fn user(id: &str, name: &str, path: &str) -> User {
    User {
        account_id: "123456789012".into(),
        user_id: id.into(),
        name: name.into(),
        path: path.into(),
        created: datetime!(2024-01-02 03:04:05.678 UTC),
        tags: vec![Tag {
            key: "k".into(),
            value: "v \"quoted\"".into(),
        }],
        permissions_boundary: None,
        password_last_used: None,
    }
}

fn key(id: &str, user_id: Option<&str>) -> AccessKey {
    AccessKey {
        access_key_id: id.into(),
        account_id: "123456789012".into(),
        user_id: user_id.map(str::to_owned),
        status: KeyStatus::Active,
        created: datetime!(2024-01-02 03:04:05 UTC),
        sealed_secret: vec![1, 2, 3],
        last_used: None,
    }
}

async fn seeded(dir: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(dir).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&Account {
        id: "123456789012".into(),
        created: datetime!(2024-01-01 0:00 UTC),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    store
}

#[tokio::test]
async fn users_round_trip_case_insensitively_and_list_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let mut tx = store.begin().await.unwrap();
    for (i, name) in ["carol", "Alice", "bob", "dave"].iter().enumerate() {
        let path = if i % 2 == 0 { "/a/" } else { "/b/" };
        tx.insert_user(&user(&format!("AIDA{i}"), name, path))
            .await
            .unwrap();
    }
    assert_eq!(
        tx.get_user("123456789012", "ALICE").await.unwrap().unwrap(),
        user("AIDA1", "Alice", "/b/")
    );
    assert!(
        tx.get_user("999999999999", "alice")
            .await
            .unwrap()
            .is_none()
    );
    let names = |us: Vec<User>| us.into_iter().map(|u| u.name).collect::<Vec<_>>();
    assert_eq!(
        names(tx.list_users("123456789012", "/", None, 10).await.unwrap()),
        ["Alice", "bob", "carol", "dave"]
    );
    assert_eq!(
        names(
            tx.list_users("123456789012", "/", Some("bob"), 1)
                .await
                .unwrap()
        ),
        ["carol"]
    );
    assert_eq!(
        names(
            tx.list_users("123456789012", "/a/", None, 10)
                .await
                .unwrap()
        ),
        ["bob", "carol"]
    );
    // A prefix with LIKE wildcards is taken literally.
    assert!(
        tx.list_users("123456789012", "/%", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A second user whose name differs only by case is refused by the unique index.
    assert_eq!(
        tx.insert_user(&user("AIDA9", "BOB", "/"))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
}

#[tokio::test]
async fn a_dropped_transaction_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    {
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&user("AIDA1", "ghost", "/")).await.unwrap();
        tx.insert_access_key(&key("AKIA1", Some("AIDA1")))
            .await
            .unwrap();
        // dropped without commit
    }
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.get_user("123456789012", "ghost")
            .await
            .unwrap()
            .is_none()
    );
    assert!(tx.get_access_key("AKIA1").await.unwrap().is_none());
}

/// Group commit: concurrent writers share transactions, yet each request keeps or loses its own
/// changes alone, and a request's commit returns only once its change is durable and visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_commit_together_and_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            tx.insert_user(&user(&format!("AIDA{i}"), &format!("u{i}"), "/"))
                .await
                .unwrap();
            tokio::task::yield_now().await;
            if i % 5 == 0 {
                // A failed request: dropped without commit, in the middle of others' group.
                return false;
            }
            tx.commit().await.unwrap();
            // Read-your-writes: a new read transaction sees the change at once.
            let mut read = store.begin_read().await.unwrap();
            assert!(
                read.get_user("123456789012", &format!("u{i}"))
                    .await
                    .unwrap()
                    .is_some()
            );
            true
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let committed = task.await.unwrap();
        assert_eq!(committed, i % 5 != 0);
    }
    drop(store);
    // After a restart, exactly the committed requests are there.
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    let users = tx.list_users("123456789012", "/", None, 100).await.unwrap();
    assert_eq!(users.len(), 32);
    assert!(
        users
            .iter()
            .all(|u| !u.name.ends_with('0') && u.name != "u5")
    );
}

/// A writer that leaves the queue (its request cancelled while it waited for the gate) after the
/// request before it counted on it to commit their group: the group still commits.
#[tokio::test]
async fn a_group_commits_when_the_writer_after_it_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let mut first = store.begin().await.unwrap();
    first
        .insert_user(&user("AIDA1", "first", "/"))
        .await
        .unwrap();
    // A second writer queues behind the first (polled once: it waits for the gate).
    let mut second = Box::pin(store.begin());
    tokio::select! {
        biased;
        _ = &mut second => panic!("the gate is held"),
        () = tokio::task::yield_now() => {}
    }
    // The first commits, leaving the group open for the second, which then goes away.
    let commit = tokio::spawn(first.commit());
    tokio::task::yield_now().await;
    drop(second);
    tokio::time::timeout(std::time::Duration::from_secs(5), commit)
        .await
        .expect("the group was never committed")
        .unwrap()
        .unwrap();
    let mut read = store.begin_read().await.unwrap();
    assert!(
        read.get_user("123456789012", "first")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn access_keys_by_owner_status_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "u", "/")).await.unwrap();
    tx.insert_access_key(&key("AKIAROOT", None)).await.unwrap();
    tx.insert_access_key(&key("AKIAUSER", Some("AIDA1")))
        .await
        .unwrap();
    let ids = |ks: Vec<AccessKey>| ks.into_iter().map(|k| k.access_key_id).collect::<Vec<_>>();
    assert_eq!(
        ids(tx.list_access_keys("123456789012", None).await.unwrap()),
        ["AKIAROOT"]
    );
    assert_eq!(
        ids(tx
            .list_access_keys("123456789012", Some("AIDA1"))
            .await
            .unwrap()),
        ["AKIAUSER"]
    );
    tx.set_access_key_status("AKIAUSER", KeyStatus::Inactive)
        .await
        .unwrap();
    assert_eq!(
        tx.get_access_key("AKIAUSER").await.unwrap().unwrap().status,
        KeyStatus::Inactive
    );
    // A user with keys cannot be deleted underneath them (foreign key).
    assert_eq!(
        tx.delete_user("AIDA1").await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    tx.delete_access_key("AKIAUSER").await.unwrap();
    tx.delete_user("AIDA1").await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn audit_events_and_settings_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = seeded(dir.path()).await;
        let mut tx = store.begin().await.unwrap();
        tx.set_setting("a", "1").await.unwrap();
        tx.set_setting("a", "2").await.unwrap();
        tx.insert_audit_event(&AuditEvent {
            event_id: "e1".into(),
            event_time: datetime!(2024-01-02 03:04:05.123 UTC),
            event_source: "iam.amazonaws.com".into(),
            event_name: "CreateUser".into(),
            aws_region: "us-east-1".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: None,
            request_id: "r1".into(),
            read_only: false,
            identity_type: Some("Root".into()),
            principal_id: Some("123456789012".into()),
            principal_arn: Some("arn:aws:iam::123456789012:root".into()),
            account_id: Some("123456789012".into()),
            access_key_id: Some("AKIA".into()),
            user_name: None,
            error_code: Some("NoSuchEntity".into()),
            error_message: Some("x".into()),
            event_type: "AwsApiCall".into(),
            session: None,
            request_parameters: Some(serde_json::json!({"userName": "bob"})),
            response_elements: None,
            additional_event_data: None,
            resources: vec![("AWS::IAM::User".into(), "bob".into())],
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_setting("a").await.unwrap().as_deref(), Some("2"));
    let events = tx.list_audit_events(10).await.unwrap();
    assert_eq!(events.len(), 1);
    // The store keeps the millisecond; CloudTrail's eventTime shows whole seconds.
    assert_eq!(events[0].event_time, datetime!(2024-01-02 03:04:05.123 UTC));
    assert_eq!(events[0].to_record()["eventTime"], "2024-01-02T03:04:05Z");
    assert_eq!(
        events[0].resources,
        vec![("AWS::IAM::User".to_owned(), "bob".to_owned())]
    );
    assert_eq!(events[0].error_code.as_deref(), Some("NoSuchEntity"));
    assert_eq!(tx.list_accounts().await.unwrap().len(), 1);
}

fn trail_event(event_id: &str, at: time::OffsetDateTime, name: &str) -> AuditEvent {
    let mut e = AuditEvent::api_call(
        event_id.into(),
        at,
        "iam",
        name,
        format!("req-{event_id}"),
        "127.0.0.1".into(),
        None,
    );
    e.account_id = Some("123456789012".into());
    e.identity_type = Some("Root".into());
    e
}

fn trail_query(attribute: Option<(LookupKey, &str)>) -> AuditQuery {
    AuditQuery {
        account_id: "123456789012".into(),
        attribute: attribute.map(|(k, v)| (k, v.to_owned())),
        start: None,
        end: None,
        before: None,
        limit: 50,
    }
}

fn request_ids(records: &[StoredRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.record).unwrap();
            v["requestID"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// The trail is kept in event-time order whatever order records arrive in (a read's record is
/// group-committed after later changes), many records share a millisecond, and time bounds,
/// event IDs, pages and retention all select by time.
#[tokio::test]
async fn the_trail_is_ordered_by_event_time_and_selected_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let t0 = datetime!(2026-12-01 10:00:00 UTC);
    let ms = time::Duration::milliseconds;
    let late_read = keyward_core::ids::new_event_id(t0 + ms(5));
    let mut tx = store.begin().await.unwrap();
    // Arrival order: the change at +10 ms, then the read of +5 ms, then 300 records of +20 ms.
    tx.insert_audit_event(&trail_event("change", t0 + ms(10), "CreateUser"))
        .await
        .unwrap();
    tx.insert_audit_event(&trail_event(&late_read, t0 + ms(5), "GetUser"))
        .await
        .unwrap();
    for i in 0..300 {
        tx.insert_audit_event(&trail_event(
            &format!("burst-{i}"),
            t0 + ms(20),
            "ListUsers",
        ))
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let all = tx.lookup_audit_events(&trail_query(None)).await.unwrap();
    assert_eq!(all.len(), 50);
    let everything = tx
        .lookup_audit_events(&AuditQuery {
            limit: 1000,
            ..trail_query(None)
        })
        .await
        .unwrap();
    assert_eq!(
        everything.len(),
        302,
        "no record of a shared millisecond is lost"
    );
    let ids = request_ids(&everything);
    assert_eq!(
        ids[300..],
        ["req-change".to_owned(), format!("req-{late_read}")],
        "newest first by event time, not by arrival"
    );
    assert!(everything.windows(2).all(|w| w[0].seq > w[1].seq));

    // Pages continue strictly below the last position shown.
    let next = tx
        .lookup_audit_events(&AuditQuery {
            before: Some(all[49].seq),
            ..trail_query(None)
        })
        .await
        .unwrap();
    assert_eq!(request_ids(&next), ids[50..100]);

    // Time bounds are inclusive, to the millisecond.
    let window = tx
        .lookup_audit_events(&AuditQuery {
            start: Some(t0 + ms(5)),
            end: Some(t0 + ms(10)),
            ..trail_query(None)
        })
        .await
        .unwrap();
    assert_eq!(
        request_ids(&window),
        ["req-change".to_owned(), format!("req-{late_read}")]
    );

    // An event ID is found, time-ordered or not.
    let by_id = tx
        .lookup_audit_events(&trail_query(Some((LookupKey::EventId, &late_read))))
        .await
        .unwrap();
    assert_eq!(request_ids(&by_id), [format!("req-{late_read}")]);
    let by_other_id = tx
        .lookup_audit_events(&trail_query(Some((LookupKey::EventId, "burst-7"))))
        .await
        .unwrap();
    assert_eq!(request_ids(&by_other_id), ["req-burst-7"]);
    let unknown = keyward_core::ids::new_event_id(t0 + ms(5));
    let none = tx
        .lookup_audit_events(&trail_query(Some((LookupKey::EventId, &unknown))))
        .await
        .unwrap();
    assert!(none.is_empty());
    tx.commit().await.unwrap();

    // Retention removes what is older than the cut-off, to the millisecond.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.delete_audit_events_before(t0 + ms(10)).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let left = tx
        .lookup_audit_events(&AuditQuery {
            limit: 1000,
            ..trail_query(None)
        })
        .await
        .unwrap();
    assert_eq!(left.len(), 301);
    assert_eq!(request_ids(&left)[300], "req-change");
}

/// Records of requests that changed nothing go to `audit_reads.db` (16 KiB pages) through the
/// store, those of changes stay in `keyward.db` with their change; lookups, listings (also from a
/// writer's transaction) and retention see both trails, merged by time.
#[tokio::test]
async fn unchanged_records_have_a_file_of_their_own_and_every_reader_sees_both() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path()).await;
    let t0 = datetime!(2026-12-01 10:00:00 UTC);
    let ms = time::Duration::milliseconds;
    let mut tx = store.begin().await.unwrap();
    tx.insert_audit_event(&trail_event("change", t0 + ms(10), "CreateUser"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let late = keyward_core::ids::new_event_id(t0 + ms(15));
    store
        .append_unchanged_records(&[
            trail_event("read-early", t0 + ms(5), "GetUser"),
            trail_event(&late, t0 + ms(15), "GetUser"),
        ])
        .await
        .unwrap();

    let mut tx = store.begin_read().await.unwrap();
    let found = tx.lookup_audit_events(&trail_query(None)).await.unwrap();
    assert_eq!(
        request_ids(&found),
        [
            format!("req-{late}"),
            "req-change".into(),
            "req-read-early".into()
        ]
    );
    let by_id = tx
        .lookup_audit_events(&trail_query(Some((LookupKey::EventId, &late))))
        .await
        .unwrap();
    assert_eq!(request_ids(&by_id), [format!("req-{late}")]);
    let creates = tx
        .lookup_audit_events(&trail_query(Some((LookupKey::EventName, "CreateUser"))))
        .await
        .unwrap();
    assert_eq!(request_ids(&creates), ["req-change"]);
    tx.commit().await.unwrap();

    // A writer's transaction lists both trails too.
    let mut tx = store.begin().await.unwrap();
    let listed: Vec<String> = tx
        .list_audit_events(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(listed, [late.clone(), "change".into(), "read-early".into()]);
    // Retention cuts both.
    assert_eq!(tx.delete_audit_events_before(t0 + ms(12)).await.unwrap(), 2);
    tx.commit().await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    let left = tx.lookup_audit_events(&trail_query(None)).await.unwrap();
    assert_eq!(request_ids(&left), [format!("req-{late}")]);
    tx.commit().await.unwrap();
    store.close().await;

    let count = |file: &str| -> (i64, i64) {
        let conn = rusqlite::Connection::open(dir.path().join(file)).unwrap();
        let rows = conn
            .query_row("SELECT count(*) FROM audit_records", [], |r| r.get(0))
            .unwrap();
        let page = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        (rows, page)
    };
    assert_eq!(count("keyward.db"), (0, 4096));
    assert_eq!(count("audit_reads.db"), (1, 16384));

    // Opened again, the reads trail is still there and still read.
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    let left = tx.lookup_audit_events(&trail_query(None)).await.unwrap();
    assert_eq!(request_ids(&left), [format!("req-{late}")]);
}

mod mfa {
    use super::*;
    use keyward_core::crypto::MasterKey;
    use keyward_core::model::{MfaDevice, MfaFailure, MfaFailureReason};
    use keyward_core::ops::{MfaVerdict, verify_mfa};
    use keyward_core::totp::{Seed, TotpConfig, step_of};

    const SERIAL: &str = "arn:aws:iam::123456789012:mfa/Alice";

    fn device(key: &MasterKey, seed: &Seed, user_id: Option<&str>) -> MfaDevice {
        MfaDevice {
            serial: SERIAL.into(),
            account_id: "123456789012".into(),
            name: "Alice".into(),
            path: "/".into(),
            user_id: user_id.map(str::to_owned),
            enable_date: user_id.map(|_| datetime!(2024-01-02 03:04:05 UTC)),
            created: datetime!(2024-01-02 03:04:05 UTC),
            sealed_seed: key.seal(seed.expose(), SERIAL).unwrap(),
            offset_steps: 0,
            last_step: None,
            tags: vec![],
        }
    }

    #[tokio::test]
    async fn devices_round_trip_and_steps_only_advance() {
        let dir = tempfile::tempdir().unwrap();
        let store = seeded(dir.path()).await;
        let key = MasterKey::generate(1).unwrap();
        let seed = Seed::generate().unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
        let mut d = device(&key, &seed, None);
        tx.insert_mfa_device(&d).await.unwrap();
        assert_eq!(
            tx.get_mfa_device(
                "123456789012",
                &SERIAL.to_uppercase().replace("ARN:AWS:IAM", "arn:aws:iam")
            )
            .await
            .unwrap()
            .unwrap(),
            d
        );
        assert!(
            tx.list_mfa_devices("123456789012", Some("AIDA1"))
                .await
                .unwrap()
                .is_empty()
        );
        d.user_id = Some("AIDA1".into());
        d.offset_steps = -3;
        d.last_step = Some(100);
        tx.update_mfa_device(&d).await.unwrap();
        assert_eq!(
            tx.list_mfa_devices("123456789012", Some("AIDA1"))
                .await
                .unwrap(),
            vec![d.clone()]
        );
        assert!(!tx.advance_mfa_step(SERIAL, 100).await.unwrap());
        assert!(!tx.advance_mfa_step(SERIAL, 99).await.unwrap());
        assert!(tx.advance_mfa_step(SERIAL, 101).await.unwrap());
        let f = MfaFailure {
            serial: SERIAL.into(),
            account_id: "123456789012".into(),
            user_id: Some("AIDA1".into()),
            reason: MfaFailureReason::WrongCode,
            matched_offset_secs: Some(-300),
            time: datetime!(2024-01-02 03:04:05 UTC),
            request_id: Some("r1".into()),
        };
        tx.insert_mfa_failure(&f).await.unwrap();
        assert_eq!(
            tx.list_mfa_failures(Some(SERIAL), datetime!(2024-01-02 00:00 UTC))
                .await
                .unwrap(),
            vec![f]
        );
        assert!(
            tx.list_mfa_failures(None, datetime!(2024-01-03 00:00 UTC))
                .await
                .unwrap()
                .is_empty()
        );
        d.user_id = None;
        tx.update_mfa_device(&d).await.unwrap();
        tx.delete_mfa_device(SERIAL).await.unwrap();
        assert!(
            tx.get_mfa_device("123456789012", SERIAL)
                .await
                .unwrap()
                .is_none()
        );
        tx.commit().await.unwrap();
    }

    /// Two concurrent requests with the same valid code: exactly one is accepted.
    #[tokio::test]
    async fn same_code_concurrently_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = seeded(dir.path()).await;
        let key = MasterKey::generate(1).unwrap();
        let seed = Seed::generate().unwrap();
        let alice = user("AIDA1", "alice", "/");
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&alice).await.unwrap();
        tx.insert_mfa_device(&device(&key, &seed, Some("AIDA1")))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        let code = seed.code_at(step_of(now));
        let attempt = |store: SqliteStore, key: MasterKey, alice: User, code: String| async move {
            let mut tx = store.begin().await.unwrap();
            let verdict = verify_mfa(
                &mut tx,
                &key,
                &TotpConfig::default(),
                &alice,
                SERIAL,
                &code,
                now,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            verdict
        };
        let (a, b) = tokio::join!(
            tokio::spawn(attempt(
                store.clone(),
                key.clone(),
                alice.clone(),
                code.clone()
            )),
            tokio::spawn(attempt(
                store.clone(),
                key.clone(),
                alice.clone(),
                code.clone()
            )),
        );
        let verdicts = [a.unwrap(), b.unwrap()];
        let accepted = verdicts
            .iter()
            .filter(|v| matches!(v, MfaVerdict::Accepted { .. }))
            .count();
        assert_eq!(accepted, 1, "{verdicts:?}");
        assert!(
            verdicts.iter().any(
                |v| matches!(v, MfaVerdict::Refused(f) if f.reason == MfaFailureReason::Replay)
            )
        );
    }

    /// Refusals name their reason; a drifted code reports its offset; five failures in a minute
    /// lock the device for a minute, even against a right code.
    #[tokio::test]
    async fn refusals_drift_and_throttle() {
        let dir = tempfile::tempdir().unwrap();
        let store = seeded(dir.path()).await;
        let key = MasterKey::generate(1).unwrap();
        let seed = Seed::generate().unwrap();
        let alice = user("AIDA1", "alice", "/");
        let bob = user("AIDA2", "bob", "/");
        let cfg = TotpConfig::default();
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&alice).await.unwrap();
        tx.insert_user(&bob).await.unwrap();
        tx.insert_mfa_device(&device(&key, &seed, Some("AIDA1")))
            .await
            .unwrap();
        let now = datetime!(2024-05-06 07:08:09 UTC);
        let step = step_of(now);
        let reason = |v: MfaVerdict| match v {
            MfaVerdict::Refused(f) => (f.reason, f.matched_offset_secs),
            other => panic!("accepted: {other:?}"),
        };
        let v = verify_mfa(&mut tx, &key, &cfg, &bob, SERIAL, &seed.code_at(step), now)
            .await
            .unwrap();
        assert_eq!(reason(v), (MfaFailureReason::NotAssignedToUser, None));
        let v = verify_mfa(
            &mut tx,
            &key,
            &cfg,
            &alice,
            "arn:aws:iam::123456789012:mfa/nope",
            "123456",
            now,
        )
        .await
        .unwrap();
        assert_eq!(reason(v), (MfaFailureReason::WrongSerial, None));
        let v = verify_mfa(
            &mut tx,
            &key,
            &cfg,
            &alice,
            SERIAL,
            &seed.code_at(step - 10),
            now,
        )
        .await
        .unwrap();
        assert_eq!(reason(v), (MfaFailureReason::WrongCode, Some(-300)));
        for i in 0..5 {
            let f = MfaFailure {
                serial: SERIAL.into(),
                account_id: "123456789012".into(),
                user_id: Some("AIDA1".into()),
                reason: MfaFailureReason::WrongCode,
                matched_offset_secs: None,
                time: now - time::Duration::seconds(50 - i),
                request_id: None,
            };
            tx.insert_mfa_failure(&f).await.unwrap();
        }
        let v = verify_mfa(
            &mut tx,
            &key,
            &cfg,
            &alice,
            SERIAL,
            &seed.code_at(step),
            now,
        )
        .await
        .unwrap();
        assert_eq!(reason(v), (MfaFailureReason::Throttled, None));
        // A minute after the fifth failure the device accepts codes again.
        let later = now + time::Duration::seconds(60);
        let v = verify_mfa(
            &mut tx,
            &key,
            &cfg,
            &alice,
            SERIAL,
            &seed.code_at(step_of(later)),
            later,
        )
        .await
        .unwrap();
        assert!(matches!(v, MfaVerdict::Accepted { .. }), "{v:?}");
    }
}
