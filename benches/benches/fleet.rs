//! A fleet of servers on one PostgreSQL, with the store's notifications (push) and without them
//! (polling every 100 ms, what every replica did before), measured in the same run:
//!
//! - revocation to refusal: N servers (N = 2 and 8; keygate-tokio `Server`s, each with its own
//!   connection pool, as N brokers would have), a key revoked through `KeyManager`, timed until
//!   every server refuses it; 200 trials, each started at a pseudo-random phase of the polling
//!   interval; p50, p99 and max;
//! - what an idle fleet of 8 costs the database: statements per second, counted by PostgreSQL
//!   itself (pg_stat_statements, which `scripts/with-postgres` loads), over 20 s of nothing
//!   happening;
//! - starting one server against a store of 1M keys and 100k revocations, on SQLite and on
//!   PostgreSQL: the time `Server::start` takes (its first sync streams the snapshot and indexes
//!   it), and the process's resident memory after it, each in a process of its own so nothing
//!   else the bench built is counted.
//!
//! Run: `scripts/with-postgres cargo bench -p keygate-benches --bench fleet`. Without
//! `KEYGATE_POSTGRES_URL` it says so and measures nothing. The figures are printed and written
//! to `target/keygate-bench/fleet.json` for the summary.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keygate::core::{KeyId, KeyPolicy, ResourceRef, Scope};
use keygate::store::Store;
use keygate::{Actor, AuthError, Credential, IssuedKey, KeyManager, NewKey, NewPrincipal};
use keygate_benches::fleet::cluster;
use keygate_benches::{NOW, key_ids};
use keygate_core::Expiry;
use keygate_revocation::Revocation;
use keygate_store_sql::{LISTENER_APPLICATION_NAME, SqlStore};
use keygate_testkit::postgres::Database;
use keygate_tokio::{Server, ServerConfig};
use serde_json::{Map, Value, json};
use sqlx::{Connection, PgConnection};

/// Set in the child process that measures a start: the store's location.
const START_CHILD: &str = "KEYGATE_FLEET_START";
/// How long a server may take to see a revocation before the bench calls it lost.
const LOST_AFTER: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

fn main() {
    if let Ok(location) = std::env::var(START_CHILD) {
        return start_child(&location);
    }
    // `cargo bench` passes `--bench`; anything else wants it quick.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let Ok(server) = std::env::var("KEYGATE_POSTGRES_URL") else {
        println!(
            "fleet: KEYGATE_POSTGRES_URL is not set (run under scripts/with-postgres); skipped"
        );
        return;
    };
    let (trials, idle, keys, revocations) = if quick {
        (20, Duration::from_secs(3), 10_000, 1_000)
    } else {
        (200, Duration::from_secs(20), 1_000_000, 100_000)
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut figures = Map::new();

    // KEYGATE_FLEET_ONLY=idle|latency|start runs one part.
    let only = std::env::var("KEYGATE_FLEET_ONLY").ok();
    let part = |name: &str| only.as_deref().is_none_or(|only| only == name);
    for servers in [2, 8].into_iter().filter(|_| part("latency")) {
        for push in [true, false] {
            let mut database = runtime.block_on(Database::create(&server, "keygate_fleet"));
            let (p50, p99, max) =
                runtime.block_on(revocation_latency(&mut database, servers, push, trials));
            let mode = mode(push);
            println!(
                "revocation -> refused by all {servers} servers, {mode}, {trials} trials: \
                 p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                millis(p50),
                millis(p99),
                millis(max)
            );
            for (name, value) in [("p50", p50), ("p99", p99), ("max", max)] {
                let key = format!("revocation_{name}_ns_{servers}_servers_{mode}");
                figures.insert(key, json!(value.as_nanos() as f64));
            }
            runtime.block_on(database.drop());
        }
    }

    for push in [true, false].into_iter().filter(|_| part("idle")) {
        let mut database = runtime.block_on(Database::create(&server, "keygate_fleet"));
        let mode = mode(push);
        match runtime.block_on(idle_queries(&mut database, 8, push, idle)) {
            Some(per_second) => {
                println!("idle fleet of 8, {mode}: {per_second:.2} database statements per second");
                figures
                    .insert(format!("idle_queries_per_second_8_servers_{mode}"), json!(per_second));
            }
            None => println!("idle fleet: the server has no pg_stat_statements; not measured"),
        }
        runtime.block_on(database.drop());
    }

    if !part("start") {
        return;
    }
    let snapshot = big_snapshot(keys, revocations);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("keygate.db").display().to_string();
    let database = runtime.block_on(Database::create(&server, "keygate_fleet"));
    for (backend, location) in [("sqlite", sqlite.as_str()), ("postgres", database.url.as_str())] {
        let imported = Instant::now();
        runtime.block_on(async {
            let store = SqlStore::open_location(location).await.unwrap();
            store.import(&snapshot).await.unwrap();
            store.close().await;
        });
        println!(
            "{backend}: {keys} keys and {revocations} revocations imported in {:.1} s",
            imported.elapsed().as_secs_f64()
        );
        let start = measure_start(location);
        println!(
            "start from {backend}, {keys} keys and {revocations} revocations: {:.2} s, resident \
             {:.0} MiB after loading (peak {:.0} MiB)",
            start.seconds,
            start.resident_bytes / MIB,
            start.peak_resident_bytes / MIB
        );
        figures.insert(format!("start_ns_{backend}"), json!(start.seconds * 1e9));
        figures.insert(format!("start_resident_bytes_{backend}"), json!(start.resident_bytes));
        figures.insert(
            format!("start_peak_resident_bytes_{backend}"),
            json!(start.peak_resident_bytes),
        );
    }
    runtime.block_on(database.drop());
    figures.insert("start_keys".into(), json!(keys));
    figures.insert("start_revocations".into(), json!(revocations));
    if !quick {
        keygate_benches::write_figures("fleet.json", &figures);
    }
}

fn mode(push: bool) -> &'static str {
    if push { "push" } else { "polling" }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

const MIB: f64 = 1024.0 * 1024.0;

/// `servers` servers on `database`, pushed to or polling; `trials` keys revoked one after
/// another; the time from each revocation's start until every server refused the key.
async fn revocation_latency(
    database: &mut Database,
    servers: usize,
    push: bool,
    trials: usize,
) -> (Duration, Duration, Duration) {
    let control = Control::new(&database.url, trials).await;
    let mut keys = Vec::with_capacity(trials);
    for _ in 0..trials {
        keys.push(control.key().await);
    }
    // What each server saw last: the key a trial waits for, and when each server refused it.
    let seen: Arc<Mutex<Trial>> = Arc::default();
    let mut fleet = Vec::with_capacity(servers);
    for index in 0..servers {
        let seen = Arc::clone(&seen);
        let config = config(push).on_sync(move |outcome| {
            if let Ok(report) = outcome {
                let mut trial = seen.lock().unwrap();
                if let Some(key) = trial.key
                    && report.revoked_keys.contains(&key)
                {
                    trial.refused[index].get_or_insert_with(Instant::now);
                }
            }
        });
        fleet.push(server(&database.url, config).await);
    }
    if push {
        database.wait_for_listeners(LISTENER_APPLICATION_NAME, servers, LOST_AFTER).await;
    }
    // Every server knows every key before the first trial.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut latencies = Vec::with_capacity(trials);
    for (trial, key) in keys.iter().enumerate() {
        // A pseudo-random phase within the polling interval, the same sequence for both modes.
        let phase = (trial as u64 * 7919) % POLL.as_millis() as u64;
        tokio::time::sleep(Duration::from_millis(phase)).await;
        *seen.lock().unwrap() = Trial { key: Some(key.record.id()), refused: vec![None; servers] };
        let revoked = Instant::now();
        control.revoke(key).await;
        let last = loop {
            {
                let trial = seen.lock().unwrap();
                if trial.refused.iter().all(Option::is_some) {
                    break trial.refused.iter().flatten().max().copied().unwrap();
                }
            }
            assert!(revoked.elapsed() < LOST_AFTER, "a server never saw the revocation");
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        for server in &fleet {
            let refused = server.authenticate(&Credential::ApiKey(key.secret.expose()), None);
            assert!(matches!(refused, Err(AuthError::Revoked(_))), "{refused:?}");
        }
        latencies.push(last - revoked);
    }
    latencies.sort();
    let at = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    (at(50), at(99), *latencies.last().unwrap())
}

#[derive(Default)]
struct Trial {
    key: Option<KeyId>,
    refused: Vec<Option<Instant>>,
}

/// Statements per second the database runs while `servers` servers sit on an idle store for
/// `window`, as pg_stat_statements counts them; `None` where the server does not load it.
async fn idle_queries(
    database: &mut Database,
    servers: usize,
    push: bool,
    window: Duration,
) -> Option<f64> {
    let _control = Control::new(&database.url, 1).await;
    let mut admin = PgConnection::connect(&database.url).await.unwrap();
    if sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&mut admin)
        .await
        .is_err()
    {
        return None;
    }
    let mut fleet = Vec::with_capacity(servers);
    for _ in 0..servers {
        fleet.push(server(&database.url, config(push)).await);
    }
    if push {
        database.wait_for_listeners(LISTENER_APPLICATION_NAME, servers, LOST_AFTER).await;
    }
    // Settled: every pool connected, every first sync and its catch-up done.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sqlx::query("SELECT pg_stat_statements_reset()").execute(&mut admin).await.unwrap();
    let started = Instant::now();
    tokio::time::sleep(window).await;
    // Counted when each statement ends, so the count is current at once.
    let statements: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND query NOT LIKE '%pg_stat_statements%'",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    let elapsed = started.elapsed();
    drop(fleet);
    Some(statements as f64 / elapsed.as_secs_f64())
}

fn config(push: bool) -> ServerConfig {
    ServerConfig::default()
        .with_notifications(push)
        .with_sync_interval(POLL)
        .with_last_use_interval(None)
}

async fn server(url: &str, config: ServerConfig) -> Server {
    let store: Arc<dyn Store> = Arc::new(SqlStore::connect(url).await.unwrap());
    Server::start(store, cluster(), config).await.unwrap()
}

/// The operator's side: a manager on a store of its own, and one service account.
struct Control {
    manager: KeyManager,
    operator: Actor,
}

impl Control {
    async fn new(url: &str, keys: usize) -> Control {
        let store: Arc<dyn Store> = Arc::new(SqlStore::connect(url).await.unwrap());
        let policy = KeyPolicy::default().with_max_keys_per_principal(keys as u32 + 1);
        let manager = KeyManager::new(store).with_policy(policy);
        let operator = Actor::new("bench:operator").unwrap();
        manager
            .create_principal(&operator, NewPrincipal::service_account("orders".parse().unwrap()))
            .await
            .unwrap();
        Control { manager, operator }
    }

    async fn key(&self) -> IssuedKey {
        let new = NewKey::new("orders".parse().unwrap(), Scope::Resource(cluster()));
        self.manager.create_key(&self.operator, new).await.unwrap()
    }

    async fn revoke(&self, key: &IssuedKey) {
        let reason = "bench".parse().unwrap();
        self.manager.revoke(&self.operator, key.record.id(), reason).await.unwrap();
    }
}

/// The fleet helper's snapshot of `keys` opaque keys, plus `revocations` revoked key ids.
fn big_snapshot(keys: usize, revocations: usize) -> keygate::store::StoreSnapshot {
    let (mut snapshot, ..) = keygate_benches::fleet::snapshot(keys, 0);
    let expires = Expiry::At(NOW.saturating_add(keygate::core::Span::days(365)));
    snapshot.revocations =
        key_ids(revocations, 7).into_iter().map(|id| Revocation::Key { id, expires }).collect();
    snapshot
}

/// What one start cost, as the child process measured it.
struct Start {
    seconds: f64,
    resident_bytes: f64,
    peak_resident_bytes: f64,
}

/// Starts a server on `location` in a process of its own, and reads what it reports.
fn measure_start(location: &str) -> Start {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .env(START_CHILD, location)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    Start {
        seconds: report["seconds"].as_f64().unwrap(),
        resident_bytes: report["resident_bytes"].as_f64().unwrap(),
        peak_resident_bytes: report["peak_resident_bytes"].as_f64().unwrap(),
    }
}

/// The child: starts one server on `location`, and prints how long that took and the process's
/// resident memory after it, as JSON.
fn start_child(location: &str) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let started = Instant::now();
    let server = runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqlStore::open_location(location).await.unwrap());
        let resource: ResourceRef = cluster();
        Server::start(store, resource, ServerConfig::default().with_last_use_interval(None))
            .await
            .unwrap()
    });
    let seconds = started.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib * 1024.0)
    };
    let report = json!({
        "seconds": seconds,
        "resident_bytes": kib("VmRSS:"),
        "peak_resident_bytes": kib("VmHWM:"),
        "keys": server.authenticator().key_count(),
    });
    println!("{report}");
}
