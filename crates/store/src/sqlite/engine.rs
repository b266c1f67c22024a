//! Connections, the writer gate with group commit, the reader pool, and a transaction's life
//! (see the module docs of [`super`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use keyward_core::StoreError;
use keyward_core::store::StoreResult;
#[cfg(doc)]
use keyward_core::store::Tx;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use super::rows::exec;
use super::{Inner, SqliteStore};
use crate::error::db_err;

/// Prepared statements kept per connection (keyward runs about a hundred distinct ones).
const STATEMENT_CACHE: usize = 256;

/// Requests in one group at most (one transaction, one commit).
pub(super) const MAX_GROUP: usize = 64;

/// How long a request waits for its group's commit before it commits the group itself (a group
/// left open by a writer that went away while queued).
const GROUP_WAIT: Duration = Duration::from_millis(20);

pub(super) struct WriterState {
    pub(super) conn: Connection,
    /// The transaction requests join, while one is open.
    pub(super) group: Option<WriteGroup>,
}

/// An open transaction shared by the requests that joined it.
pub(super) struct WriteGroup {
    pub(super) id: u64,
    /// Requests whose savepoint was released into it.
    pub(super) members: usize,
    /// Whether a released savepoint changed a row: the commit raises the change feed's version.
    pub(super) changed: bool,
    /// The commit's outcome, for the members waiting for it.
    pub(super) outcome: tokio::sync::watch::Sender<Option<StoreResult<()>>>,
}

impl WriterState {
    /// Ends the open group: commits it (rolls it back if nobody's change is in it) and tells its
    /// members how it went.
    pub(super) fn close_group(&mut self) -> StoreResult<()> {
        let Some(group) = self.group.take() else {
            return Ok(());
        };
        let result = if group.members == 0 {
            control(&self.conn, "ROLLBACK")
        } else if group.changed {
            raise_change_version(&self.conn).and_then(|()| control(&self.conn, "COMMIT"))
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
pub(super) struct Ticket(Arc<Inner>);

impl Ticket {
    pub(super) fn take(inner: &Arc<Inner>) -> Self {
        inner.writers.fetch_add(1, Ordering::SeqCst);
        Ticket(Arc::clone(inner))
    }

    /// Whether any other writer holds or waits for the gate.
    pub(super) fn others_waiting(&self) -> bool {
        self.0.writers.load(Ordering::SeqCst) > 1
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Opens a reader: a connection to `keyward.db` with `audit_reads.db` attached as `reads`, that
/// refuses every write (`query_only`).
pub(super) fn connect_reader(path: &Path, reads: &Path) -> StoreResult<Connection> {
    let conn = connect(path)?;
    conn.execute("ATTACH DATABASE ?1 AS reads", [reads.to_string_lossy()])
        .map_err(db_err("attach the reads trail"))?;
    // A read transaction cannot write, whatever a caller asks of it.
    conn.execute_batch("PRAGMA query_only = ON")
        .map_err(db_err("make the reader read-only"))?;
    Ok(conn)
}

/// Opens a connection to `keyward.db` with keyward's settings. WAL is a property of the file
/// (set once, kept).
pub(super) fn connect(path: &Path) -> StoreResult<Connection> {
    open_with(
        path,
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
}

/// Opens `path` (creating it), runs `pragmas`, and sets what every connection has: the busy
/// timeout, the planner's stability guarantee and the statement cache.
pub(super) fn open_with(path: &Path, pragmas: &str) -> StoreResult<Connection> {
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
pub(super) fn control(conn: &Connection, statement: &'static str) -> StoreResult<()> {
    exec(conn, statement, statement, []).map(drop)
}

/// A transaction. Dropped without [`Tx::commit`], it rolls back (a writer its own savepoint;
/// a reader's connection goes back to the pool).
pub struct SqliteTx {
    pub(super) conn: Handle,
    /// Whether the transaction (a reader's) or the savepoint (a writer's) is open.
    pub(super) open: bool,
    pub(super) store: SqliteStore,
}

pub(super) enum Handle {
    /// Taken when the request ends, which opens the gate.
    Writer(Option<WriterTx>),
    /// A reader's connection, taken from the pool on the first statement.
    Reader(Option<Connection>),
}

/// Fields drop in order: the ticket before the gate opens, so that the writer let in next never
/// counts this one as still waiting.
pub(super) struct WriterTx {
    pub(super) ticket: Ticket,
    pub(super) state: tokio::sync::OwnedMutexGuard<WriterState>,
    /// The connection's count of changed rows when the request's savepoint began.
    pub(super) changes_at_start: u64,
    /// Writes made in the savepoint that stay if it rolls back, in order.
    pub(super) outliving: Vec<Outliving>,
}

/// A write that outlives its request: the reservation or release of an MFA attempt
/// ([`Tx::reserve_mfa_attempt`]). It is made in the request's savepoint, under the write gate the
/// request holds from its start to its end (and the file's write lock, which other processes wait
/// for), so it is atomic with what the request read before it. If the request rolls back, it is
/// made again after the rollback, before the gate opens, and commits with the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outliving {
    Reserve {
        id: i64,
        serial_key: String,
        time_ms: i64,
    },
    Release {
        id: i64,
    },
}

/// How a writer's request ended.
pub(super) enum Ended {
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
    pub(super) fn end(mut self, keep: bool) -> Ended {
        let changes_at_start = self.changes_at_start;
        let outliving = std::mem::take(&mut self.outliving);
        let state = &mut *self.state;
        let conn = &state.conn;
        let mut result = Ok(());
        let changed = conn.total_changes() != changes_at_start;
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
                .and_then(|()| outliving.iter().try_for_each(|w| w.apply(conn)))
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
        if kept || !outliving.is_empty() {
            group.members += 1;
        }
        group.changed |= kept && changed;
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

/// Raises the change feed's version, once per group transaction that kept a changed row (just
/// before its commit, so that it commits with the changes; a request that rolled back its
/// savepoint does not count).
fn raise_change_version(conn: &Connection) -> StoreResult<()> {
    exec(
        conn,
        "raise the change feed's version",
        "UPDATE change_feed SET version = version + 1 WHERE id = 0",
        [],
    )
    .map(drop)
}

impl SqliteTx {
    /// Runs `read` on a connection that sees both trails: this transaction's own if it is a
    /// reader's, else a pooled reader in a transaction of its own (a writer's connection does not
    /// attach `audit_reads.db`: `BEGIN IMMEDIATE` would take that file's write lock as well).
    pub(super) fn on_trail_reader<T>(
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

    /// The writer's request, for a write that outlives it ([`Outliving`]).
    pub(super) fn writer(&mut self) -> StoreResult<&mut WriterTx> {
        match &mut self.conn {
            Handle::Writer(Some(w)) => Ok(w),
            Handle::Writer(None) => Err(StoreError::new("the transaction is over")),
            Handle::Reader(_) => Err(StoreError::new(
                "an MFA attempt is a write: a read transaction cannot make it",
            )),
        }
    }

    pub(super) fn conn(&mut self) -> StoreResult<&Connection> {
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
pub(super) async fn await_group(
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
