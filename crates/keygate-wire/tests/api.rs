//! keygate-wire against real keys: parsers round-trip against their encoders, refuse what their
//! grammar does not allow, never panic, and hand the Authenticator credentials it accepts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod http;
    mod kafka;
    mod oauthbearer;
    mod plain;
    pub(crate) mod support;
    mod topic;
}
