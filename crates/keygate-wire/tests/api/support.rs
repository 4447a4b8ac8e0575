//! A key manager and a synced authenticator over an in-memory store, at a fixed instant.

use std::sync::Arc;

use keygate::core::{KeyFormat, ManualClock, ResourceRef, Scope, SigningAlgorithm};
use keygate::store::InMemoryStore;
use keygate::token::MasterKey;
use keygate::{
    Actor, AuthConfig, AuthContext, AuthError, Authenticator, Credential, Identity, IssuedKey,
    KeyManager, NewKey, NewPrincipal, Replica,
};
use keygate_testkit::{SeededRandom, T0};

pub(crate) struct World {
    pub(crate) manager: KeyManager,
    pub(crate) authenticator: Authenticator,
    replica: Replica,
    store: Arc<InMemoryStore>,
}

impl World {
    pub(crate) async fn new() -> World {
        World::with_config(AuthConfig::default()).await
    }

    /// A world whose authenticator is configured with `config`.
    pub(crate) async fn with_config(config: AuthConfig) -> World {
        let store = Arc::new(InMemoryStore::new());
        let clock = Arc::new(ManualClock::new(T0));
        let manager = KeyManager::new(store.clone())
            .with_clock(clock.clone())
            .with_random(Arc::new(SeededRandom::new(11)))
            .with_master_key(Arc::new(MasterKey::generate().unwrap()));
        let actor = Actor::new("test").unwrap();
        for name in ["orders", "billing"] {
            manager
                .create_principal(&actor, NewPrincipal::service_account(name.parse().unwrap()))
                .await
                .unwrap();
        }
        manager.create_signing_key(&actor, SigningAlgorithm::EdDSA, None).await.unwrap();
        let authenticator = Authenticator::new(config);
        let mut replica = Replica::new(authenticator.clone(), clock);
        replica.sync_once(&*store).await.unwrap();
        World { manager, authenticator, replica, store }
    }

    /// A key of `orders` on `kafka-cluster/lkc-1`, synced to the authenticator.
    pub(crate) async fn key(&mut self, format: KeyFormat) -> IssuedKey {
        self.key_of("orders", format).await
    }

    /// A key of `owner` on `kafka-cluster/lkc-1`, synced to the authenticator.
    pub(crate) async fn key_of(&mut self, owner: &str, format: KeyFormat) -> IssuedKey {
        let scope = Scope::Resource("kafka-cluster/lkc-1".parse().unwrap());
        let key = self
            .manager
            .create_key(
                &Actor::new("test").unwrap(),
                NewKey::new(owner.parse().unwrap(), scope).with_format(format),
            )
            .await
            .unwrap();
        self.replica.sync_once(&*self.store).await.unwrap();
        key
    }

    /// Brings the authenticator up to date with the store.
    pub(crate) async fn sync(&mut self) {
        self.replica.sync_once(&*self.store).await.unwrap();
    }

    pub(crate) fn authenticate(&self, credential: &Credential<'_>) -> Result<Identity, AuthError> {
        let resource: ResourceRef = "kafka-cluster/lkc-1".parse().unwrap();
        self.authenticator.authenticate(credential, &AuthContext::new(&resource, T0))
    }
}
