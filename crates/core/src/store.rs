//! The storage contract. Every request runs in one transaction ([`Tx`]): authentication reads,
//! the operation's reads and writes, and the request's audit record commit or roll back together.
//!
//! **API boundary**: implementations live in `keyward-store`; nothing here knows SQL.

use std::future::Future;

use crate::audit::{AuditEvent, AuditQuery, StoredRecord};
use crate::error::StoreError;
use crate::model::{
    AccessKey, Account, AttachedPolicy, EntityKind, Group, KeyLastUsed, KeyStatus, LoginProfile,
    ManagedPolicy, MfaAttempt, MfaDevice, MfaFailure, PolicySource, PolicyVersion, Role, Tag, User,
};
use crate::password::PasswordPolicy;

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens transactions.
pub trait Store: Clone + Send + Sync + 'static {
    type Tx: Tx;

    /// Begins a transaction that may write (the store takes its write lock up front so that a
    /// transaction never fails half-way on a lock upgrade).
    fn begin(&self) -> impl Future<Output = StoreResult<Self::Tx>> + Send;

    /// Begins a transaction that only reads: it takes no write lock, runs concurrently with other
    /// readers and with the writer (WAL), and may open lazily on its first statement. Writing in it
    /// is a store error. An engine without such a mode may answer with [`Store::begin`].
    fn begin_read(&self) -> impl Future<Output = StoreResult<Self::Tx>> + Send {
        self.begin()
    }

    /// A number that changes whenever a write is committed to the store's data, by this process
    /// or any other on the same database; cheap (no transaction, no table read). The request
    /// pipeline compares it with the last one it saw and drops its caches when it moved, so a
    /// write made elsewhere is seen by the next request. (`Tx::change_version` is the
    /// transactional, ordered counterpart.)
    fn change_token(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Appends, in one transaction of their own, the audit records of requests that changed
    /// nothing (group-committed by the server's audit writer). An engine may keep them apart from
    /// the records of changes; [`Tx::lookup_audit_events`] and [`Tx::list_audit_events`] see both.
    fn append_unchanged_records(
        &self,
        records: &[AuditEvent],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// One transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub trait Tx: Send {
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;

    // Settings: small named values such as the bootstrap marker.
    fn get_setting(
        &mut self,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    fn set_setting(
        &mut self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn list_accounts(&mut self) -> impl Future<Output = StoreResult<Vec<Account>>> + Send;
    fn insert_account(&mut self, account: &Account)
    -> impl Future<Output = StoreResult<()>> + Send;

    /// Looks a user up by name; IAM names are unique without regard to case.
    fn get_user(
        &mut self,
        account_id: &str,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    fn get_user_by_id(
        &mut self,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// Users whose path starts with `path_prefix`, ordered by name (case-insensitively), strictly
    /// after `after` when given, at most `limit`.
    fn list_users(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    fn insert_user(&mut self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    /// Rewrites name, path and tags of the user with `user.user_id`.
    fn update_user(&mut self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_user(&mut self, user_id: &str) -> impl Future<Output = StoreResult<()>> + Send;

    fn insert_access_key(
        &mut self,
        key: &AccessKey,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_access_key(
        &mut self,
        access_key_id: &str,
    ) -> impl Future<Output = StoreResult<Option<AccessKey>>> + Send;
    /// Keys of a user (`Some(user_id)`) or of the account's root user (`None`), oldest first.
    fn list_access_keys(
        &mut self,
        account_id: &str,
        user_id: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<AccessKey>>> + Send;
    fn set_access_key_status(
        &mut self,
        access_key_id: &str,
        status: KeyStatus,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_access_key(
        &mut self,
        access_key_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Appends the request's audit record (in this transaction).
    fn insert_audit_event(
        &mut self,
        event: &AuditEvent,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Audit records, newest first (for tests and tools). An engine may read them beside this
    /// transaction: records it wrote itself may show only once it commits.
    fn list_audit_events(
        &mut self,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<AuditEvent>>> + Send;
    /// One account's records matching `query`, newest first (`LookupEvents`).
    fn lookup_audit_events(
        &mut self,
        query: &AuditQuery,
    ) -> impl Future<Output = StoreResult<Vec<StoredRecord>>> + Send;
    /// Deletes records older than `before` (retention); returns how many.
    fn delete_audit_events_before(
        &mut self,
        before: time::OffsetDateTime,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Deletes the oldest records until the trail's records take at most `max_bytes` (each
    /// counted as its engine keeps it: its JSON, its lookup columns and a row's overhead);
    /// returns how many. Files need not shrink: the room is reused.
    fn trim_audit_events(
        &mut self,
        max_bytes: u64,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    // Managed policies and their versions.

    /// Inserts or refreshes an AWS managed policy (its document is the single default version).
    fn upsert_aws_managed_policy(
        &mut self,
        policy: &ManagedPolicy,
        document: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_managed_policy(
        &mut self,
        arn: &str,
    ) -> impl Future<Output = StoreResult<Option<ManagedPolicy>>> + Send;
    /// Policies visible to `account_id` (its own and AWS managed, as `scope` says: `All`, `AWS`,
    /// `Local`), in use as `usage` says, ordered by name then ARN, strictly after `(name, arn)`.
    fn list_managed_policies(
        &mut self,
        account_id: &str,
        scope: &str,
        usage: PolicyUsage,
        path_prefix: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<ManagedPolicy>>> + Send;
    fn insert_managed_policy(
        &mut self,
        policy: &ManagedPolicy,
        first: &PolicyVersion,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Rewrites default version, next version number, update time and tags.
    fn update_managed_policy(
        &mut self,
        policy: &ManagedPolicy,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the policy and all its versions.
    fn delete_managed_policy(
        &mut self,
        policy_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Versions, oldest first.
    fn list_policy_versions(
        &mut self,
        policy_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<PolicyVersion>>> + Send;
    fn insert_policy_version(
        &mut self,
        version: &PolicyVersion,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_policy_version(
        &mut self,
        policy_id: &str,
        version_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // Attachments and inline policies of users, groups and roles.

    fn attach_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        policy_arn: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn detach_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        policy_arn: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Attached policies of one entity, ordered by policy name.
    fn list_attached_policies(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<AttachedPolicy>>> + Send;
    /// Entities a policy is attached to: `(kind, entity_id)`.
    fn list_policy_attachments(
        &mut self,
        policy_arn: &str,
    ) -> impl Future<Output = StoreResult<Vec<(EntityKind, String)>>> + Send;
    /// Creates or replaces an inline policy.
    fn put_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
        document: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    fn delete_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Names of an entity's inline policies, sorted.
    fn list_inline_policies(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Every identity-based policy document that applies to a user: its inline and attached
    /// policies and those of its groups (attached ones at their default version).
    fn user_policy_sources(
        &mut self,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<PolicySource>>> + Send;

    // Groups.

    fn insert_group(&mut self, group: &Group) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_group(
        &mut self,
        account_id: &str,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<Group>>> + Send;
    fn list_groups(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Group>>> + Send;
    /// Rewrites name and path.
    fn update_group(&mut self, group: &Group) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_group(&mut self, group_id: &str) -> impl Future<Output = StoreResult<()>> + Send;
    fn add_group_member(
        &mut self,
        group_id: &str,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn remove_group_member(
        &mut self,
        group_id: &str,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Members ordered by name, strictly after `after`.
    fn list_group_members(
        &mut self,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Groups of a user, ordered by name.
    fn list_groups_for_user(
        &mut self,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<Group>>> + Send;

    fn insert_mfa_device(
        &mut self,
        device: &MfaDevice,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Looks a device up by serial number, without regard to case.
    fn get_mfa_device(
        &mut self,
        account_id: &str,
        serial: &str,
    ) -> impl Future<Output = StoreResult<Option<MfaDevice>>> + Send;
    /// Devices of the account (`user_id` `None`) or those assigned to a user, ordered by serial
    /// number (case-insensitively).
    fn list_mfa_devices(
        &mut self,
        account_id: &str,
        user_id: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<MfaDevice>>> + Send;
    /// Rewrites assignment, enable date, offset, last step and tags of `device.serial`.
    fn update_mfa_device(
        &mut self,
        device: &MfaDevice,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records `step` as the device's last accepted step if, and only if, it is later than the
    /// stored one; `false` when another request got there first (atomic on every engine).
    fn advance_mfa_step(
        &mut self,
        serial: &str,
        step: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn delete_mfa_device(&mut self, serial: &str) -> impl Future<Output = StoreResult<()>> + Send;
    fn insert_mfa_failure(
        &mut self,
        failure: &MfaFailure,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Refused codes at or after `since`, oldest first; of one serial number (without regard to
    /// case) when given.
    fn list_mfa_failures(
        &mut self,
        serial: Option<&str>,
        since: time::OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Vec<MfaFailure>>> + Send;

    // Passwords, sign-in, account settings, key use.

    fn get_login_profile(
        &mut self,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<Option<LoginProfile>>> + Send;
    /// Creates or replaces the login profile of `profile.user_id`.
    fn put_login_profile(
        &mut self,
        profile: &LoginProfile,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_login_profile(
        &mut self,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Earlier password hashes of a user, newest first (for `PasswordReusePrevention`).
    fn password_history(
        &mut self,
        user_id: &str,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    fn push_password_history(
        &mut self,
        user_id: &str,
        hash: &str,
        at: time::OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_password_last_used(
        &mut self,
        user_id: &str,
        at: time::OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_password_policy(
        &mut self,
        account_id: &str,
    ) -> impl Future<Output = StoreResult<Option<PasswordPolicy>>> + Send;
    /// Sets (`Some`) or deletes (`None`) the account password policy.
    fn set_password_policy(
        &mut self,
        account_id: &str,
        policy: Option<&PasswordPolicy>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_account_alias(
        &mut self,
        account_id: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// The account an alias names.
    fn account_by_alias(
        &mut self,
        alias: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// Sets (`Some`) or removes (`None`) the account's one alias.
    fn set_account_alias(
        &mut self,
        account_id: &str,
        alias: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_access_key_last_used(
        &mut self,
        access_key_id: &str,
        last_used: &KeyLastUsed,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn insert_signin_failure(
        &mut self,
        account_id: &str,
        user_name: &str,
        at: time::OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// When (account, user name, without regard to case) failed to sign in at or after `since`,
    /// oldest first.
    fn signin_failures_since(
        &mut self,
        account_id: &str,
        user_name: &str,
        since: time::OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Vec<time::OffsetDateTime>>> + Send;
    // Roles (appended: keep additions at the end of the trait).

    fn insert_role(&mut self, role: &Role) -> impl Future<Output = StoreResult<()>> + Send;
    /// Looks a role up by name, without regard to case.
    fn get_role(
        &mut self,
        account_id: &str,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<Role>>> + Send;
    fn get_role_by_id(
        &mut self,
        role_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Role>>> + Send;
    /// Roles whose path starts with `path_prefix`, ordered by name (case-insensitively), strictly
    /// after `after` when given, at most `limit`.
    fn list_roles(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Role>>> + Send;
    /// Rewrites everything but the ID, account and creation date.
    fn update_role(&mut self, role: &Role) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_role(&mut self, role_id: &str) -> impl Future<Output = StoreResult<()>> + Send;
    /// Every identity-based policy document of a role: inline and attached (default versions).
    fn role_policy_sources(
        &mut self,
        role_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<PolicySource>>> + Send;

    /// Entity counts of an account, for `GetAccountSummary`.
    fn account_counts(
        &mut self,
        account_id: &str,
    ) -> impl Future<Output = StoreResult<AccountCounts>> + Send;

    /// The change feed: a version of the whole store's data as this transaction sees it, for
    /// caches shared by processes (or nodes) that use one store. Every committed write
    /// transaction that changed anything raises it, whichever handle or process wrote; a
    /// transaction that rolls back leaves it. Read in a read transaction, it names exactly the
    /// committed state the transaction's other reads see, so what a cache derives from them can
    /// carry it: the entry is current while a later transaction reads the same version. (In a
    /// writing transaction it counts the uncommitted changes the transaction sees too.) It is one
    /// indexed read; it says that something changed, not what.
    fn change_version(&mut self) -> impl Future<Output = StoreResult<u64>> + Send;

    // The MFA throttle's attempts.

    /// Reserves an attempt at a code of device `serial` (without regard to case) at `at`, before
    /// the code is looked at: reads the times of the device's unreleased attempts at or after
    /// `since`, oldest first, and records one at `at` if, and only if, `admit` says so. Reading
    /// and recording are atomic on every engine, across processes and nodes sharing the store:
    /// of concurrent reservations for one device, each sees every attempt admitted before it.
    /// `None`: not admitted. Attempts before `since` may be forgotten.
    ///
    /// The reservation outlives this transaction: it stays whether the transaction commits or
    /// rolls back (a refused code's request rolls back, and its attempt must still count). An
    /// engine commits it in a short transaction of its own (PostgreSQL: on a second connection,
    /// `SELECT ... FOR UPDATE` of the device's throttle row, read, insert, commit), or, where this
    /// transaction holds the store's only write lock until it ends (SQLite), keeps it through the
    /// rollback.
    fn reserve_mfa_attempt(
        &mut self,
        serial: &str,
        at: time::OffsetDateTime,
        since: time::OffsetDateTime,
        admit: &(dyn Fn(&[time::OffsetDateTime]) -> bool + Sync),
    ) -> impl Future<Output = StoreResult<Option<MfaAttempt>>> + Send;
    /// Releases an attempt whose code was accepted: it no longer counts. Like the reservation, the
    /// release outlives this transaction.
    fn release_mfa_attempt(
        &mut self,
        attempt: MfaAttempt,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Convenience so tag lists can be compared without regard to case of keys.
pub fn find_tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a Tag> {
    tags.iter().find(|t| t.key.eq_ignore_ascii_case(key))
}

/// `ListPolicies`' `OnlyAttached` and `PolicyUsageFilter`, combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyUsage {
    /// Every policy.
    Any,
    /// Attached to an entity or used as a permissions boundary.
    Attached,
    /// Attached to an entity as a permissions policy.
    AsPermissions,
    /// Used as a permissions boundary.
    AsBoundary,
}

/// How many of each entity an account holds (`GetAccountSummary`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountCounts {
    pub users: i64,
    pub groups: i64,
    pub roles: i64,
    /// Customer managed policies.
    pub policies: i64,
    /// Attachments of managed policies to users, groups and roles.
    pub policy_versions_in_use: i64,
    pub mfa_devices: i64,
    pub mfa_devices_in_use: i64,
    pub root_access_keys: i64,
}
