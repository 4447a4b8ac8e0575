//! Integration tests of keygate-core's public API: the model's laws as property tests.

// Tests may panic on setup failures; that is how they report them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod identifiers;
    mod lifecycle;
    mod rotation;
    mod scope_and_permissions;
    mod time;
}
