//! A bounded cache of verified tokens.
//!
//! Every connection of a client presents the same token, and an ECDSA, EdDSA or RSA verification
//! costs tens of microseconds (an HMAC half of one, and the claims parse as much again); a hit
//! here skips the parse, the signature and the claims. What is
//! cached is "this exact token verified under this verifier's keys, and these are its claims".
//! Time, audience and every other claim check still run on every call.
//!
//! The table is two-way set-associative over `ArcSwapOption` slots, so lookups never block and
//! never see a half-written entry. A hit needs a keyed 64-bit hash (of the token's length and
//! its signature's last 32 bytes) to match and then every byte of the token to match, compared in constant time, so a client probing with
//! forged tokens learns nothing about the cached ones from timing. The hash key is random per
//! cache, so a client cannot aim forged tokens at one slot either.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use arc_swap::{ArcSwapOption, Guard};

use crate::{Claims, ct};

pub(crate) struct SignatureCache {
    slots: Box<[ArcSwapOption<Entry>]>,
    /// Random per cache: where a token lands cannot be aimed at from outside.
    key: [u64; 5],
}

struct Entry {
    hash: u64,
    token: Box<str>,
    verified: Verified,
}

/// What a verification established about a token: its claims, read with `subject_claim` as
/// the principal, which of the verifier's keys verified it, and its header's `typ`, so that a
/// later call with the token's text alone can skip the parse as well as the signature.
pub(crate) struct Verified {
    pub(crate) claims: Claims<'static>,
    /// The claims' `jti` read as a keygate key id, once, rather than on every hit.
    pub(crate) key_id: Option<keygate_core::KeyId>,
    pub(crate) subject_claim: Box<str>,
    pub(crate) key: usize,
    pub(crate) token_type: Option<Box<str>>,
}

impl Verified {
    /// Whether these claims answer for a caller that reads the principal from `subject_claim`:
    /// the same token read with another subject claim names another principal.
    pub(crate) fn read_with(&self, subject_claim: &str) -> bool {
        *self.subject_claim == *subject_claim
    }
}

impl SignatureCache {
    /// A cache of `slots` entries, rounded up to a power of two (at least 2).
    pub(crate) fn new(slots: usize) -> SignatureCache {
        let slots = slots.max(2).next_power_of_two();
        // Keys drawn from std's per-process random hash seeds: this is a placement hash, not a
        // secret, so that source is enough.
        let seed = RandomState::new();
        let key = std::array::from_fn(|i| seed.hash_one(i) | 1);
        SignatureCache { slots: (0..slots).map(|_| ArcSwapOption::empty()).collect(), key }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The cached claims of `token`, if it is cached. The entry stays alive, and is not copied,
    /// for as long as the returned value is held.
    pub(crate) fn get(&self, token: &str) -> Option<Cached> {
        let hash = self.hash(token);
        let first = self.index(hash);
        for slot in [first, first ^ 1] {
            let guard = self.slots[slot].load();
            let hit = guard.as_deref().is_some_and(|entry| {
                entry.hash == hash && ct::bytes_equal(entry.token.as_bytes(), token.as_bytes())
            });
            if hit {
                return Some(Cached(guard));
            }
        }
        None
    }

    /// Remembers that `token` verified, and what that established.
    pub(crate) fn insert(&self, token: &str, verified: Verified) {
        let hash = self.hash(token);
        let first = self.index(hash);
        let slot = if self.slots[first].load().is_none() {
            first
        } else if self.slots[first ^ 1].load().is_none() {
            first ^ 1
        } else {
            // Both ways taken: evict one chosen by a hash bit the index did not use.
            first ^ (hash >> 63) as usize
        };
        self.slots[slot].store(Some(Arc::new(Entry { hash, token: token.into(), verified })));
    }

    /// The keyed hash that places `token`: of its length and its last 32 bytes, which are
    /// signature, as unique to the token as the whole of it. The slot is only a place to look;
    /// a hit needs every byte to match. Four keyed multiply-xor rounds over those words, folded:
    /// a fraction of SipHash's cost on a path every reconnection takes. (Hashing a whole RS256
    /// token cost more than the rest of a hit.)
    fn hash(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        let mut tail = [0u8; 32];
        let take = bytes.len().min(32);
        tail[32 - take..].copy_from_slice(&bytes[bytes.len() - take..]);
        let (words, _) = tail.as_chunks::<8>();
        let mut hash = (bytes.len() as u64) ^ self.key[4];
        for (word, key) in words.iter().zip(self.key) {
            let mixed = u128::from(u64::from_le_bytes(*word) ^ key) * u128::from(hash | 1);
            hash = (mixed as u64) ^ ((mixed >> 64) as u64);
        }
        hash
    }

    fn index(&self, hash: u64) -> usize {
        (hash as usize) & (self.slots.len() - 1)
    }
}

/// A cache hit: a lock-free hold on one entry.
pub(crate) struct Cached(Guard<Option<Arc<Entry>>>);

impl Cached {
    pub(crate) fn verified(&self) -> Option<&Verified> {
        self.0.as_deref().map(|entry| &entry.verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(subject: &str) -> Verified {
        Verified {
            claims: Claims::new(subject.to_owned()),
            key_id: None,
            subject_claim: "sub".into(),
            key: 0,
            token_type: None,
        }
    }

    #[test]
    fn hits_only_on_the_exact_token() {
        let cache = SignatureCache::new(8);
        cache.insert("a.b.c", verified("alice"));
        let hit = cache.get("a.b.c").unwrap();
        assert_eq!(hit.verified().and_then(|v| v.claims.subject()), Some("alice"));
        assert!(cache.get("a.b.d").is_none());
        assert!(cache.get("a.b.c ").is_none());
        assert!(cache.get("").is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = SignatureCache::new(3);
        assert_eq!(cache.capacity(), 4);
        for i in 0..1000 {
            cache.insert(&format!("token-{i}"), verified(&format!("p{i}")));
        }
        let cached = (0..1000).filter(|i| cache.get(&format!("token-{i}")).is_some()).count();
        assert!(cached <= 4, "{cached} entries in a 4-slot cache");
        assert!(cache.get("token-999").is_some(), "the latest insert is cached");
    }
}
