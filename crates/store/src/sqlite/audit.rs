//! The audit trail: records of changes in `keyward.db` (in their request's transaction), records
//! of requests that changed nothing in `audit_reads.db`, both keyed by time and read as one.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use keyward_core::StoreError;
use keyward_core::audit::{AuditEvent, AuditQuery, LookupKey, StoredRecord, TrailColumns};
use keyward_core::clock::to_millis;
use keyward_core::store::StoreResult;
use rusqlite::{Connection, Row, params};

use super::Inner;
use super::engine::open_with;
use super::rows::{all, exec};
use crate::error::db_err;

/// The file of the audit records of requests that changed nothing (see the module docs).
pub(super) const READS_FILE: &str = "audit_reads.db";

/// The reads trail's table: the same as `audit_records` in `keyward.db` (schema v7). Its version
/// is the file's `user_version`; a change adds a step here.
const READS_SCHEMA: &str = "
BEGIN;
CREATE TABLE IF NOT EXISTS audit_records (
    seq            INTEGER PRIMARY KEY,
    event_id       TEXT NOT NULL,
    event_time_ms  INTEGER NOT NULL,
    account_id     TEXT,
    event_source   TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    read_only      INTEGER NOT NULL,
    user_name      TEXT,
    access_key_id  TEXT,
    error_code     TEXT,
    resource_names TEXT NOT NULL DEFAULT '',
    record         TEXT,
    compact        TEXT,
    CHECK ((record IS NULL) != (compact IS NULL))
);
PRAGMA user_version = 1;
COMMIT;
";

/// Opens `audit_reads.db`, creating it with 16 KiB pages (the size is fixed when the first table
/// is written), and its table.
pub(super) fn connect_reads(path: &Path) -> StoreResult<Connection> {
    let conn = open_with(
        path,
        "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
    )?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_err("read the reads trail's version"))?;
    if version < 1 {
        conn.execute_batch(READS_SCHEMA)
            .map_err(db_err("create the reads trail"))?;
    }
    Ok(conn)
}

/// The conditions of a `LookupEvents` query on one trail's table (parameters `?1`–`?7`):
/// account, key range, event-time bounds and the one lookup attribute.
macro_rules! trail_filter {
    () => {
        "seq >= ?2 AND seq <= ?3 AND account_id = ?1 \
         AND event_time_ms >= ?4 AND event_time_ms <= ?5 \
         AND CASE ?6 \
           WHEN '' THEN 1 \
           WHEN 'event_name' THEN event_name = ?7 \
           WHEN 'user_name' THEN user_name = ?7 \
           WHEN 'event_id' THEN event_id = ?7 \
           WHEN 'read_only' THEN read_only = CAST(?7 AS INTEGER) \
           WHEN 'access_key_id' THEN access_key_id = ?7 \
           WHEN 'event_source' THEN event_source = ?7 \
           WHEN 'resource_names' THEN instr(resource_names, char(10) || ?7 || char(10)) > 0 \
         END"
    };
}

/// What a trail query selects of a record: its position, and what [`kept_record`] reads.
macro_rules! trail_columns {
    () => {
        "seq, record, compact, event_id, event_time_ms, account_id, event_source, event_name, \
         read_only, access_key_id, error_code"
    };
}

/// A record as a trail keeps it: the CloudTrail JSON (records of schema versions before 7), or
/// its columns and compact JSON, rendered when read.
enum Kept {
    Json(String),
    Compact(TrailColumns, String),
}

impl Kept {
    /// The record's CloudTrail JSON.
    fn json(self) -> StoreResult<String> {
        match self {
            Kept::Json(text) => Ok(text),
            Kept::Compact(..) => Ok(self.event()?.record_json()),
        }
    }

    fn event(self) -> StoreResult<AuditEvent> {
        let event = match self {
            Kept::Json(text) => serde_json::from_str(&text)
                .ok()
                .and_then(|v| AuditEvent::from_record(&v)),
            Kept::Compact(columns, compact) => AuditEvent::from_compact(columns, &compact),
        };
        event.ok_or_else(|| StoreError::corrupt("decode audit record"))
    }
}

/// Reads a row selected with [`trail_columns`].
fn kept_record(r: &Row<'_>) -> StoreResult<Kept> {
    let get = db_err("decode audit record");
    if let Some(text) = r.get::<_, Option<String>>("record").map_err(get)? {
        return Ok(Kept::Json(text));
    }
    let columns = TrailColumns {
        event_id: r.get("event_id").map_err(get)?,
        event_time_ms: r.get("event_time_ms").map_err(get)?,
        account_id: r.get("account_id").map_err(get)?,
        event_source: r.get("event_source").map_err(get)?,
        event_name: r.get("event_name").map_err(get)?,
        read_only: r.get::<_, i64>("read_only").map_err(get)? != 0,
        access_key_id: r.get("access_key_id").map_err(get)?,
        error_code: r.get("error_code").map_err(get)?,
    };
    Ok(Kept::Compact(columns, r.get("compact").map_err(get)?))
}

/// Writes one audit record into the `audit_records` of `conn`'s main database, at a free
/// position of its millisecond (see [`audit_position`]).
pub(super) fn insert_record(
    conn: &Connection,
    counter: &AtomicU64,
    e: &AuditEvent,
) -> StoreResult<()> {
    let resource_names: String = e.resources.iter().fold(String::new(), |mut acc, (_, n)| {
        if acc.is_empty() {
            acc.push('\n');
        }
        acc.push_str(n);
        acc.push('\n');
        acc
    });
    let millis = to_millis(e.event_time);
    let compact = e.compact_json();
    // LookupEvents names the root user `root`.
    let user_name = e
        .user_name
        .as_deref()
        .or_else(|| (e.identity_type.as_deref() == Some("Root")).then_some("root"));
    // A position another record of the same millisecond holds is skipped: the next one is tried
    // (it takes 65,536 records between two of one millisecond to meet one).
    for _ in 0..AUDIT_POSITION_TRIES {
        let seq = audit_position(millis, counter.fetch_add(1, Ordering::Relaxed));
        let inserted = exec(
            conn,
            "insert audit event",
            "INSERT INTO audit_records (seq, event_id, event_time_ms, account_id, event_source, \
             event_name, read_only, user_name, access_key_id, error_code, resource_names, compact) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT DO NOTHING",
            params![
                seq,
                &e.event_id,
                millis,
                &e.account_id,
                &e.event_source,
                &e.event_name,
                i64::from(e.read_only),
                user_name,
                &e.access_key_id,
                &e.error_code,
                &resource_names,
                &compact,
            ],
        )?;
        if inserted == 1 {
            return Ok(());
        }
    }
    Err(StoreError::limit_exceeded(
        "insert audit event: every position tried was taken",
    ))
}

/// Positions tried for one audit record before giving up (see [`audit_position`]).
const AUDIT_POSITION_TRIES: usize = 16;

/// An audit record's key: its event time in milliseconds times 65,536 plus the low 16 bits of
/// `n`, so the trail is stored in time order and a time range is a range of keys. Times before
/// 1970 count as 1970; the milliseconds of the next 4,000 years fit.
fn audit_position(millis: i64, n: u64) -> i64 {
    let millis = millis.clamp(0, (1 << 47) - 1);
    // The low 16 bits of a u64 always fit an i64.
    (millis << 16) | i64::try_from(n & 0xFFFF).unwrap_or(0)
}

/// The newest `limit` records of both trails (`conn` attaches the reads trail).
pub(super) fn list(conn: &Connection, limit: usize) -> StoreResult<Vec<AuditEvent>> {
    {
        all(
            conn,
            "list audit events",
            concat!(
                "SELECT * FROM (SELECT ",
                trail_columns!(),
                " FROM main.audit_records UNION ALL SELECT ",
                trail_columns!(),
                " FROM reads.audit_records) ORDER BY seq DESC LIMIT ?1"
            ),
            params![super::rows::sql_limit(limit)],
            |r| kept_record(r)?.event(),
        )
    }
}

/// One account's records matching `q` in both trails, newest first (`conn` attaches the reads
/// trail).
pub(super) fn lookup(conn: &Connection, q: &AuditQuery) -> StoreResult<Vec<StoredRecord>> {
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
    // Records are keyed by time (see [`audit_position`]): the time bounds, the page's end and
    // an event ID's millisecond narrow the scan to a range of keys.
    let mut low = q.start.map_or(0, |t| audit_position(to_millis(t), 0));
    let mut high = q
        .end
        .map_or(i64::MAX, |t| audit_position(to_millis(t), 0xFFFF));
    if let Some(before) = q.before {
        high = high.min(before.saturating_sub(1));
    }
    if let Some((LookupKey::EventId, id)) = &q.attribute
        && let Some(millis) = keyward_core::ids::event_id_millis(id)
    {
        low = low.max(audit_position(millis, 0));
        high = high.min(audit_position(millis, 0xFFFF));
    }
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let start = q.start.map(to_millis).unwrap_or(i64::MIN);
    let end = q.end.map(to_millis).unwrap_or(i64::MAX);
    {
        all(
            conn,
            "look up audit events",
            concat!(
                "SELECT ",
                trail_columns!(),
                " FROM main.audit_records WHERE ",
                trail_filter!(),
                " UNION ALL SELECT ",
                trail_columns!(),
                " FROM reads.audit_records WHERE ",
                trail_filter!(),
                " ORDER BY seq DESC LIMIT ?8"
            ),
            params![&q.account_id, low, high, start, end, column, value, limit],
            |r| {
                let seq = r.get("seq").map_err(db_err("decode audit record"))?;
                Ok(StoredRecord {
                    seq,
                    record: kept_record(r)?.json()?,
                })
            },
        )
    }
}

/// Deletes the records older than `before` from both trails: in the transaction of `conn` (the
/// writer's) and through the reads trail's own connection.
pub(super) fn delete_before(
    conn: &Connection,
    inner: &Inner,
    before: time::OffsetDateTime,
) -> StoreResult<u64> {
    delete_below(conn, inner, audit_position(to_millis(before), 0))
}

/// The bytes one record counts for against a size cap: what it keeps of its own (its JSON, its
/// lookup columns) and a row's overhead. `octet_length` reads a value's size, not the value.
macro_rules! record_bytes {
    () => {
        "(coalesce(octet_length(record), 0) + coalesce(octet_length(compact), 0) \
         + octet_length(resource_names) + coalesce(octet_length(user_name), 0) \
         + coalesce(octet_length(access_key_id), 0) + octet_length(event_id) + 64)"
    };
}

/// The position of the newest record that no longer fits in `max_bytes` when the trails' records
/// are counted newest first (see [`record_bytes`]); `None` when they all fit.
pub(super) fn overflow(conn: &Connection, max_bytes: u64) -> StoreResult<Option<i64>> {
    let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
    let total: i64 = conn
        .query_row(
            concat!(
                "SELECT (SELECT coalesce(sum(",
                record_bytes!(),
                "), 0) FROM main.audit_records) + (SELECT coalesce(sum(",
                record_bytes!(),
                "), 0) FROM reads.audit_records)"
            ),
            [],
            |r| r.get(0),
        )
        .map_err(db_err("measure the audit trail"))?;
    if total <= max {
        return Ok(None);
    }
    conn.query_row(
        concat!(
            "SELECT seq FROM (SELECT seq, sum(size) OVER (ORDER BY seq DESC ROWS UNBOUNDED \
             PRECEDING) AS kept FROM (SELECT seq, ",
            record_bytes!(),
            " AS size FROM main.audit_records UNION ALL SELECT seq, ",
            record_bytes!(),
            " AS size FROM reads.audit_records)) WHERE kept > ?1 ORDER BY seq DESC LIMIT 1"
        ),
        params![max],
        |r| r.get(0),
    )
    .map(Some)
    .map_err(db_err("find the audit trail's cut"))
}

/// Deletes the records at positions below `cut` from both trails (see [`delete_before`]).
pub(super) fn delete_below(conn: &Connection, inner: &Inner, cut: i64) -> StoreResult<u64> {
    let changes = exec(
        conn,
        "delete old audit records",
        "DELETE FROM audit_records WHERE seq < ?1",
        params![cut],
    )?;
    // The reads trail is not part of this transaction: its own connection deletes there.
    let reads = {
        let conn = inner.reads_writer()?;
        exec(
            &conn,
            "delete old audit records of reads",
            "DELETE FROM audit_records WHERE seq < ?1",
            params![cut],
        )?
    };
    Ok(u64::try_from(changes + reads).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sqlite::SqliteStore;
    use crate::sqlite::schema::MIGRATIONS;
    use keyward_core::store::{Store, Tx};

    /// Version 7 keys the records of an older trail by time, keeping every one and its order.
    #[test]
    fn the_trail_of_version_six_is_rekeyed_by_time() {
        let conn = Connection::open_in_memory().unwrap();
        for (_, sql) in MIGRATIONS.iter().filter(|(v, _)| *v < 7) {
            conn.execute_batch(sql).unwrap();
        }
        // Insertion order is not time order; two records share a millisecond; one is before 1970.
        for (seq, event_id, millis) in [
            (1, "a", 2_000),
            (2, "b", 1_000),
            (3, "c", 2_000),
            (4, "d", -5),
        ] {
            conn.execute(
                "INSERT INTO audit_records (seq, event_id, event_time_ms, account_id, event_source, \
                 event_name, read_only, record) VALUES (?1, ?2, ?3, '1', 'iam.amazonaws.com', 'X', 0, ?2)",
                params![seq, event_id, millis],
            )
            .unwrap();
        }
        let seven = MIGRATIONS.iter().find(|(v, _)| *v == 7).unwrap().1;
        conn.execute_batch(seven).unwrap();
        let rows: Vec<(i64, String)> = conn
            .prepare("SELECT seq, event_id FROM audit_records ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (audit_position(-5, 0), "d".to_owned()),
                (audit_position(1_000, 0), "b".to_owned()),
                (audit_position(2_000, 0), "a".to_owned()),
                (audit_position(2_000, 1), "c".to_owned()),
            ]
        );
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0);
        let kept: i64 = conn
            .query_row(
                "SELECT count(*) FROM audit_records WHERE record IS NOT NULL AND compact IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 4, "earlier records keep their JSON");
    }

    /// A record of an earlier version (its JSON kept whole) reads back as it was written, and a
    /// compact one renders the same JSON.
    #[test]
    fn records_read_back_whichever_way_they_were_kept() {
        let at = time::macros::datetime!(2026-12-01 10:00:00 UTC);
        let mut e = AuditEvent::api_call(
            "e1".into(),
            at,
            "iam",
            "GetUser",
            "r1".into(),
            "127.0.0.1".into(),
            Some("aws-cli/2".into()),
        );
        e.account_id = Some("123456789012".into());
        e.request_parameters = Some(serde_json::json!({"userName": "bob"}));
        let text = e.record_json();
        assert_eq!(Kept::Json(text.clone()).json().unwrap(), text);
        assert_eq!(Kept::Json(text.clone()).event().unwrap(), e);
        let compact = Kept::Compact(e.columns(), e.compact_json());
        assert_eq!(compact.json().unwrap(), text);
        assert_eq!(
            Kept::Compact(e.columns(), "{".into())
                .json()
                .unwrap_err()
                .kind(),
            keyward_core::StoreErrorKind::Corrupt
        );
    }

    /// Two records of one millisecond given the same count (65,536 records apart) both land.
    #[tokio::test]
    async fn a_taken_position_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let at = time::macros::datetime!(2026-12-01 10:00:00.5 UTC);
        let event = |id: &str| {
            AuditEvent::api_call(
                id.into(),
                at,
                "iam",
                "GetUser",
                id.into(),
                "127.0.0.1".into(),
                None,
            )
        };
        for id in ["first", "second"] {
            store.inner.audit_counter.store(7, Ordering::Relaxed);
            let mut tx = store.begin().await.unwrap();
            tx.insert_audit_event(&event(id)).await.unwrap();
            tx.commit().await.unwrap();
        }
        let mut tx = store.begin_read().await.unwrap();
        let events = tx.list_audit_events(10).await.unwrap();
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["second", "first"]);
        tx.commit().await.unwrap();
        let millis = to_millis(at);
        let conn = Connection::open(dir.path().join("keyward.db")).unwrap();
        let keys: Vec<i64> = conn
            .prepare("SELECT seq FROM audit_records ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, [audit_position(millis, 7), audit_position(millis, 8)]);
    }

    #[test]
    fn audit_positions_order_by_time_then_count() {
        assert!(audit_position(1, 0xFFFF) < audit_position(2, 0));
        assert_eq!(audit_position(3, 0x1_0005), audit_position(3, 5));
        assert_eq!(audit_position(-1, 0), 0);
        assert!(audit_position(i64::MAX, 0xFFFF) > 0);
    }
}
