//! Rows to records and back: records travel as JSON text, positions and instants as integers.

use std::fmt::Display;

use keygate_core::{Expiry, Timestamp};
use keygate_store::{SecretBytes, Seq, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SqlError;

/// A record as the JSON text stored beside its columns.
pub(crate) fn to_json<T: Serialize>(record: &T) -> Result<String, StoreError> {
    // The records are plain data with string keys; serialising them cannot fail, but a failure
    // would be a bug to report rather than a panic to risk.
    serde_json::to_string(record)
        .map_err(|_| StoreError::Invalid("the record cannot be serialised"))
}

/// Reads back the `what` stored under `id`.
pub(crate) fn from_json<T: DeserializeOwned>(
    what: &'static str,
    id: impl Display,
    text: &str,
) -> Result<T, SqlError> {
    serde_json::from_str(text).map_err(|error| corrupt(what, id, &error))
}

/// Reads back a private key that a store of schema 2 kept in the clear for `kid`.
pub(crate) fn secret_from_json(kid: impl Display, text: &str) -> Result<SecretBytes, SqlError> {
    serde_json::from_str(text).map_err(|error| corrupt("signing key", kid, &error))
}

/// A position as a column value. Positions count mutations, so they stay far below `i64::MAX`.
pub(crate) fn seq_to_db(seq: Seq) -> i64 {
    i64::try_from(seq.0).unwrap_or(i64::MAX)
}

/// A position read from a column.
pub(crate) fn seq_from_db(value: i64) -> Result<Seq, SqlError> {
    u64::try_from(value).map(Seq).map_err(|_| SqlError::CorruptRecord {
        what: "change feed position",
        id: value.to_string(),
        detail: "negative".to_owned(),
    })
}

/// An instant read from a column.
pub(crate) fn timestamp_from_db(what: &'static str, value: i64) -> Result<Timestamp, SqlError> {
    Timestamp::from_unix(value).map_err(|_| SqlError::CorruptRecord {
        what,
        id: value.to_string(),
        detail: "instant out of range".to_owned(),
    })
}

/// An expiry as a column value: `NULL` for never.
pub(crate) fn expiry_to_db(expires: Expiry) -> Option<i64> {
    expires.at().map(Timestamp::unix)
}

/// Says where decoding failed without quoting the row: serde_json's messages can echo the
/// offending value, and a row may hold a secret digest or key material.
fn corrupt(what: &'static str, id: impl Display, error: &serde_json::Error) -> SqlError {
    SqlError::CorruptRecord {
        what,
        id: id.to_string(),
        detail: format!(
            "{:?} error at line {} column {}",
            error.classify(),
            error.line(),
            error.column()
        )
        .to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_errors_do_not_echo_the_row() {
        let error =
            from_json::<SecretBytes>("signing key", "k1", "\"not-hex-secret\"").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("signing key k1"), "{message}");
        assert!(!message.contains("not-hex-secret"), "{message}");
    }

    #[test]
    fn secrets_stored_in_the_clear_read_back() {
        let secret = SecretBytes::new(vec![1, 2, 254]);
        assert_eq!(secret_from_json("k1", "\"0102fe\"").unwrap(), secret);
    }

    #[test]
    fn negative_positions_are_corrupt() {
        assert_eq!(seq_from_db(7).unwrap(), Seq(7));
        assert!(seq_from_db(-1).is_err());
        assert_eq!(seq_to_db(Seq(u64::MAX)), i64::MAX);
    }
}
