//! Users.

use keyward_core::StoreErrorKind;
use keyward_core::model::Tag;
use keyward_core::store::{Store, Tx};

use super::{ACCOUNT, Engine, OTHER, at, seeded, user, user_names};

pub async fn users_round_trip_case_insensitively_and_list_in_order<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    for (i, name) in ["carol", "Alice", "bob", "dave"].iter().enumerate() {
        let path = if i % 2 == 0 { "/a/" } else { "/b/" };
        tx.insert_user(&user(&format!("AIDA{i}"), name, path))
            .await
            .unwrap();
    }
    assert_eq!(
        tx.get_user(ACCOUNT, "ALICE").await.unwrap().unwrap(),
        user("AIDA1", "Alice", "/b/")
    );
    assert!(tx.get_user(OTHER, "alice").await.unwrap().is_none());
    assert!(tx.get_user(ACCOUNT, "nobody").await.unwrap().is_none());
    assert_eq!(
        user_names(tx.list_users(ACCOUNT, "/", None, 10).await.unwrap()),
        ["Alice", "bob", "carol", "dave"]
    );
    // Pages: strictly after `after` (without regard to case), at most `limit`.
    assert_eq!(
        user_names(tx.list_users(ACCOUNT, "/", Some("bob"), 1).await.unwrap()),
        ["carol"]
    );
    assert_eq!(
        user_names(tx.list_users(ACCOUNT, "/", Some("ALICE"), 2).await.unwrap()),
        ["bob", "carol"]
    );
    assert!(
        tx.list_users(ACCOUNT, "/", Some("dave"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        user_names(tx.list_users(ACCOUNT, "/a/", None, 10).await.unwrap()),
        ["bob", "carol"]
    );
    assert!(
        tx.list_users(OTHER, "/", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A prefix with LIKE wildcards is taken literally.
    assert!(
        tx.list_users(ACCOUNT, "/%", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.list_users(ACCOUNT, "/_/", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A second user whose name differs only by case is refused; so is a taken ID.
    assert_eq!(
        tx.insert_user(&user("AIDA9", "BOB", "/"))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    assert_eq!(
        tx.insert_user(&user("AIDA0", "erin", "/"))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    // The same name in another account is another user.
    let mut theirs = user("AIDA9", "bob", "/");
    theirs.account_id = OTHER.into();
    tx.insert_user(&theirs).await.unwrap();
    tx.commit().await.unwrap();
}

pub async fn users_are_found_by_id_updated_and_deleted<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let mut alice = user("AIDA1", "alice", "/");
    alice.permissions_boundary = Some("arn:aws:iam::aws:policy/PowerUserAccess".into());
    tx.insert_user(&alice).await.unwrap();
    tx.insert_user(&user("AIDA2", "bob", "/")).await.unwrap();
    assert_eq!(
        tx.get_user_by_id("AIDA1").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(tx.get_user_by_id("AIDA9").await.unwrap(), None);

    // A rename, a new path, other tags, no boundary: the ID and creation date stay.
    let mut renamed = alice.clone();
    renamed.name = "Alicia".into();
    renamed.path = "/staff/".into();
    renamed.tags = vec![
        Tag {
            key: "team".into(),
            value: "a".into(),
        },
        Tag {
            key: "Cost".into(),
            value: "".into(),
        },
    ];
    renamed.permissions_boundary = None;
    renamed.created = at(999);
    tx.update_user(&renamed).await.unwrap();
    renamed.created = alice.created;
    assert_eq!(
        tx.get_user(ACCOUNT, "ALICIA").await.unwrap(),
        Some(renamed.clone())
    );
    assert_eq!(tx.get_user(ACCOUNT, "alice").await.unwrap(), None);
    // Renaming onto a taken name (without regard to case) is refused.
    let mut clash = renamed.clone();
    clash.name = "BOB".into();
    assert_eq!(
        tx.update_user(&clash).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );

    // The last console sign-in is recorded apart, and kept by updates.
    tx.set_password_last_used("AIDA1", at(60)).await.unwrap();
    tx.update_user(&renamed).await.unwrap();
    assert_eq!(
        tx.get_user_by_id("AIDA1")
            .await
            .unwrap()
            .unwrap()
            .password_last_used,
        Some(at(60))
    );

    tx.delete_user("AIDA1").await.unwrap();
    assert_eq!(tx.get_user_by_id("AIDA1").await.unwrap(), None);
    assert_eq!(tx.get_user(ACCOUNT, "alicia").await.unwrap(), None);
    // Deleting what is not there is no error; the name is free again.
    tx.delete_user("AIDA1").await.unwrap();
    tx.insert_user(&user("AIDA3", "alicia", "/")).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin_read().await.unwrap();
    assert_eq!(
        user_names(tx.list_users(ACCOUNT, "/", None, 10).await.unwrap()),
        ["alicia", "bob"]
    );
}

/// A user's account must exist.
pub async fn a_user_belongs_to_an_existing_account<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let mut stray = user("AIDA1", "alice", "/");
    stray.account_id = "999999999999".into();
    assert_eq!(
        tx.insert_user(&stray).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
}
