//! The example gateways, run as processes, with real clients from PyPI: keys made by the
//! `keygate` command, accepted where they are valid and refused where they are not, and open
//! connections closed when a key is revoked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gateways {
    mod http;
    mod pulsar;
    mod startup;
    pub(crate) mod support;
}
