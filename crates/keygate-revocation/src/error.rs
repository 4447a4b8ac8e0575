//! The one error type of keygate-revocation.

use keygate_core::{Span, Timestamp};

use crate::Reason;

/// What a check or an update can report.
///
/// [`Error::Revoked`] and [`Error::StatusUnknown`] are the two ways a check refuses a credential;
/// the rest come from updates.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The credential is revoked.
    #[error("revoked: {0}")]
    Revoked(Reason),

    /// The list is older than the check allows, so whether the credential is revoked is not
    /// known; fail closed.
    #[error("revocation status unknown: the list was last synced {}, now is {now}, and at most {max} of staleness is allowed", synced_at.map_or_else(|| "never".to_owned(), |at| at.to_string()))]
    StatusUnknown {
        /// When the list was last synced, if ever.
        synced_at: Option<Timestamp>,
        /// The time of the check.
        now: Timestamp,
        /// The staleness the check allowed.
        max: Span,
    },

    /// A delta does not start at the list's version: changes were missed (or the delta overlaps
    /// ones already applied). Nothing was applied; resync from a snapshot.
    #[error(
        "a delta from version {from} to {to} does not start at the current version {current}; resync from a snapshot"
    )]
    OutOfOrder {
        /// The list's version.
        current: u64,
        /// Where the delta starts.
        from: u64,
        /// Where the delta ends.
        to: u64,
    },

    /// A delta whose end is not after its start, or two deltas that do not chain.
    #[error("invalid delta: {0}")]
    InvalidDelta(&'static str),

    /// A revocation entry that breaks a bound.
    #[error("invalid revocation entry: {0}")]
    InvalidEntry(&'static str),
}

impl Error {
    /// Whether the caller should rebuild from a fresh snapshot.
    pub fn needs_resync(&self) -> bool {
        matches!(self, Error::OutOfOrder { .. })
    }
}
