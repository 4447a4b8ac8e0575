//! The application: a [`KeyManager`] over the store, the authenticator that opens the API, and
//! the routes, documented as they are registered.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use keygate::core::{Clock, ResourceRef, SystemClock, Timestamp};
use keygate::{Actor, AuthConfig, Authenticator, KeyManager, Replica};
use keygate_tokio::{Log, Server, ServerConfig, StartError};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::api;
use crate::caller::Limiter;
use crate::metrics::Metrics;
use crate::problem::{Kind, Problem};

/// How the control plane runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AppConfig {
    /// The resource this API is, which keys scoped to `cloud` (or `global`) open; by default
    /// `cloud/keygate`.
    pub resource: ResourceRef,
    /// The URL clients reach this server at (`https://keys.example.com`), for the issuer and
    /// the `jwks_uri` of `/.well-known/openid-configuration`; by default the request's own
    /// scheme and `Host`.
    pub public_url: Option<String>,
    /// How long a request may take before it is answered with 503.
    pub request_timeout: Duration,
    /// Whether clients reach the server over TLS (for the URLs it makes without a
    /// [`public_url`](AppConfig::public_url)).
    pub tls: bool,
    /// How many failed authentications a client address may make in a row (10 by default);
    /// then it gets 429 until its budget refills.
    pub auth_failure_burst: u32,
    /// How often a client address gets one failed authentication back (every 6 s by default).
    pub auth_failure_refill: Duration,
    /// How the authenticator keeps up with the store.
    pub server: ServerConfig,
}

impl Default for AppConfig {
    fn default() -> AppConfig {
        AppConfig {
            resource: default_resource(),
            public_url: None,
            request_timeout: Duration::from_secs(30),
            tls: false,
            auth_failure_burst: 10,
            auth_failure_refill: Duration::from_secs(6),
            server: ServerConfig::default(),
        }
    }
}

impl AppConfig {
    /// Serves as `resource`.
    pub fn with_resource(mut self, resource: ResourceRef) -> AppConfig {
        self.resource = resource;
        self
    }

    /// Is reached at `url`.
    pub fn with_public_url(mut self, url: impl Into<String>) -> AppConfig {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Answers a request that takes longer than `timeout` with 503.
    pub fn with_request_timeout(mut self, timeout: Duration) -> AppConfig {
        self.request_timeout = timeout;
        self
    }

    /// Lets each client address fail `burst` authentications in a row, and gives one back
    /// every `refill`.
    pub fn with_auth_failure_budget(mut self, burst: u32, refill: Duration) -> AppConfig {
        self.auth_failure_burst = burst;
        self.auth_failure_refill = refill;
        self
    }

    /// Keeps the authenticator current as `server` says.
    pub fn with_server(mut self, server: ServerConfig) -> AppConfig {
        self.server = server;
        self
    }
}

fn default_resource() -> ResourceRef {
    // A constant that parses; a failure here is a bug that every test would show.
    "cloud/keygate".parse().unwrap_or_else(|_| unreachable!("cloud/keygate is a resource"))
}

/// Who a control plane answers.
enum Mode {
    /// Callers with API keys, checked by this authenticator, kept current from the store.
    Served(Server),
    /// One caller, in process: whoever holds the store, as `actor`, with every right (the
    /// `keygate` command without `--server`). Nothing from a network reaches this mode.
    Local { actor: Actor, auth: Box<AuthConfig> },
}

/// The control plane: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    manager: KeyManager,
    /// Who calls: keygate's API keys through the authenticator of a server, or, in process,
    /// the operator who holds the store.
    mode: Mode,
    metrics: Metrics,
    limiter: Limiter,
    log: Arc<Log>,
    config: AppConfig,
}

impl App {
    /// The control plane over `manager`'s store. The authenticator's first sync happens before
    /// this returns, so a store that cannot be read fails here.
    pub async fn start(manager: KeyManager, config: AppConfig) -> Result<App, StartError> {
        let store = Arc::clone(manager.store());
        let log = Arc::new(Log::new());
        let server_config = config.server.clone().on_sync(log.sync_observer());
        let auth = Server::start(store, config.resource.clone(), server_config).await?;
        Ok(App {
            inner: Arc::new(Inner {
                manager,
                mode: Mode::Served(auth),
                metrics: Metrics::default(),
                limiter: Limiter::new(config.auth_failure_burst, config.auth_failure_refill),
                log,
                config,
            }),
        })
    }

    /// The control plane in process for whoever holds the store, as `actor`: every operation
    /// allowed, every change audited as made locally by `actor`. Tokens are checked, where an
    /// operation checks one, by an authenticator loaded from the store with `auth`. For the
    /// `keygate` command, which runs each of its commands through the same routes whether it
    /// holds the store or calls a server.
    ///
    /// Its routes authenticate nobody: call them in process only. [`serve`](crate::serve)
    /// refuses a local plane; never put its [`router`](App::router) behind a listener.
    pub fn local(manager: KeyManager, actor: Actor, auth: AuthConfig) -> App {
        App {
            inner: Arc::new(Inner {
                manager,
                mode: Mode::Local { actor, auth: Box::new(auth) },
                metrics: Metrics::default(),
                limiter: Limiter::new(u32::MAX, Duration::from_secs(1)),
                log: Arc::new(Log::new()),
                config: AppConfig::default(),
            }),
        }
    }

    /// The routes, and the OpenAPI document generated from them.
    pub fn router(&self) -> (Router, utoipa::openapi::OpenApi) {
        let (router, document) = api::routes(OpenApiRouter::with_openapi(ApiDoc::openapi()))
            .route_layer(middleware::from_fn_with_state(self.clone(), observe))
            .with_state(self.clone())
            .split_for_parts();
        let served = Arc::new(serde_json::to_vec(&document).unwrap_or_default());
        let router = router
            .route(
                "/v1/openapi.json",
                axum::routing::get(move || {
                    let served = Arc::clone(&served);
                    async move {
                        ([(header::CONTENT_TYPE, "application/json")], served.as_ref().clone())
                    }
                }),
            )
            .fallback(unmatched)
            .layer(middleware::from_fn(no_store));
        (router, document)
    }

    /// The manager every change goes through.
    pub fn manager(&self) -> &KeyManager {
        &self.inner.manager
    }

    /// The authenticator's server (its resource, its limits, its clock), unless the plane is
    /// local.
    pub fn auth(&self) -> Option<&Server> {
        match &self.inner.mode {
            Mode::Served(server) => Some(server),
            Mode::Local { .. } => None,
        }
    }

    /// The operator of a local plane.
    pub(crate) fn local_actor(&self) -> Option<&Actor> {
        match &self.inner.mode {
            Mode::Local { actor, .. } => Some(actor),
            Mode::Served(_) => None,
        }
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        match &self.inner.mode {
            Mode::Served(server) => server.now(),
            Mode::Local { .. } => SystemClock.now(),
        }
    }

    /// An authenticator that knows the store's keys: the served one, kept current; or, for a
    /// local plane, one loaded from the store now.
    pub(crate) async fn authenticator(&self) -> Result<Authenticator, keygate::ManagerError> {
        match &self.inner.mode {
            Mode::Served(server) => Ok(server.authenticator().clone()),
            Mode::Local { auth, .. } => {
                let authenticator = Authenticator::new((**auth).clone());
                let mut replica = Replica::new(authenticator.clone(), Arc::new(SystemClock));
                replica.sync_once(&**self.inner.manager.store()).await.map_err(
                    |error| match error {
                        keygate::SyncError::Store(store) => keygate::ManagerError::Store(store),
                        _ => keygate::ManagerError::Store(keygate::store::StoreError::Invalid(
                            "the store's keys cannot be loaded",
                        )),
                    },
                )?;
                Ok(authenticator)
            }
        }
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    pub(crate) fn log(&self) -> &Log {
        &self.inner.log
    }

    pub(crate) fn config(&self) -> &AppConfig {
        &self.inner.config
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("manager", &self.inner.manager)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Times every routed request, counts it by route template and status, and answers one that
/// takes too long with 503.
async fn observe(State(app): State<App>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = match tokio::time::timeout(app.config().request_timeout, next.run(request)).await
    {
        Ok(response) => response,
        Err(_) => {
            Problem::new(Kind::Timeout, "the request took too long; retry it").into_response()
        }
    };
    app.metrics().request(method.as_str(), &route, response.status().as_u16(), start.elapsed());
    response
}

/// No response is cached: some carry secrets, and all carry state that changes.
async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A path no route matches.
async fn unmatched(method: Method) -> Problem {
    if method == Method::OPTIONS {
        return Problem::new(Kind::MethodNotAllowed, "OPTIONS is not served");
    }
    Problem::new(Kind::NotFound, "no such route; GET /v1/openapi.json lists them")
}

/// The document's frame: what the handlers add their paths to.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "keygate control plane",
        description = "Service accounts, users, API keys, signing keys, policy, resources, role \
                       bindings and the audit log of a keygate deployment. Authenticate with a \
                       keygate API key scoped to `cloud` or `global`: HTTP Basic with the key id \
                       and secret, or Bearer with the `kgk_…` key or a JWT API key. Errors are \
                       RFC 9457 problem documents."
    ),
    components(schemas(crate::problem::ProblemDocument)),
    modifiers(&Security),
    security(("basic" = []), ("bearer" = []))
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
        components
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}
