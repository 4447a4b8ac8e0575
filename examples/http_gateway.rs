//! An HTTP endpoint that authenticates `Authorization: Bearer` and `Basic` with keygate API
//! keys, through the same Authenticator a Kafka or Pulsar gateway uses.
//!
//! ```sh
//! cargo run -p keygate-examples --example http_gateway -- \
//!     --store ~/.local/share/keygate/keygate.db --resource kafka-cluster/lkc-abc123
//! curl -H "Authorization: Bearer kgk_…" http://127.0.0.1:8080/whoami
//! ```
//!
//! - `GET /whoami`: who the credential speaks for, as JSON.
//! - `POST /topics/{topic}`: a stand-in for a produce endpoint; needs the `produce` permission.
//!
//! A missing or refused credential gets 401 with a `WWW-Authenticate` challenge and a message
//! that says nothing about which keys exist; a key without the permission gets 403.
//!
//! Built on `keygate-tokio`: the authenticator syncs from the store every 100 ms, open
//! connections are capped, and a client must send each request's headers (which carry its
//! credential) within the auth deadline, also while a kept-alive connection waits for its next
//! request (`--limit max-connections=N`, `--limit auth-deadline=SPAN`). HTTP authenticates each
//! request, not the connection, so every connection counts as a stranger against
//! `max-strangers` and its address's `max-strangers-per-address` (64): raise the latter for
//! clients that keep many connections from one address.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use keygate::core::{Permission, ResourceRef};
use keygate::{AuthError, Identity};
use keygate_tokio::{Limits, Log, Server, ServerConfig};
use keygate_wire::{HttpCredential, WWW_AUTHENTICATE};
use serde_json::json;

/// The operator's log: timestamped lines, refusals held to a budget.
static LOG: LazyLock<Arc<Log>> = LazyLock::new(|| Arc::new(Log::new()));

macro_rules! log {
    ($($line:tt)*) => { LOG.line(format_args!($($line)*)) };
}

macro_rules! refusal {
    ($($line:tt)*) => { LOG.refusal(format_args!($($line)*)) };
}

/// An HTTP gateway authenticating with keygate API keys.
#[derive(Debug, Parser)]
struct Args {
    /// The keygate store (a SQLite path or a postgres:// URL), as the keygate command uses it.
    #[arg(long, env = "KEYGATE_STORE")]
    store: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The resource this endpoint is, as KIND/ID.
    #[arg(long)]
    resource: ResourceRef,
    /// A connection limit, NAME=VALUE: max-connections, max-strangers,
    /// max-strangers-per-address, or auth-deadline (the time a client has to send a request's
    /// headers). Repeat for several.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let limits = args
        .limits
        .iter()
        .try_fold(Limits::default(), |l, s| l.with_setting(s))
        .map_err(|e| format!("--limit: {e}"))?;
    let config = ServerConfig::default().with_limits(limits).on_sync(LOG.sync_observer());
    let server =
        Server::open(&args.store, args.resource, config).await.map_err(|e| e.to_string())?;
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/topics/{topic}", post(produce))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    log!("http_gateway: listening on http://{address} as {}", server.resource());
    let service = TowerToHyperService::new(app);
    let header_deadline = server.limits().auth_deadline;
    loop {
        let (stream, peer) = listener.accept().await.map_err(|e| format!("accept failed: {e}"))?;
        let connection = match server.admit(peer.ip()) {
            Ok(connection) => connection,
            Err(refused) => {
                refusal!("connection from {peer} refused: {refused}");
                continue;
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            // Hyper reads the requests; the connection holds its place under the cap until then.
            let _place = connection;
            let mut http = hyper::server::conn::http1::Builder::new();
            // The timer starts whenever hyper waits for a request's head, so it bounds both a
            // client that sends half a header and a kept-alive connection that sends nothing.
            http.timer(TokioTimer::new()).header_read_timeout(header_deadline);
            if let Err(error) = http.serve_connection(TokioIo::new(stream), service).await {
                log!("connection from {peer} closed: {error}");
            }
        });
    }
}

async fn whoami(State(server): State<Server>, headers: HeaderMap) -> Response {
    match authenticate(&server, &headers, None) {
        Ok(identity) => (StatusCode::OK, axum::Json(identity_json(&identity))).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn produce(
    State(server): State<Server>,
    Path(topic): Path<String>,
    headers: HeaderMap,
) -> Response {
    match authenticate(&server, &headers, Some(&Permission::PRODUCE)) {
        Ok(identity) => {
            let body = json!({ "topic": topic, "accepted": true, "principal": identity.principal().as_str() });
            (StatusCode::ACCEPTED, axum::Json(body)).into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// Why a request was refused, in the words a client may see.
#[derive(Debug)]
enum Refusal {
    /// 401: no credential, or one that does not authenticate.
    Unauthorized(&'static str),
    /// 403: a valid credential without the permission.
    Forbidden(&'static str),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthorized(message) => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE)],
                axum::Json(json!({ "error": message })),
            )
                .into_response(),
            Refusal::Forbidden(message) => {
                (StatusCode::FORBIDDEN, axum::Json(json!({ "error": message }))).into_response()
            }
        }
    }
}

/// The identity behind the request's `Authorization` header, or why it is refused. The full
/// reason goes to the operator's log; the client gets the generic one.
fn authenticate(
    server: &Server,
    headers: &HeaderMap,
    permission: Option<&Permission>,
) -> Result<Identity, Refusal> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Refusal::Unauthorized("authentication required"))?
        .to_str()
        .map_err(|_| Refusal::Unauthorized("malformed credentials"))?;
    let credential = HttpCredential::parse(value).map_err(|error| {
        refusal!("refused: {error}");
        Refusal::Unauthorized("malformed credentials")
    })?;
    server.authenticate(&credential.credential(), permission).map_err(|error| {
        refusal!("refused: {error}");
        match error {
            AuthError::PermissionDenied { .. } => Refusal::Forbidden(error.client_message()),
            error => Refusal::Unauthorized(error.client_message()),
        }
    })
}

fn identity_json(identity: &Identity) -> serde_json::Value {
    json!({
        "principal": identity.principal().as_str(),
        "key_id": identity.key_id().map(|id| id.to_string()),
        "scope": identity.scope().to_string(),
        "permissions": identity.permissions().to_string(),
        "expires": identity.expires().at().map(|at| at.to_string()),
    })
}
