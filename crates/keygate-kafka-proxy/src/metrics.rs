//! Counters for operators, served in Prometheus' text format.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use kafka_protocol::messages::ApiKey;
use tokio::net::TcpListener;

use crate::Shared;

/// API keys are below this (Kafka's are below 100).
const APIS: usize = 128;

/// What the proxy has done since it started.
#[derive(Debug)]
pub(crate) struct Metrics {
    pub(crate) connections_opened: AtomicU64,
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_over_cap: AtomicU64,
    pub(crate) bytes_from_clients: AtomicU64,
    pub(crate) bytes_to_clients: AtomicU64,
    forwarded: [AtomicU64; APIS],
    refused: [AtomicU64; APIS],
    authentications: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        Metrics {
            connections_opened: AtomicU64::new(0),
            connections_open: AtomicU64::new(0),
            connections_over_cap: AtomicU64::new(0),
            bytes_from_clients: AtomicU64::new(0),
            bytes_to_clients: AtomicU64::new(0),
            forwarded: std::array::from_fn(|_| AtomicU64::new(0)),
            refused: std::array::from_fn(|_| AtomicU64::new(0)),
            authentications: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn forwarded(&self, api: ApiKey) {
        count(&self.forwarded, api);
    }

    pub(crate) fn refused(&self, api: ApiKey) {
        count(&self.refused, api);
    }

    /// An authentication's outcome: `reason` is empty for a success.
    pub(crate) fn authentication(&self, outcome: &'static str, reason: String) {
        let mut map = self.authentications.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((outcome, reason)).or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, value: u64, kind: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "keygate_proxy_connections_open",
            "Client connections open now.",
            load(&self.connections_open),
            "gauge",
        );
        gauge(
            &mut out,
            "keygate_proxy_connections_total",
            "Client connections accepted.",
            load(&self.connections_opened),
            "counter",
        );
        gauge(
            &mut out,
            "keygate_proxy_connections_over_cap_total",
            "Client connections closed at once because the connection cap was reached.",
            load(&self.connections_over_cap),
            "counter",
        );
        let _ = writeln!(
            out,
            "# HELP keygate_proxy_bytes_total Bytes of Kafka frames passed, by direction.\n\
             # TYPE keygate_proxy_bytes_total counter\n\
             keygate_proxy_bytes_total{{direction=\"from_clients\"}} {}\n\
             keygate_proxy_bytes_total{{direction=\"to_clients\"}} {}",
            load(&self.bytes_from_clients),
            load(&self.bytes_to_clients)
        );
        let _ = writeln!(
            out,
            "# HELP keygate_proxy_authentications_total SASL authentications, by outcome and reason.\n\
             # TYPE keygate_proxy_authentications_total counter"
        );
        for ((outcome, reason), n) in
            self.authentications.lock().unwrap_or_else(|p| p.into_inner()).iter()
        {
            let _ = writeln!(
                out,
                "keygate_proxy_authentications_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {n}"
            );
        }
        for (name, help, counters) in [
            (
                "keygate_proxy_requests_forwarded_total",
                "Requests forwarded upstream, by API.",
                &self.forwarded,
            ),
            (
                "keygate_proxy_requests_refused_total",
                "Requests refused for want of a permission, by API.",
                &self.refused,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (key, counter) in counters.iter().enumerate() {
                let n = load(counter);
                let api = i16::try_from(key).ok().and_then(|k| ApiKey::try_from(k).ok());
                if let (Some(api), true) = (api, n > 0) {
                    let _ = writeln!(out, "{name}{{api=\"{api:?}\"}} {n}");
                }
            }
        }
        out
    }
}

fn count(counters: &[AtomicU64; APIS], api: ApiKey) {
    if let Some(counter) = counters.get(api as usize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The most connections the metrics listener serves at once; more are closed when accepted.
const MAX_SCRAPERS: usize = 32;
/// How long a scraper has to send a request's head, and between requests on a kept-alive
/// connection.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves `GET /metrics`, `GET /healthz` (the process is up) and `GET /readyz` (the replica
/// is fresh and a bootstrap address answers; 503 with the reason otherwise) on `listener` until
/// the proxy is dropped, with the limits of the HTTP gateway: a connection cap, a deadline for
/// each request's head (so half-sent requests do not hold connections), and 404 for any other
/// path, 405 for any other method.
pub(crate) async fn serve(listener: TcpListener, shared: Weak<Shared>) {
    let places = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPERS));
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let Ok(place) = Arc::clone(&places).try_acquire_owned() else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _place = place;
            let service = service_fn(move |request: Request<Incoming>| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&request, shared.upgrade()).await) }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn answer(request: &Request<Incoming>, shared: Option<Arc<Shared>>) -> Response<String> {
    let Some(shared) = shared else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "the proxy is stopping\n".to_owned());
    };
    let get = request.method() == hyper::Method::GET;
    match request.uri().path() {
        "/metrics" | "/healthz" | "/readyz" if !get => {
            text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_owned())
        }
        "/metrics" => {
            let mut body = shared.metrics.render();
            let version = shared.server.authenticator().version();
            let staleness =
                version.synced_at.map(|at| shared.server.now().saturating_since(at).as_seconds());
            let _ = writeln!(
                body,
                "# HELP keygate_proxy_store_version The store position the proxy's state reflects.\n\
                 # TYPE keygate_proxy_store_version gauge\nkeygate_proxy_store_version {}",
                version.seq.0
            );
            if let Some(staleness) = staleness {
                let _ = writeln!(
                    body,
                    "# HELP keygate_proxy_replica_staleness_seconds Seconds since the proxy's \
                     state was last synced with the store.\n\
                     # TYPE keygate_proxy_replica_staleness_seconds gauge\n\
                     keygate_proxy_replica_staleness_seconds {staleness}"
                );
            }
            let mut response = text(StatusCode::OK, body);
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            response
        }
        "/healthz" => text(StatusCode::OK, "ok\n".to_owned()),
        "/readyz" => match shared.readiness().await {
            Ok(()) => text(StatusCode::OK, "ready\n".to_owned()),
            Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
        },
        _ => text(StatusCode::NOT_FOUND, "served: /metrics, /healthz, /readyz\n".to_owned()),
    }
}

fn text(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain"));
    response
}
