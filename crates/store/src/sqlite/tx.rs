//! The contract's operations on SQLite: [`Tx`] for [`SqliteTx`].

use std::sync::Arc;

use keyward_core::StoreError;
use keyward_core::audit::{AuditEvent, AuditQuery, StoredRecord};
use keyward_core::clock::{from_millis, to_millis};
use keyward_core::model::{
    AccessKey, Account, AttachedPolicy, EntityKind, Group, KeyLastUsed, KeyStatus, LoginProfile,
    ManagedPolicy, MfaAttempt, MfaDevice, MfaFailure, PolicySource, PolicyVersion, Role, User,
};
use keyward_core::password::PasswordPolicy;
use keyward_core::store::{AccountCounts, PolicyUsage, StoreResult, Tx};
use rusqlite::{Connection, params};

use super::audit::{self, insert_record};
use super::engine::{Ended, Handle, Outliving, SqliteTx, await_group, control};
use super::rows::{
    all, exec, group_from_row, key_from_row, mfa_device_from_row, mfa_failure_from_row, name_key,
    one, optional, policy_from_json, policy_from_row, policy_select, policy_to_json, role_from_row,
    role_select, scalar_all, scalar_optional, sql_limit, tags_to_json, under_path, under_path_sql,
    user_from_row,
};
use crate::error::db_err;

impl Tx for SqliteTx {
    async fn commit(mut self) -> StoreResult<()> {
        let was_open = std::mem::replace(&mut self.open, false);
        match &mut self.conn {
            Handle::Writer(w) => match w.take().map(|w| w.end(true)) {
                Some(Ended::Done(result)) => result,
                Some(Ended::Pending { group, outcome }) => {
                    let inner = Arc::clone(&self.store.inner);
                    drop(self);
                    await_group(&inner, group, outcome).await
                }
                None => Err(StoreError::new("the transaction is over")),
            },
            Handle::Reader(Some(conn)) if was_open => control(conn, "COMMIT"),
            Handle::Reader(_) => Ok(()),
        }
    }

    async fn get_setting(&mut self, key: &str) -> StoreResult<Option<String>> {
        scalar_optional(
            self.conn()?,
            "read setting",
            "SELECT value FROM settings WHERE key = ?1",
            params![key],
        )
    }

    async fn set_setting(&mut self, key: &str, value: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "write setting",
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    async fn list_accounts(&mut self) -> StoreResult<Vec<Account>> {
        all(
            self.conn()?,
            "list accounts",
            "SELECT account_id, created_ms FROM accounts ORDER BY created_ms, account_id",
            [],
            |r| {
                let get = db_err("decode account");
                Ok(Account {
                    id: r.get("account_id").map_err(get)?,
                    created: from_millis(r.get("created_ms").map_err(get)?),
                })
            },
        )
    }

    async fn insert_account(&mut self, account: &Account) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert account",
            "INSERT INTO accounts (account_id, created_ms) VALUES (?1, ?2)",
            params![&account.id, to_millis(account.created)],
        )?;
        Ok(())
    }

    async fn get_user(&mut self, account_id: &str, name: &str) -> StoreResult<Option<User>> {
        optional(
            self.conn()?,
            "read user",
            "SELECT user_id, account_id, name, path, created_ms, tags, permissions_boundary, password_last_used_ms FROM users WHERE account_id = ?1 AND name_key = ?2",
            params![account_id, name_key(name)],
            user_from_row,
        )
    }

    async fn get_user_by_id(&mut self, user_id: &str) -> StoreResult<Option<User>> {
        optional(
            self.conn()?,
            "read user by id",
            "SELECT user_id, account_id, name, path, created_ms, tags, permissions_boundary, password_last_used_ms FROM users WHERE user_id = ?1",
            params![user_id],
            user_from_row,
        )
    }

    async fn list_users(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<User>> {
        all(
            self.conn()?,
            "list users",
            concat!(
                "SELECT user_id, account_id, name, path, created_ms, tags, permissions_boundary, \
                 password_last_used_ms FROM users",
                under_path_sql!()
            ),
            under_path(account_id, path_prefix, after, limit),
            user_from_row,
        )
    }

    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert user",
            "INSERT INTO users (user_id, account_id, name, name_key, path, created_ms, tags, permissions_boundary) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                &user.user_id,
                &user.account_id,
                &user.name,
                name_key(&user.name),
                &user.path,
                to_millis(user.created),
                tags_to_json(&user.tags),
                &user.permissions_boundary
            ],
        )?;
        Ok(())
    }

    async fn update_user(&mut self, user: &User) -> StoreResult<()> {
        exec(
            self.conn()?,
            "update user",
            "UPDATE users SET name = ?2, name_key = ?3, path = ?4, tags = ?5, permissions_boundary = ?6 WHERE user_id = ?1",
            params![
                &user.user_id,
                &user.name,
                name_key(&user.name),
                &user.path,
                tags_to_json(&user.tags),
                &user.permissions_boundary
            ],
        )?;
        Ok(())
    }

    async fn delete_user(&mut self, user_id: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete user",
            "DELETE FROM users WHERE user_id = ?1",
            params![user_id],
        )?;
        Ok(())
    }

    async fn insert_access_key(&mut self, key: &AccessKey) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert access key",
            "INSERT INTO access_keys (access_key_id, account_id, user_id, status, created_ms, sealed_secret) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                &key.access_key_id,
                &key.account_id,
                &key.user_id,
                key.status.as_str(),
                to_millis(key.created),
                &key.sealed_secret
            ],
        )?;
        Ok(())
    }

    async fn get_access_key(&mut self, access_key_id: &str) -> StoreResult<Option<AccessKey>> {
        optional(
            self.conn()?,
            "read access key",
            "SELECT access_key_id, account_id, user_id, status, created_ms, sealed_secret, last_used_ms, last_used_service, last_used_region FROM access_keys WHERE access_key_id = ?1",
            params![access_key_id],
            key_from_row,
        )
    }

    async fn list_access_keys(
        &mut self,
        account_id: &str,
        user_id: Option<&str>,
    ) -> StoreResult<Vec<AccessKey>> {
        all(
            self.conn()?,
            "list access keys",
            "SELECT access_key_id, account_id, user_id, status, created_ms, sealed_secret, last_used_ms, last_used_service, last_used_region FROM access_keys \
             WHERE account_id = ?1 AND user_id IS ?2 ORDER BY created_ms, access_key_id",
            params![account_id, user_id],
            key_from_row,
        )
    }

    async fn set_access_key_status(
        &mut self,
        access_key_id: &str,
        status: KeyStatus,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "update access key",
            "UPDATE access_keys SET status = ?2 WHERE access_key_id = ?1",
            params![access_key_id, status.as_str()],
        )?;
        Ok(())
    }

    async fn delete_access_key(&mut self, access_key_id: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete access key",
            "DELETE FROM access_keys WHERE access_key_id = ?1",
            params![access_key_id],
        )?;
        Ok(())
    }

    async fn insert_audit_event(&mut self, e: &AuditEvent) -> StoreResult<()> {
        let inner = Arc::clone(&self.store.inner);
        insert_record(self.conn()?, &inner.audit_counter, e)
    }

    async fn list_audit_events(&mut self, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        self.on_trail_reader(|conn| audit::list(conn, limit))
    }

    async fn lookup_audit_events(&mut self, q: &AuditQuery) -> StoreResult<Vec<StoredRecord>> {
        self.on_trail_reader(|conn| audit::lookup(conn, q))
    }

    async fn delete_audit_events_before(
        &mut self,
        before: time::OffsetDateTime,
    ) -> StoreResult<u64> {
        let inner = Arc::clone(&self.store.inner);
        audit::delete_before(self.conn()?, &inner, before)
    }

    async fn trim_audit_events(&mut self, max_bytes: u64) -> StoreResult<u64> {
        let Some(newest_cut) = self.on_trail_reader(|conn| audit::overflow(conn, max_bytes))?
        else {
            return Ok(0);
        };
        let inner = Arc::clone(&self.store.inner);
        audit::delete_below(self.conn()?, &inner, newest_cut.saturating_add(1))
    }

    async fn upsert_aws_managed_policy(
        &mut self,
        p: &ManagedPolicy,
        document: &str,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "upsert AWS managed policy",
            "INSERT INTO managed_policies (policy_id, account_id, name, name_key, path, arn, description, \
             default_version, next_version, created_ms, updated_ms, tags) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, '[]') \
             ON CONFLICT (arn) DO UPDATE SET description = excluded.description, \
             default_version = excluded.default_version, updated_ms = excluded.updated_ms",
            params![
                &p.policy_id,
                &p.account_id,
                &p.name,
                name_key(&p.name),
                &p.path,
                &p.arn,
                &p.description,
                &p.default_version_id,
                p.next_version,
                to_millis(p.created),
                to_millis(p.updated)
            ],
        )?;
        exec(
            self.conn()?,
            "upsert AWS managed policy version",
            "INSERT INTO policy_versions (policy_id, version_id, document, created_ms) \
             SELECT policy_id, ?2, ?3, ?4 FROM managed_policies WHERE arn = ?1 \
             ON CONFLICT (policy_id, version_id) DO UPDATE SET document = excluded.document",
            params![
                &p.arn,
                &p.default_version_id,
                document,
                to_millis(p.updated)
            ],
        )?;
        Ok(())
    }

    async fn get_managed_policy(&mut self, arn: &str) -> StoreResult<Option<ManagedPolicy>> {
        optional(
            self.conn()?,
            "read managed policy",
            concat!(policy_select!(), " WHERE p.arn = ?1"),
            params![arn],
            policy_from_row,
        )
    }

    async fn list_managed_policies(
        &mut self,
        account_id: &str,
        scope: &str,
        usage: PolicyUsage,
        path_prefix: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<ManagedPolicy>> {
        let (after_name, after_arn) = after
            .map(|(n, a)| (name_key(n), a.to_owned()))
            .unwrap_or_default();
        all(
            self.conn()?,
            "list managed policies",
            concat!(
                policy_select!(),
                " WHERE \
             ((?2 = 'All' AND p.account_id IN (?1, 'aws')) OR (?2 = 'AWS' AND p.account_id = 'aws') \
              OR (?2 = 'Local' AND p.account_id = ?1)) \
             AND substr(p.path, 1, length(?3)) = ?3 \
             AND (?4 = 0 \
                  OR (?4 IN (1, 2) AND EXISTS (SELECT 1 FROM policy_attachments a WHERE a.policy_arn = p.arn)) \
                  OR (?4 IN (1, 3) AND (EXISTS (SELECT 1 FROM users u WHERE u.permissions_boundary = p.arn) \
                                     OR EXISTS (SELECT 1 FROM roles r WHERE r.permissions_boundary = p.arn)))) \
             AND (p.name_key > ?5 OR (p.name_key = ?5 AND p.arn > ?6)) \
             ORDER BY p.name_key, p.arn LIMIT ?7"
            ),
            params![
                account_id,
                scope,
                path_prefix,
                match usage {
                    PolicyUsage::Any => 0_i64,
                    PolicyUsage::Attached => 1,
                    PolicyUsage::AsPermissions => 2,
                    PolicyUsage::AsBoundary => 3,
                },
                after_name,
                after_arn,
                sql_limit(limit)
            ],
            policy_from_row,
        )
    }

    async fn insert_managed_policy(
        &mut self,
        p: &ManagedPolicy,
        first: &PolicyVersion,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert managed policy",
            "INSERT INTO managed_policies (policy_id, account_id, name, name_key, path, arn, description, \
             default_version, next_version, created_ms, updated_ms, tags) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                &p.policy_id,
                &p.account_id,
                &p.name,
                name_key(&p.name),
                &p.path,
                &p.arn,
                &p.description,
                &p.default_version_id,
                p.next_version,
                to_millis(p.created),
                to_millis(p.updated),
                tags_to_json(&p.tags)
            ],
        )?;
        self.insert_policy_version(first).await
    }

    async fn update_managed_policy(&mut self, p: &ManagedPolicy) -> StoreResult<()> {
        exec(
            self.conn()?,
            "update managed policy",
            "UPDATE managed_policies SET default_version = ?2, next_version = ?3, updated_ms = ?4, tags = ?5 \
             WHERE policy_id = ?1",
            params![
                &p.policy_id,
                &p.default_version_id,
                p.next_version,
                to_millis(p.updated),
                tags_to_json(&p.tags)
            ],
        )?;
        Ok(())
    }

    async fn delete_managed_policy(&mut self, policy_id: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete policy versions",
            "DELETE FROM policy_versions WHERE policy_id = ?1",
            params![policy_id],
        )?;
        exec(
            self.conn()?,
            "delete managed policy",
            "DELETE FROM managed_policies WHERE policy_id = ?1",
            params![policy_id],
        )?;
        Ok(())
    }

    async fn list_policy_versions(&mut self, policy_id: &str) -> StoreResult<Vec<PolicyVersion>> {
        all(
            self.conn()?,
            "list policy versions",
            "SELECT policy_id, version_id, document, created_ms FROM policy_versions WHERE policy_id = ?1 \
             ORDER BY created_ms, CAST(substr(version_id, 2) AS INTEGER)",
            params![policy_id],
            |r| {
                let get = db_err("decode policy version");
                Ok(PolicyVersion {
                    policy_id: r.get("policy_id").map_err(get)?,
                    version_id: r.get("version_id").map_err(get)?,
                    document: r.get("document").map_err(get)?,
                    created: from_millis(r.get("created_ms").map_err(get)?),
                })
            },
        )
    }

    async fn insert_policy_version(&mut self, v: &PolicyVersion) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert policy version",
            "INSERT INTO policy_versions (policy_id, version_id, document, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![
                &v.policy_id,
                &v.version_id,
                &v.document,
                to_millis(v.created)
            ],
        )?;
        Ok(())
    }

    async fn delete_policy_version(
        &mut self,
        policy_id: &str,
        version_id: &str,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete policy version",
            "DELETE FROM policy_versions WHERE policy_id = ?1 AND version_id = ?2",
            params![policy_id, version_id],
        )?;
        Ok(())
    }

    async fn attach_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        policy_arn: &str,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "attach policy",
            "INSERT INTO policy_attachments (entity_kind, entity_id, policy_arn) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO NOTHING",
            params![kind.as_str(), entity_id, policy_arn],
        )?;
        Ok(())
    }

    async fn detach_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        policy_arn: &str,
    ) -> StoreResult<bool> {
        let done = exec(
            self.conn()?,
            "detach policy",
            "DELETE FROM policy_attachments WHERE entity_kind = ?1 AND entity_id = ?2 AND policy_arn = ?3",
            params![kind.as_str(), entity_id, policy_arn],
        )?;
        Ok(done > 0)
    }

    async fn list_attached_policies(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
    ) -> StoreResult<Vec<AttachedPolicy>> {
        all(
            self.conn()?,
            "list attached policies",
            "SELECT p.name, p.arn FROM policy_attachments a JOIN managed_policies p ON p.arn = a.policy_arn \
             WHERE a.entity_kind = ?1 AND a.entity_id = ?2 ORDER BY p.name_key, p.arn",
            params![kind.as_str(), entity_id],
            |r| {
                let get = db_err("decode attached policy");
                Ok(AttachedPolicy {
                    name: r.get("name").map_err(get)?,
                    arn: r.get("arn").map_err(get)?,
                })
            },
        )
    }

    async fn list_policy_attachments(
        &mut self,
        policy_arn: &str,
    ) -> StoreResult<Vec<(EntityKind, String)>> {
        all(
            self.conn()?,
            "list policy attachments",
            "SELECT entity_kind, entity_id FROM policy_attachments WHERE policy_arn = ?1 ORDER BY entity_kind, entity_id",
            params![policy_arn],
            |r| {
                let get = db_err("decode attachment");
                let kind: String = r.get("entity_kind").map_err(get)?;
                let kind = EntityKind::parse(&kind).ok_or_else(|| {
                    StoreError::corrupt(format!("decode attachment: kind {kind}"))
                })?;
                Ok((kind, r.get("entity_id").map_err(get)?))
            },
        )
    }

    async fn put_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
        document: &str,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "put inline policy",
            "INSERT INTO inline_policies (entity_kind, entity_id, name, document) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (entity_kind, entity_id, name) DO UPDATE SET document = excluded.document",
            params![kind.as_str(), entity_id, name, document],
        )?;
        Ok(())
    }

    async fn get_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
    ) -> StoreResult<Option<String>> {
        scalar_optional(
            self.conn()?,
            "read inline policy",
            "SELECT document FROM inline_policies WHERE entity_kind = ?1 AND entity_id = ?2 AND name = ?3",
            params![kind.as_str(), entity_id, name],
        )
    }

    async fn delete_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
    ) -> StoreResult<bool> {
        let done = exec(
            self.conn()?,
            "delete inline policy",
            "DELETE FROM inline_policies WHERE entity_kind = ?1 AND entity_id = ?2 AND name = ?3",
            params![kind.as_str(), entity_id, name],
        )?;
        Ok(done > 0)
    }

    async fn list_inline_policies(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
    ) -> StoreResult<Vec<String>> {
        scalar_all(
            self.conn()?,
            "list inline policies",
            "SELECT name FROM inline_policies WHERE entity_kind = ?1 AND entity_id = ?2 ORDER BY name",
            params![kind.as_str(), entity_id],
        )
    }

    async fn user_policy_sources(&mut self, user_id: &str) -> StoreResult<Vec<PolicySource>> {
        // One round trip: the user's inline and attached policies, then each group's.
        all(
            self.conn()?,
            "gather policies of a user",
            "SELECT 'user/' || u.name || '/inline/' || i.name AS id, i.document AS document \
               FROM inline_policies i JOIN users u ON u.user_id = i.entity_id \
              WHERE i.entity_kind = 'user' AND i.entity_id = ?1 \
             UNION ALL \
             SELECT p.arn, v.document FROM policy_attachments a \
               JOIN managed_policies p ON p.arn = a.policy_arn \
               JOIN policy_versions v ON v.policy_id = p.policy_id AND v.version_id = p.default_version \
              WHERE a.entity_kind = 'user' AND a.entity_id = ?1 \
             UNION ALL \
             SELECT 'group/' || g.name || '/inline/' || i.name, i.document FROM group_members m \
               JOIN groups g ON g.group_id = m.group_id \
               JOIN inline_policies i ON i.entity_kind = 'group' AND i.entity_id = m.group_id \
              WHERE m.user_id = ?1 \
             UNION ALL \
             SELECT p.arn, v.document FROM group_members m \
               JOIN policy_attachments a ON a.entity_kind = 'group' AND a.entity_id = m.group_id \
               JOIN managed_policies p ON p.arn = a.policy_arn \
               JOIN policy_versions v ON v.policy_id = p.policy_id AND v.version_id = p.default_version \
              WHERE m.user_id = ?1",
            params![user_id],
            |r| {
                let get = db_err("decode policy source");
                Ok(PolicySource {
                    id: r.get("id").map_err(get)?,
                    document: r.get("document").map_err(get)?,
                })
            },
        )
    }

    async fn insert_group(&mut self, g: &Group) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert group",
            "INSERT INTO groups (group_id, account_id, name, name_key, path, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                &g.group_id,
                &g.account_id,
                &g.name,
                name_key(&g.name),
                &g.path,
                to_millis(g.created)
            ],
        )?;
        Ok(())
    }

    async fn get_group(&mut self, account_id: &str, name: &str) -> StoreResult<Option<Group>> {
        optional(
            self.conn()?,
            "read group",
            "SELECT group_id, account_id, name, path, created_ms FROM groups WHERE account_id = ?1 AND name_key = ?2",
            params![account_id, name_key(name)],
            group_from_row,
        )
    }

    async fn list_groups(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Group>> {
        all(
            self.conn()?,
            "list groups",
            concat!(
                "SELECT group_id, account_id, name, path, created_ms FROM groups",
                under_path_sql!()
            ),
            under_path(account_id, path_prefix, after, limit),
            group_from_row,
        )
    }

    async fn update_group(&mut self, g: &Group) -> StoreResult<()> {
        exec(
            self.conn()?,
            "update group",
            "UPDATE groups SET name = ?2, name_key = ?3, path = ?4 WHERE group_id = ?1",
            params![&g.group_id, &g.name, name_key(&g.name), &g.path],
        )?;
        Ok(())
    }

    async fn delete_group(&mut self, group_id: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete group",
            "DELETE FROM groups WHERE group_id = ?1",
            params![group_id],
        )?;
        Ok(())
    }

    async fn add_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "add group member",
            "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![group_id, user_id],
        )?;
        Ok(())
    }

    async fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = exec(
            self.conn()?,
            "remove group member",
            "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
            params![group_id, user_id],
        )?;
        Ok(done > 0)
    }

    async fn list_group_members(
        &mut self,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<User>> {
        all(
            self.conn()?,
            "list group members",
            "SELECT u.user_id, u.account_id, u.name, u.path, u.created_ms, u.tags, u.permissions_boundary, u.password_last_used_ms \
             FROM group_members m JOIN users u ON u.user_id = m.user_id \
             WHERE m.group_id = ?1 AND u.name_key > ?2 ORDER BY u.name_key LIMIT ?3",
            params![
                group_id,
                after.map(name_key).unwrap_or_default(),
                sql_limit(limit)
            ],
            user_from_row,
        )
    }

    async fn list_groups_for_user(&mut self, user_id: &str) -> StoreResult<Vec<Group>> {
        all(
            self.conn()?,
            "list groups for user",
            "SELECT g.group_id, g.account_id, g.name, g.path, g.created_ms FROM group_members m \
             JOIN groups g ON g.group_id = m.group_id WHERE m.user_id = ?1 ORDER BY g.name_key",
            params![user_id],
            group_from_row,
        )
    }

    async fn insert_mfa_device(&mut self, d: &MfaDevice) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert MFA device",
            "INSERT INTO mfa_devices (serial, serial_key, account_id, name, path, user_id, enable_ms, \
             created_ms, sealed_seed, offset_steps, last_step, tags) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                &d.serial,
                name_key(&d.serial),
                &d.account_id,
                &d.name,
                &d.path,
                &d.user_id,
                d.enable_date.map(to_millis),
                to_millis(d.created),
                &d.sealed_seed,
                d.offset_steps,
                d.last_step,
                tags_to_json(&d.tags)
            ],
        )?;
        Ok(())
    }

    async fn get_mfa_device(
        &mut self,
        account_id: &str,
        serial: &str,
    ) -> StoreResult<Option<MfaDevice>> {
        optional(
            self.conn()?,
            "read MFA device",
            "SELECT * FROM mfa_devices WHERE account_id = ?1 AND serial_key = ?2",
            params![account_id, name_key(serial)],
            mfa_device_from_row,
        )
    }

    async fn list_mfa_devices(
        &mut self,
        account_id: &str,
        user_id: Option<&str>,
    ) -> StoreResult<Vec<MfaDevice>> {
        all(
            self.conn()?,
            "list MFA devices",
            "SELECT * FROM mfa_devices \
             WHERE account_id = ?1 AND (?2 IS NULL OR user_id = ?2) ORDER BY serial_key",
            params![account_id, user_id],
            mfa_device_from_row,
        )
    }

    async fn update_mfa_device(&mut self, d: &MfaDevice) -> StoreResult<()> {
        exec(
            self.conn()?,
            "update MFA device",
            "UPDATE mfa_devices SET user_id = ?2, enable_ms = ?3, offset_steps = ?4, last_step = ?5, \
             tags = ?6 WHERE serial = ?1",
            params![
                &d.serial,
                &d.user_id,
                d.enable_date.map(to_millis),
                d.offset_steps,
                d.last_step,
                tags_to_json(&d.tags)
            ],
        )?;
        Ok(())
    }

    async fn advance_mfa_step(&mut self, serial: &str, step: i64) -> StoreResult<bool> {
        let done = exec(
            self.conn()?,
            "advance MFA step",
            "UPDATE mfa_devices SET last_step = ?2 \
             WHERE serial = ?1 AND (last_step IS NULL OR last_step < ?2)",
            params![serial, step],
        )?;
        Ok(done == 1)
    }

    async fn delete_mfa_device(&mut self, serial: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete MFA device",
            "DELETE FROM mfa_devices WHERE serial = ?1",
            params![serial],
        )?;
        Ok(())
    }

    async fn insert_mfa_failure(&mut self, f: &MfaFailure) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert MFA failure",
            "INSERT INTO mfa_failures (serial, serial_key, account_id, user_id, reason, \
             matched_offset_secs, time_ms, request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                &f.serial,
                name_key(&f.serial),
                &f.account_id,
                &f.user_id,
                f.reason.as_str(),
                f.matched_offset_secs,
                to_millis(f.time),
                &f.request_id
            ],
        )?;
        Ok(())
    }

    async fn list_mfa_failures(
        &mut self,
        serial: Option<&str>,
        since: time::OffsetDateTime,
    ) -> StoreResult<Vec<MfaFailure>> {
        all(
            self.conn()?,
            "list MFA failures",
            "SELECT serial, account_id, user_id, reason, matched_offset_secs, time_ms, request_id \
             FROM mfa_failures WHERE (?1 IS NULL OR serial_key = ?1) AND time_ms >= ?2 ORDER BY seq",
            params![serial.map(name_key), to_millis(since)],
            mfa_failure_from_row,
        )
    }

    async fn get_login_profile(&mut self, user_id: &str) -> StoreResult<Option<LoginProfile>> {
        optional(
            self.conn()?,
            "read login profile",
            "SELECT user_id, password_hash, password_reset_required, created_ms, password_changed_ms \
             FROM login_profiles WHERE user_id = ?1",
            params![user_id],
            |r| {
                let get = db_err("decode login profile");
                Ok(LoginProfile {
                    user_id: r.get("user_id").map_err(get)?,
                    password_hash: r.get("password_hash").map_err(get)?,
                    password_reset_required: r
                        .get::<_, i64>("password_reset_required")
                        .map_err(get)?
                        != 0,
                    created: from_millis(r.get("created_ms").map_err(get)?),
                    password_changed: from_millis(r.get("password_changed_ms").map_err(get)?),
                })
            },
        )
    }

    async fn put_login_profile(&mut self, p: &LoginProfile) -> StoreResult<()> {
        exec(
            self.conn()?,
            "write login profile",
            "INSERT INTO login_profiles (user_id, password_hash, password_reset_required, created_ms, password_changed_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, \
             password_reset_required = excluded.password_reset_required, password_changed_ms = excluded.password_changed_ms",
            params![
                &p.user_id,
                &p.password_hash,
                i64::from(p.password_reset_required),
                to_millis(p.created),
                to_millis(p.password_changed)
            ],
        )?;
        Ok(())
    }

    async fn delete_login_profile(&mut self, user_id: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete login profile",
            "DELETE FROM login_profiles WHERE user_id = ?1",
            params![user_id],
        )?;
        exec(
            self.conn()?,
            "delete password history",
            "DELETE FROM password_history WHERE user_id = ?1",
            params![user_id],
        )?;
        Ok(())
    }

    async fn password_history(&mut self, user_id: &str, limit: usize) -> StoreResult<Vec<String>> {
        scalar_all(
            self.conn()?,
            "read password history",
            "SELECT password_hash FROM password_history WHERE user_id = ?1 ORDER BY changed_ms DESC LIMIT ?2",
            params![user_id, sql_limit(limit)],
        )
    }

    async fn push_password_history(
        &mut self,
        user_id: &str,
        hash: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "write password history",
            "INSERT INTO password_history (user_id, password_hash, changed_ms) VALUES (?1, ?2, ?3)",
            params![user_id, hash, to_millis(at)],
        )?;
        // IAM remembers at most 24 earlier passwords.
        exec(
            self.conn()?,
            "trim password history",
            "DELETE FROM password_history WHERE user_id = ?1 AND rowid NOT IN \
             (SELECT rowid FROM password_history WHERE user_id = ?1 ORDER BY changed_ms DESC LIMIT 24)",
            params![user_id],
        )?;
        Ok(())
    }

    async fn set_password_last_used(
        &mut self,
        user_id: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "record password use",
            "UPDATE users SET password_last_used_ms = ?2 WHERE user_id = ?1",
            params![user_id, to_millis(at)],
        )?;
        Ok(())
    }

    async fn get_password_policy(
        &mut self,
        account_id: &str,
    ) -> StoreResult<Option<PasswordPolicy>> {
        let text: Option<String> = scalar_optional(
            self.conn()?,
            "read password policy",
            "SELECT policy FROM password_policies WHERE account_id = ?1",
            params![account_id],
        )?;
        text.map(|t| policy_from_json(&t)).transpose()
    }

    async fn set_password_policy(
        &mut self,
        account_id: &str,
        policy: Option<&PasswordPolicy>,
    ) -> StoreResult<()> {
        match policy {
            None => {
                exec(
                    self.conn()?,
                    "delete password policy",
                    "DELETE FROM password_policies WHERE account_id = ?1",
                    params![account_id],
                )?;
            }
            Some(p) => {
                exec(
                    self.conn()?,
                    "write password policy",
                    "INSERT INTO password_policies (account_id, policy) VALUES (?1, ?2) \
                     ON CONFLICT (account_id) DO UPDATE SET policy = excluded.policy",
                    params![account_id, policy_to_json(p)],
                )?;
            }
        }
        Ok(())
    }

    async fn get_account_alias(&mut self, account_id: &str) -> StoreResult<Option<String>> {
        scalar_optional(
            self.conn()?,
            "read account alias",
            "SELECT alias FROM account_aliases WHERE account_id = ?1",
            params![account_id],
        )
    }

    async fn account_by_alias(&mut self, alias: &str) -> StoreResult<Option<String>> {
        scalar_optional(
            self.conn()?,
            "resolve account alias",
            "SELECT account_id FROM account_aliases WHERE alias = ?1",
            params![alias],
        )
    }

    async fn set_account_alias(
        &mut self,
        account_id: &str,
        alias: Option<&str>,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete account alias",
            "DELETE FROM account_aliases WHERE account_id = ?1",
            params![account_id],
        )?;
        if let Some(alias) = alias {
            exec(
                self.conn()?,
                "write account alias",
                "INSERT INTO account_aliases (account_id, alias) VALUES (?1, ?2)",
                params![account_id, alias],
            )?;
        }
        Ok(())
    }

    async fn set_access_key_last_used(
        &mut self,
        access_key_id: &str,
        u: &KeyLastUsed,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "record access key use",
            "UPDATE access_keys SET last_used_ms = ?2, last_used_service = ?3, last_used_region = ?4 WHERE access_key_id = ?1",
            params![access_key_id, to_millis(u.date), &u.service, &u.region],
        )?;
        Ok(())
    }

    async fn insert_signin_failure(
        &mut self,
        account_id: &str,
        user_name: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<()> {
        exec(
            self.conn()?,
            "record sign-in failure",
            "INSERT INTO signin_failures (account_id, user_key, at_ms) VALUES (?1, ?2, ?3)",
            params![account_id, name_key(user_name), to_millis(at)],
        )?;
        Ok(())
    }

    async fn signin_failures_since(
        &mut self,
        account_id: &str,
        user_name: &str,
        since: time::OffsetDateTime,
    ) -> StoreResult<Vec<time::OffsetDateTime>> {
        let times: Vec<i64> = scalar_all(
            self.conn()?,
            "read sign-in failures",
            "SELECT at_ms FROM signin_failures WHERE account_id = ?1 AND user_key = ?2 AND at_ms >= ?3 \
             ORDER BY at_ms",
            params![account_id, name_key(user_name), to_millis(since)],
        )?;
        Ok(times.into_iter().map(from_millis).collect())
    }

    async fn insert_role(&mut self, r: &Role) -> StoreResult<()> {
        exec(
            self.conn()?,
            "insert role",
            "INSERT INTO roles (role_id, account_id, name, name_key, path, created_ms, assume_role_policy, \
             description, max_session_duration, permissions_boundary, tags, last_used_ms, last_used_region) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                &r.role_id,
                &r.account_id,
                &r.name,
                name_key(&r.name),
                &r.path,
                to_millis(r.created),
                &r.assume_role_policy,
                &r.description,
                r.max_session_duration,
                &r.permissions_boundary,
                tags_to_json(&r.tags),
                r.last_used.as_ref().map(|(t, _)| to_millis(*t)),
                r.last_used.as_ref().map(|(_, region)| region.clone())
            ],
        )?;
        Ok(())
    }

    async fn get_role(&mut self, account_id: &str, name: &str) -> StoreResult<Option<Role>> {
        optional(
            self.conn()?,
            "read role",
            concat!(role_select!(), " WHERE account_id = ?1 AND name_key = ?2"),
            params![account_id, name_key(name)],
            role_from_row,
        )
    }

    async fn get_role_by_id(&mut self, role_id: &str) -> StoreResult<Option<Role>> {
        optional(
            self.conn()?,
            "read role",
            concat!(role_select!(), " WHERE role_id = ?1"),
            params![role_id],
            role_from_row,
        )
    }

    async fn list_roles(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Role>> {
        all(
            self.conn()?,
            "list roles",
            concat!(role_select!(), under_path_sql!()),
            under_path(account_id, path_prefix, after, limit),
            role_from_row,
        )
    }

    async fn update_role(&mut self, r: &Role) -> StoreResult<()> {
        exec(
            self.conn()?,
            "update role",
            "UPDATE roles SET name = ?2, name_key = ?3, path = ?4, assume_role_policy = ?5, description = ?6, \
             max_session_duration = ?7, permissions_boundary = ?8, tags = ?9, last_used_ms = ?10, \
             last_used_region = ?11 WHERE role_id = ?1",
            params![
                &r.role_id,
                &r.name,
                name_key(&r.name),
                &r.path,
                &r.assume_role_policy,
                &r.description,
                r.max_session_duration,
                &r.permissions_boundary,
                tags_to_json(&r.tags),
                r.last_used.as_ref().map(|(t, _)| to_millis(*t)),
                r.last_used.as_ref().map(|(_, region)| region.clone())
            ],
        )?;
        Ok(())
    }

    async fn delete_role(&mut self, role_id: &str) -> StoreResult<()> {
        exec(
            self.conn()?,
            "delete role",
            "DELETE FROM roles WHERE role_id = ?1",
            params![role_id],
        )?;
        Ok(())
    }

    async fn role_policy_sources(&mut self, role_id: &str) -> StoreResult<Vec<PolicySource>> {
        all(
            self.conn()?,
            "gather policies of a role",
            "SELECT 'role/' || r.name || '/inline/' || i.name AS id, i.document AS document \
               FROM inline_policies i JOIN roles r ON r.role_id = i.entity_id \
              WHERE i.entity_kind = 'role' AND i.entity_id = ?1 \
             UNION ALL \
             SELECT p.arn, v.document FROM policy_attachments a \
               JOIN managed_policies p ON p.arn = a.policy_arn \
               JOIN policy_versions v ON v.policy_id = p.policy_id AND v.version_id = p.default_version \
              WHERE a.entity_kind = 'role' AND a.entity_id = ?1",
            params![role_id],
            |r| {
                let get = db_err("decode policy source");
                Ok(PolicySource {
                    id: r.get("id").map_err(get)?,
                    document: r.get("document").map_err(get)?,
                })
            },
        )
    }

    async fn account_counts(&mut self, account_id: &str) -> StoreResult<AccountCounts> {
        one(
            self.conn()?,
            "count account entities",
            "SELECT \
             (SELECT COUNT(*) FROM users WHERE account_id = ?1) AS users, \
             (SELECT COUNT(*) FROM groups WHERE account_id = ?1) AS groups, \
             (SELECT COUNT(*) FROM roles WHERE account_id = ?1) AS roles, \
             (SELECT COUNT(*) FROM managed_policies WHERE account_id = ?1) AS policies, \
             (SELECT COUNT(*) FROM policy_attachments a \
                LEFT JOIN users u ON a.entity_kind = 'user' AND u.user_id = a.entity_id \
                LEFT JOIN groups g ON a.entity_kind = 'group' AND g.group_id = a.entity_id \
                LEFT JOIN roles r ON a.entity_kind = 'role' AND r.role_id = a.entity_id \
               WHERE COALESCE(u.account_id, g.account_id, r.account_id) = ?1) AS attachments, \
             (SELECT COUNT(*) FROM mfa_devices WHERE account_id = ?1) AS mfa_devices, \
             (SELECT COUNT(*) FROM mfa_devices WHERE account_id = ?1 AND user_id IS NOT NULL) AS mfa_in_use, \
             (SELECT COUNT(*) FROM access_keys WHERE account_id = ?1 AND user_id IS NULL) AS root_keys",
            params![account_id],
            |row| {
                let get = |name: &str| -> StoreResult<i64> {
                    row.get(name).map_err(db_err("decode account counts"))
                };
                Ok(AccountCounts {
                    users: get("users")?,
                    groups: get("groups")?,
                    roles: get("roles")?,
                    policies: get("policies")?,
                    policy_versions_in_use: get("attachments")?,
                    mfa_devices: get("mfa_devices")?,
                    mfa_devices_in_use: get("mfa_in_use")?,
                    root_access_keys: get("root_keys")?,
                })
            },
        )
    }

    async fn change_version(&mut self) -> StoreResult<u64> {
        let version: i64 = one(
            self.conn()?,
            "read the change feed",
            "SELECT COALESCE((SELECT version FROM change_feed WHERE id = 0), 0)",
            [],
            |r| r.get(0).map_err(db_err("read the change feed")),
        )?;
        u64::try_from(version)
            .map_err(|_| StoreError::corrupt("read the change feed: a negative version"))
    }

    /// Under the write gate the request holds until it ends: the count and the insert are atomic
    /// for this process's writers, and other processes wait for the file's write lock.
    async fn reserve_mfa_attempt(
        &mut self,
        serial: &str,
        at: time::OffsetDateTime,
        since: time::OffsetDateTime,
        admit: &(dyn Fn(&[time::OffsetDateTime]) -> bool + Sync),
    ) -> StoreResult<Option<MfaAttempt>> {
        let serial_key = name_key(serial);
        let writer = self.writer()?;
        let conn = &writer.state.conn;
        exec(
            conn,
            "forget old MFA attempts",
            "DELETE FROM mfa_attempts WHERE serial_key = ?1 AND time_ms < ?2",
            params![serial_key, to_millis(since)],
        )?;
        let times: Vec<i64> = scalar_all(
            conn,
            "list MFA attempts",
            "SELECT time_ms FROM mfa_attempts WHERE serial_key = ?1 AND time_ms >= ?2 \
             ORDER BY time_ms, id",
            params![serial_key, to_millis(since)],
        )?;
        let times: Vec<time::OffsetDateTime> = times.into_iter().map(from_millis).collect();
        if !admit(&times) {
            return Ok(None);
        }
        let time_ms = to_millis(at);
        let id = insert_attempt(conn, None, &serial_key, time_ms)?;
        writer.outliving.push(Outliving::Reserve {
            id,
            serial_key,
            time_ms,
        });
        Ok(Some(MfaAttempt(id)))
    }

    async fn release_mfa_attempt(&mut self, attempt: MfaAttempt) -> StoreResult<()> {
        let writer = self.writer()?;
        let release = Outliving::Release { id: attempt.0 };
        release.apply(&writer.state.conn)?;
        writer.outliving.push(release);
        Ok(())
    }
}

/// Inserts an MFA attempt (with its ID when it is made again after a rollback); returns its ID.
fn insert_attempt(
    conn: &Connection,
    id: Option<i64>,
    serial_key: &str,
    time_ms: i64,
) -> StoreResult<i64> {
    exec(
        conn,
        "reserve an MFA attempt",
        "INSERT INTO mfa_attempts (id, serial_key, time_ms) VALUES (?1, ?2, ?3)",
        params![id, serial_key, time_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

impl Outliving {
    /// Makes the write (again).
    pub(super) fn apply(&self, conn: &Connection) -> StoreResult<()> {
        match self {
            Outliving::Reserve {
                id,
                serial_key,
                time_ms,
            } => insert_attempt(conn, Some(*id), serial_key, *time_ms).map(drop),
            Outliving::Release { id } => exec(
                conn,
                "release an MFA attempt",
                "DELETE FROM mfa_attempts WHERE id = ?1",
                params![id],
            )
            .map(drop),
        }
    }
}
