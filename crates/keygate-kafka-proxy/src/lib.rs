//! An authenticating Kafka-protocol proxy: Confluent-style API keys in front of any
//! Kafka-compatible cluster.
//!
//! Clients speak Kafka to the proxy and authenticate with keygate API keys; the proxy checks
//! each key in-process, authorizes every request by the key's permissions, and forwards the rest
//! unchanged to the upstream cluster. It is a replica of the keygate store (through
//! [`keygate_tokio`]): it syncs every 100 ms, closes the connections of a key that is revoked,
//! suspended or deleted, and refuses everyone once its copy is older than the staleness bound.
//!
//! ```sh
//! keygate-kafka-proxy --store keygate.db --resource kafka-cluster/lkc-abc123 \
//!     --listen 127.0.0.1:9092 --upstream 127.0.0.1:19092
//! ```
//!
//! # Authentication
//!
//! SASL/PLAIN with an opaque key (the key id as the username and the secret as the password, or
//! the single-string key as the password) and SASL/OAUTHBEARER with a JWT API key, over
//! `SASL_PLAINTEXT`, or over `SASL_SSL` with `--tls-cert` and `--tls-key` (rustls on ring).
//! KIP-368 re-authentication: the session lifetime handed to the client never outlives the key
//! (nor `--max-session`), and a re-authentication may not change the principal. Before a
//! client has authenticated it may send ApiVersions and the SASL exchange only, within the
//! pre-authentication limits of [`keygate_tokio::Limits`] (`--limit NAME=VALUE`).
//!
//! # Authorization
//!
//! Every request needs one permission of its key, deny by default. A key that may produce,
//! consume or administer may also describe, as Kafka's WRITE, READ and ALTER imply DESCRIBE.
//!
//! | permission | Kafka APIs |
//! |---|---|
//! | `produce` | Produce, InitProducerId, AddPartitionsToTxn, EndTxn |
//! | `consume` | Fetch, ListOffsets, OffsetForLeaderEpoch, OffsetCommit, OffsetFetch, OffsetDelete, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, ConsumerGroupHeartbeat |
//! | `describe` | Metadata, FindCoordinator, DescribeCluster, DescribeConfigs, DescribeGroups, ListGroups, ConsumerGroupDescribe, DescribeTopicPartitions, DescribeLogDirs, DescribeClientQuotas, DescribeTransactions, ListTransactions |
//! | `admin` | CreateTopics, DeleteTopics, DeleteRecords, DeleteGroups, AlterConfigs, IncrementalAlterConfigs, CreateAcls, DeleteAcls, DescribeAcls, DescribeUserScramCredentials, AlterUserScramCredentials, ListPartitionReassignments, CreatePartitions, ElectLeaders, AlterPartitionReassignments, AlterClientQuotas |
//! | `produce+consume` | AddOffsetsToTxn, TxnOffsetCommit |
//!
//! Committing a group's offsets in a transaction needs both `produce` and `consume`, as Kafka
//! asks for WRITE on the transactional id and READ on the group: a produce-only key cannot
//! move a consumer group's offsets. Metadata asks the broker to create the topics it names
//! when `allow_auto_topic_creation` is set: the proxy clears the flag unless the key may
//! `admin`, and offers Metadata from v4 (earlier versions have no such flag, and a broker
//! creates what they name).
//!
//! A request the key may not make gets that API's own response with its authorization error
//! (TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED or
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED), naming every topic, partition, group, resource, ACL
//! filter, user or transactional id the request named, one entry each, as a Kafka broker
//! answers: librdkafka aborts on an answer with fewer entries than it asked about. Where the
//! response has no list of items, the error is at the top level; DescribeUserScramCredentials
//! never carries one there, as librdkafka frees memory it does not own when it does. The
//! connection stays open.
//! An API not in the table is not offered in ApiVersions, and a client that sends it anyway is
//! disconnected. Permissions narrow a key. The cluster sees the proxy, not each principal:
//! with `--upstream-sasl PLAIN` (`--upstream-username`, `--upstream-password`) or
//! `OAUTHBEARER` (`--upstream-token`), every upstream connection logs in as the proxy's own
//! identity before anything of a client's is forwarded (credentials from `file://`, which is
//! read for each connection, `env:NAME`, or text; never logged), so the cluster's ACLs and
//! quotas apply to that one identity. Tested against a second keygate proxy as the
//! authenticating upstream, with both mechanisms; SCRAM and one identity per principal are not
//! built.
//!
//! # Brokers
//!
//! Each client connection gets its own upstream connection once it has authenticated. Requests
//! and responses pass through byte for byte, except the proxy's own ApiVersions (the versions
//! both it and the upstream speak) and the responses that name brokers (Metadata,
//! FindCoordinator, DescribeCluster), which are rewritten so that clients only ever connect to
//! the proxy. Broker node `n` is served on its own listener at port `first + n`, where `first`
//! is `--broker-ports` (by default the `--listen` port + 1): with `--listen 127.0.0.1:9092`,
//! node 0 is on 9093 and node 1 on 9094. A listener opens when a response first names its node.
//! Produce is offered up to v9 and Fetch up to v15, because later versions carry broker
//! addresses (KIP-951) in responses that the proxy passes through unread.
//!
//! The proxy reaches the upstream in plaintext, or with `--upstream-tls` over TLS (rustls on
//! ring), verifying every broker's certificate against `--upstream-ca` (or the Mozilla roots)
//! and its host name (or `--upstream-server-name` for all of them), with a client certificate
//! for mTLS (`--upstream-cert`, `--upstream-key`). A certificate that does not verify fails the
//! start at once, saying why (tested against stunnel terminating TLS in front of Tansu). Over
//! plaintext, run it beside the cluster, on a network the cluster trusts. It trusts the
//! upstream's responses as a client does: those it rewrites are
//! decoded with kafka-protocol, which believes the counts it is given. Client requests are
//! never decoded that way when they hold arrays (see the refusals, which read the few fields
//! they name with every length checked), so no client can make the proxy reserve memory it did
//! not send.
//!
//! # Operators
//!
//! One timestamped line on standard output per authentication (key id and principal, never a
//! secret) and per closed connection; refusals are held to 20 lines in 10 seconds, and the
//! rest counted. `--metrics HOST:PORT` serves Prometheus metrics (connections, authentications
//! by outcome and reason, requests forwarded and refused by API, bytes each way, the store
//! version the proxy's state reflects and how many seconds ago it was synced), `/healthz` (the
//! process is up) and `/readyz` (the state is fresh and a bootstrap address answers, else 503
//! with the reason). On SIGTERM or SIGINT the proxy stops accepting connections and gives
//! those open `--drain-timeout` seconds (30 by default) to end before it exits.

mod access;
mod brokers;
mod codec;
mod connection;
mod metrics;
mod refusal;
mod sasl;
mod shape;
mod tls;
mod upstream;
mod versions;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::StrBytes;
use keygate::AuthConfig;
use keygate::core::{ResourceRef, Span};
use keygate::token::MasterKey;
use keygate_store_sql::{SqlStore, readable_by_others};
use keygate_tokio::{Limits, Log, Server, ServerConfig};
use tokio::net::TcpListener;

pub use access::Operation;
use upstream::Connector;
pub use upstream::{Secret, UpstreamSasl, UpstreamTls};

use brokers::{Advertised, Brokers, Named, Route};
use metrics::Metrics;
use versions::Versions;

/// The largest request accepted once authenticated: Kafka's `socket.request.max.bytes`.
pub const MAX_REQUEST: usize = 100 * 1024 * 1024;

/// How the proxy runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// The keygate store: a SQLite path, or a `sqlite:` or `postgres://` URL.
    pub store: String,
    /// The cluster the proxy fronts, as `kafka-cluster/ID`: keys must be valid on it.
    pub resource: ResourceRef,
    /// The bootstrap listener. Broker listeners share its IP address.
    pub listen: SocketAddr,
    /// The upstream bootstrap brokers, `HOST:PORT`, comma-separated: tried in turn, at start
    /// and for each client's bootstrap connection, so one broker down stops nobody.
    pub upstream: String,
    /// The first broker listener's port: node `n` is served on `first + n`. By default the
    /// `listen` port + 1.
    pub broker_ports: Option<u16>,
    /// The host clients are told to connect to. By default, the address each client reached
    /// the proxy at.
    pub advertised_host: Option<String>,
    /// The certificate chain and private key (PEM files) for `SASL_SSL`; plaintext without.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The longest a session lasts before the client must re-authenticate.
    pub max_session: Option<Span>,
    /// Where to serve Prometheus metrics.
    pub metrics: Option<SocketAddr>,
    /// Connection limits.
    pub limits: Limits,
    /// How long to wait for the upstream at start, and for each upstream connection.
    pub upstream_timeout: Duration,
    /// TLS to the upstream cluster; plaintext when `None`.
    pub upstream_tls: Option<UpstreamTls>,
    /// The proxy's own SASL login to the cluster, on every upstream connection; none when
    /// `None`.
    pub upstream_sasl: Option<UpstreamSasl>,
    /// The store's master key, needed only to accept JWT API keys signed with an HMAC signing
    /// key (whose secret is sealed under it). Opaque keys and asymmetric JWT keys verify with
    /// public material alone: leave it out, and the proxy's host cannot mint keys.
    pub master_key: Option<Arc<MasterKey>>,
    /// How often the last use of keys is written back to the store; `None` never.
    pub last_use_interval: Option<Duration>,
}

impl ProxyConfig {
    /// A plaintext proxy of `resource` on `listen` in front of `upstream`, keys from `store`.
    pub fn new(store: &str, resource: ResourceRef, listen: SocketAddr, upstream: &str) -> Self {
        ProxyConfig {
            store: store.to_owned(),
            resource,
            listen,
            upstream: upstream.to_owned(),
            broker_ports: None,
            advertised_host: None,
            tls: None,
            max_session: None,
            metrics: None,
            limits: Limits::default().with_max_frame(MAX_REQUEST),
            upstream_timeout: Duration::from_secs(30),
            upstream_tls: None,
            upstream_sasl: None,
            master_key: None,
            last_use_interval: Some(Duration::from_secs(60)),
        }
    }
}

/// Why the proxy could not start, or a connection ended. `Display` is for the operator's log
/// and never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The store could not be opened or read.
    #[error("the keygate store: {0}")]
    Store(#[from] keygate_tokio::StartError),
    /// A listener could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// Where.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The upstream did not answer at start.
    #[error("the upstream broker at {address} did not answer: {reason}")]
    UpstreamUnreachable {
        /// Where it was looked for.
        address: String,
        /// What went wrong last.
        reason: String,
    },
    /// The upstream misbehaved or went away.
    #[error("upstream: {0}")]
    Upstream(String),
    /// The client broke the protocol.
    #[error("{0}")]
    Protocol(&'static str),
    /// An API the proxy does not serve.
    #[error("{0:?} is not served by the proxy")]
    NotServed(ApiKey),
    /// A response could not be encoded.
    #[error("cannot encode a {0:?} response")]
    Encode(ApiKey),
    /// A broker's node id puts its listener outside the port range.
    #[error("broker node {node} has no port from {first_port}: set --broker-ports lower")]
    NoPort {
        /// The node id.
        node: i32,
        /// The first broker port.
        first_port: u16,
    },
    /// Reading or writing the client's connection failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A running proxy. Its listeners stay open while it lives; dropping it stops accepting.
#[derive(Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
    address: SocketAddr,
    metrics_address: Option<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    /// Opens the store (the first sync before this returns), asks the upstream which versions
    /// it speaks, and starts listening.
    pub async fn start(config: ProxyConfig) -> Result<Proxy, ProxyError> {
        let log = Arc::new(Log::new());
        let mut auth = AuthConfig::default();
        if let Some(max) = config.max_session {
            auth = auth.with_max_session(max);
        }
        if let Some(master_key) = &config.master_key {
            auth = auth.with_master_key(Arc::clone(master_key));
        }
        let server_config = ServerConfig::default()
            .with_auth(auth)
            .with_last_use_interval(config.last_use_interval)
            .with_limits(config.limits.clone())
            .on_sync(log.sync_observer());
        let server = Server::open(&config.store, config.resource.clone(), server_config).await?;
        let exposed = SqlStore::file_of(&config.store).filter(|file| readable_by_others(file));
        if let Some(file) = exposed {
            log.line(format_args!(
                "warning: other users can read the store {} (it holds signing keys); chmod 600 it",
                file.display()
            ));
        }
        let connector =
            Connector::new(config.upstream_tls.as_ref(), config.upstream_sasl.as_ref())?;
        let bootstrap: Vec<String> = config
            .upstream
            .split(',')
            .map(|address| address.trim().to_owned())
            .filter(|address| !address.is_empty())
            .collect();
        let upstream = versions::probe(&connector, &bootstrap, config.upstream_timeout).await?;
        let versions = Versions::new(&upstream);
        let tls = match &config.tls {
            Some((cert, key)) => Some(Tls(tls::acceptor(cert, key)?)),
            None => None,
        };
        let listener = bind(config.listen).await?;
        let address = listener
            .local_addr()
            .map_err(|source| ProxyError::Listen { address: config.listen, source })?;
        let first_port = config.broker_ports.unwrap_or(address.port().saturating_add(1));
        let metrics = Arc::new(Metrics::new());
        let mut tasks = Vec::new();
        let mut metrics_address = None;
        let mut metrics_listener = None;
        if let Some(at) = config.metrics {
            let listener = bind(at).await?;
            metrics_address = listener.local_addr().ok();
            metrics_listener = Some(listener);
        }
        let (listeners, mut opened) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            server,
            upstream: bootstrap,
            listen_ip: address.ip(),
            advertised_host: config.advertised_host.clone(),
            first_port,
            versions,
            brokers: Brokers::default(),
            tls,
            metrics,
            log,
            connect_timeout: config.upstream_timeout,
            connector,
            listeners,
        });
        if let Some(listener) = metrics_listener {
            tasks.push(tokio::spawn(metrics::serve(listener, Arc::downgrade(&shared))));
        }
        tasks.push(tokio::spawn(accept(Arc::clone(&shared), listener, Route::Bootstrap)));
        let weak = Arc::downgrade(&shared);
        tasks.push(tokio::spawn(async move {
            // Aborted when the proxy is dropped, and the broker listeners' loops with it.
            let mut loops = tokio::task::JoinSet::new();
            while let Some((listener, route)) = opened.recv().await {
                let Some(shared) = weak.upgrade() else { return };
                loops.spawn(accept(shared, listener, route));
            }
        }));
        shared.log.line(format_args!(
            "keygate-kafka-proxy: listening on {address} ({}) as {} in front of {} ({}); brokers \
             on ports {first_port} + node id; {} APIs offered",
            if shared.tls.is_some() { "SASL_SSL" } else { "SASL_PLAINTEXT" },
            shared.server.resource(),
            config.upstream,
            if shared.connector.is_tls() { "TLS" } else { "plaintext" },
            shared.versions.len(),
        ));
        Ok(Proxy { shared, address, metrics_address, tasks })
    }

    /// The bootstrap listener's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where metrics are served, if they are.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// The keygate server the proxy authenticates with.
    pub fn server(&self) -> &Server {
        &self.shared.server
    }

    /// Stops accepting connections (and serving metrics); those open carry on, for
    /// [`Proxy::drain`].
    pub fn stop_accepting(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    /// Waits until every open connection has ended, or `bound` has passed; whether they all
    /// ended. Clients whose connections outlive it are cut off when the process exits, and
    /// reconnect elsewhere, as from any broker that goes away.
    pub async fn drain(&self, bound: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + bound;
        while self.shared.server.open_connections() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What the proxy's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    server: Server,
    upstream: Vec<String>,
    listen_ip: IpAddr,
    advertised_host: Option<String>,
    first_port: u16,
    versions: Versions,
    brokers: Brokers,
    tls: Option<Tls>,
    metrics: Arc<Metrics>,
    log: Arc<Log>,
    connect_timeout: Duration,
    connector: Connector,
    /// Broker listeners to accept on: a task of the proxy's own spawns their accept loops, so
    /// that a connection (spawned by an accept loop) does not spawn one itself.
    listeners: tokio::sync::mpsc::UnboundedSender<(TcpListener, Route)>,
}

/// The TLS acceptor, which has no `Debug` of its own.
#[derive(Clone)]
struct Tls(tokio_rustls::TlsAcceptor);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Shared {
    /// Records where a broker a response named lives upstream, and opens its listener the
    /// first time.
    async fn learn(&self, broker: Named) {
        if !self.brokers.learn(&broker) {
            return;
        }
        let advertised = self.advertised(self.listen_ip);
        let port = match advertised.port(broker.node) {
            Ok(port) => port,
            Err(error) => {
                self.log.line(format_args!("broker {}: {error}", broker.node));
                return;
            }
        };
        let address = SocketAddr::new(self.listen_ip, port);
        match bind(address).await {
            Ok(listener) => {
                self.log.line(format_args!(
                    "broker {} ({}) served on {address}",
                    broker.node, broker.upstream
                ));
                let _ = self.listeners.send((listener, Route::Broker(broker.node)));
            }
            Err(error) => self.log.line(format_args!("broker {}: {error}", broker.node)),
        }
    }

    /// Whether the proxy can serve: its replica is fresh, and a bootstrap address answers.
    pub(crate) async fn readiness(&self) -> Result<(), String> {
        self.server
            .authenticator()
            .check_fresh(self.server.now())
            .map_err(|_| "the store has been out of reach past the staleness bound".to_owned())?;
        for address in &self.upstream {
            if self.connector.connect(address, Duration::from_secs(2)).await.is_ok() {
                return Ok(());
            }
        }
        Err("no bootstrap address of the upstream answers".to_owned())
    }

    /// What a client that reached the proxy at `local` is told about brokers.
    fn advertised(&self, local: IpAddr) -> Advertised {
        let host = self.advertised_host.clone().unwrap_or_else(|| local.to_string());
        Advertised { host: StrBytes::from_string(host), first_port: self.first_port }
    }
}

fn stranger(reason: String) -> connection::Closed {
    connection::Closed { reason, authenticated: false }
}

async fn bind(address: SocketAddr) -> Result<TcpListener, ProxyError> {
    TcpListener::bind(address).await.map_err(|source| ProxyError::Listen { address, source })
}

/// Accepts the connections of one listener until the proxy is dropped.
async fn accept(shared: Arc<Shared>, listener: TcpListener, route: Route) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, typically: wait rather than spin.
                shared.log.line(format_args!("accept failed: {error}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        shared.metrics.connections_opened.fetch_add(1, Ordering::Relaxed);
        let connection = match shared.server.admit(peer.ip()) {
            Ok(connection) => connection,
            Err(refused) => {
                shared.metrics.connections_over_cap.fetch_add(1, Ordering::Relaxed);
                shared.log.refusal(format_args!("connection from {peer} refused: {refused}"));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().map_or(shared.listen_ip, |a| a.ip());
        let advertised = shared.advertised(local);
        let shared = Arc::clone(&shared);
        let route = route.clone();
        tokio::spawn(async move {
            shared.metrics.connections_open.fetch_add(1, Ordering::Relaxed);
            let id = connection.id();
            let deadline = shared.server.limits().auth_deadline;
            let ending = match &shared.tls {
                None => {
                    let shared2 = Arc::clone(&shared);
                    connection::serve(stream, connection, route, advertised, shared2).await
                }
                Some(Tls(acceptor)) => {
                    match tokio::time::timeout(deadline, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let shared2 = Arc::clone(&shared);
                            connection::serve(tls, connection, route, advertised, shared2).await
                        }
                        Ok(Err(error)) => stranger(format!("TLS handshake failed: {error}")),
                        Err(_) => stranger(format!("no TLS handshake within {deadline:?}")),
                    }
                }
            };
            shared.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
            let line = format_args!("connection {id} from {peer}: closed: {}", ending.reason);
            if ending.authenticated { shared.log.line(line) } else { shared.log.refusal(line) }
        });
    }
}
