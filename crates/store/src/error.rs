//! The one place where SQLite's errors become [`StoreError`]s: each gets its [`StoreErrorKind`]
//! from SQLite's result code (or rusqlite's own error), never from its text.
//!
//! The context of a [`StoreError`] made here is the step that failed and SQLite's message, which
//! names tables, columns and constraints but never a bound value (a secret included).

use keyward_core::{StoreError, StoreErrorKind};
use rusqlite::ErrorCode;

/// The kind of a rusqlite error.
pub(crate) fn kind_of(e: &rusqlite::Error) -> StoreErrorKind {
    use rusqlite::Error as E;
    match e {
        E::SqliteFailure(error, _) | E::SqlInputError { error, .. } => code_kind(error.code),
        E::QueryReturnedNoRows => StoreErrorKind::NotFound,
        // A stored value that does not decode into what the row must hold.
        E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::Utf8Error(..)
        | E::InvalidColumnType(..) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Internal,
    }
}

/// The kind of an SQLite result code (its primary code: `SQLITE_BUSY_SNAPSHOT` is busy).
fn code_kind(code: ErrorCode) -> StoreErrorKind {
    match code {
        // Another connection or process holds the lock past the busy timeout; the file cannot be
        // opened or read now; memory ran out. A later try may succeed.
        ErrorCode::DatabaseBusy
        | ErrorCode::DatabaseLocked
        | ErrorCode::SystemIoFailure
        | ErrorCode::CannotOpen
        | ErrorCode::FileLockingProtocolFailed
        | ErrorCode::OutOfMemory => StoreErrorKind::Unavailable,
        // UNIQUE, PRIMARY KEY, FOREIGN KEY, CHECK, NOT NULL, and a trigger's RAISE(ABORT).
        ErrorCode::ConstraintViolation => StoreErrorKind::Conflict,
        ErrorCode::DiskFull | ErrorCode::TooBig => StoreErrorKind::LimitExceeded,
        ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Internal,
    }
}

/// Turns a rusqlite error met while doing `context` into a [`StoreError`] of its kind.
pub(crate) fn db_err(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + Copy {
    move |e| StoreError::with_kind(kind_of(&e), format!("{context}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use std::time::Duration;

    fn kind(result: rusqlite::Result<impl Sized>) -> StoreErrorKind {
        match result {
            Ok(_) => panic!("the statement succeeded"),
            Err(e) => db_err("test")(e).kind(),
        }
    }

    fn memory() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
             CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent (id));
             INSERT INTO parent (id, name) VALUES (1, 'bob');
             INSERT INTO child (parent_id) VALUES (1);",
        )
        .unwrap();
        conn
    }

    /// Constraint violations SQLite really raises are conflicts; the error names the constraint,
    /// never the value that broke it.
    #[test]
    fn constraint_violations_are_conflicts() {
        let conn = memory();
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        conn.execute("UPDATE parent SET name = ?1", [secret])
            .unwrap();
        let unique = conn
            .execute("INSERT INTO parent (id, name) VALUES (2, ?1)", [secret])
            .unwrap_err();
        assert_eq!(
            unique.sqlite_error().map(|e| e.extended_code),
            Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
        );
        let e = db_err("insert parent")(unique);
        assert_eq!(e.kind(), StoreErrorKind::Conflict);
        assert!(e.to_string().contains("UNIQUE constraint failed"), "{e}");
        assert!(!format!("{e} {e:?}").contains("wJalr"), "{e:?}");
        assert_eq!(
            kind(conn.execute("INSERT INTO parent (id, name) VALUES (1, 'carol')", [])),
            StoreErrorKind::Conflict,
            "primary key"
        );
        assert_eq!(
            kind(conn.execute("DELETE FROM parent WHERE id = 1", [])),
            StoreErrorKind::Conflict,
            "foreign key"
        );
        assert_eq!(
            kind(conn.execute("INSERT INTO parent (id, name) VALUES (3, NULL)", [])),
            StoreErrorKind::Conflict,
            "not null"
        );
    }

    /// A database whose write lock another connection holds past the busy timeout is busy, and
    /// so unavailable; so is a table locked by a statement of the same connection.
    #[test]
    fn a_held_lock_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x); BEGIN IMMEDIATE;")
            .unwrap();
        let other = Connection::open(&path).unwrap();
        other.busy_timeout(Duration::ZERO).unwrap();
        let busy = other.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        assert_eq!(busy.sqlite_error_code(), Some(ErrorCode::DatabaseBusy));
        let e = db_err("begin")(busy);
        assert_eq!(e.kind(), StoreErrorKind::Unavailable);
        assert_eq!(e.context(), "begin: database is locked");
        holder.execute_batch("COMMIT").unwrap();
        other.execute_batch("BEGIN IMMEDIATE; COMMIT").unwrap();

        let conn = memory();
        let mut reading = conn.prepare("SELECT id FROM parent").unwrap();
        let mut rows = reading.query([]).unwrap();
        assert!(rows.next().unwrap().is_some());
        let locked = conn.execute_batch("DROP TABLE child").unwrap_err();
        assert_eq!(locked.sqlite_error_code(), Some(ErrorCode::DatabaseLocked));
        assert_eq!(kind(Err::<(), _>(locked)), StoreErrorKind::Unavailable);
    }

    /// A file that cannot be opened is unavailable; a file that is no database is corrupt.
    #[test]
    fn files_that_cannot_be_used() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            kind(Connection::open(dir.path().join("missing/folder/x.db"))),
            StoreErrorKind::Unavailable
        );
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, [0x5a_u8; 8192]).unwrap();
        let conn = Connection::open(&junk).unwrap();
        assert_eq!(
            kind(
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })
            ),
            StoreErrorKind::Corrupt
        );
    }

    /// A value that does not decode into what the row must hold is corrupt data.
    #[test]
    fn undecodable_values_are_corrupt() {
        let conn = memory();
        let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
        assert_eq!(kind(one("SELECT 'abc'")), StoreErrorKind::Corrupt);
        assert_eq!(kind(one("SELECT NULL")), StoreErrorKind::Corrupt);
        assert_eq!(
            kind(conn.query_row("SELECT 300", [], |r| r.get::<_, u8>(0))),
            StoreErrorKind::Corrupt
        );
        assert_eq!(
            kind(conn.query_row("SELECT CAST(x'ff' AS TEXT)", [], |r| {
                r.get::<_, String>(0)
            })),
            StoreErrorKind::Corrupt
        );
    }

    /// The store's own limits: a full database, a value too big.
    #[test]
    fn limits_of_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("full.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (x); PRAGMA max_page_count = 3;")
            .unwrap();
        let full = conn
            .execute("INSERT INTO t VALUES (zeroblob(100000))", [])
            .unwrap_err();
        assert_eq!(full.sqlite_error_code(), Some(ErrorCode::DiskFull));
        assert_eq!(kind(Err::<(), _>(full)), StoreErrorKind::LimitExceeded);
        assert_eq!(
            kind(conn.query_row("SELECT zeroblob(2000000000)", [], |_| Ok(()))),
            StoreErrorKind::LimitExceeded
        );
    }

    /// No row where one must be is a missing row; anything else (a bug) is internal.
    #[test]
    fn missing_rows_and_the_rest() {
        let conn = memory();
        assert_eq!(
            kind(
                conn.query_row("SELECT id FROM parent WHERE id = 9", [], |r| {
                    r.get::<_, i64>(0)
                })
            ),
            StoreErrorKind::NotFound
        );
        assert_eq!(kind(conn.execute("SELEKT 1", [])), StoreErrorKind::Internal);
        assert_eq!(
            kind(conn.query_row("SELECT id FROM parent", [], |r| r.get::<_, i64>("nope"))),
            StoreErrorKind::Internal
        );
        assert_eq!(
            kind(conn.execute("SELECT 1 FROM no_such_table", [])),
            StoreErrorKind::Internal
        );
    }
}
