//! The change feed: one change per mutation, in order, tailable under concurrent writers,
//! consistent with snapshots, compacted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use keygate_core::{Expiry, KeyId, KeyRecord, KeyState, PrincipalId};
use keygate_revocation::Revocation;

use crate::{ChangeEvent, Quota, Seq, Store, StoreError};

use super::fixtures::*;

/// Every mutation appends exactly one change (deletions: theirs and their tombstones), with
/// strictly increasing sequence numbers, and the head follows.
pub async fn feed_records_every_mutation<S: Store + ?Sized>(store: Arc<S>) {
    assert_eq!(store.head().await.unwrap(), Seq::ZERO);
    assert!(store.changes_since(Seq::ZERO, 10).await.unwrap().is_empty());
    let mut expected = Vec::new();
    store.create_principal(&principal("alice"), None).await.unwrap();
    expected.push("principal_created");
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    expected.push("key_created");
    store.update_description(key_id(1), &"x".parse().unwrap(), at(1), None).await.unwrap();
    expected.push("key_updated");
    store
        .compare_and_set_state(
            key_id(1),
            &KeyState::Active,
            &KeyState::Suspended { at: at(2) },
            at(2),
            None,
        )
        .await
        .unwrap();
    expected.push("key_updated");
    store.shorten_expiry(key_id(1), Expiry::At(at(100)), at(3), None).await.unwrap();
    expected.push("key_updated");
    store
        .add_revocation(&Revocation::jti("external-1", Expiry::Never).unwrap(), at(4), None)
        .await
        .unwrap();
    expected.push("revoked");
    store.delete_key(key_id(1), at(5), None).await.unwrap();
    expected.push("key_deleted");

    let changes = store.changes_since(Seq::ZERO, 100).await.unwrap();
    let kinds: Vec<&str> = changes.iter().map(|c| kind(&c.event)).collect();
    assert_eq!(kinds, expected);
    for pair in changes.windows(2) {
        assert!(pair[0].seq < pair[1].seq, "sequence numbers must increase");
    }
    assert_eq!(store.head().await.unwrap(), changes.last().unwrap().seq);
    // A limit is honoured, and reading from the middle continues exactly there.
    let first_two = store.changes_since(Seq::ZERO, 2).await.unwrap();
    assert_eq!(first_two, changes[..2]);
    assert_eq!(store.changes_since(first_two[1].seq, 100).await.unwrap(), changes[2..]);
}

fn kind(event: &ChangeEvent) -> &'static str {
    match event {
        ChangeEvent::PrincipalCreated { .. } => "principal_created",
        ChangeEvent::PrincipalUpdated { .. } => "principal_updated",
        ChangeEvent::PrincipalDeleted { .. } => "principal_deleted",
        ChangeEvent::KeyCreated { .. } => "key_created",
        ChangeEvent::KeyUpdated { .. } => "key_updated",
        ChangeEvent::KeyDeleted { .. } => "key_deleted",
        ChangeEvent::Revoked { .. } => "revoked",
        ChangeEvent::SigningKeyChanged { .. } => "signing_key_changed",
        ChangeEvent::SigningKeyRemoved { .. } => "signing_key_removed",
    }
}

/// A failed mutation records no change.
pub async fn feed_failed_mutations_record_nothing<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), Quota::new(1, at(0)), None).await.unwrap();
    let head = store.head().await.unwrap();
    let _ = store.create_principal(&principal("alice"), None).await;
    let _ = store.insert_key(&opaque("alice", 2, 0), Quota::new(1, at(0)), None).await;
    let _ = store.insert_key(&opaque("nobody", 3, 0), unlimited(), None).await;
    let _ = store
        .compare_and_set_state(
            key_id(1),
            &KeyState::Suspended { at: at(0) },
            &revoked(1),
            at(1),
            None,
        )
        .await;
    let _ = store.shorten_expiry(key_id(1), Expiry::Never, at(1), None).await;
    let _ = store.delete_principal(&pid("nobody"), at(1), None).await;
    let _ = store.remove_signing_key(&"none".parse().unwrap(), at(1), None).await;
    assert_eq!(store.head().await.unwrap(), head);
    assert!(store.changes_since(head, 10).await.unwrap().is_empty());
}

/// Several writer tasks and one tailing reader: replaying the feed gives exactly the final
/// state.
pub async fn feed_tailing_reader_under_concurrent_writers<S: Store + ?Sized + 'static>(
    store: Arc<S>,
) {
    const WRITERS: u32 = 4;
    const KEYS: u32 = 25;
    let done = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        writers.spawn(async move {
            let name = format!("writer-{w}");
            store.create_principal(&principal(&name), None).await.unwrap();
            for k in 0..KEYS {
                let n = w * 1000 + k;
                store.insert_key(&opaque(&name, n, 0), unlimited(), None).await.unwrap();
                match k % 5 {
                    1 => {
                        store
                            .update_description(
                                key_id(n),
                                &format!("d{k}").parse().unwrap(),
                                at(1),
                                None,
                            )
                            .await
                            .unwrap();
                    }
                    2 => {
                        store
                            .compare_and_set_state(
                                key_id(n),
                                &KeyState::Active,
                                &revoked(2),
                                at(2),
                                None,
                            )
                            .await
                            .unwrap();
                    }
                    3 => {
                        store.delete_key(key_id(n), at(3), None).await.unwrap();
                    }
                    _ => {}
                }
                tokio::task::yield_now().await;
            }
            if w == 0 {
                store.delete_principal(&pid(&name), at(4), None).await.unwrap();
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
    }

    let reader = {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        tokio::spawn(async move {
            let mut principals = BTreeSet::new();
            let mut keys: BTreeMap<KeyId, KeyRecord> = BTreeMap::new();
            let mut cursor = Seq::ZERO;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
                let batch = store.changes_since(cursor, 16).await.unwrap();
                for change in &batch {
                    assert!(change.seq > cursor, "the feed went backwards");
                    cursor = change.seq;
                    match &change.event {
                        ChangeEvent::PrincipalCreated { principal } => {
                            principals.insert(principal.id.clone());
                        }
                        ChangeEvent::PrincipalDeleted { id } => {
                            principals.remove(id);
                        }
                        ChangeEvent::KeyCreated { key } | ChangeEvent::KeyUpdated { key } => {
                            keys.insert(key.id(), key.clone());
                        }
                        ChangeEvent::KeyDeleted { key } => {
                            keys.remove(&key.id());
                        }
                        _ => {}
                    }
                }
                if finished && batch.is_empty() {
                    return (principals, keys);
                }
                tokio::task::yield_now().await;
            }
        })
    };
    while let Some(result) = writers.join_next().await {
        result.unwrap();
    }
    let (principals, keys) = reader.await.unwrap();
    let snapshot = store.snapshot().await.unwrap();
    let expected_principals: BTreeSet<PrincipalId> =
        snapshot.principals.iter().map(|p| p.id.clone()).collect();
    let expected_keys: BTreeMap<KeyId, KeyRecord> =
        snapshot.keys.into_iter().map(|k| (k.id(), k)).collect();
    assert_eq!(principals, expected_principals);
    assert_eq!(keys, expected_keys);
    assert_eq!(principals.len(), (WRITERS - 1) as usize);
}

/// A snapshot is consistent with its position: loading it and applying the changes after it
/// gives the current state.
pub async fn feed_snapshot_is_consistent<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    store.insert_key(&jwt("alice", 2, 0), unlimited(), None).await.unwrap();
    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(snapshot.seq, store.head().await.unwrap());
    assert_eq!(snapshot.keys.len(), 2);
    store.delete_key(key_id(2), at(5), None).await.unwrap();
    store.insert_key(&opaque("alice", 3, 6), unlimited(), None).await.unwrap();

    let mut keys: BTreeMap<KeyId, KeyRecord> =
        snapshot.keys.into_iter().map(|k| (k.id(), k)).collect();
    let mut revocations = snapshot.revocations;
    for change in store.changes_since(snapshot.seq, 100).await.unwrap() {
        match change.event {
            ChangeEvent::KeyCreated { key } | ChangeEvent::KeyUpdated { key } => {
                keys.insert(key.id(), key);
            }
            ChangeEvent::KeyDeleted { key } => {
                keys.remove(&key.id());
            }
            ChangeEvent::Revoked { revocation } => revocations.push(revocation),
            _ => {}
        }
    }
    let now = store.snapshot().await.unwrap();
    assert_eq!(keys.into_values().collect::<Vec<_>>(), now.keys);
    revocations.sort_by_key(|r| format!("{r:?}"));
    let mut current = now.revocations;
    current.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(revocations, current);
}

/// A streamed snapshot holds what [`snapshot`](crate::ChangeFeed::snapshot) holds, and, taken
/// while writers write, is consistent with its position: it plus the changes after it is the
/// store at the end.
pub async fn feed_streamed_snapshot_is_consistent<S: Store + ?Sized + 'static>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    store.insert_key(&jwt("alice", 2, 0), unlimited(), None).await.unwrap();
    store.delete_key(key_id(2), at(1), None).await.unwrap();
    let mut streamed = crate::StoreSnapshot::default();
    store.stream_snapshot(&mut streamed).await.unwrap();
    // A stream promises no order within a kind; a snapshot orders by id.
    streamed.principals.sort_by(|a, b| a.id.cmp(&b.id));
    streamed.keys.sort_by_key(KeyRecord::id);
    assert_eq!(streamed, store.snapshot().await.unwrap());
    assert_eq!(streamed.revocations.len(), 1, "the deleted JWT key's tombstone");

    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for n in 10..60 {
                store.insert_key(&opaque("alice", n, n.into()), unlimited(), None).await.unwrap();
            }
        })
    };
    let mut during = crate::StoreSnapshot::default();
    store.stream_snapshot(&mut during).await.unwrap();
    writer.await.unwrap();
    let mut keys: BTreeMap<KeyId, KeyRecord> =
        during.keys.into_iter().map(|k| (k.id(), k)).collect();
    for change in store.changes_since(during.seq, 1000).await.unwrap() {
        if let ChangeEvent::KeyCreated { key } = change.event {
            assert!(keys.insert(key.id(), key).is_none(), "a key in the snapshot and after it");
        }
    }
    assert_eq!(keys.into_values().collect::<Vec<_>>(), store.snapshot().await.unwrap().keys);
}

/// Compaction drops old changes, and a reader behind it is told to bootstrap again.
pub async fn feed_compaction<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    for n in 0..10 {
        store.insert_key(&opaque("alice", n, 0), unlimited(), None).await.unwrap();
    }
    let all = store.changes_since(Seq::ZERO, 100).await.unwrap();
    let middle = all[5].seq;
    store.compact(middle).await.unwrap();
    match store.changes_since(Seq::ZERO, 100).await {
        Err(StoreError::ChangesCompacted { requested: Seq::ZERO, oldest }) => {
            assert_eq!(oldest, middle)
        }
        other => panic!("a reader behind the compaction was not told: {other:?}"),
    }
    assert_eq!(store.changes_since(middle, 100).await.unwrap(), all[6..]);
    // Compacting past the head stops at the head; the feed keeps going.
    store.compact(Seq(u64::MAX)).await.unwrap();
    let head = store.head().await.unwrap();
    assert!(store.changes_since(head, 10).await.unwrap().is_empty());
    store.insert_key(&opaque("alice", 99, 0), unlimited(), None).await.unwrap();
    assert_eq!(store.changes_since(head, 10).await.unwrap().len(), 1);
    // The snapshot still has everything.
    assert_eq!(store.snapshot().await.unwrap().keys.len(), 11);
}
