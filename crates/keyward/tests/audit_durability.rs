//! What a `kill -9` may cost the audit trail: a write is answered only after its record is
//! durable, so no write record is ever lost; a read's record is group-committed at most
//! `AuditWriter`'s linger (10 ms) plus one commit after its answer, so only the reads answered in
//! the last moments before the kill may be missing — never those answered a second (the
//! documented bound) or more before it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Server;

/// Records named `event_name` whose resources include `name`, in both trail files.
fn count(dir: &std::path::Path, event_name: &str, name: &str) -> i64 {
    let mut n = 0;
    for file in ["keyward.db", "audit_reads.db"] {
        let path = dir.join(file);
        if !path.exists() {
            continue;
        }
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        n += conn
            .query_row(
                "SELECT count(*) FROM audit_records WHERE event_name = ?1 AND instr(resource_names, ?2) > 0",
                rusqlite::params![event_name, format!("\n{name}\n")],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
    }
    n
}

#[tokio::test]
async fn kill_9_loses_no_write_record_and_no_read_older_than_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(tmp.path(), &[]);
    let iam = server.root_iam();

    // Answered well before the kill: writes and reads, all of which must survive.
    for i in 0..20 {
        let name = format!("early-{i}");
        iam.create_user().user_name(&name).send().await.unwrap();
        iam.get_user().user_name(&name).send().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Answered in the last moments before the kill: the writes must survive, the reads may not.
    for i in 0..20 {
        let name = format!("late-{i}");
        iam.create_user().user_name(&name).send().await.unwrap();
    }
    for i in 0..20 {
        iam.get_user()
            .user_name(format!("late-{i}"))
            .send()
            .await
            .unwrap();
    }
    server.kill9();

    for i in 0..20 {
        for name in [format!("early-{i}"), format!("late-{i}")] {
            assert_eq!(
                count(tmp.path(), "CreateUser", &name),
                1,
                "the write record of CreateUser {name} was acknowledged and must survive kill -9"
            );
        }
        let early = format!("early-{i}");
        assert_eq!(
            count(tmp.path(), "GetUser", &early),
            1,
            "GetUser {early} was answered more than a second before kill -9"
        );
    }
    let late_reads: i64 = (0..20)
        .map(|i| count(tmp.path(), "GetUser", &format!("late-{i}")))
        .sum();
    assert!(late_reads <= 20, "{late_reads}");
    eprintln!("read records of the last moments kept after kill -9: {late_reads} of 20");

    // The data folder opens again after the kill and serves what was committed.
    let again = Server::start_in(tmp.path(), &[]);
    again
        .root_iam()
        .get_user()
        .user_name("late-19")
        .send()
        .await
        .unwrap();
}
