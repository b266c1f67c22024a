//! Groups and their members.

use keyward_core::StoreErrorKind;
use keyward_core::store::{Store, Tx};

use super::{ACCOUNT, Engine, OTHER, group, group_names, seeded, user, user_names};

pub async fn groups_round_trip_list_rename_and_delete<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    for (i, (name, path)) in [("ops", "/x/"), ("Admins", "/"), ("devs", "/x/y/")]
        .into_iter()
        .enumerate()
    {
        tx.insert_group(&group(&format!("AGPA{i}"), name, path))
            .await
            .unwrap();
    }
    assert_eq!(
        tx.get_group(ACCOUNT, "ADMINS").await.unwrap(),
        Some(group("AGPA1", "Admins", "/"))
    );
    assert_eq!(tx.get_group(OTHER, "admins").await.unwrap(), None);
    assert_eq!(tx.get_group(ACCOUNT, "nobody").await.unwrap(), None);
    assert_eq!(
        group_names(tx.list_groups(ACCOUNT, "/", None, 10).await.unwrap()),
        ["Admins", "devs", "ops"]
    );
    assert_eq!(
        group_names(tx.list_groups(ACCOUNT, "/x/", None, 10).await.unwrap()),
        ["devs", "ops"]
    );
    assert_eq!(
        group_names(
            tx.list_groups(ACCOUNT, "/", Some("admins"), 1)
                .await
                .unwrap()
        ),
        ["devs"]
    );
    assert!(
        tx.list_groups(OTHER, "/", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.insert_group(&group("AGPA9", "OPS", "/"))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );

    // A rename and a new path; the ID and creation date stay.
    let mut renamed = group("AGPA0", "Operators", "/z/");
    renamed.created = super::at(77);
    tx.update_group(&renamed).await.unwrap();
    assert_eq!(
        tx.get_group(ACCOUNT, "operators").await.unwrap(),
        Some(group("AGPA0", "Operators", "/z/"))
    );
    assert_eq!(tx.get_group(ACCOUNT, "ops").await.unwrap(), None);
    let clash = group("AGPA0", "DEVS", "/");
    assert_eq!(
        tx.update_group(&clash).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );

    tx.delete_group("AGPA0").await.unwrap();
    assert_eq!(tx.get_group(ACCOUNT, "operators").await.unwrap(), None);
    tx.delete_group("AGPA0").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    assert_eq!(
        group_names(tx.list_groups(ACCOUNT, "/", None, 10).await.unwrap()),
        ["Admins", "devs"]
    );
}

/// Members are listed by name and paged; a user's groups are listed by name; neither a group
/// with members nor a member can be deleted.
pub async fn members_are_listed_both_ways_and_block_deletes<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_group(&group("AGPA1", "Devs", "/")).await.unwrap();
    tx.insert_group(&group("AGPA2", "admins", "/"))
        .await
        .unwrap();
    for (i, name) in ["carol", "Alice", "bob"].into_iter().enumerate() {
        tx.insert_user(&user(&format!("AIDA{i}"), name, "/"))
            .await
            .unwrap();
        tx.add_group_member("AGPA1", &format!("AIDA{i}"))
            .await
            .unwrap();
    }
    // Adding again changes nothing.
    tx.add_group_member("AGPA1", "AIDA0").await.unwrap();
    tx.add_group_member("AGPA2", "AIDA0").await.unwrap();
    // Members and groups must exist.
    assert_eq!(
        tx.add_group_member("AGPA1", "AIDA9")
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    assert_eq!(
        tx.add_group_member("AGPA9", "AIDA0")
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    assert_eq!(
        user_names(tx.list_group_members("AGPA1", None, 10).await.unwrap()),
        ["Alice", "bob", "carol"]
    );
    assert_eq!(
        user_names(
            tx.list_group_members("AGPA1", Some("ALICE"), 1)
                .await
                .unwrap()
        ),
        ["bob"]
    );
    assert!(
        tx.list_group_members("AGPA9", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        group_names(tx.list_groups_for_user("AIDA0").await.unwrap()),
        ["admins", "Devs"],
        "by name without regard to case"
    );
    assert!(tx.list_groups_for_user("AIDA9").await.unwrap().is_empty());
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.delete_group("AGPA2").await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    assert_eq!(
        tx.delete_user("AIDA0").await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.remove_group_member("AGPA2", "AIDA0").await.unwrap());
    assert!(!tx.remove_group_member("AGPA2", "AIDA0").await.unwrap());
    tx.delete_group("AGPA2").await.unwrap();
    assert!(tx.remove_group_member("AGPA1", "AIDA0").await.unwrap());
    tx.delete_user("AIDA0").await.unwrap();
    assert_eq!(
        user_names(tx.list_group_members("AGPA1", None, 10).await.unwrap()),
        ["Alice", "bob"]
    );
    tx.commit().await.unwrap();
}
