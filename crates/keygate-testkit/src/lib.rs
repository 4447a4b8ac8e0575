//! Shared helpers for keygate's tests: seeded randomness, fixed instants, and proptest
//! strategies for the model's types.
//!
//! Nothing here is for production. [`SeededRandom`] in particular is predictable by design.
//! The helpers live in one crate so that every crate's tests draw ids, scopes and times from the
//! same distributions instead of each growing its own copy.

// Test support: a strategy that produces an invalid value is a bug in the strategy, and
// panicking is how a test helper reports it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod fixtures;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "process")]
pub mod process;
pub mod strategy;

use std::sync::atomic::{AtomicU64, Ordering};

use keygate_core::{Error, SecureRandom, Span, Timestamp};

/// 2026-01-01T00:00:00Z, the instant tests start from unless they say otherwise.
pub const T0: Timestamp = match Timestamp::from_unix(1_767_225_600) {
    Ok(t) => t,
    Err(_) => Timestamp::EPOCH,
};

/// `T0` plus `seconds`.
pub fn t0_plus(seconds: u64) -> Timestamp {
    T0.saturating_add(Span::seconds(seconds))
}

/// The value of an environment variable that points a test at something outside Rust: a
/// Python interpreter with client libraries, a PostgreSQL server.
///
/// When it is missing the test cannot run. Then this prints, by name, that `test` was skipped and
/// why, and returns `None`; unless `KEYGATE_REQUIRE_EXTERNAL` is set (as `scripts/test` and CI set
/// it), in which case a missing variable fails the test: CI never passes by skipping.
pub fn external(variable: &str, test: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var_os("KEYGATE_REQUIRE_EXTERNAL").is_some() => {
            panic!("{test}: {variable} is not set, and KEYGATE_REQUIRE_EXTERNAL forbids skipping")
        }
        _ => {
            eprintln!("SKIPPED {test}: set {variable} to run it (scripts/test does)");
            None
        }
    }
}

/// A deterministic [`SecureRandom`] for tests: the same seed gives the same bytes, so generated
/// key ids and secrets, and the tokens minted from them, are byte-stable across runs.
///
/// It is SplitMix64 over a counter, which is fast and well distributed and not secure at all.
#[derive(Debug)]
pub struct SeededRandom {
    seed: u64,
    counter: AtomicU64,
}

impl SeededRandom {
    /// A generator that starts from `seed`.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom { seed, counter: AtomicU64::new(0) }
    }

    fn next_u64(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut z = self.seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl SecureRandom for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// A [`SecureRandom`] that always fails, for testing what callers do when the OS source is gone.
#[derive(Debug, Default)]
pub struct FailingRandom;

impl SecureRandom for FailingRandom {
    fn fill(&self, _dest: &mut [u8]) -> Result<(), Error> {
        Err(Error::RandomUnavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
        let (mut x, mut y) = ([0u8; 37], [0u8; 37]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_eq!(x, y);
        let mut z = [0u8; 37];
        SeededRandom::new(8).fill(&mut z).unwrap();
        assert_ne!(x, z);
        assert_ne!(x[..8], x[8..16]);
    }
}
