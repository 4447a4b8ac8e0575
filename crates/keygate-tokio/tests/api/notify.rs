//! Servers on PostgreSQL, kept current by `LISTEN`/`NOTIFY`: each test runs in a database of its
//! own on the test server, so it can refuse connections to it, or end the listening connection,
//! without touching the other tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keygate::core::{ResourceRef, Scope, Span};
use keygate::store::Store;
use keygate::{
    Actor, AuthConfig, AuthError, Credential, IssuedKey, KeyManager, NewKey, NewPrincipal,
};
use keygate_store_sql::{LISTENER_APPLICATION_NAME, SqlStore};
use keygate_testkit::postgres::Database;
use keygate_tokio::{Ending, FrameReader, Server, ServerConfig};

use super::support::{CLUSTER, PEER};

/// Far longer than any test runs: with it, a server hears of a change only by notification.
const NEVER: Duration = Duration::from_secs(3600);
/// How long a server may take to see a change before the test calls it lost: a liveness bound,
/// far above what it takes.
const LOST_AFTER: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_is_pushed_to_every_server_with_no_poll_due() {
    let Some(database) = database().await else { return };
    let control = Control::new(&database.url).await;
    let key = control.key().await;
    let config =
        ServerConfig::default().with_sync_interval(NEVER).with_notified_sync_interval(NEVER);
    let servers =
        [server(&database.url, config.clone()).await, server(&database.url, config).await];
    for server in &servers {
        assert!(check(server, &key).is_ok());
    }
    control.revoke(&key).await;
    for server in &servers {
        until(|| matches!(check(server, &key), Err(AuthError::Revoked(_)))).await;
    }
    database.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listening_connection_is_reconnected_and_what_it_missed_is_read() {
    let Some(mut database) = database().await else { return };
    let control = Control::new(&database.url).await;
    let (missed, later) = (control.key().await, control.key().await);
    let config =
        ServerConfig::default().with_sync_interval(NEVER).with_notified_sync_interval(NEVER);
    let server = server(&database.url, config).await;
    assert!(check(&server, &missed).is_ok());
    database.wait_for_listeners(LISTENER_APPLICATION_NAME, 1, LOST_AFTER).await;

    // The operator's writes go through connections already open: a pool that had to open one
    // while the database refuses them would fail the revocation (seen under load).
    control.warm().await;
    // No new connection to the database until the revocation is in: the listener stays down.
    database.allow_connections(false).await;
    assert_eq!(database.terminate(Some(LISTENER_APPLICATION_NAME)).await, 1);
    // The server reads the feed once when it hears the interruption; the revocation comes after.
    tokio::time::sleep(Duration::from_millis(500)).await;
    control.revoke(&missed).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(check(&server, &missed).is_ok(), "nothing should have told the server yet");

    database.allow_connections(true).await;
    until(|| matches!(check(&server, &missed), Err(AuthError::Revoked(_)))).await;
    // And notifications flow again.
    control.revoke(&later).await;
    until(|| matches!(check(&server, &later), Err(AuthError::Revoked(_)))).await;
    database.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_database_goes_away_fails_closed_and_recovers_when_it_returns() {
    let Some(mut database) = database().await else { return };
    let control = Control::new(&database.url).await;
    let key = control.key().await;
    let auth = AuthConfig::default().with_max_staleness(Span::seconds(2));
    let server = server(&database.url, ServerConfig::default().with_auth(auth)).await;
    assert!(check(&server, &key).is_ok());
    let mut open = server.admit(PEER).unwrap();
    let identity = server.authenticate(&Credential::ApiKey(key.secret.expose()), None).unwrap();
    open.established(identity).unwrap();

    database.allow_connections(false).await;
    assert!(database.terminate(None).await >= 2, "the server's connections, and the listener");
    until(|| matches!(check(&server, &key), Err(AuthError::StatusUnknown { .. }))).await;
    // The session that was open is not served on either: it ends as new ones are refused.
    let (_client, socket) = tokio::io::duplex(64);
    let ending = tokio::time::timeout(LOST_AFTER, open.next(&mut FrameReader::new(socket))).await;
    let ending = ending.expect("an open session outlived the staleness bound");
    assert!(matches!(ending, Err(Ending::Refused(AuthError::StatusUnknown { .. }))), "{ending:?}");

    database.allow_connections(true).await;
    until(|| check(&server, &key).is_ok()).await;
    database.drop().await;
}

/// The operator's side: a manager on a store of its own, and a service account.
struct Control {
    manager: KeyManager,
    operator: Actor,
}

impl Control {
    async fn new(url: &str) -> Control {
        let store: Arc<dyn Store> = Arc::new(SqlStore::connect(url).await.unwrap());
        let manager = KeyManager::new(store);
        let operator = Actor::new("test:operator").unwrap();
        manager
            .create_principal(&operator, NewPrincipal::service_account("orders".parse().unwrap()))
            .await
            .unwrap();
        Control { manager, operator }
    }

    async fn key(&self) -> IssuedKey {
        let scope = Scope::Resource(CLUSTER.parse().unwrap());
        let new = NewKey::new("orders".parse().unwrap(), scope);
        self.manager.create_key(&self.operator, new).await.unwrap()
    }

    /// Opens a few connections in the pool, and leaves them idle there.
    async fn warm(&self) {
        let store = self.manager.store();
        let reads = tokio::join!(store.head(), store.head(), store.head(), store.head());
        for read in [reads.0, reads.1, reads.2, reads.3] {
            read.unwrap();
        }
    }

    async fn revoke(&self, key: &IssuedKey) {
        let reason = "test".parse().unwrap();
        self.manager.revoke(&self.operator, key.record.id(), reason).await.unwrap();
    }
}

/// A database of its own on the test server, or `None` without one.
async fn database() -> Option<Database> {
    let server = keygate_testkit::external("KEYGATE_POSTGRES_URL", "keygate-tokio notify")?;
    Some(Database::create(&server, "keygate_notify").await)
}

async fn server(url: &str, config: ServerConfig) -> Server {
    let store: Arc<dyn Store> = Arc::new(SqlStore::connect(url).await.unwrap());
    let resource: ResourceRef = CLUSTER.parse().unwrap();
    Server::start(store, resource, config.with_last_use_interval(None)).await.unwrap()
}

fn check(server: &Server, key: &IssuedKey) -> Result<(), AuthError> {
    server.authenticate(&Credential::ApiKey(key.secret.expose()), None).map(drop)
}

/// Waits until `done` holds.
async fn until(done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < LOST_AFTER, "the server never saw it");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
