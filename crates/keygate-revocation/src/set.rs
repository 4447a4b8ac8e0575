//! An immutable, versioned set of revocations.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use keygate_core::{Expiry, KeyId, PrincipalId, SigningKeyId, Span, Timestamp};

use crate::shard::Sharded;
use crate::{CredentialFacts, Delta, Error, Freshness, Reason, Revocation, Snapshot, TokenDigest};

/// One version of the revocation list. Immutable: updates return a new set that shares every
/// unchanged part with this one, so a set can be handed to any number of readers and swapped
/// atomically (the keygate facade does that, inside its own state).
///
/// # Memory
///
/// Key ids (the bulk of any real list) are kept as their 10 raw bytes with a 4-byte expiry in
/// hash tables of 16-byte slots plus one control byte; at the tables' load factors that is 20 to
/// 40 bytes per revoked key id, index included (`benches/` measures it with a counting allocator:
/// 35.7 bytes per entry at one million). Expiries are kept in whole seconds up to 2106; later ones
/// are rounded up, which can only delay pruning.
///
/// # Updates
///
/// Key ids and token digests live in two copy-on-write layers: a base split into 64 shards and a
/// small recent layer that deltas go into, folded into the base when it passes a sixteenth of it.
/// A delta therefore costs in proportion to its size, and readers of the previous version keep
/// theirs untouched.
#[derive(Clone)]
pub struct RevocationSet {
    version: u64,
    synced_at: Option<Timestamp>,
    keys: Sharded<KeyId, u32>,
    tokens: Sharded<TokenDigest, u32>,
    jtis: Arc<HashMap<Box<str>, u32>>,
    principals: Arc<HashMap<PrincipalId, Watermark>>,
    signing_keys: Arc<HashMap<SigningKeyId, u32>>,
}

#[derive(Copy, Clone, Debug)]
struct Watermark {
    before: Timestamp,
    expires: u32,
}

/// Proof that a check ran and found no revocation.
#[derive(Debug)]
pub struct NotRevoked(());

impl RevocationSet {
    /// An empty set at version 0 that has never been synced: checks with a staleness bound fail
    /// closed until it is.
    pub fn new() -> RevocationSet {
        RevocationSet {
            version: 0,
            synced_at: None,
            keys: Sharded::new(),
            tokens: Sharded::new(),
            jtis: Arc::default(),
            principals: Arc::default(),
            signing_keys: Arc::default(),
        }
    }

    /// The version: that of the last delta or snapshot applied.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When the set was last known to be current.
    pub fn synced_at(&self) -> Option<Timestamp> {
        self.synced_at
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.keys.len()
            + self.tokens.len()
            + self.jtis.len()
            + self.principals.len()
            + self.signing_keys.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether any token is revoked by digest; only then is a token's digest worth computing.
    pub fn has_token_digests(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Checks a credential at `now`: first that the set is fresh enough, then every kind of
    /// revocation the facts can match. The first match is returned as the reason.
    #[inline]
    pub fn check(
        &self,
        facts: &CredentialFacts<'_>,
        freshness: &Freshness,
        now: Timestamp,
    ) -> Result<NotRevoked, Error> {
        freshness.check(self.synced_at, now)?;
        if let Some(id) = facts.key_id
            && self.keys.get(&id).is_some()
        {
            return Err(Error::Revoked(Reason::Key(id)));
        }
        if !self.signing_keys.is_empty()
            && let Some(kid) = facts.kid
            && self.signing_keys.contains_key(kid)
        {
            return Err(Error::Revoked(Reason::SigningKey));
        }
        if !self.principals.is_empty()
            && let Some(principal) = facts.principal
            && let Some(watermark) = self.principals.get(principal)
            && facts.issued_at.is_none_or(|issued| issued < watermark.before)
        {
            return Err(Error::Revoked(Reason::Principal { before: watermark.before }));
        }
        if !self.jtis.is_empty()
            && let Some(jti) = facts.jti
            && self.jtis.contains_key(jti)
        {
            return Err(Error::Revoked(Reason::Jti));
        }
        if let Some(digest) = facts.token_digest
            && self.tokens.get(&TokenDigest(*digest)).is_some()
        {
            return Err(Error::Revoked(Reason::Token));
        }
        Ok(NotRevoked(()))
    }

    /// The set after `delta`, synced at `now`; `None` when the delta was applied already (its end
    /// is not after this version), which is harmless and changes nothing. A delta that does not
    /// start at this version is refused: changes in between were missed.
    pub fn with_delta(
        &self,
        delta: &Delta,
        now: Timestamp,
    ) -> Result<Option<RevocationSet>, Error> {
        if delta.to() <= self.version {
            return Ok(None);
        }
        if delta.from() != self.version {
            return Err(Error::OutOfOrder {
                current: self.version,
                from: delta.from(),
                to: delta.to(),
            });
        }
        for entry in delta.entries() {
            entry.validate()?;
        }
        let mut next = self.clone();
        next.insert_all(delta.entries());
        next.version = delta.to();
        next.synced_at = Some(now);
        Ok(Some(next))
    }

    /// The same set, known to be current at `now`: what a sync that found no changes records.
    pub fn with_synced(&self, now: Timestamp) -> RevocationSet {
        let mut next = self.clone();
        next.synced_at = Some(now);
        next
    }

    /// The set without entries whose credentials expired more than `leeway` before `now`, and how
    /// many were removed.
    ///
    /// Pruning never un-revokes a credential that could still be accepted, as long as `leeway` is
    /// at least the leeway verifiers give expiry: such a credential's expiry plus that leeway is
    /// still after `now`, so its entry stays. It does not change the version; two copies of the
    /// same version may hold different dead entries, never different answers for live
    /// credentials.
    pub fn pruned(&self, now: Timestamp, leeway: Span) -> (RevocationSet, usize) {
        let horizon = now.saturating_sub(leeway).unix();
        let dead = |expires: u32| expires != NEVER && i64::from(expires) <= horizon;
        let mut next = self.clone();
        let mut removed = next.keys.remove_where(|&expires| dead(expires));
        removed += next.tokens.remove_where(|&expires| dead(expires));
        removed += prune_map(&mut next.jtis, |&expires| dead(expires));
        removed += prune_map(&mut next.principals, |watermark| dead(watermark.expires));
        removed += prune_map(&mut next.signing_keys, |&expires| dead(expires));
        (next, removed)
    }

    /// Every entry at this version, in a canonical order.
    pub fn snapshot(&self) -> Snapshot {
        let mut entries: Vec<Revocation> = Vec::with_capacity(self.len());
        entries.extend(
            self.keys
                .iter()
                .map(|(&id, &expires)| Revocation::Key { id, expires: expand(expires) }),
        );
        entries.extend(
            self.tokens
                .iter()
                .map(|(&digest, &expires)| Revocation::Token { digest, expires: expand(expires) }),
        );
        entries.extend(self.jtis.iter().map(|(jti, &expires)| Revocation::Jti {
            jti: jti.to_string(),
            expires: expand(expires),
        }));
        entries.extend(self.principals.iter().map(|(principal, watermark)| {
            Revocation::Principal {
                principal: principal.clone(),
                before: watermark.before,
                expires: expand(watermark.expires),
            }
        }));
        entries.extend(self.signing_keys.iter().map(|(kid, &expires)| Revocation::SigningKey {
            kid: kid.clone(),
            expires: expand(expires),
        }));
        entries.sort_by(canonical_order);
        Snapshot::new(self.version, entries)
    }

    /// A set holding `snapshot`, synced at `now`.
    pub fn from_snapshot(snapshot: &Snapshot, now: Timestamp) -> Result<RevocationSet, Error> {
        for entry in snapshot.entries() {
            entry.validate()?;
        }
        let mut set = RevocationSet::new();
        set.insert_all(snapshot.entries());
        set.version = snapshot.version();
        set.synced_at = Some(now);
        Ok(set)
    }

    /// Adds entries, merging each with one for the same credential: the later expiry and the
    /// later watermark win, so adding is idempotent and order-independent.
    fn insert_all(&mut self, entries: &[Revocation]) {
        let later = |current: &mut u32, new: u32| *current = (*current).max(new);
        let keys: Vec<(KeyId, u32)> = entries
            .iter()
            .filter_map(|entry| match entry {
                Revocation::Key { id, expires } => Some((*id, compact(*expires))),
                _ => None,
            })
            .collect();
        if !keys.is_empty() {
            self.keys.insert_batch(keys.into_iter(), later);
        }
        let tokens: Vec<(TokenDigest, u32)> = entries
            .iter()
            .filter_map(|entry| match entry {
                Revocation::Token { digest, expires } => Some((*digest, compact(*expires))),
                _ => None,
            })
            .collect();
        if !tokens.is_empty() {
            self.tokens.insert_batch(tokens.into_iter(), later);
        }
        for entry in entries {
            match entry {
                Revocation::Key { .. } | Revocation::Token { .. } => {}
                Revocation::Jti { jti, expires } => {
                    let current =
                        Arc::make_mut(&mut self.jtis).entry(jti.as_str().into()).or_insert(0);
                    later(current, compact(*expires));
                }
                Revocation::SigningKey { kid, expires } => {
                    let current =
                        Arc::make_mut(&mut self.signing_keys).entry(kid.clone()).or_insert(0);
                    later(current, compact(*expires));
                }
                Revocation::Principal { principal, before, expires } => {
                    let watermark = Arc::make_mut(&mut self.principals)
                        .entry(principal.clone())
                        .or_insert(Watermark { before: *before, expires: 0 });
                    watermark.before = watermark.before.max(*before);
                    later(&mut watermark.expires, compact(*expires));
                }
            }
        }
    }
}

impl Default for RevocationSet {
    fn default() -> RevocationSet {
        RevocationSet::new()
    }
}

impl fmt::Debug for RevocationSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationSet")
            .field("version", &self.version)
            .field("synced_at", &self.synced_at)
            .field("keys", &self.keys.len())
            .field("tokens", &self.tokens.len())
            .field("jtis", &self.jtis.len())
            .field("principals", &self.principals.len())
            .field("signing_keys", &self.signing_keys.len())
            .finish()
    }
}

/// `Expiry::Never` in compact form.
const NEVER: u32 = u32::MAX;

/// An expiry in whole seconds as a u32; instants past 2106 round up to just before `NEVER`.
fn compact(expiry: Expiry) -> u32 {
    match expiry {
        Expiry::Never => NEVER,
        Expiry::At(at) => u32::try_from(at.unix()).unwrap_or(NEVER - 1).min(NEVER - 1),
    }
}

fn expand(compact: u32) -> Expiry {
    match compact {
        NEVER => Expiry::Never,
        seconds => Timestamp::from_unix(i64::from(seconds)).map_or(Expiry::Never, Expiry::At),
    }
}

fn prune_map<K: Clone + std::hash::Hash + Eq, V: Clone>(
    map: &mut Arc<HashMap<K, V>>,
    dead: impl Fn(&V) -> bool,
) -> usize {
    if !map.values().any(&dead) {
        return 0;
    }
    let map = Arc::make_mut(map);
    let before = map.len();
    map.retain(|_, value| !dead(value));
    before - map.len()
}

fn canonical_order(a: &Revocation, b: &Revocation) -> std::cmp::Ordering {
    fn rank(entry: &Revocation) -> (u8, String) {
        match entry {
            Revocation::Key { id, .. } => (0, id.to_string()),
            Revocation::Token { digest, .. } => (1, digest.to_string()),
            Revocation::Jti { jti, .. } => (2, jti.clone()),
            Revocation::Principal { principal, .. } => (3, principal.to_string()),
            Revocation::SigningKey { kid, .. } => (4, kid.to_string()),
        }
    }
    match (a, b) {
        (Revocation::Key { id: x, .. }, Revocation::Key { id: y, .. }) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    fn key(n: u8) -> KeyId {
        KeyId::from_bytes([n; 10])
    }

    fn delta(from: u64, to: u64, entries: Vec<Revocation>) -> Delta {
        Delta::new(from, to, entries).unwrap()
    }

    fn fresh() -> Freshness {
        Freshness::default()
    }

    #[test]
    fn every_kind_of_revocation_matches() {
        let set = RevocationSet::new()
            .with_delta(
                &delta(
                    0,
                    1,
                    vec![
                        Revocation::Key { id: key(1), expires: Expiry::Never },
                        Revocation::jti("external", Expiry::Never).unwrap(),
                        Revocation::Token { digest: TokenDigest([9; 32]), expires: Expiry::Never },
                        Revocation::Principal {
                            principal: "alice".parse().unwrap(),
                            before: at(100),
                            expires: Expiry::Never,
                        },
                        Revocation::SigningKey {
                            kid: "old".parse().unwrap(),
                            expires: Expiry::Never,
                        },
                    ],
                ),
                at(50),
            )
            .unwrap()
            .unwrap();
        let now = at(60);
        let check = |facts: CredentialFacts<'_>| set.check(&facts, &fresh(), now).map(|_| ());
        assert_eq!(
            check(CredentialFacts::new().with_key_id(key(1))),
            Err(Error::Revoked(Reason::Key(key(1))))
        );
        assert!(check(CredentialFacts::new().with_key_id(key(2))).is_ok());
        assert_eq!(
            check(CredentialFacts::new().with_jti("external")),
            Err(Error::Revoked(Reason::Jti))
        );
        assert_eq!(
            check(CredentialFacts::new().with_token_digest(&[9; 32])),
            Err(Error::Revoked(Reason::Token))
        );
        assert!(check(CredentialFacts::new().with_token_digest(&[8; 32])).is_ok());
        let alice = CredentialFacts::new().with_principal("alice");
        assert_eq!(check(alice), Err(Error::Revoked(Reason::Principal { before: at(100) })));
        assert!(check(alice.with_issued_at(at(99))).is_err());
        assert!(check(alice.with_issued_at(at(100))).is_ok());
        assert!(check(CredentialFacts::new().with_principal("bob")).is_ok());
        assert_eq!(
            check(CredentialFacts::new().with_kid("old")),
            Err(Error::Revoked(Reason::SigningKey))
        );
        assert!(set.has_token_digests());
        assert_eq!(set.len(), 5);
    }

    #[test]
    fn versions_are_strict() {
        let one = RevocationSet::new().with_delta(&delta(0, 1, vec![]), at(1)).unwrap().unwrap();
        assert!(
            one.with_delta(&delta(0, 1, vec![]), at(2)).unwrap().is_none(),
            "a replay is harmless"
        );
        assert_eq!(
            one.with_delta(&delta(2, 3, vec![]), at(2)).err(),
            Some(Error::OutOfOrder { current: 1, from: 2, to: 3 })
        );
        assert!(one.with_delta(&delta(0, 2, vec![]), at(2)).unwrap_err().needs_resync());
        assert_eq!(one.with_delta(&delta(1, 5, vec![]), at(2)).unwrap().unwrap().version(), 5);
    }

    #[test]
    fn merging_keeps_the_later_expiry_and_watermark() {
        let alice: PrincipalId = "alice".parse().unwrap();
        let set = RevocationSet::new()
            .with_delta(
                &delta(
                    0,
                    1,
                    vec![
                        Revocation::Key { id: key(1), expires: Expiry::At(at(200)) },
                        Revocation::Key { id: key(1), expires: Expiry::At(at(100)) },
                        Revocation::Principal {
                            principal: alice.clone(),
                            before: at(50),
                            expires: Expiry::At(at(300)),
                        },
                        Revocation::Principal {
                            principal: alice.clone(),
                            before: at(40),
                            expires: Expiry::At(at(100)),
                        },
                    ],
                ),
                at(0),
            )
            .unwrap()
            .unwrap();
        let entries = set.snapshot().entries().to_vec();
        assert_eq!(
            entries,
            [
                Revocation::Key { id: key(1), expires: Expiry::At(at(200)) },
                Revocation::Principal {
                    principal: alice,
                    before: at(50),
                    expires: Expiry::At(at(300))
                },
            ]
        );
    }

    #[test]
    fn pruning_waits_for_expiry_plus_leeway() {
        let set = RevocationSet::new()
            .with_delta(
                &delta(
                    0,
                    1,
                    vec![
                        Revocation::Key { id: key(1), expires: Expiry::At(at(100)) },
                        Revocation::Key { id: key(2), expires: Expiry::Never },
                    ],
                ),
                at(0),
            )
            .unwrap()
            .unwrap();
        let (kept, removed) = set.pruned(at(129), Span::seconds(30));
        assert_eq!((kept.len(), removed), (2, 0));
        let (kept, removed) = set.pruned(at(130), Span::seconds(30));
        assert_eq!((kept.len(), removed), (1, 1));
        assert_eq!(kept.version(), 1);
        // The original is untouched: readers of it see no change.
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn layers_fold_without_losing_or_duplicating_entries() {
        let id = |n: u32| {
            let b = n.to_le_bytes();
            KeyId::from_bytes([b[0], b[1], b[2], 0xee, 0, 0, 0, 0, 0, b[0] ^ b[1]])
        };
        let mut set = RevocationSet::new();
        // 200 deltas of 50 keys: the recent layer folds into the base several times.
        for round in 0..200u32 {
            let entries = (0..50)
                .map(|i| Revocation::Key { id: id(round * 50 + i), expires: Expiry::At(at(1_000)) })
                .collect();
            set = set
                .with_delta(&delta(u64::from(round), u64::from(round) + 1, entries), at(0))
                .unwrap()
                .unwrap();
        }
        assert_eq!(set.len(), 10_000);
        // Re-revoking keys that now sit in the base, with a later expiry, merges in place.
        let again = (0..100)
            .map(|n| Revocation::Key { id: id(n), expires: Expiry::At(at(5_000)) })
            .collect();
        set = set.with_delta(&delta(200, 201, again), at(0)).unwrap().unwrap();
        assert_eq!(set.len(), 10_000);
        let fresh = Freshness::accept_stale();
        for n in 0..10_000 {
            assert!(
                set.check(&CredentialFacts::new().with_key_id(id(n)), &fresh, at(0)).is_err(),
                "key {n} lost"
            );
        }
        assert!(set.check(&CredentialFacts::new().with_key_id(id(10_000)), &fresh, at(0)).is_ok());
        let snapshot = set.snapshot();
        assert_eq!(snapshot.entries().len(), 10_000);
        let later =
            snapshot.entries().iter().filter(|e| e.expires() == Expiry::At(at(5_000))).count();
        assert_eq!(later, 100);
        // Pruning at 2 000 drops exactly the keys that kept the earlier expiry.
        assert_eq!(set.pruned(at(2_000), Span::ZERO).1, 9_900);
    }

    #[test]
    fn expiries_past_2106_round_up() {
        assert_eq!(
            expand(compact(Expiry::At(Timestamp::MAX))),
            Expiry::At(at(i64::from(u32::MAX - 1)))
        );
        assert_eq!(expand(compact(Expiry::Never)), Expiry::Never);
        assert_eq!(expand(compact(Expiry::At(at(5)))), Expiry::At(at(5)));
    }
}
