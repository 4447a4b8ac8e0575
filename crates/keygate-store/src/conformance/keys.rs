//! Keys: inserted under quota, listed, changed by compare-and-set, rotated, deleted.

use std::sync::Arc;

use keygate_core::{
    Description, DigestScheme, Expiry, KeyFormat, KeyId, KeyRecord, KeyState, KeyStatus,
    KeyTemplate, SecretDigest,
};
use keygate_revocation::Revocation;

use crate::{ChangeEvent, KeyFilter, PageRequest, Quota, Store, StoreError};

use super::fixtures::*;

/// A key inserted is read back equal, secret digest included.
pub async fn key_insert_get<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let key = opaque("alice", 1, 0);
    store.insert_key(&key, Quota::new(10, at(0)), None).await.unwrap();
    assert_eq!(store.key(key_id(1)).await.unwrap(), key);
    let token_key = jwt("alice", 2, 0);
    store.insert_key(&token_key, Quota::new(10, at(0)), None).await.unwrap();
    assert_eq!(store.key(key_id(2)).await.unwrap(), token_key);
}

/// Inserting for a missing owner is `NotFound`, a duplicate id `AlreadyExists`; neither writes.
pub async fn key_insert_refusals<S: Store + ?Sized>(store: Arc<S>) {
    let head = store.head().await.unwrap();
    assert!(matches!(
        store.insert_key(&opaque("ghost", 1, 0), unlimited(), None).await,
        Err(StoreError::NotFound { kind: "principal", .. })
    ));
    assert_eq!(store.head().await.unwrap(), head);
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    let head = store.head().await.unwrap();
    assert!(matches!(
        store.insert_key(&jwt("alice", 1, 5), unlimited(), None).await,
        Err(StoreError::AlreadyExists { kind: "key", .. })
    ));
    assert_eq!(store.head().await.unwrap(), head);
    assert_eq!(store.key(key_id(1)).await.unwrap().format(), KeyFormat::Opaque);
}

/// The quota counts live keys: revoked and expired keys free their slot, suspended keys do not.
pub async fn key_quota_counts_live_keys<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let quota = |now| Quota::new(2, at(now));
    store.insert_key(&opaque("alice", 1, 0), quota(0), None).await.unwrap();
    store.insert_key(&opaque("alice", 2, 0), quota(0), None).await.unwrap();
    let full = store.insert_key(&opaque("alice", 3, 0), quota(0), None).await;
    assert!(matches!(full, Err(StoreError::QuotaExceeded { limit: 2, count: 2 })), "{full:?}");

    store
        .compare_and_set_state(
            key_id(1),
            &KeyState::Active,
            &KeyState::Suspended { at: at(1) },
            at(1),
            None,
        )
        .await
        .unwrap();
    assert!(
        matches!(
            store.insert_key(&opaque("alice", 3, 1), quota(1), None).await,
            Err(StoreError::QuotaExceeded { .. })
        ),
        "a suspended key freed its slot"
    );

    store
        .compare_and_set_state(
            key_id(1),
            &KeyState::Suspended { at: at(1) },
            &revoked(2),
            at(2),
            None,
        )
        .await
        .unwrap();
    store.insert_key(&opaque("alice", 3, 2), quota(2), None).await.unwrap();

    // Keys 2 and 3 expire at 3600 and 3602; after that both slots are free.
    assert!(matches!(
        store.insert_key(&opaque("alice", 4, 3000), quota(3000), None).await,
        Err(StoreError::QuotaExceeded { .. })
    ));
    store.insert_key(&opaque("alice", 4, 3700), quota(3700), None).await.unwrap();
    store.insert_key(&opaque("alice", 5, 3700), quota(3700), None).await.unwrap();
}

/// N tasks insert keys for one principal with quota Q: exactly Q succeed.
pub async fn key_quota_under_concurrent_inserts<S: Store + ?Sized + 'static>(store: Arc<S>) {
    const TASKS: u32 = 24;
    const QUOTA: u32 = 5;
    with_principal(&*store, "alice").await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            store.insert_key(&opaque("alice", 100 + n, 0), Quota::new(QUOTA, at(0)), None).await
        });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::QuotaExceeded { limit: QUOTA, .. }) => refused += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((ok, refused), (QUOTA, TASKS - QUOTA));
    let listed = store
        .list_keys(&KeyFilter::all().with_owner(pid("alice")), &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), QUOTA as usize);
}

/// Listing filters by owner, resource and status, agreeing with [`KeyFilter::matches`].
pub async fn key_list_filters<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    with_principal(&*store, "bob").await;
    let mut keys = vec![opaque("alice", 1, 0), jwt("alice", 2, 0), opaque("bob", 3, 0)];
    let other_cluster = KeyRecord::issue(
        KeyTemplate::new(pid("bob"), resource("lkc-2"), KeyFormat::Opaque, Expiry::Never),
        key_id(4),
        at(0),
        Some(SecretDigest::new(DigestScheme::Sha256, [4; 32])),
    )
    .unwrap();
    let pending = KeyRecord::issue(
        KeyTemplate::new(pid("bob"), resource("lkc-1"), KeyFormat::Opaque, Expiry::Never)
            .with_not_before(at(500)),
        key_id(5),
        at(0),
        Some(SecretDigest::new(DigestScheme::Sha256, [5; 32])),
    )
    .unwrap();
    keys.extend([other_cluster, pending]);
    for key in &keys {
        store.insert_key(key, unlimited(), None).await.unwrap();
    }
    let suspended = store
        .compare_and_set_state(
            key_id(3),
            &KeyState::Active,
            &KeyState::Suspended { at: at(10) },
            at(10),
            None,
        )
        .await
        .unwrap();
    keys[2] = suspended;

    let filters = [
        KeyFilter::all(),
        KeyFilter::all().with_owner(pid("alice")),
        KeyFilter::all().with_owner(pid("bob")),
        KeyFilter::all().with_resource("kafka-cluster/lkc-1".parse().unwrap()),
        KeyFilter::all().with_resource("kafka-cluster/lkc-2".parse().unwrap()),
        KeyFilter::all().with_status(KeyStatus::Active, at(100)),
        KeyFilter::all().with_status(KeyStatus::Suspended, at(100)),
        KeyFilter::all().with_status(KeyStatus::Pending, at(100)),
        KeyFilter::all().with_status(KeyStatus::Expired, at(4000)),
        KeyFilter::all().with_status(KeyStatus::Active, at(4000)),
        KeyFilter::all()
            .with_owner(pid("bob"))
            .with_resource("kafka-cluster/lkc-1".parse().unwrap())
            .with_status(KeyStatus::Pending, at(100)),
    ];
    for filter in filters {
        let listed: Vec<KeyId> = store
            .list_keys(&filter, &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .iter()
            .map(KeyRecord::id)
            .collect();
        let mut expected: Vec<KeyId> =
            keys.iter().filter(|k| filter.matches(k)).map(KeyRecord::id).collect();
        expected.sort();
        assert_eq!(listed, expected, "{filter:?}");
    }
}

/// Paging through keys while others insert returns every key that existed when paging began
/// exactly once, in order.
pub async fn key_list_pages_stable_under_inserts<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    for n in (0..40).map(|n| n * 10) {
        store.insert_key(&opaque("alice", n, 0), unlimited(), None).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(7);
    let mut extra = 1;
    loop {
        let result = store.list_keys(&KeyFilter::all(), &page).await.unwrap();
        seen.extend(result.items.iter().map(KeyRecord::id));
        // Insert keys before and after the cursor between pages.
        store.insert_key(&opaque("alice", extra, 0), unlimited(), None).await.unwrap();
        store.insert_key(&opaque("alice", 1000 + extra, 0), unlimited(), None).await.unwrap();
        extra += 10;
        match result.next {
            Some(cursor) => page = PageRequest::after(cursor, 7),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages repeated or went out of order");
    for n in (0..40).map(|n| n * 10) {
        assert!(seen.contains(&key_id(n)), "key {n} was skipped");
    }
}

/// The description is the one free-form edit; it is recorded.
pub async fn key_update_description<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    let head = store.head().await.unwrap();
    let updated = store
        .update_description(key_id(1), &"rotated in Q3".parse().unwrap(), at(5), None)
        .await
        .unwrap();
    assert_eq!(updated.description().as_str(), "rotated in Q3");
    assert_eq!(store.key(key_id(1)).await.unwrap(), updated);
    let changes = store.changes_since(head, 10).await.unwrap();
    assert!(
        matches!(&changes[..], [c] if matches!(&c.event, ChangeEvent::KeyUpdated { key } if *key == updated) && c.at == at(5))
    );
}

/// Compare-and-set changes state only from the expected one; a conflict returns the current
/// record; a revoked key's state is final.
pub async fn key_compare_and_set<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    let suspended = KeyState::Suspended { at: at(1) };
    let after = store
        .compare_and_set_state(key_id(1), &KeyState::Active, &suspended, at(1), None)
        .await
        .unwrap();
    assert_eq!(after.state(), &suspended);

    let head = store.head().await.unwrap();
    match store.compare_and_set_state(key_id(1), &KeyState::Active, &revoked(2), at(2), None).await
    {
        Err(StoreError::Conflict { current: Some(current), .. }) => {
            assert_eq!(current.state(), &suspended)
        }
        other => panic!("expected a conflict with the current record, got {other:?}"),
    }
    assert_eq!(store.head().await.unwrap(), head, "a conflict recorded a change");

    store.compare_and_set_state(key_id(1), &suspended, &revoked(3), at(3), None).await.unwrap();
    let resurrect =
        store.compare_and_set_state(key_id(1), &revoked(3), &KeyState::Active, at(4), None).await;
    assert!(matches!(resurrect, Err(StoreError::Invalid(_))), "{resurrect:?}");
    assert!(store.key(key_id(1)).await.unwrap().state().is_revoked());
}

/// N tasks revoke the same key: exactly one transition happens, the rest see a conflict.
pub async fn key_concurrent_revokes<S: Store + ?Sized + 'static>(store: Arc<S>) {
    const TASKS: i64 = 16;
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    let head = store.head().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            store
                .compare_and_set_state(
                    key_id(1),
                    &KeyState::Active,
                    &revoked(10 + n),
                    at(10 + n),
                    None,
                )
                .await
        });
    }
    let (mut ok, mut conflicts) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict { .. }) => conflicts += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((ok, conflicts), (1, TASKS - 1));
    let changes = store.changes_since(head, 100).await.unwrap();
    assert_eq!(changes.len(), 1, "one transition, one change");
}

/// Expiries only move forward.
pub async fn key_shorten_expiry<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    let shorter = store.shorten_expiry(key_id(1), Expiry::At(at(1800)), at(5), None).await.unwrap();
    assert_eq!(shorter.expires(), Expiry::At(at(1800)));
    let head = store.head().await.unwrap();
    for later in [Expiry::At(at(1801)), Expiry::Never] {
        match store.shorten_expiry(key_id(1), later, at(6), None).await {
            Err(StoreError::Conflict { current: Some(current), .. }) => {
                assert_eq!(current.expires(), Expiry::At(at(1800)))
            }
            other => panic!("an expiry was pushed back: {other:?}"),
        }
    }
    assert_eq!(store.head().await.unwrap(), head);
}

/// Rotation inserts the replacement and shortens the old key in one step.
pub async fn key_rotate<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let old = opaque("alice", 1, 0);
    store.insert_key(&old, unlimited(), None).await.unwrap();
    let head = store.head().await.unwrap();
    let template =
        KeyTemplate::new(pid("alice"), resource("lkc-1"), KeyFormat::Opaque, Expiry::At(at(7200)))
            .with_replaces(key_id(1));
    let replacement = KeyRecord::issue(
        template,
        key_id(2),
        at(100),
        Some(SecretDigest::new(DigestScheme::Sha256, [2; 32])),
    )
    .unwrap();
    let rotated = store
        .rotate_key(&replacement, Expiry::At(at(700)), Quota::new(2, at(100)), None)
        .await
        .unwrap();
    assert_eq!(rotated.old.expires(), Expiry::At(at(700)));
    assert_eq!(rotated.new, replacement);
    assert_eq!(store.key(key_id(1)).await.unwrap().expires(), Expiry::At(at(700)));
    assert_eq!(store.key(key_id(2)).await.unwrap().replaces(), Some(key_id(1)));
    let events: Vec<_> =
        store.changes_since(head, 10).await.unwrap().into_iter().map(|c| c.event).collect();
    assert!(
        matches!(&events[..], [ChangeEvent::KeyUpdated { key: a }, ChangeEvent::KeyCreated { key: b }] if a.id() == key_id(1) && b.id() == key_id(2)),
        "{events:?}"
    );
}

/// Rotation refuses an inactive old key, an over-quota owner and a replacement that does not name
/// the old key, and then writes nothing.
pub async fn key_rotate_refusals<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    let replacement = |id: u32, replaces: Option<u32>| {
        let mut template = KeyTemplate::new(
            pid("alice"),
            resource("lkc-1"),
            KeyFormat::Opaque,
            Expiry::At(at(7200)),
        );
        if let Some(old) = replaces {
            template = template.with_replaces(key_id(old));
        }
        KeyRecord::issue(
            template,
            key_id(id),
            at(100),
            Some(SecretDigest::new(DigestScheme::Sha256, [9; 32])),
        )
        .unwrap()
    };
    let head = store.head().await.unwrap();
    let over_quota = store
        .rotate_key(&replacement(2, Some(1)), Expiry::At(at(700)), Quota::new(1, at(100)), None)
        .await;
    assert!(matches!(over_quota, Err(StoreError::QuotaExceeded { .. })), "{over_quota:?}");
    let unnamed =
        store.rotate_key(&replacement(2, None), Expiry::At(at(700)), unlimited(), None).await;
    assert!(matches!(unnamed, Err(StoreError::Invalid(_))), "{unnamed:?}");
    let missing =
        store.rotate_key(&replacement(2, Some(77)), Expiry::At(at(700)), unlimited(), None).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
    assert_eq!(store.head().await.unwrap(), head);
    assert_eq!(
        store.key(key_id(1)).await.unwrap().expires(),
        Expiry::At(at(3600)),
        "a refused rotation shortened the old key"
    );
    assert!(store.key(key_id(2)).await.is_err());

    store
        .compare_and_set_state(key_id(1), &KeyState::Active, &revoked(50), at(50), None)
        .await
        .unwrap();
    let revoked_old =
        store.rotate_key(&replacement(2, Some(1)), Expiry::At(at(700)), unlimited(), None).await;
    assert!(matches!(revoked_old, Err(StoreError::Conflict { .. })), "{revoked_old:?}");
    assert!(store.key(key_id(2)).await.is_err());
}

/// Deleting a key removes it; a live JWT key leaves a tombstone, an expired one and an opaque one
/// do not.
pub async fn key_delete<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    for key in [opaque("alice", 1, 0), jwt("alice", 2, 0), jwt("alice", 3, 0)] {
        store.insert_key(&key, unlimited(), None).await.unwrap();
    }
    let head = store.head().await.unwrap();
    assert_eq!(store.delete_key(key_id(1), at(10), None).await.unwrap().id(), key_id(1));
    store.delete_key(key_id(2), at(10), None).await.unwrap();
    store.delete_key(key_id(3), at(4000), None).await.unwrap(); // already expired
    for n in 1..=3 {
        assert!(matches!(store.key(key_id(n)).await, Err(StoreError::NotFound { .. })));
    }
    let tombstones: Vec<KeyId> = store
        .changes_since(head, 100)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| match c.event {
            ChangeEvent::Revoked { revocation: Revocation::Key { id, .. } } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(tombstones, [key_id(2)]);
    let snapshot = store.snapshot().await.unwrap();
    assert!(
        snapshot
            .revocations
            .contains(&Revocation::Key { id: key_id(2), expires: Expiry::At(at(3600)) })
    );
}

/// Every operation on a missing key is `NotFound` and records nothing.
pub async fn key_missing<S: Store + ?Sized>(store: Arc<S>) {
    let head = store.head().await.unwrap();
    let id = key_id(404);
    assert!(matches!(store.key(id).await, Err(StoreError::NotFound { kind: "key", .. })));
    assert!(matches!(
        store.update_description(id, &Description::empty(), at(1), None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.compare_and_set_state(id, &KeyState::Active, &revoked(1), at(1), None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.shorten_expiry(id, Expiry::At(at(1)), at(1), None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(store.delete_key(id, at(1), None).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.head().await.unwrap(), head);
}

/// A key's name is unique among its owner's keys (another owner may use it), finds the key in
/// a listing, moves to the replacement in a rotation, and is free again once its key is
/// deleted.
pub async fn key_names_are_unique_per_owner<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    with_principal(&*store, "bob").await;
    store.insert_key(&named("alice", 1, "ci-producer"), unlimited(), None).await.unwrap();
    let twice = store.insert_key(&named("alice", 2, "ci-producer"), unlimited(), None).await;
    assert!(
        matches!(twice, Err(StoreError::AlreadyExists { kind: "key name", .. })),
        "a second key of one owner took a name in use: {twice:?}"
    );
    assert!(store.key(key_id(2)).await.is_err(), "the refused key was stored");
    store.insert_key(&named("bob", 3, "ci-producer"), unlimited(), None).await.unwrap();

    let by_name = |owner: &str| {
        KeyFilter::all().with_owner(pid(owner)).with_name("ci-producer".parse().unwrap())
    };
    let found = store.list_keys(&by_name("alice"), &PageRequest::first(10)).await.unwrap();
    assert_eq!(found.items.iter().map(KeyRecord::id).collect::<Vec<_>>(), [key_id(1)]);

    let old = store.key(key_id(1)).await.unwrap();
    let replacement = {
        let template = KeyTemplate::new(
            pid("alice"),
            resource("lkc-1"),
            KeyFormat::Opaque,
            Expiry::At(at(7200)),
        )
        .with_replaces(key_id(1))
        .with_name("ci-producer".parse().unwrap());
        let digest = SecretDigest::new(DigestScheme::Sha256, [4; 32]);
        KeyRecord::issue(template, key_id(4), at(10), Some(digest)).unwrap()
    };
    let rotated =
        store.rotate_key(&replacement, Expiry::At(at(60)), unlimited(), None).await.unwrap();
    assert_eq!(rotated.old.name(), None, "the old key kept its name after rotation");
    assert_eq!(
        rotated.old.replaced_by(),
        Some(key_id(4)),
        "the old key does not name its replacement"
    );
    assert_eq!(store.key(old.id()).await.unwrap().name(), None);
    let found = store.list_keys(&by_name("alice"), &PageRequest::first(10)).await.unwrap();
    assert_eq!(found.items.iter().map(KeyRecord::id).collect::<Vec<_>>(), [key_id(4)]);

    store
        .compare_and_set_state(key_id(4), &KeyState::Active, &revoked(20), at(20), None)
        .await
        .unwrap();
    store.delete_key(key_id(4), at(30), None).await.unwrap();
    store.insert_key(&named("alice", 5, "ci-producer"), unlimited(), None).await.unwrap();
}
