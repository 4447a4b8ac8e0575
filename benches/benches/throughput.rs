//! The authenticator's throughput on one thread and on two: opaque keys among a million, the
//! same work as `authenticate/opaque-1m/keygate`, with no lock or shared counter between the
//! threads but what keygate itself has. It runs in its own process because the counting
//! allocator of the `measurements` bench would put one shared atomic on every allocation.
//!
//! The two runs alternate three times each and the median of each is kept, so that a noisy
//! neighbour on a shared machine weighs on both alike.
//!
//! In the main figure both threads cycle through the same keys, half a cycle apart, so each
//! key's entry is touched by both cores: an identity shares its key's entry through a reference
//! count, and the count's cache line moves between the cores. A third run gives each thread keys
//! of its own, as connections of different clients are, to show what that sharing costs.
//!
//! Run: `cargo bench -p keygate-benches --bench throughput`. The figures are printed and written
//! to `target/keygate-bench/throughput.json` for the summary.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use keygate::{AuthContext, Credential};
use keygate_benches::NOW;
use keygate_benches::fleet::{Fleet, cluster, fleet};

/// Opaque keys presented, cycled through, each thread from its own offset.
const PRESENTED: usize = 1024;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants it quick.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let (keys, window, rounds) = if quick {
        (10_000, Duration::from_millis(100), 1)
    } else {
        (1_000_000, Duration::from_secs(2), 3)
    };
    let fleet = Arc::new(fleet(keys, PRESENTED));
    let mut one = Vec::new();
    let mut two = Vec::new();
    let mut apart = Vec::new();
    for _ in 0..rounds {
        one.push(throughput(&fleet, 1, window, Keys::Shared));
        two.push(throughput(&fleet, 2, window, Keys::Shared));
        apart.push(throughput(&fleet, 2, window, Keys::OwnHalf));
    }
    let (one, two, apart) = (median(one), median(two), median(apart));
    println!(
        "authenticate throughput ({keys} keys): 1 thread {one:.0}/s, 2 threads {two:.0}/s = {:.2}x; \
         2 threads on keys of their own {apart:.0}/s = {:.2}x",
        two / one,
        apart / one
    );
    if !quick {
        let mut figures = serde_json::Map::new();
        figures.insert("authenticate_per_second_1_thread".into(), one.into());
        figures.insert("authenticate_per_second_2_threads".into(), two.into());
        figures.insert("authenticate_per_second_2_threads_own_keys".into(), apart.into());
        keygate_benches::write_figures("throughput.json", &figures);
    }
}

/// Which of the presented keys each thread cycles through.
#[derive(Copy, Clone)]
enum Keys {
    /// All of them, each thread from its own offset.
    Shared,
    /// A half of its own.
    OwnHalf,
}

/// Opaque-key authentications per second over `threads` threads for `window`.
fn throughput(fleet: &Arc<Fleet>, threads: usize, window: Duration, keys: Keys) -> f64 {
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let fleet = Arc::clone(fleet);
            std::thread::spawn(move || {
                let resource = cluster();
                let context = AuthContext::new(&resource, NOW);
                let started = Instant::now();
                let mut count = 0u64;
                let (first, cycle) = match keys {
                    Keys::Shared => (0, PRESENTED),
                    Keys::OwnHalf => (t * PRESENTED / 2, PRESENTED / 2),
                };
                let mut i = t * PRESENTED / 2;
                while started.elapsed() < window {
                    for _ in 0..256 {
                        i = (i + 1) % cycle;
                        let credential = Credential::ApiKey(&fleet.opaque[first + i]);
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

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
