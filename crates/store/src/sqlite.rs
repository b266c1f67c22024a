//! The embedded store: one SQLite file in the data folder, WAL journal, `synchronous=NORMAL`
//! (durable across process crashes; a power loss may lose the last transactions, never corrupt).
//!
//! Statements run on the calling thread (rusqlite), not on a database thread: a statement on a
//! local WAL database takes microseconds, while handing each one to another thread and back (as
//! sqlx's SQLite driver does) cost more than the statements themselves — two context switches
//! per statement, most of a write request's CPU time in the load benchmark.
//!
//! One connection writes, behind an async mutex that is also the write gate: writers queue there
//! in FIFO order. Writers share transactions (group commit): each request runs in a savepoint of
//! the open transaction, and the transaction commits when no other writer waits for the gate or
//! when [`MAX_GROUP`] requests have joined it. A commit writes every page the group changed to the
//! WAL once, instead of once per request: under concurrent writes most of a request's cost was
//! its commit. A request answers only after its group committed, so read-your-writes holds; a
//! failed request rolls back its savepoint alone; a failed commit fails every request of the
//! group (each change with its audit record, as before). The transaction begins `IMMEDIATE`, so
//! it never fails half-way on a lock upgrade. Readers take a pooled connection and a deferred
//! transaction (a snapshot from their first statement on) that runs beside the writer under WAL.
//! Another process holding the write lock (`keyward admin`) is waited for up to `busy_timeout`.
//!
//! The audit records of requests that changed nothing (reads, refused requests) go to a second
//! file, `audit_reads.db` ([`READS_FILE`]), through a connection of their own: the server writes
//! them in batches, never in a change's transaction, so they need not share its file. There they
//! neither wait for the write gate nor hold it, their bytes stay out of the main WAL and its
//! checkpoints, and the file has 16 KiB pages, which cut what a batch of appended records costs
//! by about a third (records of changes stay in `keyward.db` with 4 KiB pages: each group commit
//! rewrites the trail's last page there, and a larger page made that dearer). Readers attach the
//! file as `reads`, so one query merges both trails by position.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_core::StoreError;
use keyward_core::audit::{AuditEvent, AuditQuery, LookupKey, StoredRecord, TrailColumns};
use keyward_core::clock::{from_millis, to_millis};
use keyward_core::model::{
    AccessKey, Account, AttachedPolicy, EntityKind, Group, KeyLastUsed, KeyStatus, LoginProfile,
    ManagedPolicy, MfaDevice, MfaFailure, MfaFailureReason, PolicySource, PolicyVersion, Role, Tag,
    User,
};
use keyward_core::password::PasswordPolicy;
use keyward_core::store::{AccountCounts, PolicyUsage, Store, StoreResult, Tx};
use rusqlite::config::DbConfig;
use rusqlite::types::FromSql;
use rusqlite::{Connection, OpenFlags, Params, Row, params};

use crate::error::db_err;
use crate::private;

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
    (
        7,
        include_str!("../migrations/sqlite/0007_audit_time_keys.sql"),
    ),
];

/// The main database's file in the data folder.
const MAIN_FILE: &str = "keyward.db";

/// The file of the audit records of requests that changed nothing (see the module docs).
pub const READS_FILE: &str = "audit_reads.db";

/// The files SQLite may keep beside a database: its WAL, the WAL's shared-memory index, and a
/// rollback journal (not kept in WAL mode, listed so that a stray one is covered too).
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

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

/// Idle reader connections kept open. Statements never wait on I/O for long, so a request holds
/// its connection only while it runs on a worker thread: a handful serve any concurrency.
const IDLE_READERS: usize = 8;

/// Prepared statements kept per connection (keyward runs about a hundred distinct ones).
const STATEMENT_CACHE: usize = 256;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// Requests in one group at most (one transaction, one commit).
const MAX_GROUP: usize = 64;

/// How long a request waits for its group's commit before it commits the group itself (a group
/// left open by a writer that went away while queued).
const GROUP_WAIT: Duration = Duration::from_millis(20);

struct Inner {
    path: PathBuf,
    /// The one writing connection; holding its lock is holding the write gate.
    writer: Arc<tokio::sync::Mutex<WriterState>>,
    /// Writers holding or queued for the gate (their [`Ticket`]s).
    writers: AtomicUsize,
    next_group: AtomicU64,
    /// Tells apart the audit records of one millisecond (see [`audit_position`]).
    audit_counter: AtomicU64,
    /// Idle reader connections.
    readers: Mutex<Vec<Connection>>,
    /// `audit_reads.db`, attached by readers.
    reads_path: PathBuf,
    /// The one connection that writes `audit_reads.db`.
    reads_writer: Mutex<Connection>,
}

impl Inner {
    /// The reads trail's connection (see the module docs), for one statement or transaction.
    fn reads_writer(&self) -> StoreResult<std::sync::MutexGuard<'_, Connection>> {
        self.reads_writer
            .lock()
            .map_err(|_| StoreError::new("the reads trail's connection is poisoned"))
    }
}

struct WriterState {
    conn: Connection,
    /// The transaction requests join, while one is open.
    group: Option<WriteGroup>,
}

/// An open transaction shared by the requests that joined it.
struct WriteGroup {
    id: u64,
    /// Requests whose savepoint was released into it.
    members: usize,
    /// The commit's outcome, for the members waiting for it.
    outcome: tokio::sync::watch::Sender<Option<StoreResult<()>>>,
}

impl WriterState {
    /// Ends the open group: commits it (rolls it back if nobody's change is in it) and tells its
    /// members how it went.
    fn close_group(&mut self) -> StoreResult<()> {
        let Some(group) = self.group.take() else {
            return Ok(());
        };
        let result = if group.members == 0 {
            control(&self.conn, "ROLLBACK")
        } else {
            control(&self.conn, "COMMIT")
        };
        if result.is_err() && !self.conn.is_autocommit() {
            // A failed COMMIT may leave the transaction open: nothing of it may survive.
            if let Err(e) = control(&self.conn, "ROLLBACK") {
                tracing::error!(error = %e, "rollback of a failed group failed");
            }
        }
        group.outcome.send_replace(Some(result.clone()));
        result
    }
}

/// A writer's place in the queue, from before it waits for the gate until its request is done:
/// a group's last member closes it when no ticket but its own is out.
struct Ticket(Arc<Inner>);

impl Ticket {
    fn take(inner: &Arc<Inner>) -> Self {
        inner.writers.fetch_add(1, Ordering::SeqCst);
        Ticket(Arc::clone(inner))
    }

    /// Whether any other writer holds or waits for the gate.
    fn others_waiting(&self) -> bool {
        self.0.writers.load(Ordering::SeqCst) > 1
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// Opens a reader: a connection to `keyward.db` with `audit_reads.db` attached as `reads`.
fn connect_reader(path: &Path, reads: &Path) -> StoreResult<Connection> {
    let conn = connect(path)?;
    conn.execute("ATTACH DATABASE ?1 AS reads", [reads.to_string_lossy()])
        .map_err(db_err("attach the reads trail"))?;
    Ok(conn)
}

/// Opens `audit_reads.db`, creating it with 16 KiB pages (the size is fixed when the first table
/// is written), and its table.
fn connect_reads(path: &Path) -> StoreResult<Connection> {
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

/// Opens a connection to `keyward.db` with keyward's settings. WAL is a property of the file
/// (set once, kept).
fn connect(path: &Path) -> StoreResult<Connection> {
    open_with(
        path,
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
}

/// Opens `path` (creating it), runs `pragmas`, and sets what every connection has: the busy
/// timeout, the planner's stability guarantee and the statement cache.
fn open_with(path: &Path, pragmas: &str) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err("open sqlite database"))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(db_err("set busy timeout"))?;
    conn.execute_batch(pragmas)
        .map_err(db_err("configure sqlite connection"))?;
    // The query planner's stability guarantee: plans never depend on bound values. Without it,
    // SQLite marks every statement with an ORDER BY as "may plan better with other values" and
    // prepares it again whenever a parameter changes, which is every time keyward runs it.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db_err("configure sqlite connection"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Runs one of the transaction statements (`BEGIN`, `COMMIT`, ...), prepared once per connection.
fn control(conn: &Connection, statement: &'static str) -> StoreResult<()> {
    exec(conn, statement, statement, []).map(drop)
}

impl SqliteStore {
    /// The store's files in `data_dir` (which may or may not exist): both databases and the
    /// files SQLite keeps beside them.
    pub fn files(data_dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for db in [MAIN_FILE, READS_FILE] {
            files.push(data_dir.join(db));
            files.extend(SIDE_FILES.map(|side| data_dir.join(format!("{db}{side}"))));
        }
        files
    }

    /// Opens (creating if needed) `keyward.db` in `data_dir` and applies pending migrations.
    ///
    /// Every file of the store is owner-only ([`crate::private`]): a new database file is created
    /// 0600 before SQLite opens it (its `-wal` and `-shm` then get the same mode), and files
    /// others could read (made by an older keyward, or copied) are tightened, with a warning.
    pub async fn open(data_dir: &Path) -> StoreResult<Self> {
        let path = data_dir.join(MAIN_FILE);
        let reads_path = data_dir.join(READS_FILE);
        let files = Self::files(data_dir);
        let (tightened, failed) =
            private::restrict_all(files.iter().map(PathBuf::as_path), private::FILE_MODE);
        private::report(&tightened, &failed);
        for db in [&path, &reads_path] {
            private::create_file(db)
                .map_err(|e| StoreError::new(format!("create {}: {e}", db.display())))?;
        }
        // Before any reader attaches it, so that it is created with its own page size.
        let reads_writer = connect_reads(&reads_path)?;
        let writer = connect(&path)?;
        migrate(&writer)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Arc::new(tokio::sync::Mutex::new(WriterState {
                    conn: writer,
                    group: None,
                })),
                writers: AtomicUsize::new(0),
                next_group: AtomicU64::new(0),
                audit_counter: AtomicU64::new(0),
                readers: Mutex::new(Vec::new()),
                reads_path,
                reads_writer: Mutex::new(reads_writer),
            }),
        })
    }

    /// Closes the idle readers and checkpoints the WAL into the database file; used at shutdown.
    pub async fn close(&self) {
        if let Ok(mut readers) = self.inner.readers.lock() {
            readers.clear();
        }
        let mut writer = self.inner.writer.lock().await;
        if let Err(e) = writer.close_group() {
            tracing::error!(error = %e, "commit at shutdown failed");
        }
        if let Err(e) = writer
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::warn!(error = %e, "checkpoint at shutdown failed");
        }
        if let Ok(reads) = self.inner.reads_writer.lock()
            && let Err(e) = reads.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::warn!(error = %e, "checkpoint of the reads trail at shutdown failed");
        }
    }

    fn take_reader(&self) -> StoreResult<Connection> {
        let idle = self.inner.readers.lock().ok().and_then(|mut r| r.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => connect_reader(&self.inner.path, &self.inner.reads_path),
        }
    }

    /// Puts a reader back in the pool (or closes it when the pool is full).
    fn give_back(&self, conn: Connection) {
        if conn.is_autocommit()
            && let Ok(mut idle) = self.inner.readers.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
    }
}

fn migrate(conn: &Connection) -> StoreResult<()> {
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

impl Store for SqliteStore {
    type Tx = SqliteTx;

    /// Joins the open group, or opens one, and starts the request's savepoint.
    async fn begin(&self) -> StoreResult<SqliteTx> {
        let ticket = Ticket::take(&self.inner);
        let mut state = Arc::clone(&self.inner.writer).lock_owned().await;
        if state.group.is_none() {
            // A transaction left open (a failed rollback) must not swallow this one.
            if !state.conn.is_autocommit() {
                control(&state.conn, "ROLLBACK")?;
            }
            control(&state.conn, "BEGIN IMMEDIATE")?;
            let id = self.inner.next_group.fetch_add(1, Ordering::Relaxed);
            state.group = Some(WriteGroup {
                id,
                members: 0,
                outcome: tokio::sync::watch::Sender::new(None),
            });
        }
        if let Err(e) = control(&state.conn, "SAVEPOINT request") {
            if !ticket.others_waiting() {
                // Nobody will come to close it.
                let _ = state.close_group();
            }
            return Err(e);
        }
        Ok(SqliteTx {
            conn: Handle::Writer(Some(WriterTx { ticket, state })),
            open: true,
            store: self.clone(),
        })
    }

    /// A deferred transaction, begun on its first statement: a request that the caches answer
    /// entirely (an authenticated `GetCallerIdentity`) never touches the database.
    async fn begin_read(&self) -> StoreResult<SqliteTx> {
        Ok(SqliteTx {
            conn: Handle::Reader(None),
            open: false,
            store: self.clone(),
        })
    }

    /// Into `audit_reads.db`, in one transaction of the reads trail's own connection.
    async fn append_unchanged_records(&self, records: &[AuditEvent]) -> StoreResult<()> {
        let conn = self.inner.reads_writer()?;
        control(&conn, "BEGIN IMMEDIATE")?;
        let written = records
            .iter()
            .try_for_each(|e| insert_record(&conn, &self.inner.audit_counter, e));
        let ended = match written {
            Ok(()) => control(&conn, "COMMIT"),
            Err(e) => Err(e),
        };
        if ended.is_err()
            && !conn.is_autocommit()
            && let Err(e) = control(&conn, "ROLLBACK")
        {
            tracing::error!(error = %e, "rollback of the reads trail failed");
        }
        ended
    }
}

/// A transaction. Dropped without [`Tx::commit`], it rolls back (a writer its own savepoint;
/// a reader's connection goes back to the pool).
pub struct SqliteTx {
    conn: Handle,
    /// Whether the transaction (a reader's) or the savepoint (a writer's) is open.
    open: bool,
    store: SqliteStore,
}

enum Handle {
    /// Taken when the request ends, which opens the gate.
    Writer(Option<WriterTx>),
    /// A reader's connection, taken from the pool on the first statement.
    Reader(Option<Connection>),
}

/// Fields drop in order: the ticket before the gate opens, so that the writer let in next never
/// counts this one as still waiting.
struct WriterTx {
    ticket: Ticket,
    state: tokio::sync::OwnedMutexGuard<WriterState>,
}

/// How a writer's request ended.
enum Ended {
    /// Its group committed (or failed) at once.
    Done(StoreResult<()>),
    /// Its change is in a group another request will commit.
    Pending {
        group: u64,
        outcome: tokio::sync::watch::Receiver<Option<StoreResult<()>>>,
    },
}

impl WriterTx {
    /// Ends the request's savepoint, keeping its changes in the group or rolling them back, and
    /// commits the group when no other writer holds or waits for the gate, or when it is full.
    /// Opens the gate.
    fn end(mut self, keep: bool) -> Ended {
        let state = &mut *self.state;
        let conn = &state.conn;
        let mut result = Ok(());
        let kept = keep
            && match control(conn, "RELEASE request") {
                Ok(()) => true,
                Err(e) => {
                    result = Err(e);
                    false
                }
            };
        if !kept {
            let undone = control(conn, "ROLLBACK TO request")
                .and_then(|()| control(conn, "RELEASE request"));
            if let Err(e) = undone {
                // The group's transaction is in doubt: none of it may commit.
                if let Some(group) = state.group.as_mut() {
                    group.members = 0;
                }
                let _ = state.close_group();
                return Ended::Done(Err(e));
            }
        }
        let Some(group) = state.group.as_mut() else {
            return Ended::Done(Err(StoreError::new("the write transaction is gone")));
        };
        if kept {
            group.members += 1;
        }
        let (id, outcome) = (group.id, group.outcome.subscribe());
        if group.members >= MAX_GROUP || !self.ticket.others_waiting() {
            let committed = state.close_group();
            return Ended::Done(result.and(committed));
        }
        if kept {
            Ended::Pending { group: id, outcome }
        } else {
            Ended::Done(result)
        }
    }
}

impl SqliteTx {
    /// Runs `read` on a connection that sees both trails: this transaction's own if it is a
    /// reader's, else a pooled reader in a transaction of its own (a writer's connection does not
    /// attach `audit_reads.db`: `BEGIN IMMEDIATE` would take that file's write lock as well).
    fn on_trail_reader<T>(
        &mut self,
        read: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        if matches!(self.conn, Handle::Reader(_)) {
            return read(self.conn()?);
        }
        let conn = self.store.take_reader()?;
        control(&conn, "BEGIN")?;
        let result = read(&conn);
        let ended = control(&conn, "COMMIT");
        self.store.give_back(conn);
        let value = result?;
        ended?;
        Ok(value)
    }

    fn conn(&mut self) -> StoreResult<&Connection> {
        if let Handle::Reader(slot @ None) = &mut self.conn {
            let conn = self.store.take_reader()?;
            // `BEGIN` (deferred): a read snapshot from the first read on, no write lock.
            control(&conn, "BEGIN")?;
            *slot = Some(conn);
            self.open = true;
        }
        match &self.conn {
            Handle::Writer(Some(w)) => Ok(&w.state.conn),
            Handle::Reader(Some(conn)) => Ok(conn),
            Handle::Writer(None) | Handle::Reader(None) => {
                Err(StoreError::new("the transaction is over"))
            }
        }
    }
}

/// Waits for the commit of the group a request's change joined. A group whose closing writer went
/// away (its request cancelled while queued) is committed here after a while.
async fn await_group(
    inner: &Inner,
    group: u64,
    mut outcome: tokio::sync::watch::Receiver<Option<StoreResult<()>>>,
) -> StoreResult<()> {
    loop {
        let waited = tokio::time::timeout(GROUP_WAIT, outcome.wait_for(Option::is_some))
            .await
            .map(|r| r.map(|v| v.clone()));
        match waited {
            Ok(Ok(Some(Ok(())))) => return Ok(()),
            Ok(Ok(Some(Err(e)))) => return Err(e.within("group commit")),
            Ok(Ok(None)) => return Err(StoreError::new("group commit: no outcome")),
            Ok(Err(_)) => return Err(StoreError::unavailable("group commit: the store closed")),
            Err(_) => {
                let mut state = inner.writer.lock().await;
                if state.group.as_ref().is_some_and(|g| g.id == group) {
                    let _ = state.close_group();
                }
            }
        }
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if !self.open {
            // Committed, or a reader that never began.
        } else if let Handle::Writer(w) = &mut self.conn {
            if let Some(w) = w.take()
                && let Ended::Done(Err(e)) = w.end(false)
            {
                tracing::error!(error = %e, "rollback failed");
            }
        } else if let Handle::Reader(Some(conn)) = &self.conn
            && let Err(e) = control(conn, "ROLLBACK")
        {
            tracing::error!(error = %e, "rollback failed");
        }
        self.open = false;
        if let Handle::Reader(conn @ Some(_)) = &mut self.conn
            && let Some(conn) = conn.take()
        {
            self.store.give_back(conn);
        }
    }
}

/// Runs a statement that returns no rows; answers how many rows it changed.
fn exec(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
) -> StoreResult<usize> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(db_err(context))
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
fn insert_record(conn: &Connection, counter: &AtomicU64, e: &AuditEvent) -> StoreResult<()> {
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

/// Every row of a query, each decoded by `decode`.
fn all<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
    mut decode: impl FnMut(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(db_err(context))?;
    let mut rows = statement.query(params).map_err(db_err(context))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err(context))? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// The first row of a query, if any, decoded by `decode`.
fn optional<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(db_err(context))?;
    let mut rows = statement.query(params).map_err(db_err(context))?;
    match rows.next().map_err(db_err(context))? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}

/// The one row a query must return, decoded by `decode`.
fn one<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    optional(conn, context, sql, params, decode)?
        .ok_or_else(|| StoreError::not_found(format!("{context}: no row")))
}

fn scalar_all<T: FromSql>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
) -> StoreResult<Vec<T>> {
    all(conn, context, sql, params, |r| {
        r.get(0).map_err(db_err(context))
    })
}

fn scalar_optional<T: FromSql>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
) -> StoreResult<Option<T>> {
    optional(conn, context, sql, params, |r| {
        r.get(0).map_err(db_err(context))
    })
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
        serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("decode tags: {e}")))?;
    let items = value
        .as_array()
        .ok_or_else(|| StoreError::corrupt("decode tags: not an array"))?;
    items
        .iter()
        .map(|t| {
            let field = |name: &str| {
                t.get(name)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
                    .ok_or_else(|| StoreError::corrupt("decode tags: missing Key or Value"))
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

fn user_from_row(row: &Row<'_>) -> StoreResult<User> {
    let get = db_err("decode user");
    Ok(User {
        user_id: row.get("user_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        created: from_millis(row.get("created_ms").map_err(get)?),
        tags: tags_from_json(&row.get::<_, String>("tags").map_err(get)?)?,
        permissions_boundary: row.get("permissions_boundary").map_err(get)?,
        password_last_used: row
            .get::<_, Option<i64>>("password_last_used_ms")
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

fn role_from_row(row: &Row<'_>) -> StoreResult<Role> {
    let get = db_err("decode role");
    let last_ms: Option<i64> = row.get("last_used_ms").map_err(get)?;
    let last_region: Option<String> = row.get("last_used_region").map_err(get)?;
    Ok(Role {
        role_id: row.get("role_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        created: from_millis(row.get("created_ms").map_err(get)?),
        assume_role_policy: row.get("assume_role_policy").map_err(get)?,
        description: row.get("description").map_err(get)?,
        max_session_duration: row.get("max_session_duration").map_err(get)?,
        permissions_boundary: row.get("permissions_boundary").map_err(get)?,
        tags: tags_from_json(&row.get::<_, String>("tags").map_err(get)?)?,
        last_used: last_ms.map(|ms| (from_millis(ms), last_region.unwrap_or_default())),
    })
}

fn key_from_row(row: &Row<'_>) -> StoreResult<AccessKey> {
    let get = db_err("decode access key");
    let status: String = row.get("status").map_err(get)?;
    Ok(AccessKey {
        access_key_id: row.get("access_key_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        user_id: row.get("user_id").map_err(get)?,
        status: KeyStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt(format!("decode access key: status {status}")))?,
        created: from_millis(row.get("created_ms").map_err(get)?),
        sealed_secret: row.get("sealed_secret").map_err(get)?,
        last_used: match row.get::<_, Option<i64>>("last_used_ms").map_err(get)? {
            None => None,
            Some(ms) => Some(KeyLastUsed {
                date: from_millis(ms),
                service: row
                    .get::<_, Option<String>>("last_used_service")
                    .map_err(get)?
                    .unwrap_or_default(),
                region: row
                    .get::<_, Option<String>>("last_used_region")
                    .map_err(get)?
                    .unwrap_or_default(),
            }),
        },
    })
}

/// Columns of a managed policy with its computed counts; `p` is `managed_policies`. A macro so that
/// queries built on it stay `&'static str` (and each is prepared once per connection).
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

fn policy_from_row(row: &Row<'_>) -> StoreResult<ManagedPolicy> {
    let get = db_err("decode managed policy");
    Ok(ManagedPolicy {
        policy_id: row.get("policy_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        arn: row.get("arn").map_err(get)?,
        description: row.get("description").map_err(get)?,
        default_version_id: row.get("default_version").map_err(get)?,
        next_version: row.get("next_version").map_err(get)?,
        created: from_millis(row.get("created_ms").map_err(get)?),
        updated: from_millis(row.get("updated_ms").map_err(get)?),
        tags: tags_from_json(&row.get::<_, String>("tags").map_err(get)?)?,
        attachment_count: row.get("attachment_count").map_err(get)?,
        boundary_usage_count: row.get("boundary_usage_count").map_err(get)?,
    })
}

fn group_from_row(row: &Row<'_>) -> StoreResult<Group> {
    let get = db_err("decode group");
    Ok(Group {
        group_id: row.get("group_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        created: from_millis(row.get("created_ms").map_err(get)?),
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
        .map_err(|e| StoreError::corrupt(format!("decode password policy: {e}")))?;
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

fn mfa_device_from_row(row: &Row<'_>) -> StoreResult<MfaDevice> {
    let get = db_err("decode MFA device");
    Ok(MfaDevice {
        serial: row.get("serial").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        user_id: row.get("user_id").map_err(get)?,
        enable_date: row
            .get::<_, Option<i64>>("enable_ms")
            .map_err(get)?
            .map(from_millis),
        created: from_millis(row.get("created_ms").map_err(get)?),
        sealed_seed: row.get("sealed_seed").map_err(get)?,
        offset_steps: row.get("offset_steps").map_err(get)?,
        last_step: row.get("last_step").map_err(get)?,
        tags: tags_from_json(&row.get::<_, String>("tags").map_err(get)?)?,
    })
}

fn mfa_failure_from_row(row: &Row<'_>) -> StoreResult<MfaFailure> {
    let get = db_err("decode MFA failure");
    let reason: String = row.get("reason").map_err(get)?;
    Ok(MfaFailure {
        serial: row.get("serial").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        user_id: row.get("user_id").map_err(get)?,
        reason: MfaFailureReason::parse(&reason)
            .ok_or_else(|| StoreError::corrupt(format!("decode MFA failure: reason {reason}")))?,
        matched_offset_secs: row.get("matched_offset_secs").map_err(get)?,
        time: from_millis(row.get("time_ms").map_err(get)?),
        request_id: row.get("request_id").map_err(get)?,
    })
}

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
        // `substr` rather than LIKE: a path may contain LIKE's wildcards.
        all(
            self.conn()?,
            "list users",
            "SELECT user_id, account_id, name, path, created_ms, tags, permissions_boundary, password_last_used_ms FROM users \
             WHERE account_id = ?1 AND substr(path, 1, length(?2)) = ?2 AND name_key > ?3 \
             ORDER BY name_key LIMIT ?4",
            params![
                account_id,
                path_prefix,
                after.map(name_key).unwrap_or_default(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
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
        self.on_trail_reader(|conn| {
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
                params![i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| kept_record(r)?.event(),
            )
        })
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
        self.on_trail_reader(|conn| {
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
        })
    }

    async fn delete_audit_events_before(
        &mut self,
        before: time::OffsetDateTime,
    ) -> StoreResult<u64> {
        let cut = audit_position(to_millis(before), 0);
        let changes = exec(
            self.conn()?,
            "delete old audit records",
            "DELETE FROM audit_records WHERE seq < ?1",
            params![cut],
        )?;
        // The reads trail is not part of this transaction: its own connection deletes there.
        let reads = {
            let conn = self.store.inner.reads_writer()?;
            exec(
                &conn,
                "delete old audit records of reads",
                "DELETE FROM audit_records WHERE seq < ?1",
                params![cut],
            )?
        };
        Ok(u64::try_from(changes + reads).unwrap_or(u64::MAX))
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
                i64::try_from(limit).unwrap_or(i64::MAX)
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
            "SELECT group_id, account_id, name, path, created_ms FROM groups \
             WHERE account_id = ?1 AND substr(path, 1, length(?2)) = ?2 AND name_key > ?3 \
             ORDER BY name_key LIMIT ?4",
            params![
                account_id,
                path_prefix,
                after.map(name_key).unwrap_or_default(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
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
                i64::try_from(limit).unwrap_or(i64::MAX)
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
            params![user_id, i64::try_from(limit).unwrap_or(i64::MAX)],
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
            concat!(
                role_select!(),
                " WHERE account_id = ?1 AND substr(path, 1, length(?2)) = ?2 AND name_key > ?3 \
             ORDER BY name_key LIMIT ?4"
            ),
            params![
                account_id,
                path_prefix,
                after.map(name_key).unwrap_or_default(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
