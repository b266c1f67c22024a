//! The change feed: a version of the store's data that every committed write raises, seen by
//! every handle (another process's view) in its next transaction.

use keyward_core::model::KeyStatus;
use keyward_core::store::{Store, Tx};

use super::audit::trail_event;
use super::{ACCOUNT, Engine, at, key, seeded, user};

/// The version a new read transaction of `store` sees.
async fn version<S: Store>(store: &S) -> u64 {
    let mut tx = store.begin_read().await.unwrap();
    let v = tx.change_version().await.unwrap();
    tx.commit().await.unwrap();
    v
}

pub async fn the_version_rises_with_each_committed_write<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut seen = version(&store).await;

    // Writes of every kind: an insert, an update, a delete, a setting, an audit record alone.
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.insert_access_key(&key("AKIA1", Some("AIDA1")))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let v = version(&store).await;
    assert!(v > seen, "an insert: {v} after {seen}");
    seen = v;

    let mut tx = store.begin().await.unwrap();
    tx.set_access_key_status("AKIA1", KeyStatus::Inactive)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let v = version(&store).await;
    assert!(v > seen, "an update: {v} after {seen}");
    seen = v;

    let mut tx = store.begin().await.unwrap();
    tx.delete_access_key("AKIA1").await.unwrap();
    tx.commit().await.unwrap();
    let v = version(&store).await;
    assert!(v > seen, "a delete: {v} after {seen}");
    seen = v;

    let mut tx = store.begin().await.unwrap();
    tx.set_setting("bootstrap", "done").await.unwrap();
    tx.commit().await.unwrap();
    let v = version(&store).await;
    assert!(v > seen, "a setting: {v} after {seen}");
    seen = v;

    let mut tx = store.begin().await.unwrap();
    tx.insert_audit_event(&trail_event("e1", at(0), "CreateUser"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let v = version(&store).await;
    assert!(v > seen, "an audit record: {v} after {seen}");
    seen = v;

    // A read transaction reads one version all along, whatever commits meanwhile.
    let mut read = store.begin_read().await.unwrap();
    assert_eq!(read.change_version().await.unwrap(), seen);
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA2", "bob", "/")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read.change_version().await.unwrap(), seen);
    assert!(
        read.get_user(ACCOUNT, "bob").await.unwrap().is_none(),
        "the version and the data are of one snapshot"
    );
    read.commit().await.unwrap();
    assert!(version(&store).await > seen);

    // Concurrent writers (sharing commits where the engine groups them): each one's commit is
    // seen as a higher version than the one before its write.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let before = version(&store).await;
            let mut tx = store.begin().await.unwrap();
            tx.insert_user(&user(&format!("AIDA1{i}"), &format!("u{i}"), "/"))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let after = version(&store).await;
            assert!(after > before, "writer {i}: {after} after {before}");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// What one handle commits, another handle on the same data (another process) sees as a higher
/// version in its next transaction, both ways, even on a connection it read from before.
pub async fn a_write_through_another_handle_is_seen<E: Engine>() {
    let (engine, first) = seeded::<E>().await;
    let second = engine.open().await;
    let start = version(&second).await;
    assert_eq!(version(&first).await, start, "one store, one version");

    let mut tx = first.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.commit().await.unwrap();
    let after_first = version(&second).await;
    assert!(after_first > start, "{after_first} after {start}");
    let mut read = second.begin_read().await.unwrap();
    assert!(read.get_user(ACCOUNT, "alice").await.unwrap().is_some());
    read.commit().await.unwrap();

    let mut tx = second.begin().await.unwrap();
    tx.delete_user("AIDA1").await.unwrap();
    tx.commit().await.unwrap();
    let after_second = version(&first).await;
    assert!(
        after_second > after_first,
        "{after_second} after {after_first}"
    );
    assert_eq!(version(&second).await, after_second);

    // A writer's transaction sees the other handle's commits as well.
    let mut tx = first.begin().await.unwrap();
    assert_eq!(tx.change_version().await.unwrap(), after_second);
    tx.commit().await.unwrap();
}

/// A transaction that rolls back leaves the version, whatever it wrote; so do reads, and a
/// write nobody has committed yet is not seen.
pub async fn rolled_back_and_read_transactions_leave_the_version<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.commit().await.unwrap();
    let v = version(&store).await;

    {
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&user("AIDA2", "bob", "/")).await.unwrap();
        tx.set_setting("x", "y").await.unwrap();
        // Not committed yet: others do not see it.
        assert_eq!(version(&store).await, v);
        // dropped without commit
    }
    assert_eq!(version(&store).await, v);

    {
        // A request that failed half-way: one change, then a refused one.
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&user("AIDA3", "carol", "/")).await.unwrap();
        assert!(tx.insert_user(&user("AIDA4", "ALICE", "/")).await.is_err());
    }
    assert_eq!(version(&store).await, v);

    let mut read = store.begin_read().await.unwrap();
    assert!(read.get_user(ACCOUNT, "alice").await.unwrap().is_some());
    assert_eq!(read.change_version().await.unwrap(), v);
    read.commit().await.unwrap();
    assert_eq!(version(&store).await, v);
}

/// The change token: unmoved while nothing is committed (reads, rolled-back writes, audit records
/// of unchanged requests), moved by a commit through this handle or another one (another process).
pub async fn the_change_token_moves_with_every_commit_from_any_handle<E: Engine>() {
    let (engine, first) = seeded::<E>().await;
    let second = engine.open().await;
    let token = first.change_token().await.unwrap();
    assert_eq!(
        first.change_token().await.unwrap(),
        token,
        "nothing committed"
    );
    let mut read = first.begin_read().await.unwrap();
    assert!(read.get_user(ACCOUNT, "alice").await.unwrap().is_none());
    read.commit().await.unwrap();
    let mut tx = first.begin().await.unwrap();
    tx.insert_user(&user("AIDA9", "rolled", "/")).await.unwrap();
    drop(tx);
    assert_eq!(
        first.change_token().await.unwrap(),
        token,
        "a read and a rollback leave it"
    );

    let mut tx = first.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.commit().await.unwrap();
    let after_own = first.change_token().await.unwrap();
    assert_ne!(after_own, token, "a commit through this handle moves it");

    let seen_by_second = second.change_token().await.unwrap();
    let mut tx = second.begin().await.unwrap();
    tx.delete_user("AIDA1").await.unwrap();
    tx.commit().await.unwrap();
    assert_ne!(
        first.change_token().await.unwrap(),
        after_own,
        "a commit through another handle moves this one's"
    );
    assert_ne!(second.change_token().await.unwrap(), seen_by_second);
}
