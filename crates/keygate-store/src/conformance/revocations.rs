//! Revocations: recorded, fed, snapshotted and pruned.

use std::sync::Arc;

use keygate_core::Expiry;
use keygate_revocation::{Revocation, TokenDigest};

use crate::{ChangeEvent, Seq, Store};

use super::fixtures::*;

/// Revocations are recorded, appear in the feed and the snapshot, and are pruned once what they
/// revoke has expired.
pub async fn revocations<S: Store + ?Sized>(store: Arc<S>) {
    let live = Revocation::Token { digest: TokenDigest([7; 32]), expires: Expiry::At(at(1000)) };
    let forever =
        Revocation::SigningKey { kid: "compromised".parse().unwrap(), expires: Expiry::Never };
    let seq = store.add_revocation(&live, at(1), None).await.unwrap();
    store.add_revocation(&forever, at(2), None).await.unwrap();
    let changes = store.changes_since(Seq::ZERO, 10).await.unwrap();
    assert_eq!(changes[0].seq, seq);
    assert!(
        matches!(&changes[0].event, ChangeEvent::Revoked { revocation } if *revocation == live)
    );
    let snapshot = store.snapshot().await.unwrap();
    assert!(snapshot.revocations.contains(&live) && snapshot.revocations.contains(&forever));
    assert_eq!(store.prune_revocations(at(999)).await.unwrap(), 0);
    assert_eq!(store.prune_revocations(at(1000)).await.unwrap(), 1);
    assert_eq!(store.snapshot().await.unwrap().revocations, [forever]);
}
