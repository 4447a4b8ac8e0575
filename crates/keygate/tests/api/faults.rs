//! With a store that fails on purpose: manager operations happen wholly or not at all, and a
//! replica that hits errors retries and converges.

use std::sync::Arc;

use keygate::core::{Description, KeyFormat, Scope, Span};
use keygate::store::{
    ChangeEvent, ChangeFeed, FaultyStore, InMemoryStore, KeyFilter, KeyStore, PageRequest,
    PrincipalStore, Store, When,
};
use keygate::{AuthConfig, KeyManager, NewKey, NewPrincipal, Replica};
use keygate_testkit::SeededRandom;

use super::support::{World, actor};

async fn all_keys(store: &dyn Store) -> Vec<keygate::core::KeyRecord> {
    store.list_keys(&KeyFilter::all(), &PageRequest::first(10_000)).await.unwrap().items
}

#[tokio::test]
async fn every_operation_happens_wholly_or_not_at_all() {
    for when in [When::Before, When::After] {
        let inner = Arc::new(InMemoryStore::new());
        let faulty = Arc::new(FaultyStore::new(Arc::clone(&inner)));
        faulty.fail_randomly(35, when, 0xfeed);
        let world = World::with_store(faulty.clone(), AuthConfig::default());
        let manager = KeyManager::new(faulty.clone())
            .with_clock(world.clock.clone())
            .with_random(Arc::new(SeededRandom::new(3)));

        for round in 0..60u64 {
            let owner = format!("p{}", round % 4);
            let _ = manager
                .create_principal(&actor(), NewPrincipal::service_account(owner.parse().unwrap()))
                .await;
            let _ = manager
                .create_key(&actor(), NewKey::new(owner.parse().unwrap(), Scope::Global))
                .await;
            let keys = all_keys(&*inner).await;
            if let Some(key) = keys.get(round as usize % keys.len().max(1)) {
                let before = key.clone();
                match round % 5 {
                    0 => {
                        let head = inner.head().await.unwrap();
                        let _ = manager.rotate(&actor(), key.id(), Some(Span::minutes(5))).await;
                        // Wholly or not at all: the feed holds both of a rotation's changes or neither.
                        let changes = inner.changes_since(head, 100).await.unwrap();
                        let created = changes.iter().filter(|c| matches!(&c.event, ChangeEvent::KeyCreated { key } if key.replaces() == Some(before.id()))).count();
                        let cut = changes.iter().filter(|c| matches!(&c.event, ChangeEvent::KeyUpdated { key } if key.id() == before.id())).count();
                        assert_eq!(
                            created,
                            cut,
                            "rotation of {} half done ({when:?})",
                            before.id()
                        );
                        assert!(created <= 1);
                    }
                    1 => {
                        let _ = manager.revoke(&actor(), key.id(), Description::empty()).await;
                    }
                    2 => {
                        let _ = manager.suspend(&actor(), key.id()).await;
                    }
                    3 => {
                        let _ = manager.delete_principal(&actor(), &owner.parse().unwrap()).await;
                        if inner.principal(&owner.parse().unwrap()).await.is_err() {
                            assert!(
                                all_keys(&*inner).await.iter().all(|k| k.owner().as_str() != owner),
                                "orphan keys ({when:?})"
                            );
                        }
                    }
                    _ => {
                        let _ = manager
                            .update_description(&actor(), key.id(), "d".parse().unwrap())
                            .await;
                    }
                }
            }
            world.clock.advance(Span::minutes(1));
        }
        assert!(faulty.injected() > 10, "the test injected only {} faults", faulty.injected());
        // Every key left has an owner, and the feed replays to what the store holds.
        let snapshot = inner.snapshot().await.unwrap();
        for key in &snapshot.keys {
            assert!(snapshot.principals.iter().any(|p| &p.id == key.owner()));
        }
    }
}

#[tokio::test]
async fn a_replica_that_hits_errors_retries_and_converges() {
    let inner = Arc::new(InMemoryStore::new());
    let faulty = FaultyStore::new(Arc::clone(&inner));
    faulty.fail_randomly(50, When::Before, 11);
    let world = World::with_store(inner.clone(), AuthConfig::default());
    let mut replica = Replica::new(world.authenticator.clone(), world.clock.clone());
    world.service_account("svc").await;
    world.signing_key().await;

    let mut issued = Vec::new();
    let mut failures = 0;
    for round in 0..40 {
        let format = if round % 2 == 0 { KeyFormat::Opaque } else { KeyFormat::Jwt };
        if issued.len() < 9 {
            issued.push(world.key("svc", "global", format).await);
        }
        if round % 7 == 3 {
            let victim = &issued[round % issued.len()];
            world.manager.revoke(&actor(), victim.record.id(), Description::empty()).await.unwrap();
        }
        if replica.sync_once(&faulty).await.is_err() {
            failures += 1;
        }
    }
    assert!(failures > 0, "no sync failed; the test did not test retries");
    faulty.heal();
    replica.sync_once(&faulty).await.unwrap();

    let head = inner.head().await.unwrap();
    assert_eq!(world.authenticator.version().seq, head, "the replica did not catch up");
    for key in &issued {
        let record = inner.key(key.record.id()).await.unwrap();
        assert_eq!(
            world.auth(key, "cloud/api", None).is_ok(),
            record.is_usable_at(keygate::core::Clock::now(&*world.clock)),
            "{}",
            key.record.id()
        );
    }
}

#[tokio::test]
async fn a_compacted_feed_makes_the_replica_bootstrap_again() {
    let mut world = World::new();
    world.service_account("svc").await;
    let first = world.key("svc", "global", KeyFormat::Opaque).await;
    world.sync().await;
    let second = world.key("svc", "global", KeyFormat::Opaque).await;
    world.manager.revoke(&actor(), first.record.id(), Description::empty()).await.unwrap();
    let head = world.store.head().await.unwrap();
    world.store.compact(head).await.unwrap();
    let report = world.sync().await;
    assert!(report.bootstrapped);
    assert!(world.auth(&first, "cloud/api", None).is_err());
    world.auth(&second, "cloud/api", None).unwrap();
}
