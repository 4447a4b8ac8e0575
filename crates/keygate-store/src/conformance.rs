//! The conformance suite: what every [`Store`] must do, as public async test cases.
//!
//! Each case takes a fresh, empty store and panics on the first violation, naming it. Run them
//! all with [`conformance_tests!`](crate::conformance_tests), which generates one test per case,
//! each on a new store from your factory, so a backend reports every failure by name:
//!
//! ```ignore
//! use std::sync::Arc;
//! use keygate_store::Store;
//!
//! async fn fresh_store() -> Arc<dyn Store> {
//!     Arc::new(MyStore::connect_to_an_empty_database().await)
//! }
//!
//! keygate_store::conformance_tests!(fresh_store);
//! ```
//!
//! The cases use fixed instants and ids, so failures reproduce; the concurrent ones run on a
//! multi-threaded runtime.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test cases report failures by panicking.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use keygate_core::{
    Description, DigestScheme, Expiry, KeyFormat, KeyId, KeyRecord, KeyState, KeyStatus,
    KeyTemplate, Principal, PrincipalId, PrincipalKind, Scope, SecretDigest, SigningAlgorithm,
    Timestamp,
};
use keygate_revocation::{Revocation, TokenDigest};

use crate::{
    ChangeEvent, KeyFilter, PageRequest, Quota, SecretBytes, Seq, SigningKeyRecord,
    SigningKeyStatus, Store, StoreError, VerificationMaterial,
};

/// What a factory given to [`conformance_tests!`](crate::conformance_tests) returns: the store
/// for one case, and whatever must live as long as the case does.
///
/// - `Arc<S>`: the store.
/// - `(guard, Arc<S>)`: the store, and a value dropped after the case (a temporary directory
///   holding the database file, say).
/// - `Option<F>`: `None` skips the case, for a backend that needs something outside the test
///   (a database server) that is missing. The factory should then say by name what it skipped,
///   so a skip is never silent.
pub trait Fixture {
    /// The store the cases run on.
    type Store: Store + ?Sized;

    /// The store, or `None` to skip the case.
    fn store(&self) -> Option<Arc<Self::Store>>;
}

impl<S: Store + ?Sized> Fixture for Arc<S> {
    type Store = S;

    fn store(&self) -> Option<Arc<S>> {
        Some(Arc::clone(self))
    }
}

impl<G, S: Store + ?Sized> Fixture for (G, Arc<S>) {
    type Store = S;

    fn store(&self) -> Option<Arc<S>> {
        Some(Arc::clone(&self.1))
    }
}

impl<F: Fixture> Fixture for Option<F> {
    type Store = F::Store;

    fn store(&self) -> Option<Arc<F::Store>> {
        self.as_ref().and_then(Fixture::store)
    }
}

/// 2026-01-01T00:00:00Z plus `seconds`.
fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix(1_767_225_600 + seconds).unwrap()
}

fn pid(name: &str) -> PrincipalId {
    name.parse().unwrap()
}

fn principal(name: &str) -> Principal {
    Principal::new(pid(name), PrincipalKind::ServiceAccount, at(0))
}

fn key_id(n: u32) -> KeyId {
    let b = n.to_be_bytes();
    KeyId::from_bytes([0, 0, 0, 0, 0, 0, b[0], b[1], b[2], b[3]])
}

fn resource(name: &str) -> Scope {
    Scope::Resource(format!("kafka-cluster/{name}").parse().unwrap())
}

/// An opaque key `n` of `owner` on cluster `lkc-1`, issued at `at(created)`, expiring an hour
/// later.
fn opaque(owner: &str, n: u32, created: i64) -> KeyRecord {
    let template = KeyTemplate::new(
        pid(owner),
        resource("lkc-1"),
        KeyFormat::Opaque,
        Expiry::At(at(created + 3600)),
    );
    let digest = SecretDigest::new(DigestScheme::Sha256, [n as u8; 32]);
    KeyRecord::issue(template, key_id(n), at(created), Some(digest)).unwrap()
}

/// A JWT key `n` of `owner`, global, issued at `at(created)`, expiring an hour later.
fn jwt(owner: &str, n: u32, created: i64) -> KeyRecord {
    let template =
        KeyTemplate::new(pid(owner), Scope::Global, KeyFormat::Jwt, Expiry::At(at(created + 3600)));
    KeyRecord::issue(template, key_id(n), at(created), None).unwrap()
}

fn unlimited() -> Quota {
    Quota::unlimited(at(0))
}

fn revoked(when: i64) -> KeyState {
    KeyState::Revoked { at: at(when), reason: Description::empty() }
}

async fn with_principal<S: Store + ?Sized>(store: &S, name: &str) {
    store.create_principal(&principal(name)).await.unwrap();
}

/// A principal created is read back equal.
pub async fn principal_create_get<S: Store + ?Sized>(store: Arc<S>) {
    let alice = principal("alice").with_description("ingest".parse().unwrap());
    let seq = store.create_principal(&alice).await.unwrap();
    assert!(seq > Seq::ZERO, "create_principal returned Seq(0)");
    assert_eq!(store.principal(&pid("alice")).await.unwrap(), alice);
}

/// Creating a principal twice fails with `AlreadyExists` and changes nothing.
pub async fn principal_create_twice<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let head = store.head().await.unwrap();
    let again = store
        .create_principal(&principal("alice").with_description("other".parse().unwrap()))
        .await;
    assert!(matches!(again, Err(StoreError::AlreadyExists { kind: "principal", .. })), "{again:?}");
    assert_eq!(store.principal(&pid("alice")).await.unwrap().description, Description::empty());
    assert_eq!(store.head().await.unwrap(), head);
}

/// A missing principal is `NotFound`.
pub async fn principal_missing<S: Store + ?Sized>(store: Arc<S>) {
    assert!(matches!(
        store.principal(&pid("nobody")).await,
        Err(StoreError::NotFound { kind: "principal", .. })
    ));
}

/// Principals list in id order, page by page, with no gaps or repeats.
pub async fn principal_list_pages<S: Store + ?Sized>(store: Arc<S>) {
    for name in ["carol", "alice", "eve", "bob", "dave"] {
        with_principal(&*store, name).await;
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let result = store.list_principals(&page).await.unwrap();
        assert!(result.items.len() <= 2);
        seen.extend(result.items.iter().map(|p| p.id.to_string()));
        match result.next {
            Some(cursor) => page = PageRequest::after(cursor, 2),
            None => break,
        }
    }
    assert_eq!(seen, ["alice", "bob", "carol", "dave", "eve"]);
}

/// Deleting a principal deletes its keys in the same step, records a change for each, a
/// tombstone for each live JWT key and a watermark for the principal, and leaves others alone.
pub async fn principal_delete_cascades<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    with_principal(&*store, "bob").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
    store.insert_key(&jwt("alice", 2, 0), unlimited()).await.unwrap();
    store.insert_key(&opaque("bob", 3, 0), unlimited()).await.unwrap();
    let before = store.head().await.unwrap();

    let deleted = store.delete_principal(&pid("alice"), at(100)).await.unwrap();
    assert_eq!(deleted.principal.id, pid("alice"));
    let mut ids: Vec<KeyId> = deleted.keys.iter().map(KeyRecord::id).collect();
    ids.sort();
    assert_eq!(ids, [key_id(1), key_id(2)]);

    assert!(matches!(store.principal(&pid("alice")).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.key(key_id(1)).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.key(key_id(2)).await, Err(StoreError::NotFound { .. })));
    assert!(store.key(key_id(3)).await.is_ok(), "another principal's key went too");
    let alice_keys = store
        .list_keys(&KeyFilter::all().with_owner(pid("alice")), &PageRequest::first(10))
        .await
        .unwrap();
    assert!(alice_keys.items.is_empty());

    let changes = store.changes_since(before, 100).await.unwrap();
    let deleted_keys: BTreeSet<KeyId> = changes
        .iter()
        .filter_map(|c| match &c.event {
            ChangeEvent::KeyDeleted { key } => Some(key.id()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted_keys, BTreeSet::from([key_id(1), key_id(2)]));
    assert!(changes.iter().any(|c| matches!(&c.event, ChangeEvent::Revoked { revocation: Revocation::Key { id, .. } } if *id == key_id(2))));
    assert!(!changes.iter().any(|c| matches!(&c.event, ChangeEvent::Revoked { revocation: Revocation::Key { id, .. } } if *id == key_id(1))), "an opaque key got a tombstone");
    assert!(changes.iter().any(|c| matches!(&c.event, ChangeEvent::Revoked { revocation: Revocation::Principal { principal, before, .. } } if *principal == pid("alice") && *before == at(100))));
    assert!(
        matches!(&changes.last().unwrap().event, ChangeEvent::PrincipalDeleted { id } if *id == pid("alice"))
    );

    let snapshot = store.snapshot().await.unwrap();
    assert!(snapshot.principals.iter().all(|p| p.id != pid("alice")));
    assert!(snapshot.keys.iter().all(|k| k.owner() != &pid("alice")));
    // A principal of the same name can be created again, with keys of its own.
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 4, 200), unlimited()).await.unwrap();
}

/// Deleting a missing principal is `NotFound` and records nothing.
pub async fn principal_delete_missing<S: Store + ?Sized>(store: Arc<S>) {
    let head = store.head().await.unwrap();
    assert!(matches!(
        store.delete_principal(&pid("nobody"), at(1)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.head().await.unwrap(), head);
}

/// A key inserted is read back equal, secret digest included.
pub async fn key_insert_get<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let key = opaque("alice", 1, 0);
    store.insert_key(&key, Quota::new(10, at(0))).await.unwrap();
    assert_eq!(store.key(key_id(1)).await.unwrap(), key);
    let token_key = jwt("alice", 2, 0);
    store.insert_key(&token_key, Quota::new(10, at(0))).await.unwrap();
    assert_eq!(store.key(key_id(2)).await.unwrap(), token_key);
}

/// Inserting for a missing owner is `NotFound`, a duplicate id `AlreadyExists`; neither writes.
pub async fn key_insert_refusals<S: Store + ?Sized>(store: Arc<S>) {
    let head = store.head().await.unwrap();
    assert!(matches!(
        store.insert_key(&opaque("ghost", 1, 0), unlimited()).await,
        Err(StoreError::NotFound { kind: "principal", .. })
    ));
    assert_eq!(store.head().await.unwrap(), head);
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
    let head = store.head().await.unwrap();
    assert!(matches!(
        store.insert_key(&jwt("alice", 1, 5), unlimited()).await,
        Err(StoreError::AlreadyExists { kind: "key", .. })
    ));
    assert_eq!(store.head().await.unwrap(), head);
    assert_eq!(store.key(key_id(1)).await.unwrap().format(), KeyFormat::Opaque);
}

/// The quota counts live keys: revoked and expired keys free their slot, suspended keys do not.
pub async fn key_quota_counts_live_keys<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let quota = |now| Quota::new(2, at(now));
    store.insert_key(&opaque("alice", 1, 0), quota(0)).await.unwrap();
    store.insert_key(&opaque("alice", 2, 0), quota(0)).await.unwrap();
    let full = store.insert_key(&opaque("alice", 3, 0), quota(0)).await;
    assert!(matches!(full, Err(StoreError::QuotaExceeded { limit: 2, count: 2 })), "{full:?}");

    store
        .compare_and_set_state(
            key_id(1),
            &KeyState::Active,
            &KeyState::Suspended { at: at(1) },
            at(1),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            store.insert_key(&opaque("alice", 3, 1), quota(1)).await,
            Err(StoreError::QuotaExceeded { .. })
        ),
        "a suspended key freed its slot"
    );

    store
        .compare_and_set_state(key_id(1), &KeyState::Suspended { at: at(1) }, &revoked(2), at(2))
        .await
        .unwrap();
    store.insert_key(&opaque("alice", 3, 2), quota(2)).await.unwrap();

    // Keys 2 and 3 expire at 3600 and 3602; after that both slots are free.
    assert!(matches!(
        store.insert_key(&opaque("alice", 4, 3000), quota(3000)).await,
        Err(StoreError::QuotaExceeded { .. })
    ));
    store.insert_key(&opaque("alice", 4, 3700), quota(3700)).await.unwrap();
    store.insert_key(&opaque("alice", 5, 3700), quota(3700)).await.unwrap();
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
            store.insert_key(&opaque("alice", 100 + n, 0), Quota::new(QUOTA, at(0))).await
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
        store.insert_key(key, unlimited()).await.unwrap();
    }
    let suspended = store
        .compare_and_set_state(
            key_id(3),
            &KeyState::Active,
            &KeyState::Suspended { at: at(10) },
            at(10),
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
        store.insert_key(&opaque("alice", n, 0), unlimited()).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(7);
    let mut extra = 1;
    loop {
        let result = store.list_keys(&KeyFilter::all(), &page).await.unwrap();
        seen.extend(result.items.iter().map(KeyRecord::id));
        // Insert keys before and after the cursor between pages.
        store.insert_key(&opaque("alice", extra, 0), unlimited()).await.unwrap();
        store.insert_key(&opaque("alice", 1000 + extra, 0), unlimited()).await.unwrap();
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
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
    let head = store.head().await.unwrap();
    let updated = store
        .update_description(key_id(1), &"rotated in Q3".parse().unwrap(), at(5))
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
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
    let suspended = KeyState::Suspended { at: at(1) };
    let after =
        store.compare_and_set_state(key_id(1), &KeyState::Active, &suspended, at(1)).await.unwrap();
    assert_eq!(after.state(), &suspended);

    let head = store.head().await.unwrap();
    match store.compare_and_set_state(key_id(1), &KeyState::Active, &revoked(2), at(2)).await {
        Err(StoreError::Conflict { current: Some(current), .. }) => {
            assert_eq!(current.state(), &suspended)
        }
        other => panic!("expected a conflict with the current record, got {other:?}"),
    }
    assert_eq!(store.head().await.unwrap(), head, "a conflict recorded a change");

    store.compare_and_set_state(key_id(1), &suspended, &revoked(3), at(3)).await.unwrap();
    let resurrect =
        store.compare_and_set_state(key_id(1), &revoked(3), &KeyState::Active, at(4)).await;
    assert!(matches!(resurrect, Err(StoreError::Invalid(_))), "{resurrect:?}");
    assert!(store.key(key_id(1)).await.unwrap().state().is_revoked());
}

/// N tasks revoke the same key: exactly one transition happens, the rest see a conflict.
pub async fn key_concurrent_revokes<S: Store + ?Sized + 'static>(store: Arc<S>) {
    const TASKS: i64 = 16;
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
    let head = store.head().await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            store
                .compare_and_set_state(key_id(1), &KeyState::Active, &revoked(10 + n), at(10 + n))
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
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
    let shorter = store.shorten_expiry(key_id(1), Expiry::At(at(1800)), at(5)).await.unwrap();
    assert_eq!(shorter.expires(), Expiry::At(at(1800)));
    let head = store.head().await.unwrap();
    for later in [Expiry::At(at(1801)), Expiry::Never] {
        match store.shorten_expiry(key_id(1), later, at(6)).await {
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
    store.insert_key(&old, unlimited()).await.unwrap();
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
    let rotated =
        store.rotate_key(&replacement, Expiry::At(at(700)), Quota::new(2, at(100))).await.unwrap();
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
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
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
        .rotate_key(&replacement(2, Some(1)), Expiry::At(at(700)), Quota::new(1, at(100)))
        .await;
    assert!(matches!(over_quota, Err(StoreError::QuotaExceeded { .. })), "{over_quota:?}");
    let unnamed = store.rotate_key(&replacement(2, None), Expiry::At(at(700)), unlimited()).await;
    assert!(matches!(unnamed, Err(StoreError::Invalid(_))), "{unnamed:?}");
    let missing =
        store.rotate_key(&replacement(2, Some(77)), Expiry::At(at(700)), unlimited()).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
    assert_eq!(store.head().await.unwrap(), head);
    assert_eq!(
        store.key(key_id(1)).await.unwrap().expires(),
        Expiry::At(at(3600)),
        "a refused rotation shortened the old key"
    );
    assert!(store.key(key_id(2)).await.is_err());

    store.compare_and_set_state(key_id(1), &KeyState::Active, &revoked(50), at(50)).await.unwrap();
    let revoked_old =
        store.rotate_key(&replacement(2, Some(1)), Expiry::At(at(700)), unlimited()).await;
    assert!(matches!(revoked_old, Err(StoreError::Conflict { .. })), "{revoked_old:?}");
    assert!(store.key(key_id(2)).await.is_err());
}

/// Deleting a key removes it; a live JWT key leaves a tombstone, an expired one and an opaque one
/// do not.
pub async fn key_delete<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    for key in [opaque("alice", 1, 0), jwt("alice", 2, 0), jwt("alice", 3, 0)] {
        store.insert_key(&key, unlimited()).await.unwrap();
    }
    let head = store.head().await.unwrap();
    assert_eq!(store.delete_key(key_id(1), at(10)).await.unwrap().id(), key_id(1));
    store.delete_key(key_id(2), at(10)).await.unwrap();
    store.delete_key(key_id(3), at(4000)).await.unwrap(); // already expired
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
        store.update_description(id, &Description::empty(), at(1)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.compare_and_set_state(id, &KeyState::Active, &revoked(1), at(1)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.shorten_expiry(id, Expiry::At(at(1)), at(1)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(store.delete_key(id, at(1)).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.head().await.unwrap(), head);
}

/// Every mutation appends exactly one change (deletions: theirs and their tombstones), with
/// strictly increasing sequence numbers, and the head follows.
pub async fn feed_records_every_mutation<S: Store + ?Sized>(store: Arc<S>) {
    assert_eq!(store.head().await.unwrap(), Seq::ZERO);
    assert!(store.changes_since(Seq::ZERO, 10).await.unwrap().is_empty());
    let mut expected = Vec::new();
    store.create_principal(&principal("alice")).await.unwrap();
    expected.push("principal_created");
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
    expected.push("key_created");
    store.update_description(key_id(1), &"x".parse().unwrap(), at(1)).await.unwrap();
    expected.push("key_updated");
    store
        .compare_and_set_state(
            key_id(1),
            &KeyState::Active,
            &KeyState::Suspended { at: at(2) },
            at(2),
        )
        .await
        .unwrap();
    expected.push("key_updated");
    store.shorten_expiry(key_id(1), Expiry::At(at(100)), at(3)).await.unwrap();
    expected.push("key_updated");
    store
        .add_revocation(&Revocation::jti("external-1", Expiry::Never).unwrap(), at(4))
        .await
        .unwrap();
    expected.push("revoked");
    store.delete_key(key_id(1), at(5)).await.unwrap();
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
    store.insert_key(&opaque("alice", 1, 0), Quota::new(1, at(0))).await.unwrap();
    let head = store.head().await.unwrap();
    let _ = store.create_principal(&principal("alice")).await;
    let _ = store.insert_key(&opaque("alice", 2, 0), Quota::new(1, at(0))).await;
    let _ = store.insert_key(&opaque("nobody", 3, 0), unlimited()).await;
    let _ = store
        .compare_and_set_state(key_id(1), &KeyState::Suspended { at: at(0) }, &revoked(1), at(1))
        .await;
    let _ = store.shorten_expiry(key_id(1), Expiry::Never, at(1)).await;
    let _ = store.delete_principal(&pid("nobody"), at(1)).await;
    let _ = store.remove_signing_key(&"none".parse().unwrap(), at(1)).await;
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
            store.create_principal(&principal(&name)).await.unwrap();
            for k in 0..KEYS {
                let n = w * 1000 + k;
                store.insert_key(&opaque(&name, n, 0), unlimited()).await.unwrap();
                match k % 5 {
                    1 => {
                        store
                            .update_description(key_id(n), &format!("d{k}").parse().unwrap(), at(1))
                            .await
                            .unwrap();
                    }
                    2 => {
                        store
                            .compare_and_set_state(key_id(n), &KeyState::Active, &revoked(2), at(2))
                            .await
                            .unwrap();
                    }
                    3 => {
                        store.delete_key(key_id(n), at(3)).await.unwrap();
                    }
                    _ => {}
                }
                tokio::task::yield_now().await;
            }
            if w == 0 {
                store.delete_principal(&pid(&name), at(4)).await.unwrap();
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
    store.insert_key(&opaque("alice", 1, 0), unlimited()).await.unwrap();
    store.insert_key(&jwt("alice", 2, 0), unlimited()).await.unwrap();
    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(snapshot.seq, store.head().await.unwrap());
    assert_eq!(snapshot.keys.len(), 2);
    store.delete_key(key_id(2), at(5)).await.unwrap();
    store.insert_key(&opaque("alice", 3, 6), unlimited()).await.unwrap();

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

/// Compaction drops old changes, and a reader behind it is told to bootstrap again.
pub async fn feed_compaction<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    for n in 0..10 {
        store.insert_key(&opaque("alice", n, 0), unlimited()).await.unwrap();
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
    store.insert_key(&opaque("alice", 99, 0), unlimited()).await.unwrap();
    assert_eq!(store.changes_since(head, 10).await.unwrap().len(), 1);
    // The snapshot still has everything.
    assert_eq!(store.snapshot().await.unwrap().keys.len(), 11);
}

/// Revocations are recorded, appear in the feed and the snapshot, and are pruned once what they
/// revoke has expired.
pub async fn revocations<S: Store + ?Sized>(store: Arc<S>) {
    let live = Revocation::Token { digest: TokenDigest([7; 32]), expires: Expiry::At(at(1000)) };
    let forever =
        Revocation::SigningKey { kid: "compromised".parse().unwrap(), expires: Expiry::Never };
    let seq = store.add_revocation(&live, at(1)).await.unwrap();
    store.add_revocation(&forever, at(2)).await.unwrap();
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

/// Signing keys: one active at a time, promotion in one step, private halves only as stored,
/// and the active key cannot be removed.
pub async fn signing_keys<S: Store + ?Sized>(store: Arc<S>) {
    let record = |kid: &str, status| {
        SigningKeyRecord::new(
            kid.parse().unwrap(),
            SigningAlgorithm::EdDSA,
            status,
            at(0),
            VerificationMaterial::PublicKey(vec![1, 2, 3]),
        )
    };
    let private = SecretBytes::new(vec![9; 48]);
    store
        .add_signing_key(&record("k1", SigningKeyStatus::Active), Some(&private), at(0))
        .await
        .unwrap();
    let second = store.add_signing_key(&record("k2", SigningKeyStatus::Active), None, at(1)).await;
    assert!(matches!(second, Err(StoreError::Conflict { .. })), "{second:?}");
    store.add_signing_key(&record("k2", SigningKeyStatus::Verifying), None, at(1)).await.unwrap();
    assert!(matches!(
        store.add_signing_key(&record("k2", SigningKeyStatus::Verifying), None, at(1)).await,
        Err(StoreError::AlreadyExists { .. })
    ));

    assert_eq!(store.signing_key_private(&"k1".parse().unwrap()).await.unwrap(), private);
    assert!(matches!(
        store.signing_key_private(&"k2".parse().unwrap()).await,
        Err(StoreError::NotFound { .. })
    ));

    let head = store.head().await.unwrap();
    store.promote_signing_key(&"k2".parse().unwrap(), at(2)).await.unwrap();
    let statuses: Vec<(String, SigningKeyStatus)> = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid.to_string(), k.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("k1".to_owned(), SigningKeyStatus::Verifying),
            ("k2".to_owned(), SigningKeyStatus::Active)
        ]
    );
    assert_eq!(store.changes_since(head, 10).await.unwrap().len(), 2);

    assert!(matches!(
        store.remove_signing_key(&"k2".parse().unwrap(), at(3)).await,
        Err(StoreError::Conflict { .. })
    ));
    store.remove_signing_key(&"k1".parse().unwrap(), at(3)).await.unwrap();
    assert_eq!(store.signing_keys().await.unwrap().len(), 1);
    assert!(matches!(
        store.promote_signing_key(&"k1".parse().unwrap(), at(4)).await,
        Err(StoreError::NotFound { .. })
    ));
    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(snapshot.signing_keys.len(), 1);
}

/// Generates one `#[test]` per conformance case, each on a fresh store from `$factory`, an async
/// function (or closure returning a future) that returns a [`Fixture`]: `Arc<S>` for some
/// `S: Store`, or one of the forms that [`Fixture`] lists.
///
/// The tests run on a multi-threaded tokio runtime that this crate provides; the calling crate
/// needs no tokio dependency of its own.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            principal_create_get, principal_create_twice, principal_missing, principal_list_pages,
            principal_delete_cascades, principal_delete_missing, key_insert_get, key_insert_refusals,
            key_quota_counts_live_keys, key_quota_under_concurrent_inserts, key_list_filters,
            key_list_pages_stable_under_inserts, key_update_description, key_compare_and_set,
            key_concurrent_revokes, key_shorten_expiry, key_rotate, key_rotate_refusals, key_delete,
            key_missing, feed_records_every_mutation, feed_failed_mutations_record_nothing,
            feed_tailing_reader_under_concurrent_writers, feed_snapshot_is_consistent, feed_compaction,
            revocations, signing_keys
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            $crate::__private::tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(async {
                    let fixture = ($factory)().await;
                    if let Some(store) = $crate::conformance::Fixture::store(&fixture) {
                        $crate::conformance::$case(store).await;
                    }
                    drop(fixture);
                });
        }
    )*};
}
