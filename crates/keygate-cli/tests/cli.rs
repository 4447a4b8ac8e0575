//! The built `keygate` binary, run as an operator would, against a temporary SQLite store (and
//! once against PostgreSQL): every command, bad input among it, exit codes and messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli {
    mod api_keys;
    mod audit;
    mod custody;
    mod habits;
    mod help;
    mod policy;
    mod postgres;
    mod principals;
    mod server;
    mod signing_keys;
    mod store;
    pub(crate) mod support;
    mod tokens;
}
