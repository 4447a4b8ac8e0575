//! The proxy as operators run it: a process in front of a real Tansu broker, with real Kafka
//! clients from PyPI (kafka-python and confluent-kafka, which is librdkafka) and keys made by the
//! `keygate` command.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api {
    mod clients;
    mod control_plane;
    mod custody;
    mod kcat;
    mod last_use;
    mod limits;
    mod permissions;
    mod revocation;
    mod sessions;
    pub(crate) mod support;
    mod tls;
    mod upstream;
}
