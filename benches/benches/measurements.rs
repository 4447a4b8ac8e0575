//! Figures that are not the timing of a loop: memory per revoked key id and per indexed key at
//! one million, measured with a counting allocator; how long checks wait while a 10k-entry delta
//! is being applied to a million-entry list on another thread. (Throughput is measured in the
//! `throughput` bench, away from this allocator's shared counter.)
//!
//! Run: `cargo bench -p keygate-benches --bench measurements`. The figures are printed and written
//! to `target/keygate-bench/measurements.json` for the summary.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use cap::Cap;
use keygate::{AuthConfig, AuthContext, Authenticator, Credential};
use keygate_benches::fleet::{cluster, fleet, fleet_with};
use keygate_benches::{NOW, key_ids, probes, revocation_set};
use keygate_core::Expiry;
use keygate_revocation::{CredentialFacts, Delta, Freshness, Revocation};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const MILLION: usize = 1_000_000;

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
    // Published as the facade publishes its state: the next set built beside, one atomic swap.
    let list = Arc::new(ArcSwap::from_pointee(set));
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
                let set = list.load();
                std::hint::black_box(set.check(&facts, &Freshness::accept_stale(), NOW).is_ok());
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
        let current = list.load_full();
        let delta = Delta::new(current.version(), current.version() + 1, entries).unwrap();
        let start = Instant::now();
        let next = current.with_delta(&delta, NOW).unwrap().unwrap();
        list.store(Arc::new(next));
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
    authenticator_figures(size, &mut figures);
    allocation_figures(&mut figures);

    if !quick {
        keygate_benches::write_figures("measurements.json", &figures);
    }
}

/// Bytes per key an authenticator holds with `keys` opaque keys indexed.
fn authenticator_figures(keys: usize, figures: &mut serde_json::Map<String, serde_json::Value>) {
    let before = ALLOCATOR.allocated();
    let fleet = fleet(keys, 1);
    let bytes = ALLOCATOR.allocated() - before;
    drop(fleet);
    let per_key = bytes as f64 / keys as f64;
    println!(
        "authenticator: {keys} opaque keys indexed in {bytes} bytes = {per_key:.1} bytes per key"
    );
    figures.insert("authenticator_bytes_per_key".into(), per_key.into());
}

/// Bytes the heap is asked for per successful authentication, over many calls on a warm
/// authenticator: an opaque key, an HS256 JWT API key seen before, and the same key through an
/// authenticator with its token cache off (the whole verification on every call).
fn allocation_figures(figures: &mut serde_json::Map<String, serde_json::Value>) {
    const CALLS: usize = 10_000;
    let resource = cluster();
    let context = AuthContext::new(&resource, NOW);
    let seen = fleet(1000, 16);
    let cold = fleet_with(1000, 1, AuthConfig::default().with_token_cache_slots(0));
    let cases: [(&str, &Authenticator, Credential<'_>); 3] = [
        ("opaque", &seen.authenticator, Credential::ApiKey(&seen.opaque[0])),
        ("hs256_seen", &seen.authenticator, Credential::Bearer(&seen.hs256_token)),
        ("hs256_cold", &cold.authenticator, Credential::Bearer(&cold.hs256_token)),
    ];
    for (name, authenticator, credential) in cases {
        // The first call may fill a cache; what is measured is every call after it.
        authenticator.authenticate(&credential, &context).unwrap();
        let before = ALLOCATOR.total_allocated();
        for _ in 0..CALLS {
            std::hint::black_box(authenticator.authenticate(&credential, &context).unwrap());
        }
        let per_call = (ALLOCATOR.total_allocated() - before) as f64 / CALLS as f64;
        println!("authenticate ({name}): {per_call:.1} bytes allocated per call");
        figures.insert(format!("allocated_bytes_per_authentication_{name}"), per_call.into());
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
