//! Keeping an authenticator current from a store's change feed.

use std::sync::Arc;

use keygate_core::Clock;
use keygate_store::{Store, StoreError, StoreSnapshot};

use crate::state::StateBuilder;
use crate::{Authenticator, SyncError, SyncReport};

/// How many changes one read of the feed asks for.
const BATCH: usize = 1024;

/// Keeps an [`Authenticator`] current from a [`Store`]: from a snapshot first, then by the
/// changes since, applied to the next state beside the current one and published atomically.
///
/// The embedder drives it: call [`Replica::sync_once`] when the store's
/// [`ChangeWatch`](keygate_store::ChangeWatch) says the feed moved, and on a timer besides
/// (`keygate-tokio`'s `Server` runs that task for servers on tokio). The first sync streams the
/// store's snapshot ([`ChangeFeed::stream_snapshot`](keygate_store::ChangeFeed::stream_snapshot)),
/// indexing each key as it arrives; later ones read the changes after its position. A sync
/// that fails leaves the authenticator's state as it was, and the next one retries; a replica
/// that fell behind a compaction of the feed bootstraps again from a snapshot. The
/// authenticator's freshness bound turns a replica that cannot sync for too long into refusals
/// rather than stale acceptances.
#[derive(Debug)]
pub struct Replica {
    authenticator: Authenticator,
    clock: Arc<dyn Clock>,
}

impl Replica {
    /// A replica feeding `authenticator`, stamping syncs with `clock`.
    pub fn new(authenticator: Authenticator, clock: Arc<dyn Clock>) -> Replica {
        Replica { authenticator, clock }
    }

    /// The authenticator it feeds.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// Brings the authenticator up to date with `store`, and reports what changed. Taking
    /// `&mut self` keeps syncs of one replica from racing each other.
    pub async fn sync_once(&mut self, store: &dyn Store) -> Result<SyncReport, SyncError> {
        let current = self.authenticator.load();
        if !current.bootstrapped {
            return self.bootstrap(store).await;
        }
        let mut report =
            SyncReport { from: current.version, to: current.version, ..SyncReport::default() };
        let mut changes = Vec::new();
        let mut cursor = current.version;
        loop {
            match store.changes_since(cursor, BATCH).await {
                Ok(batch) => {
                    let full = batch.len() == BATCH;
                    if let Some(last) = batch.last() {
                        cursor = last.seq;
                    }
                    changes.extend(batch);
                    if !full {
                        break;
                    }
                }
                Err(StoreError::ChangesCompacted { .. }) => {
                    return self.bootstrap(store).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
        let now = self.clock.now();
        match current.with_changes(&changes, now, self.authenticator.config(), &mut report) {
            Ok(next) => {
                self.authenticator.publish(next);
                Ok(report)
            }
            // Something in the feed could not be applied; start over from a snapshot.
            Err(_) => self.bootstrap(store).await,
        }
    }

    /// Replaces the authenticator's state with `snapshot`, as a first sync does: for a broker
    /// that receives snapshots out of band (a file, an object store) and then tails the feed
    /// from the snapshot's position with [`Replica::sync_once`]. A snapshot older than the
    /// state is refused ([`SyncError::StaleSnapshot`]): it could un-revoke what was revoked
    /// since.
    pub fn load_snapshot(&mut self, snapshot: StoreSnapshot) -> Result<SyncReport, SyncError> {
        let mut builder = StateBuilder::default();
        snapshot.stream_into(&mut builder);
        self.install(builder)
    }

    /// Rebuilds the state from the store's snapshot, streamed: one consistent read, each key
    /// indexed as its row arrives.
    async fn bootstrap(&mut self, store: &dyn Store) -> Result<SyncReport, SyncError> {
        let mut builder = StateBuilder::default();
        store.stream_snapshot(&mut builder).await?;
        self.install(builder)
    }

    /// Publishes the state `builder` holds, unless it is older than the current one.
    fn install(&mut self, builder: StateBuilder) -> Result<SyncReport, SyncError> {
        let from = self.authenticator.load().version;
        if builder.seq() < from {
            return Err(SyncError::StaleSnapshot { snapshot: builder.seq(), current: from });
        }
        let mut report = SyncReport { from, bootstrapped: true, ..SyncReport::default() };
        let state = builder.finish(self.clock.now(), self.authenticator.config(), &mut report)?;
        report.to = state.version;
        self.authenticator.publish(state);
        Ok(report)
    }
}
