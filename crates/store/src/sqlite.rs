//! The embedded store: one SQLite file in the data folder, WAL journal, `synchronous=NORMAL`
//! (durable across process crashes; a power loss may lose the last transactions, never corrupt).
//!
//! Every transaction that may write starts with `BEGIN IMMEDIATE`, so it holds the write lock from
//! its first statement and never fails half-way on a lock upgrade; other writers wait on
//! `busy_timeout`.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use keyward_core::StoreError;
use keyward_core::audit::{AuditEvent, AuditQuery, LookupKey, StoredRecord};
use keyward_core::clock::{from_millis, to_millis};
use keyward_core::model::{
    AccessKey, Account, AttachedPolicy, EntityKind, Group, KeyLastUsed, KeyStatus, LoginProfile,
    ManagedPolicy, MfaDevice, MfaFailure, MfaFailureReason, PolicySource, PolicyVersion, Role, Tag,
    User,
};
use keyward_core::password::PasswordPolicy;
use keyward_core::store::{AccountCounts, PolicyUsage, Store, StoreResult, Tx};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// Schema migrations, applied in order at start. Never edit one that has shipped: add a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_mfa.sql")),
    (
        3,
        include_str!("../migrations/sqlite/0003_policies_groups.sql"),
    ),
    (5, include_str!("../migrations/sqlite/0005_audit.sql")),
    (6, include_str!("../migrations/sqlite/0006_passwords.sql")),
    (4, include_str!("../migrations/sqlite/0004_roles_sts.sql")),
];

fn db_err(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::new(format!("{context}: {e}"))
}

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// One writer at a time, queued here in FIFO order rather than racing for SQLite's write lock
    /// in `BEGIN IMMEDIATE` (a loser sleeps in the busy handler with backoff: the benchmark's p99).
    write_gate: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    /// Opens (creating if needed) `keyward.db` in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(db_err("sqlite options"))?
            .filename(data_dir.join("keyward.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            // Readers run concurrently under WAL; one connection at a time writes (the gate).
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(db_err("open sqlite database"))?;
        let store = SqliteStore {
            pool,
            write_gate: Arc::new(tokio::sync::Mutex::new(())),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err("begin migration"))?;
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(db_err("create schema_migrations"))?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err("read schema versions"))?;
        // Any migration not yet recorded runs, in order: branches that add migrations in
        // parallel cannot skip one another's.
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(db_err("apply migration"))?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)")
                .bind(version)
                .bind(to_millis(time::OffsetDateTime::now_utc()))
                .execute(&mut *tx)
                .await
                .map_err(db_err("record migration"))?;
        }
        tx.commit().await.map_err(db_err("commit migration"))
    }

    /// Closes every connection (checkpointing the WAL); used at shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store for SqliteStore {
    type Tx = SqliteTx;

    async fn begin(&self) -> StoreResult<SqliteTx> {
        let gate = Arc::clone(&self.write_gate).lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err("begin transaction"))?;
        Ok(SqliteTx {
            state: TxState::Open(tx),
            _write_gate: Some(gate),
        })
    }

    /// A deferred transaction, begun on its first statement: a request that the caches answer
    /// entirely (an authenticated `GetCallerIdentity`) never touches the database.
    async fn begin_read(&self) -> StoreResult<SqliteTx> {
        Ok(SqliteTx {
            state: TxState::Lazy(self.pool.clone()),
            _write_gate: None,
        })
    }
}

/// A transaction. Fields drop in order: the transaction rolls back before the write gate opens.
pub struct SqliteTx {
    state: TxState,
    _write_gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

enum TxState {
    /// A read transaction not begun yet.
    Lazy(SqlitePool),
    Open(Transaction<'static, Sqlite>),
}

impl SqliteTx {
    async fn conn(&mut self) -> StoreResult<&mut SqliteConnection> {
        if let TxState::Lazy(pool) = &self.state {
            // `BEGIN` (deferred): a read snapshot from the first read on, no write lock.
            let tx = pool
                .begin()
                .await
                .map_err(db_err("begin read transaction"))?;
            self.state = TxState::Open(tx);
        }
        match &mut self.state {
            TxState::Open(tx) => Ok(&mut **tx),
            TxState::Lazy(_) => Err(StoreError::new("read transaction did not begin")),
        }
    }
}

fn tags_to_json(tags: &[Tag]) -> String {
    serde_json::Value::Array(
        tags.iter()
            .map(|t| serde_json::json!({ "Key": t.key, "Value": t.value }))
            .collect(),
    )
    .to_string()
}

fn tags_from_json(text: &str) -> StoreResult<Vec<Tag>> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::new(format!("decode tags: {e}")))?;
    let items = value
        .as_array()
        .ok_or_else(|| StoreError::new("decode tags: not an array"))?;
    items
        .iter()
        .map(|t| {
            let field = |name: &str| {
                t.get(name)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
                    .ok_or_else(|| StoreError::new("decode tags: missing Key or Value"))
            };
            Ok(Tag {
                key: field("Key")?,
                value: field("Value")?,
            })
        })
        .collect()
}

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    let get = |e: sqlx::Error| StoreError::new(format!("decode user: {e}"));
    Ok(User {
        user_id: row.try_get("user_id").map_err(get)?,
        account_id: row.try_get("account_id").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        path: row.try_get("path").map_err(get)?,
        created: from_millis(row.try_get("created_ms").map_err(get)?),
        tags: tags_from_json(&row.try_get::<String, _>("tags").map_err(get)?)?,
        permissions_boundary: row.try_get("permissions_boundary").map_err(get)?,
        password_last_used: row
            .try_get::<Option<i64>, _>("password_last_used_ms")
            .map_err(get)?
            .map(from_millis),
    })
}

/// Columns of a role; a macro so queries built on it stay `&'static str`.
macro_rules! role_select {
    () => {
        "SELECT role_id, account_id, name, path, created_ms, assume_role_policy, description, \
         max_session_duration, permissions_boundary, tags, last_used_ms, last_used_region FROM roles"
    };
}

fn role_from_row(row: &SqliteRow) -> StoreResult<Role> {
    let get = |e: sqlx::Error| StoreError::new(format!("decode role: {e}"));
    let last_ms: Option<i64> = row.try_get("last_used_ms").map_err(get)?;
    let last_region: Option<String> = row.try_get("last_used_region").map_err(get)?;
    Ok(Role {
        role_id: row.try_get("role_id").map_err(get)?,
        account_id: row.try_get("account_id").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        path: row.try_get("path").map_err(get)?,
        created: from_millis(row.try_get("created_ms").map_err(get)?),
        assume_role_policy: row.try_get("assume_role_policy").map_err(get)?,
        description: row.try_get("description").map_err(get)?,
        max_session_duration: row.try_get("max_session_duration").map_err(get)?,
        permissions_boundary: row.try_get("permissions_boundary").map_err(get)?,
        tags: tags_from_json(&row.try_get::<String, _>("tags").map_err(get)?)?,
        last_used: last_ms.map(|ms| (from_millis(ms), last_region.unwrap_or_default())),
    })
}

fn key_from_row(row: &SqliteRow) -> StoreResult<AccessKey> {
    let get = |e: sqlx::Error| StoreError::new(format!("decode access key: {e}"));
    let status: String = row.try_get("status").map_err(get)?;
    Ok(AccessKey {
        access_key_id: row.try_get("access_key_id").map_err(get)?,
        account_id: row.try_get("account_id").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        status: KeyStatus::parse(&status)
            .ok_or_else(|| StoreError::new(format!("decode access key: status {status}")))?,
        created: from_millis(row.try_get("created_ms").map_err(get)?),
        sealed_secret: row.try_get("sealed_secret").map_err(get)?,
        last_used: match row.try_get::<Option<i64>, _>("last_used_ms").map_err(get)? {
            None => None,
            Some(ms) => Some(KeyLastUsed {
                date: from_millis(ms),
                service: row
                    .try_get::<Option<String>, _>("last_used_service")
                    .map_err(get)?
                    .unwrap_or_default(),
                region: row
                    .try_get::<Option<String>, _>("last_used_region")
                    .map_err(get)?
                    .unwrap_or_default(),
            }),
        },
    })
}

/// Columns of a managed policy with its computed counts; `p` is `managed_policies`. A macro so that
/// queries built on it stay `&'static str` (sqlx audits dynamic SQL).
macro_rules! policy_select {
    () => {
        "SELECT p.policy_id, p.account_id, p.name, p.path, p.arn, p.description, \
     p.default_version, p.next_version, p.created_ms, p.updated_ms, p.tags, \
     (SELECT COUNT(*) FROM policy_attachments a WHERE a.policy_arn = p.arn) AS attachment_count, \
     (SELECT COUNT(*) FROM users u WHERE u.permissions_boundary = p.arn) \
       + (SELECT COUNT(*) FROM roles r WHERE r.permissions_boundary = p.arn) AS boundary_usage_count \
     FROM managed_policies p"
    };
}

fn policy_from_row(row: &SqliteRow) -> StoreResult<ManagedPolicy> {
    let get = |e: sqlx::Error| StoreError::new(format!("decode managed policy: {e}"));
    Ok(ManagedPolicy {
        policy_id: row.try_get("policy_id").map_err(get)?,
        account_id: row.try_get("account_id").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        path: row.try_get("path").map_err(get)?,
        arn: row.try_get("arn").map_err(get)?,
        description: row.try_get("description").map_err(get)?,
        default_version_id: row.try_get("default_version").map_err(get)?,
        next_version: row.try_get("next_version").map_err(get)?,
        created: from_millis(row.try_get("created_ms").map_err(get)?),
        updated: from_millis(row.try_get("updated_ms").map_err(get)?),
        tags: tags_from_json(&row.try_get::<String, _>("tags").map_err(get)?)?,
        attachment_count: row.try_get("attachment_count").map_err(get)?,
        boundary_usage_count: row.try_get("boundary_usage_count").map_err(get)?,
    })
}

fn group_from_row(row: &SqliteRow) -> StoreResult<Group> {
    let get = |e: sqlx::Error| StoreError::new(format!("decode group: {e}"));
    Ok(Group {
        group_id: row.try_get("group_id").map_err(get)?,
        account_id: row.try_get("account_id").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        path: row.try_get("path").map_err(get)?,
        created: from_millis(row.try_get("created_ms").map_err(get)?),
    })
}

fn policy_to_json(p: &PasswordPolicy) -> String {
    serde_json::json!({
        "MinimumPasswordLength": p.minimum_password_length,
        "RequireSymbols": p.require_symbols,
        "RequireNumbers": p.require_numbers,
        "RequireUppercaseCharacters": p.require_uppercase_characters,
        "RequireLowercaseCharacters": p.require_lowercase_characters,
        "AllowUsersToChangePassword": p.allow_users_to_change_password,
        "MaxPasswordAge": p.max_password_age,
        "PasswordReusePrevention": p.password_reuse_prevention,
        "HardExpiry": p.hard_expiry,
    })
    .to_string()
}

fn policy_from_json(text: &str) -> StoreResult<PasswordPolicy> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| StoreError::new(format!("decode password policy: {e}")))?;
    let flag = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    let num = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    Ok(PasswordPolicy {
        minimum_password_length: num("MinimumPasswordLength").unwrap_or(6),
        require_symbols: flag("RequireSymbols"),
        require_numbers: flag("RequireNumbers"),
        require_uppercase_characters: flag("RequireUppercaseCharacters"),
        require_lowercase_characters: flag("RequireLowercaseCharacters"),
        allow_users_to_change_password: flag("AllowUsersToChangePassword"),
        max_password_age: num("MaxPasswordAge"),
        password_reuse_prevention: num("PasswordReusePrevention"),
        hard_expiry: flag("HardExpiry"),
    })
}

fn mfa_device_from_row(row: &SqliteRow) -> StoreResult<MfaDevice> {
    let get = |e: sqlx::Error| StoreError::new(format!("decode MFA device: {e}"));
    Ok(MfaDevice {
        serial: row.try_get("serial").map_err(get)?,
        account_id: row.try_get("account_id").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        path: row.try_get("path").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        enable_date: row
            .try_get::<Option<i64>, _>("enable_ms")
            .map_err(get)?
            .map(from_millis),
        created: from_millis(row.try_get("created_ms").map_err(get)?),
        sealed_seed: row.try_get("sealed_seed").map_err(get)?,
        offset_steps: row.try_get("offset_steps").map_err(get)?,
        last_step: row.try_get("last_step").map_err(get)?,
        tags: tags_from_json(&row.try_get::<String, _>("tags").map_err(get)?)?,
    })
}

fn mfa_failure_from_row(row: &SqliteRow) -> StoreResult<MfaFailure> {
    let get = |e: sqlx::Error| StoreError::new(format!("decode MFA failure: {e}"));
    let reason: String = row.try_get("reason").map_err(get)?;
    Ok(MfaFailure {
        serial: row.try_get("serial").map_err(get)?,
        account_id: row.try_get("account_id").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        reason: MfaFailureReason::parse(&reason)
            .ok_or_else(|| StoreError::new(format!("decode MFA failure: reason {reason}")))?,
        matched_offset_secs: row.try_get("matched_offset_secs").map_err(get)?,
        time: from_millis(row.try_get("time_ms").map_err(get)?),
        request_id: row.try_get("request_id").map_err(get)?,
    })
}

impl Tx for SqliteTx {
    async fn commit(self) -> StoreResult<()> {
        match self.state {
            TxState::Lazy(_) => Ok(()),
            TxState::Open(tx) => tx.commit().await.map_err(db_err("commit")),
        }
    }

    async fn get_setting(&mut self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(db_err("read setting"))
    }

    async fn set_setting(&mut self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("write setting"))?;
        Ok(())
    }

    async fn list_accounts(&mut self) -> StoreResult<Vec<Account>> {
        let rows = sqlx::query(
            "SELECT account_id, created_ms FROM accounts ORDER BY created_ms, account_id",
        )
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list accounts"))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| StoreError::new(format!("decode account: {e}"));
                Ok(Account {
                    id: r.try_get("account_id").map_err(get)?,
                    created: from_millis(r.try_get("created_ms").map_err(get)?),
                })
            })
            .collect()
    }

    async fn insert_account(&mut self, account: &Account) -> StoreResult<()> {
        sqlx::query("INSERT INTO accounts (account_id, created_ms) VALUES ($1, $2)")
            .bind(&account.id)
            .bind(to_millis(account.created))
            .execute(self.conn().await?)
            .await
            .map_err(db_err("insert account"))?;
        Ok(())
    }

    async fn get_user(&mut self, account_id: &str, name: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT user_id, account_id, name, path, created_ms, tags, permissions_boundary, password_last_used_ms FROM users WHERE account_id = $1 AND name_key = $2",
        )
        .bind(account_id)
        .bind(name_key(name))
        .fetch_optional(self.conn().await?)
        .await
        .map_err(db_err("read user"))?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn get_user_by_id(&mut self, user_id: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT user_id, account_id, name, path, created_ms, tags, permissions_boundary, password_last_used_ms FROM users WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.conn().await?)
        .await
        .map_err(db_err("read user by id"))?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<User>> {
        // `substr` rather than LIKE: a path may contain LIKE's wildcards.
        let rows = sqlx::query(
            "SELECT user_id, account_id, name, path, created_ms, tags, permissions_boundary, password_last_used_ms FROM users \
             WHERE account_id = $1 AND substr(path, 1, length($2)) = $2 AND name_key > $3 \
             ORDER BY name_key LIMIT $4",
        )
        .bind(account_id)
        .bind(path_prefix)
        .bind(after.map(name_key).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list users"))?;
        rows.iter().map(user_from_row).collect()
    }

    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (user_id, account_id, name, name_key, path, created_ms, tags, permissions_boundary) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&user.user_id)
        .bind(&user.account_id)
        .bind(&user.name)
        .bind(name_key(&user.name))
        .bind(&user.path)
        .bind(to_millis(user.created))
        .bind(tags_to_json(&user.tags))
        .bind(&user.permissions_boundary)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("insert user"))?;
        Ok(())
    }

    async fn update_user(&mut self, user: &User) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET name = $2, name_key = $3, path = $4, tags = $5, permissions_boundary = $6 WHERE user_id = $1",
        )
        .bind(&user.user_id)
        .bind(&user.name)
        .bind(name_key(&user.name))
        .bind(&user.path)
        .bind(tags_to_json(&user.tags))
        .bind(&user.permissions_boundary)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("update user"))?;
        Ok(())
    }

    async fn delete_user(&mut self, user_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM users WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete user"))?;
        Ok(())
    }

    async fn insert_access_key(&mut self, key: &AccessKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_keys (access_key_id, account_id, user_id, status, created_ms, sealed_secret) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.access_key_id)
        .bind(&key.account_id)
        .bind(&key.user_id)
        .bind(key.status.as_str())
        .bind(to_millis(key.created))
        .bind(&key.sealed_secret)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("insert access key"))?;
        Ok(())
    }

    async fn get_access_key(&mut self, access_key_id: &str) -> StoreResult<Option<AccessKey>> {
        let row = sqlx::query(
            "SELECT access_key_id, account_id, user_id, status, created_ms, sealed_secret, last_used_ms, last_used_service, last_used_region FROM access_keys WHERE access_key_id = $1",
        )
        .bind(access_key_id)
        .fetch_optional(self.conn().await?)
        .await
        .map_err(db_err("read access key"))?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn list_access_keys(
        &mut self,
        account_id: &str,
        user_id: Option<&str>,
    ) -> StoreResult<Vec<AccessKey>> {
        let rows = sqlx::query(
            "SELECT access_key_id, account_id, user_id, status, created_ms, sealed_secret, last_used_ms, last_used_service, last_used_region FROM access_keys \
             WHERE account_id = $1 AND user_id IS $2 ORDER BY created_ms, access_key_id",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list access keys"))?;
        rows.iter().map(key_from_row).collect()
    }

    async fn set_access_key_status(
        &mut self,
        access_key_id: &str,
        status: KeyStatus,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE access_keys SET status = $2 WHERE access_key_id = $1")
            .bind(access_key_id)
            .bind(status.as_str())
            .execute(self.conn().await?)
            .await
            .map_err(db_err("update access key"))?;
        Ok(())
    }

    async fn delete_access_key(&mut self, access_key_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM access_keys WHERE access_key_id = $1")
            .bind(access_key_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete access key"))?;
        Ok(())
    }

    async fn insert_audit_event(&mut self, e: &AuditEvent) -> StoreResult<()> {
        let resource_names: String = e.resources.iter().fold(String::new(), |mut acc, (_, n)| {
            if acc.is_empty() {
                acc.push('\n');
            }
            acc.push_str(n);
            acc.push('\n');
            acc
        });
        sqlx::query(
            "INSERT INTO audit_records (event_id, event_time_ms, account_id, event_source, event_name, \
             read_only, user_name, access_key_id, error_code, resource_names, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&e.event_id)
        .bind(to_millis(e.event_time))
        .bind(&e.account_id)
        .bind(&e.event_source)
        .bind(&e.event_name)
        .bind(i64::from(e.read_only))
        // LookupEvents names the root user `root`.
        .bind(e.user_name.as_deref().or_else(|| {
            (e.identity_type.as_deref() == Some("Root")).then_some("root")
        }))
        .bind(&e.access_key_id)
        .bind(&e.error_code)
        .bind(resource_names)
        .bind(e.record_json())
        .execute(self.conn().await?)
        .await
        .map_err(db_err("insert audit event"))?;
        Ok(())
    }

    async fn list_audit_events(&mut self, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT record FROM audit_records ORDER BY seq DESC LIMIT $1")
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(self.conn().await?)
                .await
                .map_err(db_err("list audit events"))?;
        rows.iter()
            .map(|text| {
                serde_json::from_str(text)
                    .ok()
                    .and_then(|v| AuditEvent::from_record(&v))
                    .ok_or_else(|| StoreError::new("decode audit record"))
            })
            .collect()
    }

    async fn lookup_audit_events(&mut self, q: &AuditQuery) -> StoreResult<Vec<StoredRecord>> {
        let (column, value) = match &q.attribute {
            None => ("", String::new()),
            Some((key, value)) => {
                let column = match key {
                    LookupKey::EventName => "event_name",
                    LookupKey::Username => "user_name",
                    LookupKey::EventId => "event_id",
                    LookupKey::ReadOnly => "read_only",
                    LookupKey::AccessKeyId => "access_key_id",
                    LookupKey::EventSource => "event_source",
                    LookupKey::ResourceName => "resource_names",
                };
                let value = match key {
                    LookupKey::ReadOnly => if value.eq_ignore_ascii_case("true") {
                        "1"
                    } else {
                        "0"
                    }
                    .to_owned(),
                    _ => value.clone(),
                };
                (column, value)
            }
        };
        let rows = sqlx::query(
            "SELECT seq, record FROM audit_records \
             WHERE account_id = $1 AND event_time_ms >= $2 AND event_time_ms <= $3 AND seq < $4 \
             AND CASE $5 \
               WHEN '' THEN 1 \
               WHEN 'event_name' THEN event_name = $6 \
               WHEN 'user_name' THEN user_name = $6 \
               WHEN 'event_id' THEN event_id = $6 \
               WHEN 'read_only' THEN read_only = CAST($6 AS INTEGER) \
               WHEN 'access_key_id' THEN access_key_id = $6 \
               WHEN 'event_source' THEN event_source = $6 \
               WHEN 'resource_names' THEN instr(resource_names, char(10) || $6 || char(10)) > 0 \
             END \
             ORDER BY seq DESC LIMIT $7",
        )
        .bind(&q.account_id)
        .bind(q.start.map(to_millis).unwrap_or(i64::MIN))
        .bind(q.end.map(to_millis).unwrap_or(i64::MAX))
        .bind(q.before.unwrap_or(i64::MAX))
        .bind(column)
        .bind(value)
        .bind(i64::try_from(q.limit).unwrap_or(i64::MAX))
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("look up audit events"))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| StoreError::new(format!("decode audit record: {e}"));
                Ok(StoredRecord {
                    seq: r.try_get("seq").map_err(get)?,
                    record: r.try_get("record").map_err(get)?,
                })
            })
            .collect()
    }

    async fn delete_audit_events_before(
        &mut self,
        before: time::OffsetDateTime,
    ) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_records WHERE event_time_ms < $1")
            .bind(to_millis(before))
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete old audit records"))?;
        Ok(done.rows_affected())
    }

    async fn upsert_aws_managed_policy(
        &mut self,
        p: &ManagedPolicy,
        document: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO managed_policies (policy_id, account_id, name, name_key, path, arn, description, \
             default_version, next_version, created_ms, updated_ms, tags) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '[]') \
             ON CONFLICT (arn) DO UPDATE SET description = excluded.description, \
             default_version = excluded.default_version, updated_ms = excluded.updated_ms",
        )
        .bind(&p.policy_id)
        .bind(&p.account_id)
        .bind(&p.name)
        .bind(name_key(&p.name))
        .bind(&p.path)
        .bind(&p.arn)
        .bind(&p.description)
        .bind(&p.default_version_id)
        .bind(p.next_version)
        .bind(to_millis(p.created))
        .bind(to_millis(p.updated))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("upsert AWS managed policy"))?;
        sqlx::query(
            "INSERT INTO policy_versions (policy_id, version_id, document, created_ms) \
             SELECT policy_id, $2, $3, $4 FROM managed_policies WHERE arn = $1 \
             ON CONFLICT (policy_id, version_id) DO UPDATE SET document = excluded.document",
        )
        .bind(&p.arn)
        .bind(&p.default_version_id)
        .bind(document)
        .bind(to_millis(p.updated))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("upsert AWS managed policy version"))?;
        Ok(())
    }

    async fn get_managed_policy(&mut self, arn: &str) -> StoreResult<Option<ManagedPolicy>> {
        let row = sqlx::query(concat!(policy_select!(), " WHERE p.arn = $1"))
            .bind(arn)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(db_err("read managed policy"))?;
        row.as_ref().map(policy_from_row).transpose()
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
        let rows = sqlx::query(concat!(
            policy_select!(),
            " WHERE \
             (($2 = 'All' AND p.account_id IN ($1, 'aws')) OR ($2 = 'AWS' AND p.account_id = 'aws') \
              OR ($2 = 'Local' AND p.account_id = $1)) \
             AND substr(p.path, 1, length($3)) = $3 \
             AND ($4 = 0 \
                  OR ($4 IN (1, 2) AND EXISTS (SELECT 1 FROM policy_attachments a WHERE a.policy_arn = p.arn)) \
                  OR ($4 IN (1, 3) AND EXISTS (SELECT 1 FROM users u WHERE u.permissions_boundary = p.arn))) \
             AND (p.name_key > $5 OR (p.name_key = $5 AND p.arn > $6)) \
             ORDER BY p.name_key, p.arn LIMIT $7"
        ))
        .bind(account_id)
        .bind(scope)
        .bind(path_prefix)
        .bind(match usage {
            PolicyUsage::Any => 0_i64,
            PolicyUsage::Attached => 1,
            PolicyUsage::AsPermissions => 2,
            PolicyUsage::AsBoundary => 3,
        })
        .bind(after_name)
        .bind(after_arn)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list managed policies"))?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn insert_managed_policy(
        &mut self,
        p: &ManagedPolicy,
        first: &PolicyVersion,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO managed_policies (policy_id, account_id, name, name_key, path, arn, description, \
             default_version, next_version, created_ms, updated_ms, tags) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&p.policy_id)
        .bind(&p.account_id)
        .bind(&p.name)
        .bind(name_key(&p.name))
        .bind(&p.path)
        .bind(&p.arn)
        .bind(&p.description)
        .bind(&p.default_version_id)
        .bind(p.next_version)
        .bind(to_millis(p.created))
        .bind(to_millis(p.updated))
        .bind(tags_to_json(&p.tags))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("insert managed policy"))?;
        self.insert_policy_version(first).await
    }

    async fn update_managed_policy(&mut self, p: &ManagedPolicy) -> StoreResult<()> {
        sqlx::query(
            "UPDATE managed_policies SET default_version = $2, next_version = $3, updated_ms = $4, tags = $5 \
             WHERE policy_id = $1",
        )
        .bind(&p.policy_id)
        .bind(&p.default_version_id)
        .bind(p.next_version)
        .bind(to_millis(p.updated))
        .bind(tags_to_json(&p.tags))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("update managed policy"))?;
        Ok(())
    }

    async fn delete_managed_policy(&mut self, policy_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM policy_versions WHERE policy_id = $1")
            .bind(policy_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete policy versions"))?;
        sqlx::query("DELETE FROM managed_policies WHERE policy_id = $1")
            .bind(policy_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete managed policy"))?;
        Ok(())
    }

    async fn list_policy_versions(&mut self, policy_id: &str) -> StoreResult<Vec<PolicyVersion>> {
        let rows = sqlx::query(
            "SELECT policy_id, version_id, document, created_ms FROM policy_versions WHERE policy_id = $1 \
             ORDER BY created_ms, CAST(substr(version_id, 2) AS INTEGER)",
        )
        .bind(policy_id)
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list policy versions"))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| StoreError::new(format!("decode policy version: {e}"));
                Ok(PolicyVersion {
                    policy_id: r.try_get("policy_id").map_err(get)?,
                    version_id: r.try_get("version_id").map_err(get)?,
                    document: r.try_get("document").map_err(get)?,
                    created: from_millis(r.try_get("created_ms").map_err(get)?),
                })
            })
            .collect()
    }

    async fn insert_policy_version(&mut self, v: &PolicyVersion) -> StoreResult<()> {
        sqlx::query("INSERT INTO policy_versions (policy_id, version_id, document, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(&v.policy_id)
            .bind(&v.version_id)
            .bind(&v.document)
            .bind(to_millis(v.created))
            .execute(self.conn().await?)
            .await
            .map_err(db_err("insert policy version"))?;
        Ok(())
    }

    async fn delete_policy_version(
        &mut self,
        policy_id: &str,
        version_id: &str,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM policy_versions WHERE policy_id = $1 AND version_id = $2")
            .bind(policy_id)
            .bind(version_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete policy version"))?;
        Ok(())
    }

    async fn attach_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        policy_arn: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO policy_attachments (entity_kind, entity_id, policy_arn) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(entity_id)
        .bind(policy_arn)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("attach policy"))?;
        Ok(())
    }

    async fn detach_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        policy_arn: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM policy_attachments WHERE entity_kind = $1 AND entity_id = $2 AND policy_arn = $3",
        )
        .bind(kind.as_str())
        .bind(entity_id)
        .bind(policy_arn)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("detach policy"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_attached_policies(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
    ) -> StoreResult<Vec<AttachedPolicy>> {
        let rows = sqlx::query(
            "SELECT p.name, p.arn FROM policy_attachments a JOIN managed_policies p ON p.arn = a.policy_arn \
             WHERE a.entity_kind = $1 AND a.entity_id = $2 ORDER BY p.name_key, p.arn",
        )
        .bind(kind.as_str())
        .bind(entity_id)
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list attached policies"))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| StoreError::new(format!("decode attached policy: {e}"));
                Ok(AttachedPolicy {
                    name: r.try_get("name").map_err(get)?,
                    arn: r.try_get("arn").map_err(get)?,
                })
            })
            .collect()
    }

    async fn list_policy_attachments(
        &mut self,
        policy_arn: &str,
    ) -> StoreResult<Vec<(EntityKind, String)>> {
        let rows = sqlx::query(
            "SELECT entity_kind, entity_id FROM policy_attachments WHERE policy_arn = $1 ORDER BY entity_kind, entity_id",
        )
        .bind(policy_arn)
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list policy attachments"))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| StoreError::new(format!("decode attachment: {e}"));
                let kind: String = r.try_get("entity_kind").map_err(get)?;
                let kind = EntityKind::parse(&kind)
                    .ok_or_else(|| StoreError::new(format!("decode attachment: kind {kind}")))?;
                Ok((kind, r.try_get("entity_id").map_err(get)?))
            })
            .collect()
    }

    async fn put_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
        document: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO inline_policies (entity_kind, entity_id, name, document) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (entity_kind, entity_id, name) DO UPDATE SET document = excluded.document",
        )
        .bind(kind.as_str())
        .bind(entity_id)
        .bind(name)
        .bind(document)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("put inline policy"))?;
        Ok(())
    }

    async fn get_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
    ) -> StoreResult<Option<String>> {
        sqlx::query_scalar(
            "SELECT document FROM inline_policies WHERE entity_kind = $1 AND entity_id = $2 AND name = $3",
        )
        .bind(kind.as_str())
        .bind(entity_id)
        .bind(name)
        .fetch_optional(self.conn().await?)
        .await
        .map_err(db_err("read inline policy"))
    }

    async fn delete_inline_policy(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
        name: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM inline_policies WHERE entity_kind = $1 AND entity_id = $2 AND name = $3",
        )
        .bind(kind.as_str())
        .bind(entity_id)
        .bind(name)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("delete inline policy"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_inline_policies(
        &mut self,
        kind: EntityKind,
        entity_id: &str,
    ) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT name FROM inline_policies WHERE entity_kind = $1 AND entity_id = $2 ORDER BY name")
            .bind(kind.as_str())
            .bind(entity_id)
            .fetch_all(self.conn().await?)
            .await
            .map_err(db_err("list inline policies"))
    }

    async fn user_policy_sources(&mut self, user_id: &str) -> StoreResult<Vec<PolicySource>> {
        // One round trip: the user's inline and attached policies, then each group's.
        let rows = sqlx::query(
            "SELECT 'user/' || u.name || '/inline/' || i.name AS id, i.document AS document \
               FROM inline_policies i JOIN users u ON u.user_id = i.entity_id \
              WHERE i.entity_kind = 'user' AND i.entity_id = $1 \
             UNION ALL \
             SELECT p.arn, v.document FROM policy_attachments a \
               JOIN managed_policies p ON p.arn = a.policy_arn \
               JOIN policy_versions v ON v.policy_id = p.policy_id AND v.version_id = p.default_version \
              WHERE a.entity_kind = 'user' AND a.entity_id = $1 \
             UNION ALL \
             SELECT 'group/' || g.name || '/inline/' || i.name, i.document FROM group_members m \
               JOIN groups g ON g.group_id = m.group_id \
               JOIN inline_policies i ON i.entity_kind = 'group' AND i.entity_id = m.group_id \
              WHERE m.user_id = $1 \
             UNION ALL \
             SELECT p.arn, v.document FROM group_members m \
               JOIN policy_attachments a ON a.entity_kind = 'group' AND a.entity_id = m.group_id \
               JOIN managed_policies p ON p.arn = a.policy_arn \
               JOIN policy_versions v ON v.policy_id = p.policy_id AND v.version_id = p.default_version \
              WHERE m.user_id = $1",
        )
        .bind(user_id)
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("gather policies of a user"))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| StoreError::new(format!("decode policy source: {e}"));
                Ok(PolicySource {
                    id: r.try_get("id").map_err(get)?,
                    document: r.try_get("document").map_err(get)?,
                })
            })
            .collect()
    }

    async fn insert_group(&mut self, g: &Group) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO groups (group_id, account_id, name, name_key, path, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&g.group_id)
        .bind(&g.account_id)
        .bind(&g.name)
        .bind(name_key(&g.name))
        .bind(&g.path)
        .bind(to_millis(g.created))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("insert group"))?;
        Ok(())
    }

    async fn get_group(&mut self, account_id: &str, name: &str) -> StoreResult<Option<Group>> {
        let row = sqlx::query(
            "SELECT group_id, account_id, name, path, created_ms FROM groups WHERE account_id = $1 AND name_key = $2",
        )
        .bind(account_id)
        .bind(name_key(name))
        .fetch_optional(self.conn().await?)
        .await
        .map_err(db_err("read group"))?;
        row.as_ref().map(group_from_row).transpose()
    }

    async fn list_groups(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Group>> {
        let rows = sqlx::query(
            "SELECT group_id, account_id, name, path, created_ms FROM groups \
             WHERE account_id = $1 AND substr(path, 1, length($2)) = $2 AND name_key > $3 \
             ORDER BY name_key LIMIT $4",
        )
        .bind(account_id)
        .bind(path_prefix)
        .bind(after.map(name_key).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list groups"))?;
        rows.iter().map(group_from_row).collect()
    }

    async fn update_group(&mut self, g: &Group) -> StoreResult<()> {
        sqlx::query("UPDATE groups SET name = $2, name_key = $3, path = $4 WHERE group_id = $1")
            .bind(&g.group_id)
            .bind(&g.name)
            .bind(name_key(&g.name))
            .bind(&g.path)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("update group"))?;
        Ok(())
    }

    async fn delete_group(&mut self, group_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM groups WHERE group_id = $1")
            .bind(group_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete group"))?;
        Ok(())
    }

    async fn add_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user_id)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("add group member"))?;
        Ok(())
    }

    async fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("remove group member"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_group_members(
        &mut self,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT u.user_id, u.account_id, u.name, u.path, u.created_ms, u.tags, u.permissions_boundary, u.password_last_used_ms \
             FROM group_members m JOIN users u ON u.user_id = m.user_id \
             WHERE m.group_id = $1 AND u.name_key > $2 ORDER BY u.name_key LIMIT $3",
        )
        .bind(group_id)
        .bind(after.map(name_key).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list group members"))?;
        rows.iter().map(user_from_row).collect()
    }

    async fn list_groups_for_user(&mut self, user_id: &str) -> StoreResult<Vec<Group>> {
        let rows = sqlx::query(
            "SELECT g.group_id, g.account_id, g.name, g.path, g.created_ms FROM group_members m \
             JOIN groups g ON g.group_id = m.group_id WHERE m.user_id = $1 ORDER BY g.name_key",
        )
        .bind(user_id)
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list groups for user"))?;
        rows.iter().map(group_from_row).collect()
    }

    async fn insert_mfa_device(&mut self, d: &MfaDevice) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mfa_devices (serial, serial_key, account_id, name, path, user_id, enable_ms, \
             created_ms, sealed_seed, offset_steps, last_step, tags) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&d.serial)
        .bind(name_key(&d.serial))
        .bind(&d.account_id)
        .bind(&d.name)
        .bind(&d.path)
        .bind(&d.user_id)
        .bind(d.enable_date.map(to_millis))
        .bind(to_millis(d.created))
        .bind(&d.sealed_seed)
        .bind(d.offset_steps)
        .bind(d.last_step)
        .bind(tags_to_json(&d.tags))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("insert MFA device"))?;
        Ok(())
    }

    async fn get_mfa_device(
        &mut self,
        account_id: &str,
        serial: &str,
    ) -> StoreResult<Option<MfaDevice>> {
        let row =
            sqlx::query("SELECT * FROM mfa_devices WHERE account_id = $1 AND serial_key = $2")
                .bind(account_id)
                .bind(name_key(serial))
                .fetch_optional(self.conn().await?)
                .await
                .map_err(db_err("read MFA device"))?;
        row.as_ref().map(mfa_device_from_row).transpose()
    }

    async fn list_mfa_devices(
        &mut self,
        account_id: &str,
        user_id: Option<&str>,
    ) -> StoreResult<Vec<MfaDevice>> {
        let rows = sqlx::query(
            "SELECT * FROM mfa_devices \
             WHERE account_id = $1 AND ($2 IS NULL OR user_id = $2) ORDER BY serial_key",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list MFA devices"))?;
        rows.iter().map(mfa_device_from_row).collect()
    }

    async fn update_mfa_device(&mut self, d: &MfaDevice) -> StoreResult<()> {
        sqlx::query(
            "UPDATE mfa_devices SET user_id = $2, enable_ms = $3, offset_steps = $4, last_step = $5, \
             tags = $6 WHERE serial = $1",
        )
        .bind(&d.serial)
        .bind(&d.user_id)
        .bind(d.enable_date.map(to_millis))
        .bind(d.offset_steps)
        .bind(d.last_step)
        .bind(tags_to_json(&d.tags))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("update MFA device"))?;
        Ok(())
    }

    async fn advance_mfa_step(&mut self, serial: &str, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE mfa_devices SET last_step = $2 \
             WHERE serial = $1 AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(serial)
        .bind(step)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("advance MFA step"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_mfa_device(&mut self, serial: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM mfa_devices WHERE serial = $1")
            .bind(serial)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete MFA device"))?;
        Ok(())
    }

    async fn insert_mfa_failure(&mut self, f: &MfaFailure) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mfa_failures (serial, serial_key, account_id, user_id, reason, \
             matched_offset_secs, time_ms, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&f.serial)
        .bind(name_key(&f.serial))
        .bind(&f.account_id)
        .bind(&f.user_id)
        .bind(f.reason.as_str())
        .bind(f.matched_offset_secs)
        .bind(to_millis(f.time))
        .bind(&f.request_id)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("insert MFA failure"))?;
        Ok(())
    }

    async fn list_mfa_failures(
        &mut self,
        serial: Option<&str>,
        since: time::OffsetDateTime,
    ) -> StoreResult<Vec<MfaFailure>> {
        let rows = sqlx::query(
            "SELECT serial, account_id, user_id, reason, matched_offset_secs, time_ms, request_id \
             FROM mfa_failures WHERE ($1 IS NULL OR serial_key = $1) AND time_ms >= $2 ORDER BY seq",
        )
        .bind(serial.map(name_key))
        .bind(to_millis(since))
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list MFA failures"))?;
        rows.iter().map(mfa_failure_from_row).collect()
    }

    async fn get_login_profile(&mut self, user_id: &str) -> StoreResult<Option<LoginProfile>> {
        let row = sqlx::query(
            "SELECT user_id, password_hash, password_reset_required, created_ms, password_changed_ms \
             FROM login_profiles WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.conn().await?)
        .await
        .map_err(db_err("read login profile"))?;
        row.map(|r| {
            let get = |e: sqlx::Error| StoreError::new(format!("decode login profile: {e}"));
            Ok(LoginProfile {
                user_id: r.try_get("user_id").map_err(get)?,
                password_hash: r.try_get("password_hash").map_err(get)?,
                password_reset_required: r
                    .try_get::<i64, _>("password_reset_required")
                    .map_err(get)?
                    != 0,
                created: from_millis(r.try_get("created_ms").map_err(get)?),
                password_changed: from_millis(r.try_get("password_changed_ms").map_err(get)?),
            })
        })
        .transpose()
    }

    async fn put_login_profile(&mut self, p: &LoginProfile) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_profiles (user_id, password_hash, password_reset_required, created_ms, password_changed_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, \
             password_reset_required = excluded.password_reset_required, password_changed_ms = excluded.password_changed_ms",
        )
        .bind(&p.user_id)
        .bind(&p.password_hash)
        .bind(i64::from(p.password_reset_required))
        .bind(to_millis(p.created))
        .bind(to_millis(p.password_changed))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("write login profile"))?;
        Ok(())
    }

    async fn delete_login_profile(&mut self, user_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_profiles WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete login profile"))?;
        sqlx::query("DELETE FROM password_history WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete password history"))?;
        Ok(())
    }

    async fn password_history(&mut self, user_id: &str, limit: usize) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY changed_ms DESC LIMIT $2")
            .bind(user_id)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(self.conn().await?)
            .await
            .map_err(db_err("read password history"))
    }

    async fn push_password_history(
        &mut self,
        user_id: &str,
        hash: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO password_history (user_id, password_hash, changed_ms) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(hash)
        .bind(to_millis(at))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("write password history"))?;
        // IAM remembers at most 24 earlier passwords.
        sqlx::query(
            "DELETE FROM password_history WHERE user_id = $1 AND rowid NOT IN \
             (SELECT rowid FROM password_history WHERE user_id = $1 ORDER BY changed_ms DESC LIMIT 24)",
        )
        .bind(user_id)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("trim password history"))?;
        Ok(())
    }

    async fn set_password_last_used(
        &mut self,
        user_id: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_last_used_ms = $2 WHERE user_id = $1")
            .bind(user_id)
            .bind(to_millis(at))
            .execute(self.conn().await?)
            .await
            .map_err(db_err("record password use"))?;
        Ok(())
    }

    async fn get_password_policy(
        &mut self,
        account_id: &str,
    ) -> StoreResult<Option<PasswordPolicy>> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT policy FROM password_policies WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(self.conn().await?)
                .await
                .map_err(db_err("read password policy"))?;
        text.map(|t| policy_from_json(&t)).transpose()
    }

    async fn set_password_policy(
        &mut self,
        account_id: &str,
        policy: Option<&PasswordPolicy>,
    ) -> StoreResult<()> {
        match policy {
            None => {
                sqlx::query("DELETE FROM password_policies WHERE account_id = $1")
                    .bind(account_id)
                    .execute(self.conn().await?)
                    .await
                    .map_err(db_err("delete password policy"))?;
            }
            Some(p) => {
                sqlx::query(
                    "INSERT INTO password_policies (account_id, policy) VALUES ($1, $2) \
                     ON CONFLICT (account_id) DO UPDATE SET policy = excluded.policy",
                )
                .bind(account_id)
                .bind(policy_to_json(p))
                .execute(self.conn().await?)
                .await
                .map_err(db_err("write password policy"))?;
            }
        }
        Ok(())
    }

    async fn get_account_alias(&mut self, account_id: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT alias FROM account_aliases WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(db_err("read account alias"))
    }

    async fn account_by_alias(&mut self, alias: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT account_id FROM account_aliases WHERE alias = $1")
            .bind(alias)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(db_err("resolve account alias"))
    }

    async fn set_account_alias(
        &mut self,
        account_id: &str,
        alias: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM account_aliases WHERE account_id = $1")
            .bind(account_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete account alias"))?;
        if let Some(alias) = alias {
            sqlx::query("INSERT INTO account_aliases (account_id, alias) VALUES ($1, $2)")
                .bind(account_id)
                .bind(alias)
                .execute(self.conn().await?)
                .await
                .map_err(db_err("write account alias"))?;
        }
        Ok(())
    }

    async fn set_access_key_last_used(
        &mut self,
        access_key_id: &str,
        u: &KeyLastUsed,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE access_keys SET last_used_ms = $2, last_used_service = $3, last_used_region = $4 WHERE access_key_id = $1",
        )
        .bind(access_key_id)
        .bind(to_millis(u.date))
        .bind(&u.service)
        .bind(&u.region)
        .execute(self.conn().await?)
        .await
        .map_err(db_err("record access key use"))?;
        Ok(())
    }

    async fn insert_signin_failure(
        &mut self,
        account_id: &str,
        user_name: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signin_failures (account_id, user_key, at_ms) VALUES ($1, $2, $3)",
        )
        .bind(account_id)
        .bind(name_key(user_name))
        .bind(to_millis(at))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("record sign-in failure"))?;
        Ok(())
    }

    async fn count_signin_failures(
        &mut self,
        account_id: &str,
        user_name: &str,
        since: time::OffsetDateTime,
    ) -> StoreResult<usize> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM signin_failures WHERE account_id = $1 AND user_key = $2 AND at_ms >= $3",
        )
        .bind(account_id)
        .bind(name_key(user_name))
        .bind(to_millis(since))
        .fetch_one(self.conn().await?)
        .await
        .map_err(db_err("count sign-in failures"))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn insert_role(&mut self, r: &Role) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO roles (role_id, account_id, name, name_key, path, created_ms, assume_role_policy, \
             description, max_session_duration, permissions_boundary, tags, last_used_ms, last_used_region) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&r.role_id)
        .bind(&r.account_id)
        .bind(&r.name)
        .bind(name_key(&r.name))
        .bind(&r.path)
        .bind(to_millis(r.created))
        .bind(&r.assume_role_policy)
        .bind(&r.description)
        .bind(r.max_session_duration)
        .bind(&r.permissions_boundary)
        .bind(tags_to_json(&r.tags))
        .bind(r.last_used.as_ref().map(|(t, _)| to_millis(*t)))
        .bind(r.last_used.as_ref().map(|(_, region)| region.clone()))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("insert role"))?;
        Ok(())
    }

    async fn get_role(&mut self, account_id: &str, name: &str) -> StoreResult<Option<Role>> {
        let row = sqlx::query(concat!(
            role_select!(),
            " WHERE account_id = $1 AND name_key = $2"
        ))
        .bind(account_id)
        .bind(name_key(name))
        .fetch_optional(self.conn().await?)
        .await
        .map_err(db_err("read role"))?;
        row.as_ref().map(role_from_row).transpose()
    }

    async fn get_role_by_id(&mut self, role_id: &str) -> StoreResult<Option<Role>> {
        let row = sqlx::query(concat!(role_select!(), " WHERE role_id = $1"))
            .bind(role_id)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(db_err("read role"))?;
        row.as_ref().map(role_from_row).transpose()
    }

    async fn list_roles(
        &mut self,
        account_id: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Role>> {
        let rows = sqlx::query(concat!(
            role_select!(),
            " WHERE account_id = $1 AND substr(path, 1, length($2)) = $2 AND name_key > $3 \
             ORDER BY name_key LIMIT $4"
        ))
        .bind(account_id)
        .bind(path_prefix)
        .bind(after.map(name_key).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("list roles"))?;
        rows.iter().map(role_from_row).collect()
    }

    async fn update_role(&mut self, r: &Role) -> StoreResult<()> {
        sqlx::query(
            "UPDATE roles SET name = $2, name_key = $3, path = $4, assume_role_policy = $5, description = $6, \
             max_session_duration = $7, permissions_boundary = $8, tags = $9, last_used_ms = $10, \
             last_used_region = $11 WHERE role_id = $1",
        )
        .bind(&r.role_id)
        .bind(&r.name)
        .bind(name_key(&r.name))
        .bind(&r.path)
        .bind(&r.assume_role_policy)
        .bind(&r.description)
        .bind(r.max_session_duration)
        .bind(&r.permissions_boundary)
        .bind(tags_to_json(&r.tags))
        .bind(r.last_used.as_ref().map(|(t, _)| to_millis(*t)))
        .bind(r.last_used.as_ref().map(|(_, region)| region.clone()))
        .execute(self.conn().await?)
        .await
        .map_err(db_err("update role"))?;
        Ok(())
    }

    async fn delete_role(&mut self, role_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM roles WHERE role_id = $1")
            .bind(role_id)
            .execute(self.conn().await?)
            .await
            .map_err(db_err("delete role"))?;
        Ok(())
    }

    async fn role_policy_sources(&mut self, role_id: &str) -> StoreResult<Vec<PolicySource>> {
        let rows = sqlx::query(
            "SELECT 'role/' || r.name || '/inline/' || i.name AS id, i.document AS document \
               FROM inline_policies i JOIN roles r ON r.role_id = i.entity_id \
              WHERE i.entity_kind = 'role' AND i.entity_id = $1 \
             UNION ALL \
             SELECT p.arn, v.document FROM policy_attachments a \
               JOIN managed_policies p ON p.arn = a.policy_arn \
               JOIN policy_versions v ON v.policy_id = p.policy_id AND v.version_id = p.default_version \
              WHERE a.entity_kind = 'role' AND a.entity_id = $1",
        )
        .bind(role_id)
        .fetch_all(self.conn().await?)
        .await
        .map_err(db_err("gather policies of a role"))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| StoreError::new(format!("decode policy source: {e}"));
                Ok(PolicySource {
                    id: r.try_get("id").map_err(get)?,
                    document: r.try_get("document").map_err(get)?,
                })
            })
            .collect()
    }

    async fn account_counts(&mut self, account_id: &str) -> StoreResult<AccountCounts> {
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM users WHERE account_id = $1) AS users, \
             (SELECT COUNT(*) FROM groups WHERE account_id = $1) AS groups, \
             (SELECT COUNT(*) FROM roles WHERE account_id = $1) AS roles, \
             (SELECT COUNT(*) FROM managed_policies WHERE account_id = $1) AS policies, \
             (SELECT COUNT(*) FROM policy_attachments a \
                LEFT JOIN users u ON a.entity_kind = 'user' AND u.user_id = a.entity_id \
                LEFT JOIN groups g ON a.entity_kind = 'group' AND g.group_id = a.entity_id \
                LEFT JOIN roles r ON a.entity_kind = 'role' AND r.role_id = a.entity_id \
               WHERE COALESCE(u.account_id, g.account_id, r.account_id) = $1) AS attachments, \
             (SELECT COUNT(*) FROM mfa_devices WHERE account_id = $1) AS mfa_devices, \
             (SELECT COUNT(*) FROM mfa_devices WHERE account_id = $1 AND user_id IS NOT NULL) AS mfa_in_use, \
             (SELECT COUNT(*) FROM access_keys WHERE account_id = $1 AND user_id IS NULL) AS root_keys",
        )
        .bind(account_id)
        .fetch_one(self.conn().await?)
        .await
        .map_err(db_err("count account entities"))?;
        let get = |name: &str| -> StoreResult<i64> {
            row.try_get(name)
                .map_err(|e| StoreError::new(format!("decode account counts: {e}")))
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
    }
}
