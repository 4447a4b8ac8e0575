//! Figures that are not the timing of a loop: memory per revoked key id and per indexed key at
//! one million, measured with a counting allocator; how long checks wait while a 10k-entry delta
//! is being applied to a million-entry list on another thread; and the authenticator's
//! throughput on one thread and on two.
//!
//! Run: `cargo bench -p keygate-benches --bench measurements`. The figures are printed and written
//! to `target/keygate-bench/measurements.json` for the summary.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cap::Cap;
use keygate::{AuthContext, Credential};
use keygate_benches::fleet::{Fleet, cluster, fleet};
use keygate_benches::{NOW, key_ids, probes, revocation_set};
use keygate_core::Expiry;
use keygate_revocation::{CredentialFacts, Delta, Freshness, Revocation, RevocationList};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const MILLION: usize = 1_000_000;
/// Opaque keys presented in the throughput runs, cycled through.
const PRESENTED: usize = 1024;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants it quick.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let size = if quick { 10_000 } else { MILLION };
    let mut figures = serde_json::Map::new();

    // Bytes per revoked key id, index included.
    let ids = key_ids(size, 1);
    let before = ALLOCATOR.allocated();
    let set = revocation_set(&ids);
    let bytes = ALLOCATOR.allocated() - before;
    let per_entry = bytes as f64 / size as f64;
    println!("revocation set: {size} key ids in {bytes} bytes = {per_entry:.1} bytes per entry");
    figures.insert("revocation_bytes_per_entry".into(), per_entry.into());

    // Checks on one thread while another applies 10k-entry deltas to the million-entry list.
    let list = Arc::new(RevocationList::from_set(set));
    let probes = probes(&ids, 4096, 2);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (list, done) = (Arc::clone(&list), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut latencies = Vec::with_capacity(1 << 20);
            let mut i = 0;
            while !done.load(Ordering::Relaxed) {
                i = (i + 1) % probes.len();
                let start = Instant::now();
                let facts = CredentialFacts::new().with_key_id(probes[i]);
                std::hint::black_box(list.check(&facts, &Freshness::accept_stale(), NOW).is_ok());
                latencies.push(start.elapsed());
            }
            latencies
        })
    };
    let mut apply_times = Vec::new();
    for round in 0..10u64 {
        let entries = key_ids(size / 100, 100 + round)
            .into_iter()
            .map(|id| Revocation::Key { id, expires: Expiry::Never })
            .collect();
        let delta = Delta::new(list.version(), list.version() + 1, entries).unwrap();
        let start = Instant::now();
        list.apply(&delta, NOW).unwrap();
        apply_times.push(start.elapsed());
    }
    done.store(true, Ordering::Relaxed);
    let mut latencies = reader.join().unwrap();
    latencies.sort();
    apply_times.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let median_apply = apply_times[apply_times.len() / 2];
    println!(
        "apply {}-entry delta to {size}-entry list: median {:?} (min {:?}, max {:?})",
        size / 100,
        median_apply,
        apply_times[0],
        apply_times[apply_times.len() - 1]
    );
    println!(
        "concurrent checks during applies: {} checks, p50 {:?}, p99 {:?}, p99.99 {:?}, max {:?}",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(0.9999),
        latencies[latencies.len() - 1]
    );
    figures.insert("revocation_apply_10k_into_1m_ms".into(), ms(median_apply).into());
    figures
        .insert("revocation_check_during_apply_p99_ns".into(), (at(0.99).as_nanos() as f64).into());
    figures.insert(
        "revocation_check_during_apply_max_us".into(),
        (latencies[latencies.len() - 1].as_nanos() as f64 / 1000.0).into(),
    );

    drop(list);
    authenticator_figures(if quick { 10_000 } else { MILLION }, quick, &mut figures);

    if !quick {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/keygate-bench");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("measurements.json"),
            serde_json::to_string_pretty(&figures).unwrap(),
        )
        .unwrap();
    }
}

/// Bytes per key an authenticator holds with `keys` opaque keys indexed, and its throughput
/// authenticating them on one thread and on two.
fn authenticator_figures(
    keys: usize,
    quick: bool,
    figures: &mut serde_json::Map<String, serde_json::Value>,
) {
    let before = ALLOCATOR.allocated();
    let fleet = fleet(keys, PRESENTED);
    let bytes = ALLOCATOR.allocated() - before;
    let per_key = bytes as f64 / keys as f64;
    println!(
        "authenticator: {keys} opaque keys indexed in {bytes} bytes = {per_key:.1} bytes per key"
    );
    figures.insert("authenticator_bytes_per_key".into(), per_key.into());

    let fleet = Arc::new(fleet);
    let window = if quick { Duration::from_millis(200) } else { Duration::from_secs(3) };
    let one = throughput(&fleet, 1, window);
    let two = throughput(&fleet, 2, window);
    println!(
        "authenticate throughput ({keys} keys): 1 thread {one:.0}/s, 2 threads {two:.0}/s = {:.2}x",
        two / one
    );
    figures.insert("authenticate_per_second_1_thread".into(), one.into());
    figures.insert("authenticate_per_second_2_threads".into(), two.into());
}

/// Opaque-key authentications per second over `threads` threads for `window`.
fn throughput(fleet: &Arc<Fleet>, threads: usize, window: Duration) -> f64 {
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let fleet = Arc::clone(fleet);
            std::thread::spawn(move || {
                let resource = cluster();
                let context = AuthContext::new(&resource, NOW);
                let started = Instant::now();
                let mut count = 0u64;
                let mut i = t * 7;
                while started.elapsed() < window {
                    for _ in 0..256 {
                        i = (i + 1) % PRESENTED;
                        let credential = Credential::ApiKey(&fleet.opaque[i]);
                        std::hint::black_box(
                            fleet.authenticator.authenticate(&credential, &context).is_ok(),
                        );
                    }
                    count += 256;
                }
                count as f64 / started.elapsed().as_secs_f64()
            })
        })
        .collect();
    workers.into_iter().map(|worker| worker.join().unwrap()).sum()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
