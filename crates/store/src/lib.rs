#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
//! Implementations of [`keyward_core::store::Store`]. SQLite is the embedded default.

mod error;
pub mod private;
mod sqlite;

pub use sqlite::SqliteStore;
