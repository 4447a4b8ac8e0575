//! Two threads check while a third applies deltas and publishes each next set with one atomic
//! swap, as the keygate facade publishes its state: every answer comes from one whole version.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use arc_swap::ArcSwap;
use keygate_core::{Expiry, KeyId};
use keygate_revocation::{CredentialFacts, Delta, Freshness, Revocation, RevocationSet};
use keygate_testkit::T0;

const DELTAS: u64 = 2_000;

/// Delta `v` (from v-1 to v) revokes both keys of pair `v`.
fn pair(v: u64) -> [KeyId; 2] {
    let b = v.to_le_bytes();
    [
        KeyId::from_bytes([b[0], b[1], 0xa0, 0, 0, 0, 0, 0, 0, b[0]]),
        KeyId::from_bytes([b[0], b[1], 0xb0, 0, 0, 0, 0, 0, 0, b[1]]),
    ]
}

fn revoked(set: &keygate_revocation::RevocationSet, id: KeyId) -> bool {
    set.check(&CredentialFacts::new().with_key_id(id), &Freshness::accept_stale(), T0).is_err()
}

#[test]
fn readers_never_see_half_a_delta() {
    let list = Arc::new(ArcSwap::from_pointee(RevocationSet::new()));
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..2)
        .map(|_| {
            let list = Arc::clone(&list);
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let (mut checks, mut last_version) = (0u64, 0u64);
                while !done.load(Ordering::Acquire) {
                    let set = list.load_full();
                    let version = set.version();
                    assert!(version >= last_version, "the version went backwards");
                    last_version = version;
                    // Probe pairs around the version: at or below are wholly revoked, above not at all.
                    for v in version.saturating_sub(3)..=(version + 3).min(DELTAS) {
                        if v == 0 {
                            continue;
                        }
                        let [a, b] = pair(v);
                        let (ra, rb) = (revoked(&set, a), revoked(&set, b));
                        assert_eq!(ra, rb, "pair {v} half revoked at version {version}");
                        assert_eq!(ra, v <= version, "pair {v} at version {version}");
                        checks += 1;
                    }
                }
                checks
            })
        })
        .collect();

    for v in 1..=DELTAS {
        let [a, b] = pair(v);
        let entries = vec![
            Revocation::Key { id: a, expires: Expiry::Never },
            Revocation::Key { id: b, expires: Expiry::Never },
        ];
        let next = list.load().with_delta(&Delta::new(v - 1, v, entries).unwrap(), T0).unwrap();
        list.store(Arc::new(next.unwrap()));
    }
    done.store(true, Ordering::Release);
    let checks: u64 = readers.into_iter().map(|reader| reader.join().unwrap()).sum();
    assert!(checks > 0);
    assert_eq!(list.load().version(), DELTAS);
    assert_eq!(list.load().len(), 2 * DELTAS as usize);
}
