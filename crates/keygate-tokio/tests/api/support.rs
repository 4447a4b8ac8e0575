//! A store with one service account, and a server over it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use keygate::core::{ResourceRef, Scope};
use keygate::store::InMemoryStore;
use keygate::{Actor, Credential, IssuedKey, KeyManager, NewKey, NewPrincipal};
use keygate_tokio::{Connection, Limits, Server, ServerConfig};

pub(crate) const CLUSTER: &str = "kafka-cluster/lkc-tokio";

/// Where test connections come from.
pub(crate) const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub(crate) struct World {
    pub(crate) store: Arc<InMemoryStore>,
    pub(crate) manager: KeyManager,
    pub(crate) operator: Actor,
}

impl World {
    pub(crate) async fn new() -> World {
        let store = Arc::new(InMemoryStore::new());
        let manager = KeyManager::new(store.clone());
        let operator = Actor::new("test:operator").unwrap();
        manager
            .create_principal(&operator, NewPrincipal::service_account("orders".parse().unwrap()))
            .await
            .unwrap();
        World { store, manager, operator }
    }

    pub(crate) async fn key(&self) -> IssuedKey {
        let scope = Scope::Resource(CLUSTER.parse().unwrap());
        let new = NewKey::new("orders".parse().unwrap(), scope);
        self.manager.create_key(&self.operator, new).await.unwrap()
    }

    /// A server syncing every 20 ms, with `limits`.
    pub(crate) async fn server(&self, limits: Limits) -> Server {
        let config = ServerConfig::default()
            .with_sync_interval(Duration::from_millis(20))
            .with_limits(limits);
        let resource: ResourceRef = CLUSTER.parse().unwrap();
        Server::start(self.store.clone(), resource, config).await.unwrap()
    }
}

/// A connection authenticated with `key`.
pub(crate) fn established(server: &Server, key: &IssuedKey) -> Connection {
    let mut connection = server.admit(PEER).unwrap();
    let identity = server.authenticate(&Credential::ApiKey(key.secret.expose()), None).unwrap();
    connection.established(identity).unwrap();
    connection
}
