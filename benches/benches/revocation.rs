//! Revocation checks at 1k, 100k and 1M entries beside a plain std `HashSet` lookup of the same
//! ids, and a 10k-entry delta applied to a 1M-entry list.
//!
//! Run: `cargo bench -p keygate-benches --bench revocation`.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use keygate_benches::{NOW, key_ids, probes, revocation_set};
use keygate_core::{Expiry, KeyId};
use keygate_revocation::{CredentialFacts, Delta, Freshness, Revocation};

fn check(c: &mut Criterion) {
    let mut group = c.benchmark_group("revocation-check");
    for size in [1_000usize, 100_000, 1_000_000] {
        let ids = key_ids(size, 1);
        let set = revocation_set(&ids);
        let hash_set: HashSet<KeyId> = ids.iter().copied().collect();
        let probes = probes(&ids, 4096, 2);
        let mask = probes.len() - 1;
        let freshness = Freshness::default();

        group.bench_function(BenchmarkId::new("keygate", size), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & mask;
                let facts = CredentialFacts::new().with_key_id(probes[i]);
                black_box(set.check(&facts, &freshness, NOW).is_ok())
            })
        });
        group.bench_function(BenchmarkId::new("std-hashset", size), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & mask;
                black_box(hash_set.contains(&probes[i]))
            })
        });
    }
    group.finish();
}

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("revocation-apply");
    group.sample_size(20);
    let base = revocation_set(&key_ids(1_000_000, 1));
    let entries = key_ids(10_000, 3)
        .into_iter()
        .map(|id| Revocation::Key { id, expires: Expiry::Never })
        .collect();
    let delta = Delta::new(base.version(), base.version() + 1, entries).unwrap();
    group.bench_function("keygate/10k-into-1m", |b| {
        b.iter(|| black_box(base.with_delta(&delta, NOW).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, check, apply);
criterion_main!(benches);
