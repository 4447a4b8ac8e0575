//! Revocation snapshots and deltas as a replica receives them (JSON): never a panic; a snapshot
//! that loads round-trips; a delta that applies revokes every key it names.
#![no_main]

use std::sync::OnceLock;

use keygate_core::Timestamp;
use keygate_revocation::{CredentialFacts, Delta, Freshness, Revocation, RevocationSet, Snapshot};
use libfuzzer_sys::fuzz_target;

fn base() -> &'static RevocationSet {
    static BASE: OnceLock<RevocationSet> = OnceLock::new();
    BASE.get_or_init(RevocationSet::new)
}

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_unix(1_800_000_000).unwrap();
    if let Ok(snapshot) = serde_json::from_slice::<Snapshot>(data)
        && let Ok(set) = RevocationSet::from_snapshot(&snapshot, now)
    {
        let again =
            RevocationSet::from_snapshot(&set.snapshot(), now).expect("a snapshot of a set loads");
        assert_eq!(again.snapshot(), set.snapshot());
    }
    if let Ok(delta) = serde_json::from_slice::<Delta>(data)
        && let Ok(Some(set)) = base().with_delta(&delta, now)
    {
        for entry in delta.entries() {
            if let Revocation::Key { id, expires } = entry
                && !expires.has_passed(now)
            {
                let facts = CredentialFacts::new().with_key_id(*id);
                assert!(
                    set.check(&facts, &Freshness::accept_stale(), now).is_err(),
                    "a revoked key passed"
                );
            }
        }
    }
});
