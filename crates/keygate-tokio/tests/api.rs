//! keygate-tokio's integration tests: a server over an in-memory store, its connections told
//! what each sync means for them, and its limits; servers on PostgreSQL kept current by its
//! notifications.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod connections;
    mod notify;
    mod support;
}
