//! The change feed: every mutation, in order.

use std::fmt;

use keygate_core::{KeyRecord, Principal, PrincipalId, SigningKeyId, Timestamp};
use keygate_revocation::Revocation;
use serde::{Deserialize, Serialize};

use crate::SigningKeyRecord;

/// A position in the change feed. Every mutation gets the next one, in commit order; `Seq(0)` is
/// before the first change.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    /// Before the first change.
    pub const ZERO: Seq = Seq(0);

    /// The position after this one.
    pub fn next(self) -> Seq {
        Seq(self.0.saturating_add(1))
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One entry of the change feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Its position.
    pub seq: Seq,
    /// When the mutation happened, as its caller said.
    pub at: Timestamp,
    /// What happened.
    pub event: ChangeEvent,
}

/// What a change did. Key events carry the whole record after the change (or, for a deletion,
/// before it), so a replica applies a change without reading the store again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeEvent {
    /// A principal was created.
    PrincipalCreated {
        /// The principal.
        principal: Principal,
    },
    /// A principal's display name or description changed.
    PrincipalUpdated {
        /// The principal after the change.
        principal: Principal,
    },
    /// A principal was deleted; its keys' `KeyDeleted` changes come just before this one.
    PrincipalDeleted {
        /// Its id.
        id: PrincipalId,
    },
    /// A key was issued.
    KeyCreated {
        /// The new record.
        key: KeyRecord,
    },
    /// A key's description, state or expiry changed.
    KeyUpdated {
        /// The record after the change.
        key: KeyRecord,
    },
    /// A key was deleted.
    KeyDeleted {
        /// The record as it was.
        key: KeyRecord,
    },
    /// A revocation was recorded: explicitly, or as the tombstone of a deleted key or principal.
    Revoked {
        /// The revocation.
        revocation: Revocation,
    },
    /// A signing key was added or its status changed.
    SigningKeyChanged {
        /// The record after the change.
        key: SigningKeyRecord,
    },
    /// A signing key was removed.
    SigningKeyRemoved {
        /// Its id.
        kid: SigningKeyId,
    },
}

/// Everything a replica needs to start, consistent with one position in the feed: after
/// loading it, the changes after `seq` bring the replica up to date.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoreSnapshot {
    /// The position it is consistent with.
    pub seq: Seq,
    /// Every principal, ordered by id.
    pub principals: Vec<Principal>,
    /// Every key, ordered by id.
    pub keys: Vec<KeyRecord>,
    /// Every recorded revocation (tombstones included).
    pub revocations: Vec<Revocation>,
    /// Every signing key (public material only, or the shared secret of HMAC keys).
    pub signing_keys: Vec<SigningKeyRecord>,
}

impl StoreSnapshot {
    /// A snapshot at `seq` with these contents.
    pub fn new(
        seq: Seq,
        principals: Vec<Principal>,
        keys: Vec<KeyRecord>,
        revocations: Vec<Revocation>,
        signing_keys: Vec<SigningKeyRecord>,
    ) -> StoreSnapshot {
        StoreSnapshot { seq, principals, keys, revocations, signing_keys }
    }
}

/// Receives a snapshot a record at a time, as [`ChangeFeed::stream_snapshot`] reads it: for a
/// reader that builds its own structures from a large store without holding every record twice.
/// [`StoreSnapshot`] is one, collecting everything.
///
/// The position comes first; then principals, keys, revocations and signing keys, all of one
/// kind before the next, in no order a reader may rely on within a kind.
///
/// [`ChangeFeed::stream_snapshot`]: crate::ChangeFeed::stream_snapshot
pub trait SnapshotSink: Send {
    /// The position the snapshot is consistent with.
    fn position(&mut self, seq: Seq);
    /// A principal.
    fn principal(&mut self, principal: Principal);
    /// A key.
    fn key(&mut self, key: KeyRecord);
    /// A recorded revocation.
    fn revocation(&mut self, revocation: Revocation);
    /// A signing key.
    fn signing_key(&mut self, key: SigningKeyRecord);
}

impl SnapshotSink for StoreSnapshot {
    fn position(&mut self, seq: Seq) {
        self.seq = seq;
    }
    fn principal(&mut self, principal: Principal) {
        self.principals.push(principal);
    }
    fn key(&mut self, key: KeyRecord) {
        self.keys.push(key);
    }
    fn revocation(&mut self, revocation: Revocation) {
        self.revocations.push(revocation);
    }
    fn signing_key(&mut self, key: SigningKeyRecord) {
        self.signing_keys.push(key);
    }
}

impl StoreSnapshot {
    /// Hands everything to `sink`, in the order [`SnapshotSink`] documents.
    pub fn stream_into(self, sink: &mut (dyn SnapshotSink + '_)) {
        sink.position(self.seq);
        self.principals.into_iter().for_each(|principal| sink.principal(principal));
        self.keys.into_iter().for_each(|key| sink.key(key));
        self.revocations.into_iter().for_each(|revocation| sink.revocation(revocation));
        self.signing_keys.into_iter().for_each(|key| sink.signing_key(key));
    }
}
