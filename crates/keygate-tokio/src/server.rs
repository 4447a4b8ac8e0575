//! The authentication side of a server: an authenticator kept current from a store, the open
//! connections it reviews after every sync, and the cap on how many there are.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use keygate::core::{Clock, Permission, ResourceRef, SystemClock, Timestamp};
use keygate::store::{ChangeWatch, KeyUse, Reach, Store, StoreError};
use keygate::{
    AuthConfig, AuthContext, AuthError, Authenticator, Credential, Identity, Replica, SessionId,
    SessionRegistry, SyncError, SyncReport,
};
use keygate_store_sql::SqlStore;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::admission::Admission;
use crate::{AdmitError, Connection, Control, Limits};

/// What a sync observer is told after every sync: for logs and metrics.
pub type SyncObserver = Arc<dyn Fn(Result<&SyncReport, &SyncError>) + Send + Sync>;

/// How a [`Server`] runs.
///
/// The defaults: the authenticator's closed defaults ([`AuthConfig::default`]); a sync as soon
/// as the store announces a change, and every second besides, or every 100 ms while the store
/// cannot announce every change; last uses written back every minute; the [`Limits`] defaults;
/// and the system clock.
///
/// # How the replica keeps up
///
/// A store that notifies ([`ChangeFeed::watch`](keygate::store::ChangeFeed::watch): PostgreSQL
/// through `LISTEN`/`NOTIFY`) wakes the sync task the moment a change commits, so a revocation
/// reaches every server in the time of one notification and one read of the feed. The task
/// still reads the feed every [`ServerConfig::notified_sync_interval`] (a second): that catches
/// whatever a notification missed, and keeps the authenticator's freshness current, so its
/// staleness bound still refuses everything once the store has been unreachable for too long.
/// While notifications are interrupted (the listening connection was lost; the store
/// reconnects with backoff), or when the store cannot announce every writer's changes (a SQLite
/// file, which another process may write), the task reads the feed every
/// [`ServerConfig::sync_interval`] instead, and it reads it at once when notifications resume.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// How credentials are checked, including the session cap ([`AuthConfig::max_session`]).
    pub auth: AuthConfig,
    /// How often the replica reads the store's feed when the store does not announce every
    /// change, or its notifications are interrupted.
    pub sync_interval: Duration,
    /// How often the replica reads the feed anyway while the store announces every change.
    pub notified_sync_interval: Duration,
    /// Whether the replica listens to the store's notifications, where it has them. Off, it
    /// reads the feed every [`ServerConfig::sync_interval`], whatever the store.
    pub notifications: bool,
    /// Limits on connections, before and after authentication.
    pub limits: Limits,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Told the outcome of every sync.
    pub on_sync: Option<SyncObserver>,
    /// How often the last use of the keys authenticated here is written back to the store
    /// (one batch, one row per key used since the last); `None` writes nothing. Uses noted in
    /// the interval before the server stops are not written: last use is bookkeeping, to the
    /// minute.
    pub last_use_interval: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            auth: AuthConfig::default(),
            sync_interval: Duration::from_millis(100),
            notified_sync_interval: Duration::from_secs(1),
            notifications: true,
            limits: Limits::default(),
            clock: Arc::new(SystemClock),
            on_sync: None,
            last_use_interval: Some(Duration::from_secs(60)),
        }
    }
}

impl ServerConfig {
    /// Checks credentials with `auth`.
    pub fn with_auth(mut self, auth: AuthConfig) -> ServerConfig {
        self.auth = auth;
        self
    }

    /// Writes the last use of keys back every `interval` (by default a minute); `None` never.
    pub fn with_last_use_interval(mut self, interval: Option<Duration>) -> ServerConfig {
        self.last_use_interval = interval;
        self
    }

    /// Reads the feed every `interval` while notifications do not cover every change (by
    /// default every 100 ms).
    pub fn with_sync_interval(mut self, interval: Duration) -> ServerConfig {
        self.sync_interval = interval;
        self
    }

    /// Reads the feed every `interval` while the store announces every change (by default
    /// every second).
    pub fn with_notified_sync_interval(mut self, interval: Duration) -> ServerConfig {
        self.notified_sync_interval = interval;
        self
    }

    /// Listens to the store's notifications (the default) or not: without them, the feed is
    /// read every [`ServerConfig::sync_interval`].
    pub fn with_notifications(mut self, listen: bool) -> ServerConfig {
        self.notifications = listen;
        self
    }

    /// Applies `limits`.
    pub fn with_limits(mut self, limits: Limits) -> ServerConfig {
        self.limits = limits;
        self
    }

    /// Reads time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> ServerConfig {
        self.clock = clock;
        self
    }

    /// Calls `observer` after every sync, with its report or its error.
    pub fn on_sync(
        mut self,
        observer: impl Fn(Result<&SyncReport, &SyncError>) + Send + Sync + 'static,
    ) -> ServerConfig {
        self.on_sync = Some(Arc::new(observer));
        self
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("auth", &self.auth)
            .field("sync_interval", &self.sync_interval)
            .field("notified_sync_interval", &self.notified_sync_interval)
            .field("notifications", &self.notifications)
            .field("last_use_interval", &self.last_use_interval)
            .field("limits", &self.limits)
            .field("clock", &self.clock)
            .field("on_sync", &self.on_sync.is_some())
            .finish()
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A SQLite store was named that is not there: a server reads the store the `keygate`
    /// command writes, and never makes an empty one that would refuse everybody.
    #[error(
        "there is no store at {}: a server reads the store the keygate command made (check \
         --store)",
        .0.display()
    )]
    NoStore(std::path::PathBuf),
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[source] StoreError),
    /// The first sync failed: a server that cannot read its store refuses to start rather than
    /// refuse every client.
    #[error("cannot read the store: {0}")]
    FirstSync(#[source] SyncError),
}

/// The part of a broker or gateway that authenticates, whatever protocol it speaks: an
/// [`Authenticator`] kept current from a store by a background sync task, the open
/// [`Connection`]s, each told to close or re-authenticate when a sync says so, and the
/// [`Limits`] that bound what unauthenticated clients can hold.
///
/// Cheap to clone; clones share everything. The sync task stops when the last clone, and the
/// last connection, is dropped.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) authenticator: Authenticator,
    pub(crate) sessions: SessionRegistry,
    pub(crate) resource: ResourceRef,
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) admission: Admission,
    connections: Mutex<HashMap<SessionId, mpsc::UnboundedSender<Control>>>,
    next_session: AtomicU64,
    sync_task: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    /// A server for `resource` over the store at `location` (a SQLite path, or a `sqlite:` or
    /// `postgres://` URL: [`SqlStore::open_location`]), which must exist: a mistyped path is
    /// [`StartError::NoStore`], not an empty store that refuses everybody. See
    /// [`Server::start`].
    pub async fn open(
        location: &str,
        resource: ResourceRef,
        config: ServerConfig,
    ) -> Result<Server, StartError> {
        if let Some(file) = SqlStore::file_of(location).filter(|file| !file.is_file()) {
            return Err(StartError::NoStore(file.to_path_buf()));
        }
        let store = SqlStore::open_location(location).await.map_err(StartError::Store)?;
        Server::start(Arc::new(store), resource, config).await
    }

    /// A server for `resource` over `store`. The first sync happens before this returns, so a
    /// store that cannot be read fails the start rather than every client; later syncs run on
    /// the current tokio runtime, when the store announces a change and on the intervals
    /// [`ServerConfig`] describes. A failed sync leaves the authenticator as it was; once its
    /// state is older than the authenticator's staleness bound, every credential is refused as
    /// "revocation status unknown".
    pub async fn start(
        store: Arc<dyn Store>,
        resource: ResourceRef,
        config: ServerConfig,
    ) -> Result<Server, StartError> {
        // Watching from before the first sync, so no change after it goes unannounced.
        let watch = if config.notifications { store.watch() } else { None };
        let authenticator = Authenticator::new(config.auth);
        let mut replica = Replica::new(authenticator.clone(), Arc::clone(&config.clock));
        let first = replica.sync_once(&*store).await.map_err(StartError::FirstSync)?;
        if let Some(observer) = &config.on_sync {
            observer(Ok(&first));
        }
        let shared = Arc::new(Shared {
            authenticator,
            sessions: SessionRegistry::new(),
            resource,
            admission: Admission::new(&config.limits),
            limits: config.limits,
            clock: config.clock,
            connections: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            sync_task: Mutex::new(None),
        });
        let uses = config.last_use_interval.map(|every| LastUses {
            every,
            resource: shared.resource.clone(),
            // Uses at or after the second the server started.
            since: shared.clock.now().saturating_sub(keygate::core::Span::seconds(1)),
            next: tokio::time::Instant::now() + every,
        });
        let pace = Pace {
            interval: config.sync_interval,
            notified_interval: config.notified_sync_interval,
            watch,
            // The first sync happens before the task is spawned.
            anchor: tokio::time::Instant::now(),
        };
        let task = tokio::spawn(sync_loop(
            Arc::downgrade(&shared),
            replica,
            store,
            pace,
            config.on_sync,
            uses,
        ));
        *lock(&shared.sync_task) = Some(task);
        Ok(Server { shared })
    }

    /// The authenticator, kept current.
    pub fn authenticator(&self) -> &Authenticator {
        &self.shared.authenticator
    }

    /// The resource this server is.
    pub fn resource(&self) -> &ResourceRef {
        &self.shared.resource
    }

    /// Its limits.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// The time now, from the server's clock.
    pub fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    /// How many connections are open.
    pub fn open_connections(&self) -> usize {
        self.shared.admission.open()
    }

    /// How many of them have not authenticated yet.
    pub fn strangers(&self) -> usize {
        self.shared.admission.strangers()
    }

    /// Checks `credential` for this server's resource now, and for `permission` when given.
    pub fn authenticate(
        &self,
        credential: &Credential<'_>,
        permission: Option<&Permission>,
    ) -> Result<Identity, AuthError> {
        let mut context = AuthContext::new(&self.shared.resource, self.now());
        if let Some(permission) = permission {
            context = context.with_permission(permission);
        }
        self.shared.authenticator.authenticate(credential, &context)
    }

    /// Checks `credential` for this server's resource or for a part of it
    /// ([`AuthContext::reaching_parts`]): for a server that authorizes each request against the
    /// part it touches, as a Pulsar broker authorizes each topic.
    pub fn authenticate_reaching_parts(
        &self,
        credential: &Credential<'_>,
    ) -> Result<Identity, AuthError> {
        let context = AuthContext::new(&self.shared.resource, self.now()).reaching_parts();
        self.shared.authenticator.authenticate(credential, &context)
    }

    /// Admits a connection just accepted from `peer`, or says why not: close the socket then.
    /// It counts against [`Limits::max_connections`] until the [`Connection`] is dropped, and
    /// until it authenticates also against [`Limits::max_strangers`] and its address's share,
    /// [`Limits::max_strangers_per_address`], so that one host cannot keep others from
    /// logging in, nor strangers take the places of clients that did.
    pub fn admit(&self, peer: IpAddr) -> Result<Connection, AdmitError> {
        let place = self.shared.admission.admit(peer)?;
        let id = SessionId(self.shared.next_session.fetch_add(1, Ordering::Relaxed));
        let (sender, controls) = mpsc::unbounded_channel();
        lock(&self.shared.connections).insert(id, sender);
        Ok(Connection::new(self.clone(), id, controls, place))
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn forget(&self, id: SessionId) {
        self.shared.sessions.unregister(id);
        lock(&self.shared.connections).remove(&id);
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("resource", &self.shared.resource)
            .field("open_connections", &self.open_connections())
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.sync_task).take() {
            task.abort();
        }
    }
}

impl Shared {
    /// After a sync: tells the connections whose credential no longer holds to close, and
    /// those whose deadline moved, when they must re-authenticate.
    fn review(&self, report: &SyncReport) {
        let review = self.sessions.review(&self.authenticator, report, self.clock.now());
        let connections = lock(&self.connections);
        for (session, reason) in review.close {
            if let Some(connection) = connections.get(&session) {
                // A connection that has gone away has nothing left to close.
                let _gone = connection.send(Control::Close(reason));
            }
        }
        for (session, deadline) in review.reauthenticate {
            if let Some(connection) = connections.get(&session) {
                let _gone = connection.send(Control::Reauthenticate(deadline));
            }
        }
    }
}

/// Where the write-back of last uses stands.
struct LastUses {
    every: Duration,
    resource: ResourceRef,
    /// Uses after this instant are not written yet. Instants are whole seconds, so it is set a
    /// second before each scan: a use in the scan's own second may come after it.
    since: Timestamp,
    next: tokio::time::Instant,
}

impl LastUses {
    /// Writes the uses noted since the last write, in one batch. A failure is not the
    /// clients': the uses are written with the next batch instead.
    async fn write(&mut self, authenticator: &Authenticator, store: &dyn Store, now: Timestamp) {
        let uses: Vec<KeyUse> = authenticator
            .key_uses_since(self.since)
            .into_iter()
            .map(|(key, at)| KeyUse::new(key, at, Some(self.resource.clone())))
            .collect();
        if store.record_key_uses(&uses).await.is_ok() {
            self.since = now.saturating_sub(keygate::core::Span::seconds(1));
        }
    }
}

/// When the sync task reads the feed.
struct Pace {
    interval: Duration,
    notified_interval: Duration,
    watch: Option<ChangeWatch>,
    /// When the last sync was due: the next is due an interval after it, so syncs on the timer
    /// keep to their interval however late each wake-up is.
    anchor: tokio::time::Instant,
}

impl Pace {
    /// Waits until the next sync is due: at once when the store announces something (a
    /// change, or notifications stopping or resuming), or an interval after the last one, the
    /// interval that holds now.
    async fn next(&mut self) {
        let due = match &self.watch {
            Some(watch) if watch.is_listening() && watch.reach() == Reach::AllWriters => {
                self.anchor + self.notified_interval
            }
            _ => self.anchor + self.interval,
        };
        let on_time = match &mut self.watch {
            Some(watch) => tokio::select! {
                _notice = watch.notice() => false,
                () = tokio::time::sleep_until(due) => true,
            },
            None => {
                tokio::time::sleep_until(due).await;
                true
            }
        };
        let now = tokio::time::Instant::now();
        // A task that fell a whole interval behind starts afresh rather than catching up.
        self.anchor = match now.checked_sub(self.interval) {
            Some(behind) if on_time => due.max(behind),
            _ => now,
        };
    }
}

/// Syncs as `pace` says until the server is gone, and writes last uses back as `uses` says.
async fn sync_loop(
    server: Weak<Shared>,
    mut replica: Replica,
    store: Arc<dyn Store>,
    mut pace: Pace,
    on_sync: Option<SyncObserver>,
    mut uses: Option<LastUses>,
) {
    loop {
        pace.next().await;
        let outcome = replica.sync_once(&*store).await;
        let Some(shared) = server.upgrade() else { return };
        if let Some(uses) = uses.as_mut().filter(|uses| tokio::time::Instant::now() >= uses.next) {
            uses.write(&shared.authenticator, &*store, shared.clock.now()).await;
            uses.next = tokio::time::Instant::now() + uses.every;
        }
        if let Ok(report) = &outcome {
            shared.review(report);
        }
        if let Some(observer) = &on_sync {
            observer(outcome.as_ref());
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
