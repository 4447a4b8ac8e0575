//! keygate-store-sql against real databases: SQLite files and memory, and the PostgreSQL server
//! named by `KEYGATE_POSTGRES_URL` (`scripts/test` starts one; without it the PostgreSQL tests
//! say by name that they were skipped).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod conformance;
    mod durability;
    mod feed;
    mod fleet;
    mod import;
    mod notify;
    mod opening;
    mod sealing;
    pub(crate) mod support;
}
