//! Roles.

use keyward_core::StoreErrorKind;
use keyward_core::model::Tag;
use keyward_core::store::{Store, Tx};

use super::{ACCOUNT, Engine, OTHER, at, role, seeded};

pub async fn roles_round_trip_list_update_and_delete<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let mut deployer = role("AROA1", "Deployer", "/ci/");
    deployer.tags = vec![Tag {
        key: "team".into(),
        value: "ci".into(),
    }];
    deployer.permissions_boundary = Some("arn:aws:iam::aws:policy/PowerUserAccess".into());
    deployer.last_used = Some((at(5), "eu-west-1".into()));
    tx.insert_role(&deployer).await.unwrap();
    let mut reader = role("AROA2", "reader", "/");
    reader.description = None;
    tx.insert_role(&reader).await.unwrap();
    tx.insert_role(&role("AROA3", "admin", "/ci/x/"))
        .await
        .unwrap();
    assert_eq!(
        tx.get_role(ACCOUNT, "deployer").await.unwrap(),
        Some(deployer.clone())
    );
    assert_eq!(tx.get_role(OTHER, "deployer").await.unwrap(), None);
    assert_eq!(tx.get_role_by_id("AROA2").await.unwrap(), Some(reader));
    assert_eq!(tx.get_role_by_id("AROA9").await.unwrap(), None);
    let names =
        |rs: Vec<keyward_core::model::Role>| rs.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(
        names(tx.list_roles(ACCOUNT, "/", None, 10).await.unwrap()),
        ["admin", "Deployer", "reader"]
    );
    assert_eq!(
        names(tx.list_roles(ACCOUNT, "/ci/", None, 10).await.unwrap()),
        ["admin", "Deployer"]
    );
    assert_eq!(
        names(tx.list_roles(ACCOUNT, "/", Some("ADMIN"), 1).await.unwrap()),
        ["Deployer"]
    );
    assert!(
        tx.list_roles(OTHER, "/", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.insert_role(&role("AROA9", "READER", "/"))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    assert_eq!(
        tx.insert_role(&role("AROA1", "fresh", "/"))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );

    // An update rewrites everything but the ID, account and creation date.
    let mut updated = role("AROA1", "Shipper", "/cd/");
    updated.account_id = OTHER.into();
    updated.created = at(1000);
    updated.assume_role_policy = "{\"Statement\":[]}".into();
    updated.description = None;
    updated.max_session_duration = 43_200;
    updated.last_used = Some((at(60), "us-west-2".into()));
    tx.update_role(&updated).await.unwrap();
    updated.account_id = ACCOUNT.into();
    updated.created = deployer.created;
    assert_eq!(
        tx.get_role_by_id("AROA1").await.unwrap(),
        Some(updated.clone())
    );
    assert_eq!(tx.get_role(ACCOUNT, "deployer").await.unwrap(), None);
    let mut clash = updated.clone();
    clash.name = "Admin".into();
    assert_eq!(
        tx.update_role(&clash).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );

    tx.delete_role("AROA1").await.unwrap();
    assert_eq!(tx.get_role_by_id("AROA1").await.unwrap(), None);
    tx.delete_role("AROA1").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    assert_eq!(
        names(tx.list_roles(ACCOUNT, "/", None, 10).await.unwrap()),
        ["admin", "reader"]
    );
}
