//! Random sequences of revoke, prune, apply, snapshot and restore, against a `BTreeMap` model that
//! never forgets. The list must agree with it on every credential that could still be accepted,
//! and never invent a revocation.

use std::collections::BTreeMap;

use keygate_core::{Expiry, KeyId, Span, Timestamp};
use keygate_revocation::{
    CredentialFacts, Delta, Error, Freshness, Revocation, RevocationSet, TokenDigest,
};
use keygate_testkit::T0;
use proptest::prelude::*;

/// The credentials the test asks about: a small universe, so revocations hit them often.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Key(u8),
    Jti(u8),
    Token(u8),
    Principal(u8),
    Kid(u8),
}

#[derive(Clone, Debug)]
enum Op {
    Revoke(Vec<(Target, i64, Option<i64>)>),
    ReplayOld,
    Gap,
    Advance(u64),
    Prune(u64),
    SnapshotRestore,
    CheckDeltaLaw,
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (0u8..8).prop_map(Target::Key),
        (0u8..3).prop_map(Target::Jti),
        (0u8..3).prop_map(Target::Token),
        (0u8..3).prop_map(Target::Principal),
        (0u8..2).prop_map(Target::Kid),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec((target(), -100i64..1000, proptest::option::of(-500i64..500)), 1..4).prop_map(Op::Revoke),
        1 => Just(Op::ReplayOld),
        1 => Just(Op::Gap),
        2 => (1u64..400).prop_map(Op::Advance),
        2 => (0u64..120).prop_map(Op::Prune),
        1 => Just(Op::SnapshotRestore),
        1 => Just(Op::CheckDeltaLaw),
    ]
}

fn at(offset: i64) -> Timestamp {
    Timestamp::from_unix(T0.unix() + offset).unwrap()
}

fn key(n: u8) -> KeyId {
    KeyId::from_bytes([n, 1, 2, 3, 4, 5, 6, 7, 8, n])
}

fn entry(target: &Target, expires: i64, before: Option<i64>) -> Revocation {
    // Negative expiry offsets stand for keys that never expire.
    let expires = if expires < 0 { Expiry::Never } else { Expiry::At(at(expires)) };
    match target {
        Target::Key(n) => Revocation::Key { id: key(*n), expires },
        Target::Jti(n) => Revocation::jti(&format!("jti-{n}"), expires).unwrap(),
        Target::Token(n) => Revocation::Token { digest: TokenDigest([*n; 32]), expires },
        Target::Principal(n) => Revocation::Principal {
            principal: format!("p{n}").parse().unwrap(),
            before: at(before.unwrap_or(0)),
            expires,
        },
        Target::Kid(n) => {
            Revocation::SigningKey { kid: format!("kid-{n}").parse().unwrap(), expires }
        }
    }
}

/// The model: every revocation ever made, per target, as (watermark, expiry) pairs. Principal
/// watermarks stay separate: "credentials before T1 expire by E1" and "before T2 by E2" are two
/// facts, and merging them would claim more than either.
#[derive(Default, Clone, Debug)]
struct Model(BTreeMap<Target, Vec<(Timestamp, Expiry)>>);

impl Model {
    fn add(&mut self, target: &Target, revocation: &Revocation) {
        let before = match revocation {
            Revocation::Principal { before, .. } => *before,
            _ => Timestamp::MAX,
        };
        self.0.entry(target.clone()).or_default().push((before, revocation.expires()));
    }
}

/// Facts for a probe: a target, and for principals an issue time (or none).
fn probes() -> Vec<(Target, Option<i64>)> {
    let mut probes = Vec::new();
    for n in 0..8 {
        probes.push((Target::Key(n), None));
    }
    for n in 0..3 {
        probes.push((Target::Jti(n), None));
        probes.push((Target::Token(n), None));
        for issued in [None, Some(-600), Some(-1), Some(0), Some(250), Some(600)] {
            probes.push((Target::Principal(n), issued));
        }
    }
    for n in 0..2 {
        probes.push((Target::Kid(n), None));
    }
    probes
}

fn check(list: &RevocationSet, target: &Target, issued: Option<i64>, now: Timestamp) -> bool {
    let jti;
    let digest;
    let principal;
    let kid;
    let mut facts = CredentialFacts::new();
    match target {
        Target::Key(n) => facts = facts.with_key_id(key(*n)),
        Target::Jti(n) => {
            jti = format!("jti-{n}");
            facts = facts.with_jti(&jti);
        }
        Target::Token(n) => {
            digest = [*n; 32];
            facts = facts.with_token_digest(&digest);
        }
        Target::Principal(n) => {
            principal = format!("p{n}");
            facts = facts.with_principal(&principal);
            if let Some(issued) = issued {
                facts = facts.with_issued_at(at(issued));
            }
        }
        Target::Kid(n) => {
            kid = format!("kid-{n}");
            facts = facts.with_kid(&kid);
        }
    }
    match list.check(&facts, &Freshness::accept_stale(), now) {
        Ok(_) => false,
        Err(Error::Revoked(_)) => true,
        Err(other) => panic!("unexpected {other}"),
    }
}

const LEEWAY: Span = Span::seconds(60);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_list_agrees_with_a_model_that_never_forgets(ops in proptest::collection::vec(op(), 1..40)) {
        let mut list = RevocationSet::new();
        let mut model = Model::default();
        let mut now = at(0);
        let mut applied: Vec<Delta> = Vec::new();
        // For the delta law: a snapshot and the deltas applied since, reset by pruning.
        let mut base = list.snapshot();
        let mut since: Option<Delta> = None;

        for op in ops {
            match op {
                Op::Revoke(targets) => {
                    let version = list.version();
                    let entries: Vec<Revocation> = targets.iter().map(|(t, e, b)| entry(t, *e, *b)).collect();
                    for ((target, _, _), revocation) in targets.iter().zip(&entries) {
                        model.add(target, revocation);
                    }
                    let delta = Delta::new(version, version + 1 + u64::from(targets.len() as u8 % 2), entries).unwrap();
                    let next = list.with_delta(&delta, now);
                    prop_assert!(matches!(next, Ok(Some(_))), "{:?}", next.map(|n| n.map(|s| s.version())));
                    list = next.unwrap().unwrap();
                    since = Some(match since.take() { None => delta.clone(), Some(earlier) => earlier.then(delta.clone()).unwrap() });
                    applied.push(delta);
                }
                Op::ReplayOld => {
                    if let Some(old) = applied.first() {
                        let before = list.snapshot();
                        prop_assert!(list.with_delta(old, now).unwrap().is_none(), "a replay changed the set");
                        prop_assert_eq!(list.snapshot(), before);
                    }
                }
                Op::Gap => {
                    let version = list.version();
                    let gap = Delta::new(version + 1, version + 2, vec![entry(&Target::Key(0), -1, None)]).unwrap();
                    let before = list.snapshot();
                    prop_assert!(list.with_delta(&gap, now).err().unwrap().needs_resync());
                    prop_assert_eq!(list.snapshot(), before);
                }
                Op::Advance(seconds) => now = now.saturating_add(Span::seconds(seconds)),
                Op::Prune(extra) => {
                    list = list.pruned(now, LEEWAY.checked_add(Span::seconds(extra)).unwrap()).0;
                    base = list.snapshot();
                    since = None;
                }
                Op::SnapshotRestore => {
                    let snapshot = list.snapshot();
                    let json = serde_json::to_string(&snapshot).unwrap();
                    let restored = RevocationSet::from_snapshot(&serde_json::from_str(&json).unwrap(), now).unwrap();
                    for (target, issued) in probes() {
                        prop_assert_eq!(check(&restored, &target, issued, now), check(&list, &target, issued, now), "{:?}", target);
                    }
                    prop_assert_eq!(restored.snapshot(), snapshot);
                    list = restored;
                }
                Op::CheckDeltaLaw => {
                    // delta(v1 → v2) applied to snapshot(v1) equals snapshot(v2).
                    let mut replica = RevocationSet::from_snapshot(&base, now).unwrap();
                    if let Some(delta) = &since {
                        replica = replica.with_delta(delta, now).unwrap().unwrap_or(replica);
                    }
                    prop_assert_eq!(replica.snapshot(), list.snapshot());
                }
            }

            for (target, issued) in probes() {
                let revoked = check(&list, &target, issued, now);
                let covering: Vec<Expiry> = model.0.get(&target).into_iter().flatten()
                    .filter(|(before, _)| issued.is_none_or(|issued| at(issued) < *before))
                    .map(|(_, expires)| *expires)
                    .collect();
                // Never an invented revocation.
                prop_assert!(revoked || covering.is_empty() || covering.iter().all(|e| e.has_passed(now.saturating_sub(LEEWAY))),
                    "{:?} (issued {:?}) is revoked and live in the model, but not in the list", target, issued);
                prop_assert!(!revoked || !covering.is_empty(), "{:?} (issued {:?}) revoked without a revocation", target, issued);
            }
        }
    }
}
