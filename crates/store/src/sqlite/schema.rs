//! The schema of `keyward.db` and its migrations.

use keyward_core::clock::to_millis;
use keyward_core::store::StoreResult;
use rusqlite::{Connection, params};

use super::rows::{exec, scalar_all};
use crate::error::db_err;

/// Schema migrations, applied in order at start. Never edit one that has shipped: add a new one.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_mfa.sql")),
    (
        3,
        include_str!("../../migrations/sqlite/0003_policies_groups.sql"),
    ),
    (5, include_str!("../../migrations/sqlite/0005_audit.sql")),
    (
        6,
        include_str!("../../migrations/sqlite/0006_passwords.sql"),
    ),
    (
        4,
        include_str!("../../migrations/sqlite/0004_roles_sts.sql"),
    ),
    (
        7,
        include_str!("../../migrations/sqlite/0007_audit_time_keys.sql"),
    ),
    (
        8,
        include_str!("../../migrations/sqlite/0008_change_feed.sql"),
    ),
    (
        9,
        include_str!("../../migrations/sqlite/0009_mfa_attempts.sql"),
    ),
];

pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(db_err("begin migration"))?;
    let result = (|| {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)")
            .map_err(db_err("create schema_migrations"))?;
        let applied: Vec<i64> = scalar_all(
            conn,
            "read schema versions",
            "SELECT version FROM schema_migrations",
            [],
        )?;
        // Any migration not yet recorded runs, in order: branches that add migrations in
        // parallel cannot skip one another's.
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
            conn.execute_batch(sql).map_err(db_err("apply migration"))?;
            exec(
                conn,
                "record migration",
                "INSERT INTO schema_migrations (version, applied_ms) VALUES (?1, ?2)",
                params![version, to_millis(time::OffsetDateTime::now_utc())],
            )?;
        }
        conn.execute_batch("COMMIT")
            .map_err(db_err("commit migration"))
    })();
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}
