//! A control plane for each test, over a real store (SQLite in a file, or a database of its own
//! on the test PostgreSQL server), with principals and keys made locally as an operator with
//! the store in hand would, and requests sent through the whole router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use keygate::core::{PrincipalId, Role, Scope};
use keygate::store::Store;
use keygate::token::MasterKey;
use keygate::{Actor, KeyManager, NewKey, NewPrincipal};
use keygate_server::{App, AppConfig};
use keygate_store_sql::SqlStore;
use keygate_testkit::postgres::Database;
use keygate_tokio::ServerConfig;
use serde_json::Value;
use tower_service::Service;

/// Where a test's store lives.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// The name of the running test.
pub(crate) fn test_name() -> String {
    std::thread::current().name().unwrap_or("an unnamed test").to_owned()
}

/// A store of `backend`, and what must live as long as it; `None` (having said so) when the
/// test PostgreSQL server is not configured.
pub(crate) async fn store(backend: Backend) -> Option<(Guard, Arc<SqlStore>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = SqlStore::open(dir.path().join("keygate.db")).await.unwrap();
            Some((Guard::Dir(dir), Arc::new(store)))
        }
        Backend::Postgres => {
            let server = keygate_testkit::external("KEYGATE_POSTGRES_URL", &test_name())?;
            let database = Database::create(&server, "keygate_server").await;
            let store = SqlStore::connect(&database.url).await.unwrap();
            Some((Guard::Database(database), Arc::new(store)))
        }
    }
}

/// What a store needs kept alive.
#[allow(dead_code)] // Held for its drop.
pub(crate) enum Guard {
    Dir(tempfile::TempDir),
    Database(Database),
    /// Another plane holds what the store needs.
    None,
}

/// A control plane and the operator's local manager over the same store.
pub(crate) struct Plane {
    pub(crate) app: App,
    pub(crate) router: Router,
    pub(crate) local: KeyManager,
    pub(crate) store: Arc<SqlStore>,
    _guard: Guard,
}

/// The operator at the store.
pub(crate) fn operator() -> Actor {
    Actor::new("ops:test").unwrap()
}

pub(crate) fn manager(store: &Arc<SqlStore>) -> KeyManager {
    let master = MasterKey::from_bytes(&[7; 32]).unwrap();
    KeyManager::new(Arc::clone(store) as Arc<dyn Store>).with_master_key(Arc::new(master))
}

impl Plane {
    /// A control plane over a new store of `backend`.
    pub(crate) async fn new(backend: Backend) -> Option<Plane> {
        let (guard, store) = store(backend).await?;
        Some(Plane::over(guard, store).await)
    }

    pub(crate) async fn over(guard: Guard, store: Arc<SqlStore>) -> Plane {
        let app = App::start(manager(&store), config()).await.unwrap();
        let (router, _) = app.router();
        Plane { app, router, local: manager(&store), store, _guard: guard }
    }

    /// Makes service account `name` locally.
    pub(crate) async fn service_account(&self, name: &str) -> PrincipalId {
        let id: PrincipalId = name.parse().unwrap();
        self.local
            .create_principal(&operator(), NewPrincipal::service_account(id.clone()))
            .await
            .unwrap();
        id
    }

    /// Makes user `name` locally.
    pub(crate) async fn user(&self, name: &str) -> PrincipalId {
        let id: PrincipalId = name.parse().unwrap();
        self.local.create_principal(&operator(), NewPrincipal::user(id.clone())).await.unwrap();
        id
    }

    /// Binds `principal` to `role` locally.
    pub(crate) async fn bind(&self, principal: &PrincipalId, role: Role) {
        self.local.bind_role(&operator(), principal, role).await.unwrap();
    }

    /// A key of `owner` on `scope`, made locally, as `Authorization: Basic` for it.
    pub(crate) async fn key(&self, owner: &PrincipalId, scope: Scope) -> Credentials {
        self.key_with(NewKey::new(owner.clone(), scope)).await
    }

    pub(crate) async fn key_with(&self, new: NewKey) -> Credentials {
        let issued = self.local.create_key(&operator(), new).await.unwrap();
        let id = issued.record.id().to_string();
        let header = keygate_wire::encode_basic(&id, issued.secret.expose()).to_string();
        let credentials = Credentials { id, header, secret: issued.secret.expose().to_owned() };
        self.wait_until_known(&credentials).await;
        credentials
    }

    /// An admin: `ops-bot`, an OrganizationAdmin, with a cloud key.
    pub(crate) async fn admin(&self) -> Credentials {
        let bot = self.service_account("ops-bot").await;
        self.bind(&bot, Role::OrganizationAdmin).await;
        self.key(&bot, Scope::Cloud).await
    }

    /// Waits (up to 10 s) until the server's authenticator has synced past `credentials`.
    pub(crate) async fn wait_until_known(&self, credentials: &Credentials) {
        let secret = credentials.secret.clone();
        let id = credentials.id.clone();
        for _ in 0..200 {
            let credential = keygate::Credential::KeyAndSecret { key_id: &id, secret: &secret };
            match self.app.auth().unwrap().authenticate(&credential, None) {
                Err(keygate::AuthError::UnknownKey(_)) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => return,
            }
        }
        panic!("the server never learned of key {id}");
    }

    /// Sends a request through the router.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Option<&Credentials>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, &auth.header);
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&body).unwrap())
            }
            None => Body::empty(),
        };
        self.raw(request.body(body).unwrap()).await
    }

    /// Sends `request` as it is.
    pub(crate) async fn raw(&self, request: Request<Body>) -> Reply {
        let mut router = self.router.clone();
        let response = router.call(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, body, text: String::from_utf8_lossy(&bytes).into_owned() }
    }
}

fn config() -> AppConfig {
    AppConfig::default().with_server(
        ServerConfig::default()
            .with_sync_interval(Duration::from_millis(20))
            .with_last_use_interval(Some(Duration::from_millis(200))),
    )
}

/// A key's id and secret, and the `Authorization` value that presents them.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) id: String,
    pub(crate) header: String,
    pub(crate) secret: String,
}

impl Credentials {
    /// The same key presented as `Bearer kgk_…`.
    pub(crate) fn bearer(&self) -> Credentials {
        Credentials { header: format!("Bearer {}", self.secret), ..self.clone() }
    }
}

/// A response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
    pub(crate) text: String,
}

impl Reply {
    /// Asserts the status, and for an error that the body is a problem document of `kind`.
    #[track_caller]
    pub(crate) fn expect(&self, status: StatusCode) -> &Reply {
        assert_eq!(self.status, status, "{}", self.text);
        if status.is_client_error() || status.is_server_error() {
            self.expect_problem();
        }
        self
    }

    #[track_caller]
    pub(crate) fn expect_problem(&self) -> &str {
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some(keygate_server::PROBLEM_JSON),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], self.status.as_u16(), "{}", self.text);
        self.body["type"].as_str().unwrap().strip_prefix("urn:keygate:problem:").unwrap()
    }
}
