//! A world to test in: a manual clock, a store, a key manager, and a broker's authenticator
//! with its replica.

use std::sync::Arc;

use keygate::core::{
    Clock, KeyFormat, ManualClock, Permission, ResourceRef, Scope, SigningAlgorithm, Span,
};
use keygate::store::{InMemoryStore, Store};
use keygate::token::MasterKey;
use keygate::{
    Actor, AuthConfig, AuthContext, AuthError, Authenticator, Credential, Identity, IssuedKey,
    KeyManager, MemoryAudit, NewKey, NewPrincipal, Replica, SyncReport,
};
use keygate_testkit::{SeededRandom, T0};

pub(crate) struct World {
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) manager: KeyManager,
    pub(crate) audit: Arc<MemoryAudit>,
    pub(crate) authenticator: Authenticator,
    pub(crate) replica: Replica,
}

pub(crate) fn actor() -> Actor {
    Actor::new("test:operator").unwrap()
}

pub(crate) fn resource(text: &str) -> ResourceRef {
    text.parse().unwrap()
}

impl World {
    pub(crate) fn new() -> World {
        World::with_store(Arc::new(InMemoryStore::new()), AuthConfig::default())
    }

    pub(crate) fn with_store(store: Arc<dyn Store>, config: AuthConfig) -> World {
        let clock = Arc::new(ManualClock::new(T0));
        let audit = Arc::new(MemoryAudit::new());
        let manager = KeyManager::new(Arc::clone(&store))
            .with_clock(clock.clone())
            .with_random(Arc::new(SeededRandom::new(7)))
            .with_audit(audit.clone())
            .with_master_key(Arc::new(MasterKey::generate().unwrap()));
        let authenticator = Authenticator::new(config);
        let replica = Replica::new(authenticator.clone(), clock.clone());
        World { clock, store, manager, audit, authenticator, replica }
    }

    pub(crate) async fn sync(&mut self) -> SyncReport {
        self.replica.sync_once(&*self.store).await.unwrap()
    }

    pub(crate) async fn service_account(&self, name: &str) {
        self.manager
            .create_principal(&actor(), NewPrincipal::service_account(name.parse().unwrap()))
            .await
            .unwrap();
    }

    pub(crate) async fn signing_key(&self) {
        self.manager.create_signing_key(&actor(), SigningAlgorithm::EdDSA, None).await.unwrap();
    }

    pub(crate) async fn key(&self, owner: &str, scope: &str, format: KeyFormat) -> IssuedKey {
        let scope: Scope = scope.parse().unwrap();
        self.manager
            .create_key(&actor(), NewKey::new(owner.parse().unwrap(), scope).with_format(format))
            .await
            .unwrap()
    }

    /// Authenticates `issued` the way its format is presented, at `resource`, now.
    pub(crate) fn auth(
        &self,
        issued: &IssuedKey,
        resource: &str,
        permission: Option<&Permission>,
    ) -> Result<Identity, AuthError> {
        let resource: ResourceRef = resource.parse().unwrap();
        let mut context = AuthContext::new(&resource, self.clock.now());
        if let Some(permission) = permission {
            context = context.with_permission(permission);
        }
        let credential = match issued.record.format() {
            KeyFormat::Jwt => Credential::Bearer(issued.secret.expose()),
            _ => Credential::ApiKey(issued.secret.expose()),
        };
        self.authenticator.authenticate(&credential, &context)
    }

    pub(crate) fn advance(&self, span: Span) {
        self.clock.advance(span);
    }
}
