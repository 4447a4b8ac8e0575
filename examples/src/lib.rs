//! What keygate's example gateways share: opening the store the `keygate` command writes,
//! keeping an [`Authenticator`] current from it, and closing the connections a sync says must
//! end.
//!
//! A gateway is what a broker embedding keygate would be, cut down to authentication: the
//! [`Broker`] here is the part every broker needs, whatever protocol it speaks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use keygate::core::{Clock, ResourceRef, SystemClock, Timestamp};
use keygate::store::Store;
use keygate::{
    AuthConfig, AuthContext, AuthError, Authenticator, Credential, Identity, Replica, SessionId,
    SessionRegistry,
};
use keygate_core::Permission;
use keygate_store_sql::SqlStore;
use tokio::sync::mpsc;

pub mod pulsar;

/// What a broker tells one of its connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// Close now, for this reason (the credential was revoked, suspended, deleted, expired).
    Close(String),
    /// The session must re-authenticate or end by this instant, sooner than before.
    Deadline(Timestamp),
}

/// The authentication side of a broker: an authenticator kept current from a store, and the
/// open sessions it reviews after each sync.
#[derive(Debug)]
pub struct Broker {
    authenticator: Authenticator,
    sessions: SessionRegistry,
    resource: ResourceRef,
    connections: Mutex<HashMap<SessionId, mpsc::UnboundedSender<Control>>>,
    next_session: AtomicU64,
}

/// One connection's handle on its broker: its session id, and the controls sent to it.
#[derive(Debug)]
pub struct Connection {
    /// The session id.
    pub id: SessionId,
    /// What the broker says about the session.
    pub controls: mpsc::UnboundedReceiver<Control>,
}

impl Broker {
    /// A broker for `resource` over the store at `location` (a SQLite path or a URL), synced
    /// every `interval`. The first sync happens before this returns, so a store that cannot be
    /// read fails the start rather than every connection.
    pub async fn start(
        location: &str,
        resource: ResourceRef,
        config: AuthConfig,
        interval: Duration,
    ) -> Result<Arc<Broker>, String> {
        let store = open_store(location).await?;
        let authenticator = Authenticator::new(config);
        let mut replica = Replica::new(authenticator.clone(), Arc::new(SystemClock));
        replica.sync_once(&*store).await.map_err(|e| format!("cannot read the store: {e}"))?;
        let broker = Arc::new(Broker {
            authenticator,
            sessions: SessionRegistry::new(),
            resource,
            connections: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
        });
        let reviewer = Arc::clone(&broker);
        let _sync_task = replica.spawn(store, interval, move |outcome| match outcome {
            Ok(report) => reviewer.review(report),
            Err(error) => println!("sync failed (the authenticator keeps its state): {error}"),
        });
        Ok(broker)
    }

    /// The resource it serves.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// A new connection.
    pub fn connect(&self) -> Connection {
        let id = SessionId(self.next_session.fetch_add(1, Ordering::Relaxed));
        let (sender, controls) = mpsc::unbounded_channel();
        self.lock().insert(id, sender);
        Connection { id, controls }
    }

    /// Authenticates `credential` for this broker's resource now, optionally for `permission`.
    pub fn authenticate(
        &self,
        credential: &Credential<'_>,
        permission: Option<&Permission>,
    ) -> Result<Identity, AuthError> {
        let mut context = AuthContext::new(&self.resource, SystemClock.now());
        if let Some(permission) = permission {
            context = context.with_permission(permission);
        }
        self.authenticator.authenticate(credential, &context)
    }

    /// Records that `connection` authenticated (or re-authenticated) as `identity`.
    pub fn established(&self, connection: SessionId, identity: Identity) {
        self.sessions.register(connection, identity);
    }

    /// Forgets a closed connection.
    pub fn closed(&self, connection: SessionId) {
        self.sessions.unregister(connection);
        self.lock().remove(&connection);
    }

    /// After a sync: tells the connections whose credential no longer holds to close, and
    /// those whose deadline moved, when they must re-authenticate.
    fn review(&self, report: &keygate::SyncReport) {
        let review = self.sessions.review(&self.authenticator, report, SystemClock.now());
        let connections = self.lock();
        for (session, reason) in review.close {
            if let Some(connection) = connections.get(&session) {
                let _gone = connection.send(Control::Close(reason.to_string()));
            }
        }
        for (session, deadline) in review.reauthenticate {
            if let Some(connection) = connections.get(&session) {
                let _gone = connection.send(Control::Deadline(deadline));
            }
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<SessionId, mpsc::UnboundedSender<Control>>> {
        self.connections.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The store at `location`: a `postgres://` or `sqlite:` URL, or a SQLite file path.
pub async fn open_store(location: &str) -> Result<Arc<dyn Store>, String> {
    let opened = if location.starts_with("postgres://")
        || location.starts_with("postgresql://")
        || location.starts_with("sqlite:")
    {
        SqlStore::connect(location).await
    } else {
        SqlStore::open(location).await
    };
    let store = opened.map_err(|e| format!("cannot open the store {location}: {e}"))?;
    Ok(Arc::new(store))
}

/// How long until `deadline`, from now; zero if it has passed.
pub fn until(deadline: Timestamp) -> Duration {
    let at =
        std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(deadline.unix()).unwrap_or(0));
    at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO)
}
