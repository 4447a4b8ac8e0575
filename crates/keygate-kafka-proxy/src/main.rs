//! `keygate-kafka-proxy`: keygate API keys in front of a Kafka-compatible cluster. See the
//! crate docs for what it does; `--help` for how to run it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use keygate::core::{ResourceRef, Span};
use keygate::token::{KeyValue, MasterKey};
use keygate_kafka_proxy::{MAX_REQUEST, Proxy, ProxyConfig, Secret, UpstreamSasl, UpstreamTls};
use keygate_tokio::Limits;

/// An authenticating Kafka proxy: clients authenticate with keygate API keys (SASL PLAIN or
/// OAUTHBEARER), each request is authorized by the key's permissions, and the rest is forwarded
/// to the upstream cluster.
#[derive(Debug, Parser)]
#[command(name = "keygate-kafka-proxy", version)]
struct Args {
    /// The keygate store (a SQLite path or a postgres:// URL), as the keygate command uses it.
    #[arg(long, env = "KEYGATE_STORE")]
    store: String,
    /// The cluster this proxy fronts, as kafka-cluster/ID: keys must be valid on it.
    #[arg(long)]
    resource: ResourceRef,
    /// The bootstrap listener. Broker node N is served on the same IP at port
    /// --broker-ports + N.
    #[arg(long, default_value = "127.0.0.1:9092")]
    listen: SocketAddr,
    /// The upstream cluster's bootstrap brokers, HOST:PORT[,HOST:PORT…], tried in turn (in
    /// plaintext unless --upstream-tls).
    #[arg(long)]
    upstream: String,
    /// Reach the upstream cluster over TLS, verifying each broker's certificate (against
    /// --upstream-ca, or the Mozilla roots) and host name.
    #[arg(long)]
    upstream_tls: bool,
    /// The CA certificates (PEM) the upstream brokers' certificates chain to.
    #[arg(long, value_name = "PEM", requires = "upstream_tls")]
    upstream_ca: Option<PathBuf>,
    /// The name every upstream broker's certificate must carry [default: the host each broker
    /// is reached at]: for brokers reached by IP address, or behind one name.
    #[arg(long, value_name = "NAME", requires = "upstream_tls")]
    upstream_server_name: Option<String>,
    /// A client certificate chain (PEM) to present to the upstream brokers (mTLS), with
    /// --upstream-key.
    #[arg(long, value_name = "PEM", requires_all = ["upstream_tls", "upstream_key"])]
    upstream_cert: Option<PathBuf>,
    /// The private key (PEM) of --upstream-cert.
    #[arg(long, value_name = "PEM", requires = "upstream_cert")]
    upstream_key: Option<PathBuf>,
    /// Log in to the upstream cluster as the proxy's own identity: PLAIN (with
    /// --upstream-username and --upstream-password) or OAUTHBEARER (with --upstream-token).
    #[arg(long, value_name = "MECHANISM", value_parser = ["PLAIN", "OAUTHBEARER"])]
    upstream_sasl: Option<String>,
    /// The proxy's username on the upstream cluster (PLAIN).
    #[arg(long, value_name = "NAME")]
    upstream_username: Option<String>,
    /// The proxy's password on the upstream cluster (PLAIN): file:///path (read for each
    /// connection), env:NAME, or the text itself. Never logged.
    #[arg(long, value_name = "SECRET")]
    upstream_password: Option<String>,
    /// The proxy's bearer token for the upstream cluster (OAUTHBEARER): file:///path (read for
    /// each connection, so a refreshed token is used), env:NAME, or the text. Never logged.
    #[arg(long, value_name = "SECRET")]
    upstream_token: Option<String>,
    /// The port of broker node 0's listener [default: the --listen port + 1].
    #[arg(long, value_name = "PORT")]
    broker_ports: Option<u16>,
    /// The host clients are told to connect to [default: the address they reached].
    #[arg(long, value_name = "HOST")]
    advertised_host: Option<String>,
    /// A PEM certificate chain: serve SASL_SSL (with --tls-key).
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    tls_key: Option<PathBuf>,
    /// The longest a session lasts before the client must re-authenticate (KIP-368), like
    /// connections.max.reauth.ms; sessions never outlive their key either way.
    #[arg(long, value_name = "SPAN")]
    max_session: Option<Span>,
    /// Serve Prometheus metrics on HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    metrics: Option<SocketAddr>,
    /// A connection limit, NAME=VALUE: max-connections, max-strangers (connections still
    /// authenticating), max-strangers-per-address, auth-deadline, max-frame-before-auth,
    /// max-frame or idle-timeout. Repeat for several.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
    /// The store's master key (file:///path, data:;base64,... or base64 text), only to accept
    /// JWT API keys signed with an HMAC signing key; it gives this host the power to mint them.
    /// Opaque keys and EdDSA, ES, RS and PS JWT keys need none.
    #[arg(long, value_name = "KEY")]
    master_key: Option<String>,
    /// How often the last use of keys is written back to the store, in seconds; 0 never.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    last_use_interval: u64,
    /// How long to wait for the upstream at start, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    upstream_timeout: u64,
    /// On SIGTERM or SIGINT, how long open connections have to end, in seconds, after the
    /// proxy stops accepting new ones.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    drain_timeout: u64,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let limits = args
        .limits
        .iter()
        .try_fold(Limits::default().with_max_frame(MAX_REQUEST), |l, s| l.with_setting(s))
        .map_err(|e| format!("--limit: {e}"))?;
    let mut config = ProxyConfig::new(&args.store, args.resource, args.listen, &args.upstream);
    config.broker_ports = args.broker_ports;
    config.advertised_host = args.advertised_host;
    config.tls = args.tls_cert.zip(args.tls_key);
    config.max_session = args.max_session;
    config.metrics = args.metrics;
    config.limits = limits;
    config.upstream_timeout = Duration::from_secs(args.upstream_timeout);
    config.upstream_sasl = match args.upstream_sasl.as_deref() {
        None => None,
        Some("PLAIN") => {
            let username =
                args.upstream_username.ok_or("--upstream-sasl PLAIN needs --upstream-username")?;
            let password =
                args.upstream_password.ok_or("--upstream-sasl PLAIN needs --upstream-password")?;
            let password =
                Secret::parse(&password).map_err(|e| format!("--upstream-password: {e}"))?;
            Some(UpstreamSasl::Plain { username, password })
        }
        Some(_) => {
            let token =
                args.upstream_token.ok_or("--upstream-sasl OAUTHBEARER needs --upstream-token")?;
            let token = Secret::parse(&token).map_err(|e| format!("--upstream-token: {e}"))?;
            Some(UpstreamSasl::OAuthBearer { token })
        }
    };
    if args.upstream_tls {
        let mut tls = UpstreamTls::default();
        tls.ca = args.upstream_ca;
        tls.server_name = args.upstream_server_name;
        tls.client_cert = args.upstream_cert.zip(args.upstream_key);
        config.upstream_tls = Some(tls);
    }
    config.last_use_interval =
        (args.last_use_interval > 0).then(|| Duration::from_secs(args.last_use_interval));
    if let Some(value) = &args.master_key {
        config.master_key = Some(Arc::new(master_key(value)?));
    }
    let mut proxy = Proxy::start(config).await.map_err(|e| e.to_string())?;
    if let Some(metrics) = proxy.metrics_address() {
        println!("metrics on http://{metrics}/metrics");
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal.map_err(|e| e.to_string())?,
        _ = terminate.recv() => {}
    }
    proxy.stop_accepting();
    let open = proxy.server().open_connections();
    println!(
        "keygate-kafka-proxy: stopping; draining {open} connection(s) for up to {}s",
        args.drain_timeout
    );
    let drained = proxy.drain(Duration::from_secs(args.drain_timeout)).await;
    let left = proxy.server().open_connections();
    println!(
        "keygate-kafka-proxy: stopped{}",
        if drained { String::new() } else { format!("; {left} connection(s) cut off") }
    );
    Ok(())
}

/// The master key `value` names, in the forms the `keygate` command takes.
fn master_key(value: &str) -> Result<MasterKey, String> {
    let key = match KeyValue::parse(value).map_err(|e| format!("--master-key: {e}"))? {
        KeyValue::Inline(bytes) => MasterKey::decode(&bytes),
        KeyValue::File(path) => {
            let bytes = std::fs::File::open(&path)
                .and_then(KeyValue::read_capped)
                .map_err(|e| format!("--master-key: {}: {e}", path.display()))?;
            MasterKey::decode(&bytes)
        }
    };
    key.map_err(|e| format!("--master-key: {e}"))
}
