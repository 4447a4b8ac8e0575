//! The control plane (keygate-server), each figure beside its peer in the same run:
//!
//! - authenticating an API request with a key seen before: the `Authorization: Basic` header
//!   parsed and checked by the server's authenticator, beside the authenticator alone on the
//!   same credential; and a whole authenticated read through the router, for scale;
//! - keys created by 8 concurrent clients through the API (the router, in process), beside 8
//!   concurrent callers of `KeyManager::create_key` on the same kind of store, on SQLite and on
//!   PostgreSQL;
//! - a page of 1000 keys listed through the API from a PostgreSQL store of 1M keys, beside the
//!   same page from a store of 10k keys.
//!
//! Needs a PostgreSQL server: `scripts/with-postgres cargo bench -p keygate-benches --bench
//! control_plane`. Writes `target/keygate-bench/control_plane.json` for the summary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use keygate::core::{KeyPolicy, PrincipalId, Role, Scope};
use keygate::store::Store;
use keygate::{Actor, Credential, KeyManager, NewKey, NewPrincipal};
use keygate_server::{App, AppConfig};
use keygate_store_sql::SqlStore;
use keygate_testkit::postgres::Database;
use serde_json::{Value, json};
use tower_service::Service;

const CLIENTS: usize = 8;
const KEYS_PER_CLIENT: usize = 40;

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut figures = serde_json::Map::new();
    let Ok(server) = std::env::var("KEYGATE_POSTGRES_URL") else {
        eprintln!(
            "control_plane: KEYGATE_POSTGRES_URL is not set; run it under scripts/with-postgres"
        );
        return;
    };
    let only: Option<String> = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let part = |name: &str| only.as_deref().is_none_or(|only| name.contains(only));

    if part("authenticate") {
        runtime.block_on(authenticate(&mut figures));
    }
    if part("create") {
        for backend in ["sqlite", "postgres"] {
            runtime.block_on(create(backend, &server, &mut figures));
        }
    }
    if part("list") {
        for keys in [10_000, 1_000_000] {
            runtime.block_on(list(keys, &server, &mut figures));
        }
    }
    keygate_benches::write_figures("control_plane.json", &figures);
}

/// A plane over `store`, with an OrganizationAdmin's cloud key as its `Authorization` value.
struct Plane {
    app: App,
    router: Router,
    manager: KeyManager,
    admin: String,
    admin_id: String,
    admin_secret: String,
}

impl Plane {
    async fn over(store: Arc<SqlStore>) -> Plane {
        let manager = KeyManager::new(Arc::clone(&store) as Arc<dyn Store>);
        let actor = Actor::new("bench").unwrap();
        let policy = KeyPolicy::default().with_max_keys_per_principal(1_000_000);
        manager.set_policy(&actor, policy).await.unwrap();
        let bot: PrincipalId = "ops-bot".parse().unwrap();
        manager.create_principal(&actor, NewPrincipal::service_account(bot.clone())).await.unwrap();
        manager.bind_role(&actor, &bot, Role::OrganizationAdmin).await.unwrap();
        let issued = manager.create_key(&actor, NewKey::new(bot, Scope::Cloud)).await.unwrap();
        let admin_id = issued.record.id().to_string();
        let admin_secret = issued.secret.expose().to_owned();
        let admin = keygate_wire::encode_basic(&admin_id, &admin_secret).to_string();
        let config =
            AppConfig::default().with_auth_failure_budget(1_000_000, Duration::from_secs(1));
        let app = App::start(KeyManager::new(store as Arc<dyn Store>), config).await.unwrap();
        let (router, _) = app.router();
        Plane { app, router, manager, admin, admin_id, admin_secret }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request =
            Request::builder().method(method).uri(path).header(header::AUTHORIZATION, &self.admin);
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&body).unwrap())
            }
            None => Body::empty(),
        };
        let response = self.router.clone().call(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

/// Median nanoseconds per call of `f` over `rounds` rounds of `calls` calls.
fn median_nanos(rounds: usize, calls: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed().as_nanos() as f64 / calls as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn authenticate(figures: &mut serde_json::Map<String, Value>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(dir.path().join("keygate.db")).await.unwrap());
    let plane = Plane::over(store).await;
    let auth = plane.app.auth().unwrap().clone();
    let header = plane.admin.clone();
    let (id, secret) = (plane.admin_id.clone(), plane.admin_secret.clone());
    // Both on this thread, alternating, so that each sees the same machine.
    let mut with_header = Vec::new();
    let mut alone = Vec::new();
    for _ in 0..7 {
        with_header.push(median_nanos(1, 100_000, || {
            let credential =
                keygate_wire::HttpCredential::parse(std::hint::black_box(&header)).unwrap();
            std::hint::black_box(auth.authenticate(&credential.credential(), None)).unwrap();
        }));
        alone.push(median_nanos(1, 100_000, || {
            let credential = Credential::KeyAndSecret { key_id: &id, secret: &secret };
            std::hint::black_box(auth.authenticate(std::hint::black_box(&credential), None))
                .unwrap();
        }));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (with_header, alone) = (median(with_header), median(alone));
    println!(
        "control plane: Basic header parsed and authenticated {with_header:.0} ns; authenticator alone {alone:.0} ns"
    );
    figures.insert("authenticate_basic_ns".into(), json!(with_header));
    figures.insert("authenticate_alone_ns".into(), json!(alone));

    // A whole read through the router: authentication, the caller's roles from the store, the
    // answer; on SQLite, in process.
    let mut samples = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let (status, _) = plane.send(Method::GET, "/v1/service-accounts/ops-bot", None).await;
        assert_eq!(status, StatusCode::OK);
        samples.push(start.elapsed().as_nanos() as f64);
    }
    samples.sort_by(f64::total_cmp);
    let request = samples[samples.len() / 2];
    println!(
        "control plane: an authenticated GET through the router, SQLite: {request:.0} ns (median)"
    );
    figures.insert("request_get_sqlite_ns".into(), json!(request));
}

async fn create(backend: &str, server: &str, figures: &mut serde_json::Map<String, Value>) {
    let mut rates = Vec::new();
    for through_api in [true, false] {
        let (store, _guard) = fresh(backend, server).await;
        let plane = Arc::new(Plane::over(store).await);
        let actor = Actor::new("bench").unwrap();
        plane
            .manager
            .create_principal(&actor, NewPrincipal::service_account("orders".parse().unwrap()))
            .await
            .unwrap();
        let start = Instant::now();
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let plane = Arc::clone(&plane);
                tokio::spawn(async move {
                    let actor = Actor::new("bench").unwrap();
                    for _ in 0..KEYS_PER_CLIENT {
                        if through_api {
                            let body = json!({"owner": "orders", "scope": "kafka-cluster/lkc-1", "expiry": "30d"});
                            let (status, reply) = plane.send(Method::POST, "/v1/api-keys", Some(body)).await;
                            assert_eq!(status, StatusCode::CREATED, "{reply}");
                        } else {
                            let new = NewKey::new("orders".parse().unwrap(), Scope::Resource("kafka-cluster/lkc-1".parse().unwrap()))
                                .with_lifetime("30d".parse().unwrap());
                            plane.manager.create_key(&actor, new).await.unwrap();
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let rate = (CLIENTS * KEYS_PER_CLIENT) as f64 / start.elapsed().as_secs_f64();
        let via = if through_api { "the API" } else { "KeyManager" };
        println!(
            "control plane: {backend}, {CLIENTS} concurrent clients creating keys through {via}: {rate:.0} keys/s"
        );
        rates.push(rate);
    }
    figures.insert(format!("create_keys_per_second_{backend}_api"), json!(rates[0]));
    figures.insert(format!("create_keys_per_second_{backend}_manager"), json!(rates[1]));
}

async fn list(keys: usize, server: &str, figures: &mut serde_json::Map<String, Value>) {
    let database = Database::create(server, "keygate_control_plane").await;
    let store = Arc::new(SqlStore::connect(&database.url).await.unwrap());
    let (snapshot, ..) = keygate_benches::fleet::snapshot(keys, 0);
    let imported = Instant::now();
    store.import(&snapshot).await.unwrap();
    println!(
        "control plane: {keys} keys imported into PostgreSQL in {:.1} s",
        imported.elapsed().as_secs_f64()
    );
    let plane = Plane::over(store).await;
    let mut samples = Vec::new();
    for _ in 0..3 {
        let mut path = "/v1/api-keys?page_size=1000".to_owned();
        for _ in 0..10 {
            let start = Instant::now();
            let (status, page) = plane.send(Method::GET, &path, None).await;
            samples.push(start.elapsed().as_nanos() as f64);
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(page["items"].as_array().unwrap().len(), 1000);
            match page["next_page_token"].as_str() {
                Some(token) => path = format!("/v1/api-keys?page_size=1000&page_token={token}"),
                None => break,
            }
        }
    }
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    println!(
        "control plane: a page of 1000 keys from {keys} on PostgreSQL: {:.2} ms (median)",
        median / 1e6
    );
    figures.insert(format!("list_page_1000_ns_postgres_{keys}_keys"), json!(median));
    drop(plane);
    database.drop().await;
}

/// An empty store of `backend`, and what keeps it alive.
async fn fresh(backend: &str, server: &str) -> (Arc<SqlStore>, Box<dyn std::any::Any + Send>) {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let store = SqlStore::open(dir.path().join("keygate.db")).await.unwrap();
            (Arc::new(store), Box::new(dir))
        }
        _ => {
            let database = Database::create(server, "keygate_control_plane").await;
            let store = SqlStore::connect(&database.url).await.unwrap();
            (Arc::new(store), Box::new(database))
        }
    }
}
