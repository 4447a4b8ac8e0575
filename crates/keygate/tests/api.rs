//! Integration tests of the keygate facade: the whole flow, a model-based property test,
//! faults, concurrency, sessions, external tokens and the two faces of errors.

// Tests may panic on setup failures; that is how they report them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod concurrency;
    mod custody;
    mod errors;
    mod external;
    mod faults;
    mod flow;
    mod model;
    mod policy;
    mod support;
}
