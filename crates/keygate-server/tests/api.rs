//! keygate-server's integration tests: the control plane over real stores (SQLite files and
//! PostgreSQL databases), every request through the whole router.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod conventions;
    mod fleet;
    mod roles;
    mod support;
}
