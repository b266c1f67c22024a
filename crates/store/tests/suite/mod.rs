//! The store contract as cases generic over the engine: every engine runs every case.
//!
//! An engine takes part with an [`Engine`] (where its data lives, how a handle on it is opened)
//! and one line, `store_suite!(MyEngine);`, in a module of its own (see `store_suite.rs`). A case
//! is an `async fn name<E: Engine>()` in one of the group modules below, listed once in
//! [`store_suite!`]; `store_suite.rs` checks that every case is listed and that every method of
//! `Store` and `Tx` is called by some case.

use std::future::Future;

use keyward_core::model::{
    AccessKey, Account, Group, KeyStatus, ManagedPolicy, PolicyVersion, Role, Tag, User,
};
use keyward_core::store::{Store, Tx};
use time::OffsetDateTime;
use time::macros::datetime;

pub mod access_keys;
pub mod accounts;
pub mod attachments;
pub mod audit;
pub mod change_feed;
pub mod groups;
pub mod mfa;
pub mod passwords;
pub mod policies;
pub mod roles;
pub mod transactions;
pub mod users;

/// An engine under test: where its data lives, and how a handle on that data is opened.
pub trait Engine: Sized + Send + Sync + 'static {
    type Store: Store<Tx: 'static>;

    /// A new, empty place for data (a folder, a database), kept while `self` lives.
    fn create() -> impl Future<Output = Self> + Send;

    /// A handle on the data, with the schema in place. Each call opens another one, as another
    /// process (or the same one after a restart) would: what one handle commits, the others see.
    fn open(&self) -> impl Future<Output = Self::Store> + Send;
}

/// Instantiates every case of the suite for an engine: `store_suite!(MyEngine);` in a module of
/// its own gives one `#[tokio::test]` per case, named `group::case`.
macro_rules! store_suite {
    ($engine:ty) => {
        store_suite!(@cases $engine;
            transactions {
                a_dropped_transaction_leaves_nothing,
                concurrent_writers_commit_together_and_fail_alone,
                a_read_transaction_reads_what_was_committed,
                settings_are_replaced_and_kept,
                a_read_transaction_refuses_writes,
            }
            accounts {
                accounts_list_oldest_first_and_are_unique,
                account_counts_count_one_account,
            }
            users {
                users_round_trip_case_insensitively_and_list_in_order,
                users_are_found_by_id_updated_and_deleted,
                a_user_belongs_to_an_existing_account,
            }
            access_keys {
                access_keys_by_owner_status_and_delete,
                key_last_use_is_recorded,
            }
            audit {
                audit_events_and_settings_survive_reopen,
                the_trail_is_ordered_by_event_time_and_selected_by_it,
                unchanged_records_are_seen_by_every_reader,
                lookups_select_by_each_attribute,
                a_size_cap_removes_the_oldest_records_first,
            }
            policies {
                managed_policies_round_trip_and_are_unique,
                aws_managed_policies_are_refreshed_in_place,
                policy_versions_are_ordered_and_deleted,
                policies_list_by_scope_usage_path_and_page,
            }
            attachments {
                attachments_are_idempotent_and_listed_both_ways,
                an_attached_policy_cannot_be_deleted,
                inline_policies_are_replaced_listed_and_deleted,
                policy_sources_gather_user_group_and_role_documents,
            }
            groups {
                groups_round_trip_list_rename_and_delete,
                members_are_listed_both_ways_and_block_deletes,
            }
            mfa {
                devices_round_trip_and_steps_only_advance,
                devices_list_by_serial_and_are_unique,
                same_code_concurrently_exactly_one_wins,
                refusals_drift_and_throttle,
                mfa_attempts_are_reserved_atomically_and_outlive_their_transaction,
            }
            passwords {
                login_profiles_are_replaced_and_deleted_with_their_history,
                password_history_is_newest_first_and_trimmed,
                password_policies_are_set_and_removed,
                aliases_name_one_account_each,
                signin_failures_are_counted_by_name_and_time,
            }
            roles {
                roles_round_trip_list_update_and_delete,
            }
            change_feed {
                the_version_rises_with_each_committed_write,
                a_write_through_another_handle_is_seen,
                rolled_back_and_read_transactions_leave_the_version,
                the_change_token_moves_with_every_commit_from_any_handle,
            }
        );
    };
    (@cases $engine:ty; $($group:ident { $($case:ident),* $(,)? })*) => {
        type SuiteEngine = $engine;
        $(
            mod $group {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        $crate::suite::$group::$case::<super::SuiteEngine>().await;
                    }
                )*
            }
        )*
    };
}
pub(crate) use store_suite;

// Fixtures.

pub const ACCOUNT: &str = "123456789012";
pub const OTHER: &str = "210987654321";

/// A time with milliseconds, `secs` seconds after the fixtures' epoch.
pub fn at(secs: i64) -> OffsetDateTime {
    datetime!(2024-01-02 03:04:05.678 UTC) + time::Duration::seconds(secs)
}

/// A store with the two accounts [`ACCOUNT`] and [`OTHER`].
pub async fn seeded<E: Engine>() -> (E, E::Store) {
    let engine = E::create().await;
    let store = engine.open().await;
    let mut tx = store.begin().await.unwrap();
    for (id, created) in [(ACCOUNT, at(-100)), (OTHER, at(-50))] {
        tx.insert_account(&Account {
            id: id.into(),
            created,
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    (engine, store)
}

pub fn user(id: &str, name: &str, path: &str) -> User {
    User {
        account_id: ACCOUNT.into(),
        user_id: id.into(),
        name: name.into(),
        path: path.into(),
        created: at(0),
        tags: vec![Tag {
            key: "k".into(),
            value: "v \"quoted\"".into(),
        }],
        permissions_boundary: None,
        password_last_used: None,
    }
}

pub fn key(id: &str, user_id: Option<&str>) -> AccessKey {
    AccessKey {
        access_key_id: id.into(),
        account_id: ACCOUNT.into(),
        user_id: user_id.map(str::to_owned),
        status: KeyStatus::Active,
        created: at(0),
        sealed_secret: vec![1, 2, 3],
        last_used: None,
    }
}

pub fn group(id: &str, name: &str, path: &str) -> Group {
    Group {
        account_id: ACCOUNT.into(),
        group_id: id.into(),
        name: name.into(),
        path: path.into(),
        created: at(0),
    }
}

pub fn role(id: &str, name: &str, path: &str) -> Role {
    Role {
        account_id: ACCOUNT.into(),
        role_id: id.into(),
        name: name.into(),
        path: path.into(),
        created: at(0),
        assume_role_policy: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
        description: Some("a role".into()),
        max_session_duration: 3600,
        permissions_boundary: None,
        tags: vec![],
        last_used: None,
    }
}

/// A customer managed policy of `account` (or an AWS managed one with `"aws"`) at version `v1`.
pub fn policy(account: &str, id: &str, name: &str, path: &str) -> ManagedPolicy {
    ManagedPolicy {
        policy_id: id.into(),
        account_id: account.into(),
        name: name.into(),
        path: path.into(),
        arn: format!("arn:aws:iam::{account}:policy{path}{name}"),
        description: None,
        default_version_id: "v1".into(),
        next_version: 2,
        created: at(0),
        updated: at(0),
        tags: vec![],
        attachment_count: 0,
        boundary_usage_count: 0,
    }
}

pub fn version(policy_id: &str, version_id: &str, document: &str, created: i64) -> PolicyVersion {
    PolicyVersion {
        policy_id: policy_id.into(),
        version_id: version_id.into(),
        document: document.into(),
        created: at(created),
    }
}

/// A policy document allowing `action`.
pub fn allow(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

pub fn user_names(users: Vec<User>) -> Vec<String> {
    users.into_iter().map(|u| u.name).collect()
}

pub fn group_names(groups: Vec<Group>) -> Vec<String> {
    groups.into_iter().map(|g| g.name).collect()
}
