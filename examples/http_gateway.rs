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

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use keygate::core::{Permission, ResourceRef};
use keygate::{AuthConfig, AuthError, Identity};
use keygate_examples::Broker;
use keygate_wire::{HttpCredential, WWW_AUTHENTICATE};
use serde_json::json;

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
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let broker = Broker::start(
        &args.store,
        args.resource,
        AuthConfig::default(),
        Duration::from_millis(100),
    )
    .await?;
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/topics/{topic}", post(produce))
        .with_state(Arc::clone(&broker));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("http_gateway: listening on http://{address} as {}", broker.resource());
    axum::serve(listener, app).await.map_err(|e| format!("serving failed: {e}"))
}

async fn whoami(State(broker): State<Arc<Broker>>, headers: HeaderMap) -> Response {
    match authenticate(&broker, &headers, None) {
        Ok(identity) => (StatusCode::OK, axum::Json(identity_json(&identity))).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn produce(
    State(broker): State<Arc<Broker>>,
    Path(topic): Path<String>,
    headers: HeaderMap,
) -> Response {
    match authenticate(&broker, &headers, Some(&Permission::PRODUCE)) {
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
    broker: &Broker,
    headers: &HeaderMap,
    permission: Option<&Permission>,
) -> Result<Identity, Refusal> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Refusal::Unauthorized("authentication required"))?
        .to_str()
        .map_err(|_| Refusal::Unauthorized("malformed credentials"))?;
    let credential = HttpCredential::parse(value).map_err(|error| {
        println!("refused: {error}");
        Refusal::Unauthorized("malformed credentials")
    })?;
    broker.authenticate(&credential.credential(), permission).map_err(|error| {
        println!("refused: {error}");
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
