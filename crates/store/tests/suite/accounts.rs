//! Accounts and their entity counts.

use keyward_core::StoreErrorKind;
use keyward_core::model::{Account, EntityKind, MfaDevice};
use keyward_core::store::{AccountCounts, Store, Tx};

use super::{ACCOUNT, Engine, OTHER, at, group, key, policy, role, seeded, user, version};

pub async fn accounts_list_oldest_first_and_are_unique<E: Engine>() {
    let engine = E::create().await;
    let store = engine.open().await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.list_accounts().await.unwrap().is_empty());
    let account = |id: &str, secs| Account {
        id: id.into(),
        created: at(secs),
    };
    // Created in this order: "3" is the oldest; "1" and "2" share a time.
    for a in [account("2", 10), account("3", 0), account("1", 10)] {
        tx.insert_account(&a).await.unwrap();
    }
    assert_eq!(
        tx.insert_account(&account("2", 99))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    assert_eq!(
        tx.list_accounts().await.unwrap(),
        [account("3", 0), account("1", 10), account("2", 10)]
    );
}

pub async fn account_counts_count_one_account<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.account_counts(ACCOUNT).await.unwrap(),
        AccountCounts::default()
    );
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.insert_user(&user("AIDA2", "bob", "/")).await.unwrap();
    tx.insert_group(&group("AGPA1", "devs", "/")).await.unwrap();
    tx.insert_role(&role("AROA1", "deployer", "/"))
        .await
        .unwrap();
    let mine = policy(ACCOUNT, "ANPA1", "Mine", "/");
    tx.insert_managed_policy(&mine, &version("ANPA1", "v1", &super::allow("s3:*"), 0))
        .await
        .unwrap();
    let aws = policy("aws", "ANPA2", "ReadOnlyAccess", "/");
    tx.upsert_aws_managed_policy(&aws, &super::allow("*:Get*"))
        .await
        .unwrap();
    tx.attach_policy(EntityKind::User, "AIDA1", &mine.arn)
        .await
        .unwrap();
    tx.attach_policy(EntityKind::Group, "AGPA1", &aws.arn)
        .await
        .unwrap();
    tx.attach_policy(EntityKind::Role, "AROA1", &aws.arn)
        .await
        .unwrap();
    for (serial, user_id) in [
        ("arn:aws:iam::123456789012:mfa/a", Some("AIDA1")),
        ("arn:aws:iam::123456789012:mfa/b", None),
    ] {
        tx.insert_mfa_device(&MfaDevice {
            serial: serial.into(),
            account_id: ACCOUNT.into(),
            name: "d".into(),
            path: "/".into(),
            user_id: user_id.map(str::to_owned),
            enable_date: None,
            created: at(0),
            sealed_seed: vec![9],
            offset_steps: 0,
            last_step: None,
            tags: vec![],
        })
        .await
        .unwrap();
    }
    tx.insert_access_key(&key("AKIAROOT", None)).await.unwrap();
    tx.insert_access_key(&key("AKIAUSER", Some("AIDA1")))
        .await
        .unwrap();
    // Another account's entities are not counted.
    let mut theirs = user("AIDA9", "alice", "/");
    theirs.account_id = OTHER.into();
    tx.insert_user(&theirs).await.unwrap();
    let mut their_key = key("AKIAOTHER", None);
    their_key.account_id = OTHER.into();
    tx.insert_access_key(&their_key).await.unwrap();
    tx.attach_policy(EntityKind::User, "AIDA9", &aws.arn)
        .await
        .unwrap();
    assert_eq!(
        tx.account_counts(ACCOUNT).await.unwrap(),
        AccountCounts {
            users: 2,
            groups: 1,
            roles: 1,
            policies: 1,
            policy_versions_in_use: 3,
            mfa_devices: 2,
            mfa_devices_in_use: 1,
            root_access_keys: 1,
        }
    );
    assert_eq!(
        tx.account_counts(OTHER).await.unwrap(),
        AccountCounts {
            users: 1,
            policy_versions_in_use: 1,
            root_access_keys: 1,
            ..AccountCounts::default()
        }
    );
    tx.commit().await.unwrap();
}
