//! Integration tests of keygate-revocation: a model-based property test, delta and snapshot
//! laws, freshness, and readers racing a writer.

// Tests may panic on setup failures; that is how they report them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod concurrency;
    mod model;
    mod versions;
}
