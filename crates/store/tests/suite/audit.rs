//! The audit trail: records of changes (in their transaction) and of requests that changed
//! nothing (appended apart), looked up, listed and cut by time.

use keyward_core::audit::{AuditEvent, AuditQuery, LookupKey, StoredRecord};
use keyward_core::store::{Store, Tx};
use time::macros::datetime;

use super::{ACCOUNT, Engine, OTHER, seeded};

pub fn trail_event(event_id: &str, at: time::OffsetDateTime, name: &str) -> AuditEvent {
    let mut e = AuditEvent::api_call(
        event_id.into(),
        at,
        "iam",
        name,
        format!("req-{event_id}"),
        "127.0.0.1".into(),
        None,
    );
    e.account_id = Some(ACCOUNT.into());
    e.identity_type = Some("Root".into());
    e
}

pub fn trail_query(attribute: Option<(LookupKey, &str)>) -> AuditQuery {
    AuditQuery {
        account_id: ACCOUNT.into(),
        attribute: attribute.map(|(k, v)| (k, v.to_owned())),
        start: None,
        end: None,
        before: None,
        limit: 50,
    }
}

pub fn request_ids(records: &[StoredRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.record).unwrap();
            v["requestID"].as_str().unwrap().to_owned()
        })
        .collect()
}

pub async fn audit_events_and_settings_survive_reopen<E: Engine>() {
    let (engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.set_setting("a", "1").await.unwrap();
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
        principal_id: Some(ACCOUNT.into()),
        principal_arn: Some("arn:aws:iam::123456789012:root".into()),
        account_id: Some(ACCOUNT.into()),
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
    drop(store);
    let store = engine.open().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_setting("a").await.unwrap().as_deref(), Some("1"));
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
    assert_eq!(
        events[0].request_parameters,
        Some(serde_json::json!({"userName": "bob"}))
    );
    assert_eq!(tx.list_accounts().await.unwrap().len(), 2);
}

/// The trail is kept in event-time order whatever order records arrive in (a read's record is
/// group-committed after later changes), many records share a millisecond, and time bounds,
/// event IDs, pages and retention all select by time.
pub async fn the_trail_is_ordered_by_event_time_and_selected_by_it<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
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
    assert_eq!(tx.list_audit_events(3).await.unwrap().len(), 3);

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
    assert_eq!(tx.delete_audit_events_before(t0).await.unwrap(), 0);
}

/// Records appended apart (of requests that changed nothing) and records of changes are one
/// trail to every reader: lookups, listings (also from a writer's transaction) and retention
/// see both, merged by time, also through another handle.
pub async fn unchanged_records_are_seen_by_every_reader<E: Engine>() {
    let (engine, store) = seeded::<E>().await;
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
    store.append_unchanged_records(&[]).await.unwrap();

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
    drop(store);

    // Opened again, the appended records are still there and still read.
    let store = engine.open().await;
    let mut tx = store.begin_read().await.unwrap();
    let left = tx.lookup_audit_events(&trail_query(None)).await.unwrap();
    assert_eq!(request_ids(&left), [format!("req-{late}")]);
}

/// Each lookup attribute selects what it names, in one account only.
pub async fn lookups_select_by_each_attribute<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let t0 = datetime!(2026-12-01 10:00:00 UTC);
    let ms = time::Duration::milliseconds;
    let mut root = trail_event("root", t0, "CreateUser");
    root.access_key_id = Some("AKIAROOT".into());
    root.resources = vec![
        ("AWS::IAM::User".into(), "bob".into()),
        ("AWS::IAM::Group".into(), "devs".into()),
    ];
    let mut alice = trail_event("alice", t0 + ms(1), "GetUser");
    alice.identity_type = Some("IAMUser".into());
    alice.user_name = Some("alice".into());
    alice.read_only = true;
    alice.access_key_id = Some("AKIAALICE".into());
    alice.resources = vec![("AWS::IAM::User".into(), "bobby".into())];
    let mut sts = trail_event("sts", t0 + ms(2), "GetCallerIdentity");
    sts.event_source = "sts.amazonaws.com".into();
    sts.read_only = true;
    let mut theirs = trail_event("theirs", t0 + ms(3), "CreateUser");
    theirs.account_id = Some(OTHER.into());
    let mut tx = store.begin().await.unwrap();
    tx.insert_audit_event(&root).await.unwrap();
    tx.insert_audit_event(&theirs).await.unwrap();
    tx.commit().await.unwrap();
    store.append_unchanged_records(&[alice, sts]).await.unwrap();

    let mut tx = store.begin_read().await.unwrap();
    let mut find = async |key, value: &str| {
        request_ids(
            &tx.lookup_audit_events(&trail_query(Some((key, value))))
                .await
                .unwrap(),
        )
    };
    assert_eq!(find(LookupKey::EventName, "CreateUser").await, ["req-root"]);
    // The root user is looked up as `root`.
    assert_eq!(
        find(LookupKey::Username, "root").await,
        ["req-sts", "req-root"]
    );
    assert_eq!(find(LookupKey::Username, "alice").await, ["req-alice"]);
    assert_eq!(
        find(LookupKey::ReadOnly, "true").await,
        ["req-sts", "req-alice"]
    );
    assert_eq!(find(LookupKey::ReadOnly, "false").await, ["req-root"]);
    assert_eq!(
        find(LookupKey::AccessKeyId, "AKIAALICE").await,
        ["req-alice"]
    );
    assert_eq!(
        find(LookupKey::EventSource, "sts.amazonaws.com").await,
        ["req-sts"]
    );
    // A resource name matches whole names only.
    assert_eq!(find(LookupKey::ResourceName, "bob").await, ["req-root"]);
    assert_eq!(find(LookupKey::ResourceName, "devs").await, ["req-root"]);
    assert_eq!(find(LookupKey::ResourceName, "bobby").await, ["req-alice"]);
    assert!(find(LookupKey::ResourceName, "bo").await.is_empty());
    assert!(find(LookupKey::EventId, "theirs").await.is_empty());
    let all = tx.lookup_audit_events(&trail_query(None)).await.unwrap();
    assert_eq!(
        request_ids(&all),
        ["req-sts", "req-alice", "req-root"],
        "another account's records are not looked up"
    );
    assert_eq!(tx.list_audit_events(10).await.unwrap().len(), 4);
}

/// A size cap removes the oldest records of both trails, newest kept first, until what is left
/// fits; under the cap nothing is removed.
pub async fn a_size_cap_removes_the_oldest_records_first<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let t0 = datetime!(2026-12-01 10:00:00 UTC);
    let ms = time::Duration::milliseconds;
    // Changes at even milliseconds, reads at odd ones: 20 records in all, each of a few hundred
    // bytes.
    let mut tx = store.begin().await.unwrap();
    for i in 0..10 {
        tx.insert_audit_event(&trail_event(&format!("w{i}"), t0 + ms(2 * i), "CreateUser"))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let reads: Vec<AuditEvent> = (0..10)
        .map(|i| trail_event(&format!("r{i}"), t0 + ms(2 * i + 1), "GetUser"))
        .collect();
    store.append_unchanged_records(&reads).await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.trim_audit_events(u64::MAX).await.unwrap(), 0);
    assert_eq!(tx.trim_audit_events(10_000_000).await.unwrap(), 0);
    tx.commit().await.unwrap();
    assert_eq!(all_events(&store).await.len(), 20);

    // Tighter and tighter caps: what is left is always the newest records of both trails, in
    // order, fewer each time; some cap keeps some and removes others.
    let order: Vec<String> = (0..10)
        .rev()
        .flat_map(|i| [format!("req-r{i}"), format!("req-w{i}")])
        .collect();
    let one = trail_event("r9", t0, "GetUser").record_json().len() as u64;
    let mut kept = 20;
    let mut partial = false;
    for eighths in (0..=8 * 20).rev().step_by(4) {
        let mut tx = store.begin().await.unwrap();
        let deleted = tx.trim_audit_events(one * eighths / 8).await.unwrap();
        tx.commit().await.unwrap();
        let left = all_events(&store).await;
        assert_eq!(deleted as usize + left.len(), kept, "cap {eighths}/8");
        assert_eq!(left[..], order[..left.len()], "cap {eighths}/8");
        kept = left.len();
        partial |= (1..20).contains(&kept);
    }
    assert!(partial);
    assert_eq!(kept, 0);

    // A cap of nothing empties the trail.
    let mut tx = store.begin().await.unwrap();
    tx.trim_audit_events(0).await.unwrap();
    tx.commit().await.unwrap();
    assert!(all_events(&store).await.is_empty());
}

/// The request IDs of every record of the account, newest first.
async fn all_events<S: Store>(store: &S) -> Vec<String> {
    let mut tx = store.begin_read().await.unwrap();
    let found = tx
        .lookup_audit_events(&AuditQuery {
            limit: 1000,
            ..trail_query(None)
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    request_ids(&found)
}
