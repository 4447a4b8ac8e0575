//! Secret custody: private signing keys reach the store sealed under the master key, the data
//! plane verifies with public material alone, and every change's audit event is in the store's
//! log, committed with it.

use std::sync::Arc;

use keygate::core::{KeyFormat, ManualClock, ResourceRef, Scope, SigningAlgorithm};
use keygate::store::{
    AuditLog, AuditQuery, InMemoryStore, SigningKeyStore, Store, VerificationMaterial,
};
use keygate::token::{MasterKey, SealError};
use keygate::{
    Actor, AuditAction, AuditEvent, AuthConfig, AuthContext, AuthError, Authenticator, Credential,
    IssuedKey, KeyManager, ManagerError, NewKey, NewPrincipal, Replica,
};
use keygate_testkit::T0;

fn actor() -> Actor {
    Actor::new("test:custody").unwrap()
}

fn manager(store: &Arc<InMemoryStore>, master_key: Option<&Arc<MasterKey>>) -> KeyManager {
    let manager =
        KeyManager::new(store.clone() as Arc<dyn Store>).with_clock(Arc::new(ManualClock::new(T0)));
    match master_key {
        Some(key) => manager.with_master_key(Arc::clone(key)),
        None => manager,
    }
}

async fn with_orders(manager: &KeyManager) {
    let orders = NewPrincipal::service_account("orders".parse().unwrap());
    manager.create_principal(&actor(), orders).await.unwrap();
}

fn new_key(format: KeyFormat) -> NewKey {
    NewKey::new("orders".parse().unwrap(), Scope::Global).with_format(format)
}

/// Authenticates `issued` with an authenticator synced from `store` under `config`.
async fn authenticate(
    store: &Arc<InMemoryStore>,
    config: AuthConfig,
    issued: &IssuedKey,
) -> Result<(), AuthError> {
    let clock = Arc::new(ManualClock::new(T0));
    let authenticator = Authenticator::new(config);
    Replica::new(authenticator.clone(), clock).sync_once(&**store).await.unwrap();
    let resource: ResourceRef = "kafka-cluster/lkc-1".parse().unwrap();
    let credential = match issued.record.format() {
        KeyFormat::Jwt => Credential::Bearer(issued.secret.expose()),
        _ => Credential::ApiKey(issued.secret.expose()),
    };
    authenticator.authenticate(&credential, &AuthContext::new(&resource, T0)).map(drop)
}

#[tokio::test]
async fn private_signing_keys_reach_the_store_sealed_and_mint_only_with_the_master_key() {
    let store = Arc::new(InMemoryStore::new());
    let master_key = Arc::new(MasterKey::generate().unwrap());
    let with_key = manager(&store, Some(&master_key));
    with_orders(&with_key).await;

    let without = manager(&store, None);
    let refused = without.create_signing_key(&actor(), SigningAlgorithm::EdDSA, None).await;
    assert!(matches!(refused, Err(ManagerError::NoMasterKey)), "{refused:?}");
    assert!(store.signing_keys().await.unwrap().is_empty(), "a refused key was stored");

    let record =
        with_key.create_signing_key(&actor(), SigningAlgorithm::EdDSA, None).await.unwrap();
    let sealed = store.signing_key_private(&record.kid).await.unwrap();
    let opened = master_key.open(record.kid.as_str().as_bytes(), sealed.as_bytes()).unwrap();
    assert!(
        !sealed.as_bytes().windows(opened.len()).any(|window| window == &opened[..]),
        "the stored private key is not sealed"
    );

    // Minting needs the master key; opaque keys never do.
    let minted = without.create_key(&actor(), new_key(KeyFormat::Jwt)).await;
    assert!(matches!(minted, Err(ManagerError::NoMasterKey)), "{minted:?}");
    without.create_key(&actor(), new_key(KeyFormat::Opaque)).await.unwrap();
    let other = Arc::new(MasterKey::generate().unwrap());
    let wrong = manager(&store, Some(&other)).create_key(&actor(), new_key(KeyFormat::Jwt)).await;
    match wrong {
        Err(ManagerError::Sealed {
            kid,
            source: SealError::WrongMasterKey { sealed_with, given },
        }) => {
            assert_eq!(kid, record.kid);
            assert_eq!(sealed_with, master_key.fingerprint());
            assert_eq!(given, other.fingerprint());
        }
        other => panic!("{other:?}"),
    }
    with_key.create_key(&actor(), new_key(KeyFormat::Jwt)).await.unwrap();
}

#[tokio::test]
async fn an_authenticator_without_the_master_key_verifies_opaque_and_asymmetric_jwt_keys() {
    let store = Arc::new(InMemoryStore::new());
    let master_key = Arc::new(MasterKey::generate().unwrap());
    let manager = manager(&store, Some(&master_key));
    with_orders(&manager).await;
    manager.create_signing_key(&actor(), SigningAlgorithm::EdDSA, None).await.unwrap();
    let opaque = manager.create_key(&actor(), new_key(KeyFormat::Opaque)).await.unwrap();
    let eddsa = manager.create_key(&actor(), new_key(KeyFormat::Jwt)).await.unwrap();

    // An HMAC signing key's secret travels sealed: without the master key its tokens are
    // refused, and everything else still verifies.
    let hmac = manager.create_signing_key(&actor(), SigningAlgorithm::HS256, None).await.unwrap();
    assert!(matches!(hmac.verification, VerificationMaterial::SealedSecret(_)));
    manager.promote_signing_key(&actor(), &hmac.kid).await.unwrap();
    let hs256 = manager.create_key(&actor(), new_key(KeyFormat::Jwt)).await.unwrap();

    let broker = AuthConfig::default();
    authenticate(&store, broker.clone(), &opaque).await.unwrap();
    authenticate(&store, broker.clone(), &eddsa).await.unwrap();
    let refused = authenticate(&store, broker, &hs256).await;
    assert!(matches!(refused, Err(AuthError::UnknownSigningKey)), "{refused:?}");

    let trusted = AuthConfig::default().with_master_key(Arc::clone(&master_key));
    authenticate(&store, trusted.clone(), &hs256).await.unwrap();
    authenticate(&store, trusted, &eddsa).await.unwrap();
}

#[tokio::test]
async fn every_change_is_in_the_store_audit_log_filed_under_its_principal_and_keys() {
    let store = Arc::new(InMemoryStore::new());
    let master_key = Arc::new(MasterKey::generate().unwrap());
    let manager = manager(&store, Some(&master_key));
    with_orders(&manager).await;
    manager.create_signing_key(&actor(), SigningAlgorithm::EdDSA, None).await.unwrap();
    let key = manager.create_key(&actor(), new_key(KeyFormat::Opaque)).await.unwrap();
    let id = key.record.id();
    manager.suspend(&actor(), id).await.unwrap();
    manager.resume(&actor(), id).await.unwrap();
    let rotated = manager.rotate(&actor(), id, None).await.unwrap();
    manager.revoke(&actor(), rotated.new.record.id(), "done".parse().unwrap()).await.unwrap();
    manager.delete_principal(&actor(), &"orders".parse().unwrap()).await.unwrap();

    let entries = store.audit_log(&AuditQuery::default()).await.unwrap();
    let events: Vec<AuditEvent> =
        entries.iter().map(|entry| serde_json::from_str(&entry.record.event).unwrap()).collect();
    let names: Vec<String> = events
        .iter()
        .map(|event| serde_json::to_value(&event.action).unwrap()["action"].to_string())
        .collect();
    assert_eq!(
        names,
        [
            "\"principal_created\"",
            "\"signing_key_created\"",
            "\"key_created\"",
            "\"key_suspended\"",
            "\"key_resumed\"",
            "\"key_rotated\"",
            "\"key_revoked\"",
            "\"principal_deleted\""
        ]
    );
    assert!(events.iter().all(|event| event.actor == actor()));
    // A suspension names only the key; the log files it under the key's owner too.
    let orders = AuditQuery::default().about_principal("orders".parse().unwrap());
    assert_eq!(store.audit_log(&orders).await.unwrap().len(), 7);
    let about_key = store.audit_log(&AuditQuery::default().about_key(id)).await.unwrap();
    assert_eq!(about_key.len(), 5, "created, suspended, resumed, rotated, deleted with its owner");
    assert!(matches!(events[7].action, AuditAction::PrincipalDeleted { keys_deleted: 2, .. }));
}

/// A signing key sealed under another master key (as a wrong `--master-key` once left) does not
/// stop the replica: it is named in the sync's report and left out, the keys it signed are
/// refused, and everything else (other keys, later revocations) keeps reaching the broker.
#[tokio::test]
async fn a_signing_key_the_replica_cannot_open_is_reported_and_skipped_not_fatal() {
    let store = Arc::new(InMemoryStore::new());
    let master_key = Arc::new(MasterKey::generate().unwrap());
    let manager = manager(&store, Some(&master_key));
    with_orders(&manager).await;
    let good = manager.create_signing_key(&actor(), SigningAlgorithm::HS256, None).await.unwrap();
    let hs256 = manager.create_key(&actor(), new_key(KeyFormat::Jwt)).await.unwrap();
    let opaque = manager.create_key(&actor(), new_key(KeyFormat::Opaque)).await.unwrap();
    let wrong = Arc::new(MasterKey::generate().unwrap());
    let stray = super::custody::manager(&store, Some(&wrong))
        .create_signing_key(&actor(), SigningAlgorithm::HS256, None)
        .await
        .unwrap();

    let config = AuthConfig::default().with_master_key(Arc::clone(&master_key));
    let authenticator = Authenticator::new(config);
    let mut replica = Replica::new(authenticator.clone(), Arc::new(ManualClock::new(T0)));
    let report = replica.sync_once(&*store).await.expect("one bad signing key fails the sync");
    let unusable: Vec<_> = report.unusable_signing_keys.iter().map(|(kid, _)| kid).collect();
    assert_eq!(unusable, [&stray.kid]);
    assert!(report.unusable_signing_keys[0].1.contains("sealed under master key"), "{report:?}");

    let resource: ResourceRef = "kafka-cluster/lkc-1".parse().unwrap();
    let context = AuthContext::new(&resource, T0);
    authenticator.authenticate(&Credential::Bearer(hs256.secret.expose()), &context).unwrap();
    // A revocation after it still arrives.
    manager.revoke(&actor(), opaque.record.id(), "leaked".parse().unwrap()).await.unwrap();
    replica.sync_once(&*store).await.unwrap();
    let refused = authenticator.authenticate(&Credential::ApiKey(opaque.secret.expose()), &context);
    assert!(matches!(refused, Err(AuthError::Revoked(_))), "{refused:?}");
    assert_ne!(good.kid, stray.kid);
}
