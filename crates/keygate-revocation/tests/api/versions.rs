//! Gap, duplicate and out-of-order deltas; stale snapshots; freshness.

use keygate_core::{Expiry, KeyId, Span, Timestamp};
use keygate_revocation::{
    Applied, CredentialFacts, Delta, Error, Freshness, Revocation, RevocationList,
};
use keygate_testkit::{T0, t0_plus};

fn revoke(n: u8) -> Revocation {
    Revocation::Key { id: KeyId::from_bytes([n; 10]), expires: Expiry::Never }
}

fn delta(from: u64, to: u64, n: u8) -> Delta {
    Delta::new(from, to, vec![revoke(n)]).unwrap()
}

#[test]
fn gaps_duplicates_and_out_of_order() {
    let list = RevocationList::new();
    assert_eq!(list.apply(&delta(0, 10, 1), T0).unwrap(), Applied::Updated { version: 10 });
    // Duplicate: harmless.
    assert_eq!(list.apply(&delta(0, 10, 1), T0).unwrap(), Applied::AlreadyApplied);
    // Out of order: an older delta arriving late is also already covered.
    assert_eq!(list.apply(&delta(5, 8, 9), T0).unwrap(), Applied::AlreadyApplied);
    // Overlapping: starts before the current version and ends after it.
    let overlap = list.apply(&delta(5, 12, 2), T0).unwrap_err();
    assert_eq!(overlap, Error::OutOfOrder { current: 10, from: 5, to: 12 });
    assert!(overlap.needs_resync());
    // A gap.
    assert!(list.apply(&delta(11, 12, 2), T0).unwrap_err().needs_resync());
    assert_eq!(list.version(), 10);
    // The right next one.
    assert_eq!(list.apply(&delta(10, 11, 2), T0).unwrap(), Applied::Updated { version: 11 });
    // Refused deltas changed nothing: key 9 from the late delta was never added.
    let facts = CredentialFacts::new().with_key_id(KeyId::from_bytes([9; 10]));
    assert!(list.check(&facts, &Freshness::default(), T0).is_ok());
}

#[test]
fn a_stale_snapshot_cannot_roll_the_list_back() {
    let list = RevocationList::new();
    list.apply(&delta(0, 1, 1), T0).unwrap();
    let old = list.snapshot();
    list.apply(&delta(1, 2, 2), T0).unwrap();
    assert_eq!(
        list.restore(&old, T0).unwrap_err(),
        Error::StaleSnapshot { snapshot: 1, current: 2 }
    );
    assert_eq!(list.version(), 2);
}

#[test]
fn freshness_fails_closed() {
    let list = RevocationList::new();
    let facts = CredentialFacts::new().with_key_id(KeyId::from_bytes([1; 10]));
    // Never synced: unknown.
    assert!(matches!(
        list.check(&facts, &Freshness::default(), T0),
        Err(Error::StatusUnknown { synced_at: None, .. })
    ));
    list.mark_synced(T0);
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
    list.apply(&delta(0, 1, 2), t0_plus(100)).unwrap();
    assert!(list.check(&facts, &bound, t0_plus(105)).is_ok());
}

#[test]
fn pruning_is_bounded_by_expiry() {
    let list = RevocationList::new();
    let entries = (0..100u8)
        .map(|n| Revocation::Key {
            id: KeyId::from_bytes([n; 10]),
            expires: Expiry::At(t0_plus(u64::from(n) * 10)),
        })
        .collect();
    list.apply(&Delta::new(0, 1, entries).unwrap(), T0).unwrap();
    assert_eq!(list.prune(t0_plus(500), Span::seconds(60)), 45);
    assert_eq!(list.load().len(), 55);
    assert_eq!(list.prune(Timestamp::MAX, Span::ZERO), 55);
    assert!(list.load().is_empty());
}
