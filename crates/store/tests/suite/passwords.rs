//! Console passwords, the account password policy, account aliases, sign-in failures.

use keyward_core::StoreErrorKind;
use keyward_core::model::LoginProfile;
use keyward_core::password::PasswordPolicy;
use keyward_core::store::{Store, Tx};

use super::{ACCOUNT, Engine, OTHER, at, seeded, user};

fn profile(user_id: &str, hash: &str, changed: i64) -> LoginProfile {
    LoginProfile {
        user_id: user_id.into(),
        password_hash: hash.into(),
        password_reset_required: true,
        created: at(0),
        password_changed: at(changed),
    }
}

pub async fn login_profiles_are_replaced_and_deleted_with_their_history<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.insert_user(&user("AIDA2", "bob", "/")).await.unwrap();
    assert_eq!(tx.get_login_profile("AIDA1").await.unwrap(), None);
    let first = profile("AIDA1", "$argon2id$first", 0);
    tx.put_login_profile(&first).await.unwrap();
    assert_eq!(tx.get_login_profile("AIDA1").await.unwrap(), Some(first));
    // Replacing keeps the creation date.
    let mut second = profile("AIDA1", "$argon2id$second", 30);
    second.password_reset_required = false;
    second.created = at(30);
    tx.put_login_profile(&second).await.unwrap();
    second.created = at(0);
    assert_eq!(tx.get_login_profile("AIDA1").await.unwrap(), Some(second));
    // A profile's user must exist, and keeps it from being deleted.
    assert_eq!(
        tx.put_login_profile(&profile("AIDA9", "x", 0))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    assert_eq!(
        tx.delete_user("AIDA1").await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );

    tx.put_login_profile(&profile("AIDA2", "$argon2id$bob", 0))
        .await
        .unwrap();
    tx.push_password_history("AIDA1", "$argon2id$first", at(30))
        .await
        .unwrap();
    tx.push_password_history("AIDA2", "$argon2id$bob-old", at(5))
        .await
        .unwrap();
    // Deleting the profile deletes its user's history, and only that user's.
    tx.delete_login_profile("AIDA1").await.unwrap();
    assert_eq!(tx.get_login_profile("AIDA1").await.unwrap(), None);
    assert!(tx.password_history("AIDA1", 24).await.unwrap().is_empty());
    assert_eq!(
        tx.password_history("AIDA2", 24).await.unwrap(),
        ["$argon2id$bob-old"]
    );
    assert!(tx.get_login_profile("AIDA2").await.unwrap().is_some());
    tx.delete_login_profile("AIDA1").await.unwrap();
    tx.delete_user("AIDA1").await.unwrap();
    tx.commit().await.unwrap();
}

/// Newest first, at most `limit`, and at most 24 kept per user.
pub async fn password_history_is_newest_first_and_trimmed<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    assert!(tx.password_history("AIDA1", 5).await.unwrap().is_empty());
    // Pushed out of time order: the history is ordered by time.
    for i in [3, 1, 2] {
        tx.push_password_history("AIDA1", &format!("h{i}"), at(i))
            .await
            .unwrap();
    }
    assert_eq!(
        tx.password_history("AIDA1", 10).await.unwrap(),
        ["h3", "h2", "h1"]
    );
    assert_eq!(tx.password_history("AIDA1", 2).await.unwrap(), ["h3", "h2"]);
    for i in 4..=30 {
        tx.push_password_history("AIDA1", &format!("h{i}"), at(i))
            .await
            .unwrap();
    }
    let kept = tx.password_history("AIDA1", 100).await.unwrap();
    assert_eq!(kept.len(), 24);
    assert_eq!(kept.first().map(String::as_str), Some("h30"));
    assert_eq!(kept.last().map(String::as_str), Some("h7"));
    tx.commit().await.unwrap();
}

pub async fn password_policies_are_set_and_removed<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_password_policy(ACCOUNT).await.unwrap(), None);
    let strict = PasswordPolicy {
        minimum_password_length: 14,
        require_symbols: true,
        require_numbers: true,
        require_uppercase_characters: true,
        require_lowercase_characters: true,
        allow_users_to_change_password: true,
        max_password_age: Some(90),
        password_reuse_prevention: Some(24),
        hard_expiry: true,
    };
    tx.set_password_policy(ACCOUNT, Some(&strict))
        .await
        .unwrap();
    assert_eq!(
        tx.get_password_policy(ACCOUNT).await.unwrap(),
        Some(strict.clone())
    );
    assert_eq!(tx.get_password_policy(OTHER).await.unwrap(), None);
    let lax = PasswordPolicy::default();
    tx.set_password_policy(ACCOUNT, Some(&lax)).await.unwrap();
    tx.set_password_policy(OTHER, Some(&strict)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_password_policy(ACCOUNT).await.unwrap(), Some(lax));
    tx.set_password_policy(ACCOUNT, None).await.unwrap();
    assert_eq!(tx.get_password_policy(ACCOUNT).await.unwrap(), None);
    tx.set_password_policy(ACCOUNT, None).await.unwrap();
    assert_eq!(tx.get_password_policy(OTHER).await.unwrap(), Some(strict));
    // An account that does not exist has no policy to set.
    assert_eq!(
        tx.set_password_policy("999999999999", Some(&PasswordPolicy::default()))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
}

pub async fn aliases_name_one_account_each<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_account_alias(ACCOUNT).await.unwrap(), None);
    assert_eq!(tx.account_by_alias("acme").await.unwrap(), None);
    tx.set_account_alias(ACCOUNT, Some("acme")).await.unwrap();
    assert_eq!(
        tx.get_account_alias(ACCOUNT).await.unwrap().as_deref(),
        Some("acme")
    );
    assert_eq!(
        tx.account_by_alias("acme").await.unwrap().as_deref(),
        Some(ACCOUNT)
    );
    // One alias per account: a new one replaces the old.
    tx.set_account_alias(ACCOUNT, Some("acme-prod"))
        .await
        .unwrap();
    assert_eq!(tx.account_by_alias("acme").await.unwrap(), None);
    assert_eq!(
        tx.account_by_alias("acme-prod").await.unwrap().as_deref(),
        Some(ACCOUNT)
    );
    // An alias names one account.
    assert_eq!(
        tx.set_account_alias(OTHER, Some("acme-prod"))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_account_alias(OTHER).await.unwrap(), None);
    tx.set_account_alias(ACCOUNT, None).await.unwrap();
    assert_eq!(tx.get_account_alias(ACCOUNT).await.unwrap(), None);
    assert_eq!(tx.account_by_alias("acme-prod").await.unwrap(), None);
    // Freed, the alias can name another account.
    tx.set_account_alias(OTHER, Some("acme-prod"))
        .await
        .unwrap();
    assert_eq!(
        tx.account_by_alias("acme-prod").await.unwrap().as_deref(),
        Some(OTHER)
    );
    tx.commit().await.unwrap();
}

/// Failures are kept by account and user name (without regard to case, whether or not the user
/// exists), and read from a time on, oldest first.
pub async fn signin_failures_are_counted_by_name_and_time<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.signin_failures_since(ACCOUNT, "alice", at(0))
            .await
            .unwrap()
            .is_empty()
    );
    for (account, name, secs) in [
        (ACCOUNT, "alice", 20),
        (ACCOUNT, "ALICE", 10),
        (ACCOUNT, "bob", 15),
        (OTHER, "alice", 12),
        (ACCOUNT, "Alice", 30),
    ] {
        tx.insert_signin_failure(account, name, at(secs))
            .await
            .unwrap();
    }
    assert_eq!(
        tx.signin_failures_since(ACCOUNT, "alice", at(0))
            .await
            .unwrap(),
        [at(10), at(20), at(30)]
    );
    assert_eq!(
        tx.signin_failures_since(ACCOUNT, "aLiCe", at(20))
            .await
            .unwrap(),
        [at(20), at(30)]
    );
    assert_eq!(
        tx.signin_failures_since(OTHER, "alice", at(0))
            .await
            .unwrap(),
        [at(12)]
    );
    assert!(
        tx.signin_failures_since(ACCOUNT, "carol", at(0))
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
}
