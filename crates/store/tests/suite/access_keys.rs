//! Access keys.

use keyward_core::StoreErrorKind;
use keyward_core::model::{AccessKey, KeyLastUsed, KeyStatus};
use keyward_core::store::{Store, Tx};

use super::{ACCOUNT, Engine, OTHER, at, key, seeded, user};

fn ids(keys: Vec<AccessKey>) -> Vec<String> {
    keys.into_iter().map(|k| k.access_key_id).collect()
}

pub async fn access_keys_by_owner_status_and_delete<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "u", "/")).await.unwrap();
    tx.insert_access_key(&key("AKIAROOT", None)).await.unwrap();
    // Oldest first, whatever the IDs.
    let mut older = key("AKIAZZZ", Some("AIDA1"));
    older.created = at(-10);
    tx.insert_access_key(&key("AKIAUSER", Some("AIDA1")))
        .await
        .unwrap();
    tx.insert_access_key(&older).await.unwrap();
    assert_eq!(
        tx.get_access_key("AKIAZZZ").await.unwrap(),
        Some(older.clone())
    );
    assert_eq!(tx.get_access_key("AKIANONE").await.unwrap(), None);
    assert_eq!(
        ids(tx.list_access_keys(ACCOUNT, None).await.unwrap()),
        ["AKIAROOT"]
    );
    assert_eq!(
        ids(tx.list_access_keys(ACCOUNT, Some("AIDA1")).await.unwrap()),
        ["AKIAZZZ", "AKIAUSER"]
    );
    assert!(tx.list_access_keys(OTHER, None).await.unwrap().is_empty());
    assert!(
        tx.list_access_keys(ACCOUNT, Some("AIDA9"))
            .await
            .unwrap()
            .is_empty()
    );
    // A key ID is unique.
    assert_eq!(
        tx.insert_access_key(&key("AKIAROOT", Some("AIDA1")))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    // A key's owner must exist.
    assert_eq!(
        tx.insert_access_key(&key("AKIAGHOST", Some("AIDA9")))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    tx.set_access_key_status("AKIAUSER", KeyStatus::Inactive)
        .await
        .unwrap();
    assert_eq!(
        tx.get_access_key("AKIAUSER").await.unwrap().unwrap().status,
        KeyStatus::Inactive
    );
    tx.set_access_key_status("AKIAUSER", KeyStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        tx.get_access_key("AKIAUSER").await.unwrap().unwrap().status,
        KeyStatus::Active
    );
    // A user with keys cannot be deleted underneath them.
    assert_eq!(
        tx.delete_user("AIDA1").await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    tx.delete_access_key("AKIAUSER").await.unwrap();
    tx.delete_access_key("AKIAZZZ").await.unwrap();
    assert_eq!(tx.get_access_key("AKIAUSER").await.unwrap(), None);
    tx.delete_user("AIDA1").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    assert_eq!(
        ids(tx.list_access_keys(ACCOUNT, None).await.unwrap()),
        ["AKIAROOT"]
    );
}

pub async fn key_last_use_is_recorded<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_access_key(&key("AKIAROOT", None)).await.unwrap();
    let first = KeyLastUsed {
        date: at(5),
        service: "iam".into(),
        region: "us-east-1".into(),
    };
    tx.set_access_key_last_used("AKIAROOT", &first)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_access_key("AKIAROOT")
            .await
            .unwrap()
            .unwrap()
            .last_used,
        Some(first)
    );
    let second = KeyLastUsed {
        date: at(50),
        service: "sts".into(),
        region: "eu-west-1".into(),
    };
    tx.set_access_key_last_used("AKIAROOT", &second)
        .await
        .unwrap();
    // Status changes leave it alone.
    tx.set_access_key_status("AKIAROOT", KeyStatus::Inactive)
        .await
        .unwrap();
    let listed = tx.list_access_keys(ACCOUNT, None).await.unwrap();
    assert_eq!(listed[0].last_used, Some(second));
    assert_eq!(listed[0].status, KeyStatus::Inactive);
    tx.commit().await.unwrap();
}
