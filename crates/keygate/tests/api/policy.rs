//! The policy in the store binds every manager over it; keys fall due under its rotation
//! period; a resource's deletion revokes its keys.

use std::sync::Arc;

use keygate::core::{KeyPolicy, ManualClock, Scope, Span};
use keygate::store::{InMemoryStore, Store};
use keygate::{Actor, KeyManager, ManagerError, NewKey, NewPrincipal};
use keygate_testkit::T0;

#[tokio::test]
async fn the_stored_policy_binds_every_manager_and_sets_when_keys_fall_due() {
    let store: Arc<dyn Store> = Arc::new(InMemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let actor = Actor::new("test:policy").unwrap();
    // Two writers over one store, each with a lax default of its own.
    let lax = KeyPolicy::default().with_max_keys_per_principal(100);
    let first =
        KeyManager::new(Arc::clone(&store)).with_clock(clock.clone()).with_policy(lax.clone());
    let second = KeyManager::new(Arc::clone(&store)).with_clock(clock.clone()).with_policy(lax);
    let orders = "orders".parse().unwrap();
    first.create_principal(&actor, NewPrincipal::service_account(orders)).await.unwrap();
    let new_key = || NewKey::new("orders".parse().unwrap(), Scope::Global);

    let strict = KeyPolicy::default()
        .with_max_keys_per_principal(3)
        .with_rotation_period(Some(Span::days(30)));
    first.set_policy(&actor, strict.clone()).await.unwrap();
    assert_eq!(second.policy_in_force().await.unwrap(), strict);
    let older = second.create_key(&actor, new_key()).await.unwrap();
    clock.advance(Span::days(10));
    let newer = second.create_key(&actor, new_key()).await.unwrap();
    let third = second.create_key(&actor, new_key()).await.unwrap();
    second.revoke(&actor, third.record.id(), "not needed".parse().unwrap()).await.unwrap();
    let fourth = second.create_key(&actor, new_key()).await.unwrap();
    let over = second.create_key(&actor, new_key()).await;
    assert!(matches!(over, Err(ManagerError::Store(_))), "{over:?}");
    // Room for the rotation's replacement below.
    second.revoke(&actor, fourth.record.id(), "room to rotate".parse().unwrap()).await.unwrap();

    assert!(second.due_keys().await.unwrap().is_empty());
    clock.advance(Span::days(25));
    let due: Vec<_> = first.due_keys().await.unwrap().iter().map(|k| k.id()).collect();
    assert_eq!(due, [older.record.id()]);
    clock.advance(Span::days(10));
    let due: Vec<_> = first.due_keys().await.unwrap().iter().map(|k| k.id()).collect();
    assert_eq!(due, [older.record.id(), newer.record.id()], "the longest overdue first");
    // A replaced key is not due any more.
    first.rotate(&actor, older.record.id(), None).await.unwrap();
    let due: Vec<_> = first.due_keys().await.unwrap().iter().map(|k| k.id()).collect();
    assert_eq!(due, [newer.record.id()]);
}

#[tokio::test]
async fn authentications_are_noted_per_key_and_survive_a_key_update() {
    use keygate::core::{KeyFormat, ResourceRef};
    use keygate::{AuthConfig, AuthContext, Authenticator, Credential, Replica};

    let store: Arc<dyn Store> = Arc::new(InMemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let actor = Actor::new("test:uses").unwrap();
    let manager = KeyManager::new(Arc::clone(&store)).with_clock(clock.clone());
    let orders = "orders".parse().unwrap();
    manager.create_principal(&actor, NewPrincipal::service_account(orders)).await.unwrap();
    let new_key = || NewKey::new("orders".parse().unwrap(), Scope::Global);
    let used = manager.create_key(&actor, new_key().with_format(KeyFormat::Opaque)).await.unwrap();
    manager.create_key(&actor, new_key()).await.unwrap(); // never used
    let authenticator = Authenticator::new(AuthConfig::default());
    let mut replica = Replica::new(authenticator.clone(), clock.clone());
    replica.sync_once(&*store).await.unwrap();
    assert!(authenticator.key_uses_since(T0.saturating_sub(Span::days(1))).is_empty());

    clock.advance(Span::minutes(5));
    replica.sync_once(&*store).await.unwrap();
    let resource: ResourceRef = "kafka-cluster/lkc-1".parse().unwrap();
    let context = AuthContext::new(&resource, keygate::core::Clock::now(&*clock));
    authenticator.authenticate(&Credential::ApiKey(used.secret.expose()), &context).unwrap();
    let noted = authenticator.key_uses_since(T0);
    assert_eq!(noted, [(used.record.id(), T0.saturating_add(Span::minutes(5)))]);
    assert!(authenticator.key_uses_since(T0.saturating_add(Span::minutes(5))).is_empty());

    // A change to the key re-indexes it; its last use stays.
    manager.update_description(&actor, used.record.id(), "renamed".parse().unwrap()).await.unwrap();
    replica.sync_once(&*store).await.unwrap();
    assert_eq!(authenticator.key_uses_since(T0), noted);
}
