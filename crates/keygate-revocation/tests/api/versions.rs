//! Gap, duplicate and out-of-order deltas; freshness; pruning.

use keygate_core::{Expiry, KeyId, Span, Timestamp};
use keygate_revocation::{CredentialFacts, Delta, Error, Freshness, Revocation, RevocationSet};
use keygate_testkit::{T0, t0_plus};

/// What applying a delta did, as a replica sees it.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    Updated { version: u64 },
    AlreadyApplied,
}

/// Applies `delta` to `set` as a replica does: the next set replaces it, or nothing changes.
fn apply(set: &mut RevocationSet, delta: &Delta, now: Timestamp) -> Result<Applied, Error> {
    match set.with_delta(delta, now)? {
        Some(next) => {
            *set = next;
            Ok(Applied::Updated { version: set.version() })
        }
        None => Ok(Applied::AlreadyApplied),
    }
}

fn revoke(n: u8) -> Revocation {
    Revocation::Key { id: KeyId::from_bytes([n; 10]), expires: Expiry::Never }
}

fn delta(from: u64, to: u64, n: u8) -> Delta {
    Delta::new(from, to, vec![revoke(n)]).unwrap()
}

#[test]
fn gaps_duplicates_and_out_of_order() {
    let mut list = RevocationSet::new();
    assert_eq!(apply(&mut list, &delta(0, 10, 1), T0).unwrap(), Applied::Updated { version: 10 });
    // Duplicate: harmless.
    assert_eq!(apply(&mut list, &delta(0, 10, 1), T0).unwrap(), Applied::AlreadyApplied);
    // Out of order: an older delta arriving late is also already covered.
    assert_eq!(apply(&mut list, &delta(5, 8, 9), T0).unwrap(), Applied::AlreadyApplied);
    // Overlapping: starts before the current version and ends after it.
    let overlap = apply(&mut list, &delta(5, 12, 2), T0).unwrap_err();
    assert_eq!(overlap, Error::OutOfOrder { current: 10, from: 5, to: 12 });
    assert!(overlap.needs_resync());
    // A gap.
    assert!(apply(&mut list, &delta(11, 12, 2), T0).unwrap_err().needs_resync());
    assert_eq!(list.version(), 10);
    // The right next one.
    assert_eq!(apply(&mut list, &delta(10, 11, 2), T0).unwrap(), Applied::Updated { version: 11 });
    // Refused deltas changed nothing: key 9 from the late delta was never added.
    let facts = CredentialFacts::new().with_key_id(KeyId::from_bytes([9; 10]));
    assert!(list.check(&facts, &Freshness::default(), T0).is_ok());
}

#[test]
fn freshness_fails_closed() {
    let mut list = RevocationSet::new();
    let facts = CredentialFacts::new().with_key_id(KeyId::from_bytes([1; 10]));
    // Never synced: unknown.
    assert!(matches!(
        list.check(&facts, &Freshness::default(), T0),
        Err(Error::StatusUnknown { synced_at: None, .. })
    ));
    list = list.with_synced(T0);
    let bound = Freshness::within(Span::seconds(10));
    assert!(list.check(&facts, &bound, t0_plus(10)).is_ok());
    let stale = list.check(&facts, &bound, t0_plus(11)).unwrap_err();
    assert_eq!(
        stale,
        Error::StatusUnknown { synced_at: Some(T0), now: t0_plus(11), max: Span::seconds(10) }
    );
    assert!(stale.to_string().contains("at most 10s"), "{stale}");
    // The named opt-out answers from the stale list.
    assert!(list.check(&facts, &Freshness::accept_stale(), t0_plus(1_000_000)).is_ok());
    // A delta counts as a sync.
    apply(&mut list, &delta(0, 1, 2), t0_plus(100)).unwrap();
    assert!(list.check(&facts, &bound, t0_plus(105)).is_ok());
}

#[test]
fn pruning_is_bounded_by_expiry() {
    let mut list = RevocationSet::new();
    let entries = (0..100u8)
        .map(|n| Revocation::Key {
            id: KeyId::from_bytes([n; 10]),
            expires: Expiry::At(t0_plus(u64::from(n) * 10)),
        })
        .collect();
    apply(&mut list, &Delta::new(0, 1, entries).unwrap(), T0).unwrap();
    let (list, removed) = list.pruned(t0_plus(500), Span::seconds(60));
    assert_eq!((removed, list.len()), (45, 55));
    let (list, removed) = list.pruned(Timestamp::MAX, Span::ZERO);
    assert_eq!(removed, 55);
    assert!(list.is_empty());
}
