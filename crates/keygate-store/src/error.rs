//! The one error type of keygate-store.

use keygate_core::KeyRecord;

use crate::Seq;

/// Why a store operation failed, in categories a caller can act on.
///
/// Errors carry ids and bounds, never secrets: no secret digests, no private keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// "principal", "key" or "signing key".
        kind: &'static str,
        /// Its id.
        id: String,
    },

    /// Something with this id already exists.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// "principal", "key" or "signing key".
        kind: &'static str,
        /// Its id.
        id: String,
    },

    /// A conditional write found a different current value; nothing was written.
    #[error("conflict: {reason}")]
    Conflict {
        /// What did not hold.
        reason: &'static str,
        /// The key as it is now, when the conflict is about a key.
        current: Option<Box<KeyRecord>>,
    },

    /// The owner already holds as many live keys as the quota allows; nothing was written.
    #[error("key quota exceeded: the principal has {count} live keys and the limit is {limit}")]
    QuotaExceeded {
        /// The limit.
        limit: u32,
        /// Live keys held now.
        count: u32,
    },

    /// The resource already has as many live keys scoped to it as the quota allows; nothing was
    /// written.
    #[error(
        "key quota exceeded: {resource} has {count} live keys scoped to it and the limit is {limit}"
    )]
    ResourceQuotaExceeded {
        /// The resource.
        resource: String,
        /// The limit.
        limit: u32,
        /// Live keys scoped to it now.
        count: u32,
    },

    /// A key was to be scoped to a resource that was deleted (or to a part of one), and has not
    /// been restored since.
    #[error("{resource} was deleted: restore it before it can have keys again")]
    ResourceDeleted {
        /// The deleted resource.
        resource: String,
    },

    /// The changes a reader asked for were compacted away; it must start again from a snapshot.
    #[error("changes after {requested} were compacted; the feed now starts after {oldest}")]
    ChangesCompacted {
        /// The position asked for.
        requested: Seq,
        /// Changes after this position are still available.
        oldest: Seq,
    },

    /// The request itself is invalid, whatever the store holds (a caller mistake).
    #[error("invalid request: {0}")]
    Invalid(&'static str),

    /// The store cannot be reached now; trying again later may work.
    #[error("store unavailable: {source}")]
    Unavailable {
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The backend failed in a way retrying will not fix (corruption, a schema it does not know).
    #[error("store backend error: {source}")]
    Backend {
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// A `NotFound` for `kind` and `id`.
    pub fn not_found(kind: &'static str, id: impl ToString) -> StoreError {
        StoreError::NotFound { kind, id: id.to_string() }
    }

    /// An `AlreadyExists` for `kind` and `id`.
    pub fn already_exists(kind: &'static str, id: impl ToString) -> StoreError {
        StoreError::AlreadyExists { kind, id: id.to_string() }
    }

    /// A `Conflict` about `key`.
    pub fn conflict(reason: &'static str, current: KeyRecord) -> StoreError {
        StoreError::Conflict { reason, current: Some(Box::new(current)) }
    }

    /// An `Unavailable` wrapping `source`.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Unavailable { source: source.into() }
    }

    /// A `Backend` error wrapping `source`.
    pub fn backend(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Backend { source: source.into() }
    }

    /// Whether retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}
