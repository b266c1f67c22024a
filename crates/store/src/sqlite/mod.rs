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
//! failed request rolls back its savepoint alone (keeping only the MFA attempts it reserved or
//! released, which outlive it: `engine::Outliving`); a failed commit fails every request of the
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
//!
//! The change feed ([`Tx::change_version`](keyward_core::store::Tx::change_version)) is one row
//! of `keyward.db`, raised once by each group transaction in which a request kept a changed row,
//! just before its commit (so it commits with the changes; a savepoint rolled back does not
//! count, and a group of many writes raises it once). Being in the file, it is seen by every process that
//! opens it: a reader's next transaction reads the version another process committed.
//!
//! Here: [`SqliteStore`] and [`Store`]. [`engine`]: connections, the writer gate and group commit,
//! the reader pool, a transaction's life. [`schema`]: migrations. [`tx`]: the contract's
//! operations ([`keyward_core::store::Tx`]). [`rows`]: running statements, row codecs.
//! [`audit`]: both trails.

mod audit;
mod engine;
mod rows;
mod schema;
mod tx;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use keyward_core::StoreError;
use keyward_core::audit::AuditEvent;
use keyward_core::store::{Store, StoreResult};
use rusqlite::Connection;

use crate::private;

use audit::{READS_FILE, connect_reads, insert_record};
#[cfg(doc)]
use engine::MAX_GROUP;
use engine::{
    Handle, SqliteTx, Ticket, WriteGroup, WriterState, WriterTx, connect, connect_reader, control,
};
use schema::migrate;

/// Idle reader connections kept open. Statements never wait on I/O for long, so a request holds
/// its connection only while it runs on a worker thread: a handful serve any concurrency.
const IDLE_READERS: usize = 8;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}
struct Inner {
    path: PathBuf,
    /// The one writing connection; holding its lock is holding the write gate.
    writer: Arc<tokio::sync::Mutex<WriterState>>,
    /// Writers holding or queued for the gate (their [`Ticket`]s).
    writers: AtomicUsize,
    next_group: AtomicU64,
    /// Tells apart the audit records of one millisecond (see `audit_position` in [`audit`]).
    audit_counter: AtomicU64,
    /// Idle reader connections.
    readers: Mutex<Vec<Connection>>,
    /// `audit_reads.db`, attached by readers.
    reads_path: PathBuf,
    /// The one connection that writes `audit_reads.db`.
    reads_writer: Mutex<Connection>,
    /// Reads `PRAGMA data_version` of `keyward.db`, which changes whenever another connection (the
    /// writer, or another process's) commits: the store's change token.
    watch: Mutex<Connection>,
}

impl Inner {
    /// The reads trail's connection (see the module docs), for one statement or transaction.
    fn reads_writer(&self) -> StoreResult<std::sync::MutexGuard<'_, Connection>> {
        self.reads_writer
            .lock()
            .map_err(|_| StoreError::new("the reads trail's connection is poisoned"))
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// The main database's file in the data folder.
const MAIN_FILE: &str = "keyward.db";

/// The files SQLite may keep beside a database: its WAL, the WAL's shared-memory index, and a
/// rollback journal (not kept in WAL mode, listed so that a stray one is covered too).
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

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
        let watch = connect(&path)?;
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
                watch: Mutex::new(watch),
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

impl Store for SqliteStore {
    type Tx = SqliteTx;

    /// `PRAGMA data_version` on a connection of its own: it reads the WAL index header, so it
    /// costs a statement step, no transaction and no page.
    async fn change_token(&self) -> StoreResult<u64> {
        let conn = self
            .inner
            .watch
            .lock()
            .map_err(|_| StoreError::new("the change watch connection is poisoned"))?;
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(crate::error::db_err("read the change token"))?;
        Ok(version as u64)
    }

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
                changed: false,
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
        let changes_at_start = state.conn.total_changes();
        Ok(SqliteTx {
            conn: Handle::Writer(Some(WriterTx {
                ticket,
                state,
                changes_at_start,
                outliving: Vec::new(),
            })),
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
