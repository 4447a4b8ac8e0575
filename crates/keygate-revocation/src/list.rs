//! The shared, lock-free revocation list.

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use keygate_core::{Span, Timestamp};

use crate::{CredentialFacts, Delta, Error, Freshness, NotRevoked, RevocationSet, Snapshot};

/// What applying a delta did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applied {
    /// The list moved to the delta's end version.
    Updated {
        /// The new version.
        version: u64,
    },
    /// The delta had been applied already; nothing changed.
    AlreadyApplied,
}

/// A [`RevocationSet`] that many threads check while one thread at a time updates it.
///
/// Readers never block and never see half an update: each check loads the current set with one
/// atomic read (arc-swap) and answers from it, while an update builds the next set beside it,
/// copying only the shards it changes, and publishes it with one atomic store. Writers serialise
/// among themselves on a mutex that readers never touch.
#[derive(Debug)]
pub struct RevocationList {
    current: ArcSwap<RevocationSet>,
    writer: Mutex<()>,
}

impl RevocationList {
    /// An empty list that has never been synced.
    pub fn new() -> RevocationList {
        RevocationList::from_set(RevocationSet::new())
    }

    /// A list starting from `set`.
    pub fn from_set(set: RevocationSet) -> RevocationList {
        RevocationList { current: ArcSwap::from_pointee(set), writer: Mutex::new(()) }
    }

    /// The current set: a consistent version to run several checks against.
    pub fn load(&self) -> Arc<RevocationSet> {
        self.current.load_full()
    }

    /// The current version.
    pub fn version(&self) -> u64 {
        self.current.load().version()
    }

    /// Checks a credential against the current set; see [`RevocationSet::check`].
    pub fn check(
        &self,
        facts: &CredentialFacts<'_>,
        freshness: &Freshness,
        now: Timestamp,
    ) -> Result<NotRevoked, Error> {
        self.current.load().check(facts, freshness, now)
    }

    /// Applies `delta`, synced at `now`. A delta already applied changes nothing; one that does
    /// not start at the current version is refused with [`Error::OutOfOrder`].
    pub fn apply(&self, delta: &Delta, now: Timestamp) -> Result<Applied, Error> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        match self.current.load().with_delta(delta, now)? {
            Some(next) => {
                let version = next.version();
                self.current.store(Arc::new(next));
                Ok(Applied::Updated { version })
            }
            None => Ok(Applied::AlreadyApplied),
        }
    }

    /// Replaces the list with `snapshot`, synced at `now`. A snapshot older than the list is
    /// refused: it could un-revoke what was revoked since.
    pub fn restore(&self, snapshot: &Snapshot, now: Timestamp) -> Result<(), Error> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.current.load().version();
        if snapshot.version() < current {
            return Err(Error::StaleSnapshot { snapshot: snapshot.version(), current });
        }
        self.current.store(Arc::new(RevocationSet::from_snapshot(snapshot, now)?));
        Ok(())
    }

    /// Records that the list was current at `now` (a sync that found nothing new).
    pub fn mark_synced(&self, now: Timestamp) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let next = self.current.load().with_synced(now);
        self.current.store(Arc::new(next));
    }

    /// Removes entries whose credentials expired more than `leeway` before `now`; returns how
    /// many. See [`RevocationSet::pruned`] for why this never un-revokes a live credential.
    pub fn prune(&self, now: Timestamp, leeway: Span) -> usize {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let (next, removed) = self.current.load().pruned(now, leeway);
        if removed > 0 {
            self.current.store(Arc::new(next));
        }
        removed
    }

    /// A snapshot of the current set.
    pub fn snapshot(&self) -> Snapshot {
        self.current.load().snapshot()
    }
}

impl Default for RevocationList {
    fn default() -> RevocationList {
        RevocationList::new()
    }
}
