//! A fleet on one PostgreSQL: two brokers' replicas syncing every 100 ms, and an operator's
//! KeyManager on a third connection. A key revoked through the manager is refused by both
//! brokers after their next sync; the test measures how long that takes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keygate::core::{ResourceRef, SystemClock};
use keygate::{
    Actor, AuthConfig, AuthContext, AuthError, Authenticator, Credential, IssuedKey, KeyManager,
    NewKey, NewPrincipal, Replica,
};
use keygate_core::{Clock, KeyPolicy};
use keygate_store::Store;
use keygate_store_sql::SqlStore;

use super::support::postgres_url;

const TRIALS: usize = 100;
const SYNC_INTERVAL: Duration = Duration::from_millis(100);
/// How long a broker may take to see a change before the test calls it lost: a liveness bound,
/// far above any figure the test reports.
const LOST_AFTER: Duration = Duration::from_secs(10);

fn resource() -> ResourceRef {
    "kafka-cluster/lkc-fleet".parse().unwrap()
}

fn check(broker: &Authenticator, key: &IssuedKey) -> Result<(), AuthError> {
    let resource = resource();
    let context = AuthContext::new(&resource, SystemClock.now());
    broker.authenticate(&Credential::ApiKey(key.secret.expose()), &context).map(|_| ())
}

/// Polls every millisecond until `done` holds for every broker.
async fn until(brokers: &[Authenticator], done: impl Fn(&Authenticator) -> bool) {
    let started = Instant::now();
    while !brokers.iter().all(&done) {
        assert!(started.elapsed() < LOST_AFTER, "a broker never saw the change");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_both_brokers_after_their_next_sync() {
    let Some(url) = postgres_url().await else { return };
    let operator = Actor::new("test:operator").unwrap();
    let manager_store: Arc<dyn Store> = Arc::new(SqlStore::connect(&url).await.unwrap());
    let manager = KeyManager::new(manager_store)
        .with_policy(KeyPolicy::default().with_max_keys_per_principal(TRIALS as u32 + 1));
    manager
        .create_principal(&operator, NewPrincipal::service_account("orders".parse().unwrap()))
        .await
        .unwrap();

    let mut brokers = Vec::new();
    let mut syncs = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn Store> = Arc::new(SqlStore::connect(&url).await.unwrap());
        let authenticator = Authenticator::new(AuthConfig::default());
        let mut replica = Replica::new(authenticator.clone(), Arc::new(SystemClock));
        // The sync task a server runs (keygate-tokio's, in production), cut to what this needs.
        syncs.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SYNC_INTERVAL);
            loop {
                ticker.tick().await;
                if let Err(error) = replica.sync_once(&*store).await {
                    panic!("a sync failed: {error}");
                }
            }
        }));
        brokers.push(authenticator);
    }

    let mut latencies = Vec::with_capacity(TRIALS);
    for trial in 0..TRIALS {
        let key = manager
            .create_key(
                &operator,
                NewKey::new("orders".parse().unwrap(), keygate::core::Scope::Resource(resource())),
            )
            .await
            .unwrap();
        until(&brokers, |broker| check(broker, &key).is_ok()).await;
        // Revoke at a random point of the sync cycle, as an operator would.
        tokio::time::sleep(Duration::from_millis((trial as u64 * 37) % 100)).await;

        let revoked_at = Instant::now();
        manager.revoke(&operator, key.record.id(), "fleet test".parse().unwrap()).await.unwrap();
        until(&brokers, |broker| matches!(check(broker, &key), Err(AuthError::Revoked(_)))).await;
        latencies.push(revoked_at.elapsed());
    }
    for sync in syncs {
        sync.abort();
    }

    latencies.sort();
    let (p50, p99, max) =
        (percentile(&latencies, 50), percentile(&latencies, 99), latencies[TRIALS - 1]);
    println!(
        "fleet: revoke -> refused by both brokers, {TRIALS} trials, {} ms sync: p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms",
        SYNC_INTERVAL.as_millis(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
    );
}
