//! Transactions: rollback on drop, concurrent writers, readers, settings.

use keyward_core::store::{Store, Tx};

use super::{ACCOUNT, Engine, key, seeded, user};

pub async fn a_dropped_transaction_leaves_nothing<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    {
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&user("AIDA1", "ghost", "/")).await.unwrap();
        tx.insert_access_key(&key("AKIA1", Some("AIDA1")))
            .await
            .unwrap();
        tx.set_setting("ghost", "1").await.unwrap();
        // The transaction sees its own changes.
        assert!(tx.get_user(ACCOUNT, "ghost").await.unwrap().is_some());
        // dropped without commit
    }
    let mut tx = store.begin().await.unwrap();
    assert!(tx.get_user(ACCOUNT, "ghost").await.unwrap().is_none());
    assert!(tx.get_access_key("AKIA1").await.unwrap().is_none());
    assert!(tx.get_setting("ghost").await.unwrap().is_none());
}

/// Concurrent writers each keep or lose their own changes alone, and a request's commit returns
/// only once its change is durable and visible (to new transactions and to another handle).
pub async fn concurrent_writers_commit_together_and_fail_alone<E: Engine>() {
    let (engine, store) = seeded::<E>().await;
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
                // A failed request: dropped without commit, in the middle of the others.
                return false;
            }
            tx.commit().await.unwrap();
            // Read-your-writes: a new read transaction sees the change at once.
            let mut read = store.begin_read().await.unwrap();
            assert!(
                read.get_user(ACCOUNT, &format!("u{i}"))
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
    // Opened again, exactly the committed requests are there.
    let store = engine.open().await;
    let mut tx = store.begin_read().await.unwrap();
    let users = tx.list_users(ACCOUNT, "/", None, 100).await.unwrap();
    assert_eq!(users.len(), 32);
    assert!(
        users
            .iter()
            .all(|u| !u.name.ends_with('0') && u.name != "u5")
    );
}

/// A read transaction sees what was committed before its first read, and what a writer has not
/// committed yet stays out of it.
pub async fn a_read_transaction_reads_what_was_committed<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.commit().await.unwrap();

    let mut writer = store.begin().await.unwrap();
    writer
        .insert_user(&user("AIDA2", "bob", "/"))
        .await
        .unwrap();
    let mut read = store.begin_read().await.unwrap();
    assert!(read.get_user(ACCOUNT, "alice").await.unwrap().is_some());
    assert!(
        read.get_user(ACCOUNT, "bob").await.unwrap().is_none(),
        "an uncommitted change is seen"
    );
    read.commit().await.unwrap();
    drop(writer);
    // A read transaction that never read commits as well.
    store.begin_read().await.unwrap().commit().await.unwrap();
}

pub async fn settings_are_replaced_and_kept<E: Engine>() {
    let (engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_setting("a").await.unwrap(), None);
    tx.set_setting("a", "1").await.unwrap();
    tx.set_setting("a", "2").await.unwrap();
    tx.set_setting("b", "").await.unwrap();
    assert_eq!(tx.get_setting("a").await.unwrap().as_deref(), Some("2"));
    tx.commit().await.unwrap();
    drop(store);
    let store = engine.open().await;
    let mut tx = store.begin_read().await.unwrap();
    assert_eq!(tx.get_setting("a").await.unwrap().as_deref(), Some("2"));
    assert_eq!(tx.get_setting("b").await.unwrap().as_deref(), Some(""));
    assert_eq!(
        tx.get_setting("A").await.unwrap(),
        None,
        "keys keep their case"
    );
}

/// Writing in a read transaction is a store error ("Writing in it is a store error"), and nothing
/// of it is kept.
pub async fn a_read_transaction_refuses_writes<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin_read().await.unwrap();
    assert!(tx.set_setting("sneaky", "1").await.is_err());
    assert!(tx.insert_user(&user("AIDA9", "sneaky", "/")).await.is_err());
    drop(tx);
    let mut tx = store.begin_read().await.unwrap();
    assert!(tx.get_setting("sneaky").await.unwrap().is_none());
    assert!(tx.get_user(ACCOUNT, "sneaky").await.unwrap().is_none());
}
