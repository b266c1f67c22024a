//! The store contract: every engine runs the cases of `suite/` (one `store_suite!` line each),
//! and the suite is checked to call every method of `Store` and `Tx`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod suite;

use keyward_core::store::{Store, Tx};
use keyward_store::SqliteStore;
use suite::{ACCOUNT, Engine, seeded, store_suite, user};

/// SQLite: a temporary data folder; each handle is a `SqliteStore::open` of it.
struct Sqlite(tempfile::TempDir);

impl Engine for Sqlite {
    type Store = SqliteStore;

    async fn create() -> Self {
        Sqlite(tempfile::tempdir().unwrap())
    }

    async fn open(&self) -> SqliteStore {
        SqliteStore::open(self.0.path()).await.unwrap()
    }
}

mod sqlite {
    use super::*;
    store_suite!(Sqlite);
}

/// The names of the methods of `pub trait NAME` in `source` (to its closing brace).
fn trait_methods(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("pub trait {name}"))
        .unwrap_or_else(|| panic!("no trait {name}"));
    let body = &source[start..];
    let mut depth = 0;
    let mut end = body.len();
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            _ => {}
        }
    }
    let body = without_comments(&body[..end]);
    body.match_indices("fn ")
        .filter(|(i, _)| *i == 0 || !body.as_bytes()[i - 1].is_ascii_alphanumeric())
        .map(|(i, _)| {
            body[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// `source` without its `//` comments.
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of the generic cases (`suite/*.rs`), without comments.
fn suite_sources() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suite");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                without_comments(&std::fs::read_to_string(&p).unwrap()),
            )
        })
        .collect();
    files.sort();
    files
}

/// Every method of `Store` and `Tx` is called (`.name(`) by a generic case: a method added to the
/// contract fails this until a case exercises it.
#[test]
fn every_method_of_the_contract_is_exercised() {
    let contract = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src/store.rs"),
    )
    .unwrap();
    let suite: String = suite_sources().into_iter().map(|(_, s)| s).collect();
    let mut methods = trait_methods(&contract, "Store");
    let store_count = methods.len();
    methods.extend(trait_methods(&contract, "Tx"));
    assert_eq!(store_count, 4, "{methods:?}");
    assert!(
        methods.len() > 70,
        "the parse found {} methods",
        methods.len()
    );
    let missing: Vec<&String> = methods
        .iter()
        .filter(|m| !suite.contains(&format!(".{m}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "methods of the store contract no case of tests/suite calls: {missing:?}"
    );
    println!("contract methods exercised: {0} / {0}", methods.len());
}

/// Every case (`pub async fn name<E: Engine>`) is listed in `store_suite!`, so every engine
/// runs it.
#[test]
fn every_case_is_instantiated() {
    let sources = suite_sources();
    let macro_text = &sources.iter().find(|(name, _)| name == "mod").unwrap().1;
    let listed = &macro_text[macro_text.find("macro_rules! store_suite").unwrap()..];
    let mut cases = 0;
    for (file, text) in sources.iter().filter(|(name, _)| name != "mod") {
        for (i, _) in text.match_indices("pub async fn ") {
            let rest = &text[i + "pub async fn ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !rest[name.len()..].starts_with("<E: Engine>()") {
                continue;
            }
            cases += 1;
            let group = listed
                .find(&format!("\n            {file} {{"))
                .unwrap_or_else(|| panic!("store_suite! has no group {file}"));
            let group_end = group + listed[group..].find('}').unwrap();
            assert!(
                listed[group..group_end]
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == name),
                "case {file}::{name} is not listed in store_suite!"
            );
        }
    }
    assert!(cases > 30, "found {cases} cases");
}

/// The parse of the contract finds what is there, and a method no case calls is reported.
#[test]
fn the_coverage_check_sees_a_missing_method() {
    let contract = "pub trait Tx: Send {\n    fn commit(self);\n    // fn ghost(&self);\n    fn get_setting(\n        &mut self,\n    ) -> impl Future<Output = ()> {\n        async {}\n    }\n    fn list_users(&self);\n}\npub fn outside() {}\n";
    assert_eq!(
        trait_methods(contract, "Tx"),
        ["commit", "get_setting", "list_users"]
    );
    let suite = without_comments("tx.commit().await;\n// tx.list_users()\ntx.get_setting(\"a\")");
    let missing: Vec<String> = trait_methods(contract, "Tx")
        .into_iter()
        .filter(|m| !suite.contains(&format!(".{m}(")))
        .collect();
    assert_eq!(missing, ["list_users"]);
}

// SQLite only: how the engine keeps its promises.

/// A writer that leaves the queue (its request cancelled while it waited for the gate) after the
/// request before it counted on it to commit their group: the group still commits.
#[tokio::test]
async fn a_group_commits_when_the_writer_after_it_goes_away() {
    let (_engine, store) = seeded::<Sqlite>().await;
    let mut first = store.begin().await.unwrap();
    first
        .insert_user(&user("AIDA1", "first", "/"))
        .await
        .unwrap();
    // A second writer queues behind the first (polled once: it waits for the gate).
    let mut second = Box::pin(store.begin());
    tokio::select! {
        biased;
        _ = &mut second => panic!("the gate is held"),
        () = tokio::task::yield_now() => {}
    }
    // The first commits, leaving the group open for the second, which then goes away.
    let commit = tokio::spawn(first.commit());
    tokio::task::yield_now().await;
    drop(second);
    tokio::time::timeout(std::time::Duration::from_secs(5), commit)
        .await
        .expect("the group was never committed")
        .unwrap()
        .unwrap();
    let mut read = store.begin_read().await.unwrap();
    assert!(read.get_user(ACCOUNT, "first").await.unwrap().is_some());
}

/// Records of requests that changed nothing go to `audit_reads.db` (16 KiB pages), those of
/// changes stay in `keyward.db` (4 KiB pages) with their change.
#[tokio::test]
async fn unchanged_records_have_a_file_of_their_own() {
    let (engine, store) = seeded::<Sqlite>().await;
    let t0 = time::macros::datetime!(2026-12-01 10:00:00 UTC);
    let mut tx = store.begin().await.unwrap();
    tx.insert_audit_event(&suite::audit::trail_event("change", t0, "CreateUser"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store
        .append_unchanged_records(&[
            suite::audit::trail_event("read-1", t0, "GetUser"),
            suite::audit::trail_event("read-2", t0, "GetUser"),
        ])
        .await
        .unwrap();
    store.close().await;
    let count = |file: &str| -> (i64, i64) {
        let conn = rusqlite::Connection::open(engine.0.path().join(file)).unwrap();
        let rows = conn
            .query_row("SELECT count(*) FROM audit_records", [], |r| r.get(0))
            .unwrap();
        let page = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        (rows, page)
    };
    assert_eq!(count("keyward.db"), (1, 4096));
    assert_eq!(count("audit_reads.db"), (2, 16384));
}
