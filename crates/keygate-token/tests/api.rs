//! Integration tests of keygate-token: RFC and Wycheproof vectors, negative vectors, Pulsar and
//! jsonwebtoken compatibility, the differential test against jsonwebtoken, and property tests.

// Tests may panic on setup failures; that is how they report them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod differential;
    mod golden;
    mod jsonwebtoken_compat;
    mod keyring;
    mod negative;
    mod opaque;
    mod properties;
    mod pulsar;
    mod pyjwt;
    mod rfc_vectors;
    mod support;
    mod wycheproof;
}
