//! Inputs shared by keygate's benches: deterministic, so every run measures the same work.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keygate_core::{Expiry, KeyId, Timestamp};
use keygate_revocation::{Delta, Revocation, RevocationSet};
use keygate_testkit::SeededRandom;

/// The instant benches run at.
pub const NOW: Timestamp = keygate_testkit::T0;

/// `n` distinct key ids from `seed`.
pub fn key_ids(n: usize, seed: u64) -> Vec<KeyId> {
    let random = SeededRandom::new(seed);
    (0..n).map(|_| KeyId::generate(&random).unwrap()).collect()
}

/// A revocation set holding `ids`, synced at [`NOW`].
pub fn revocation_set(ids: &[KeyId]) -> RevocationSet {
    let entries = ids.iter().map(|&id| Revocation::Key { id, expires: Expiry::Never }).collect();
    RevocationSet::new().with_delta(&Delta::new(0, 1, entries).unwrap(), NOW).unwrap().unwrap()
}

/// Probe ids cycling through half revoked and half unknown keys, so a check takes both paths.
pub fn probes(revoked: &[KeyId], count: usize, seed: u64) -> Vec<KeyId> {
    let unknown = key_ids(count / 2, seed);
    let step = (revoked.len() / (count / 2)).max(1);
    revoked
        .iter()
        .step_by(step)
        .take(count / 2)
        .copied()
        .zip(unknown)
        .flat_map(|(a, b)| [a, b])
        .collect()
}

pub mod fleet;
pub mod tokens;

/// Writes a bench's figures to `target/keygate-bench/<name>`, where the summary reads them.
pub fn write_figures(name: &str, figures: &serde_json::Map<String, serde_json::Value>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/keygate-bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), serde_json::to_string_pretty(figures).unwrap()).unwrap();
}
