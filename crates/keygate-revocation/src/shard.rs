//! Copy-on-write maps split into shards, so that an update copies only the shards it touches.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use keygate_core::KeyId;

use crate::TokenDigest;

/// How many shards a [`Sharded`] map has. With a million entries a shard holds about 16 000, so a
/// delta that touches one entry copies a few hundred kilobytes, not the whole list.
pub(crate) const SHARDS: usize = 64;

/// A key whose bits are already uniformly random: server-generated key ids and SHA-256 digests.
/// Its shard and its hash come from different bytes of it.
pub(crate) trait RandomKey: Hash + Eq + Clone {
    fn shard(&self) -> usize;
}

impl RandomKey for KeyId {
    fn shard(&self) -> usize {
        usize::from(self.as_bytes()[KeyId::BYTES - 1]) % SHARDS
    }
}

impl RandomKey for TokenDigest {
    fn shard(&self) -> usize {
        usize::from(self.0[31]) % SHARDS
    }
}

/// Hashes a random key by taking its first eight bytes: no mixing is needed for bytes that are
/// random already. Only keys no client chooses (key ids keygate generated, SHA-256 digests) go
/// through it; maps of client-chosen text keep the standard keyed hasher.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PrefixHash;

impl BuildHasher for PrefixHash {
    type Hasher = PrefixHasher;

    fn build_hasher(&self) -> PrefixHasher {
        PrefixHasher(0)
    }
}

pub(crate) struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // A fixed eight-byte read is one load; a variable-length copy would be a memcpy call.
        let word = match bytes.first_chunk::<8>() {
            Some(first) => u64::from_le_bytes(*first),
            None => bytes.iter().fold(0, |word, &b| word << 8 | u64::from(b)),
        };
        self.0 = self.0.rotate_left(29) ^ word;
    }

    // Arrays hash their length first; it is the same for every key, so it carries nothing.
    #[inline]
    fn write_usize(&mut self, _length: usize) {}
}

/// A map of random keys in two copy-on-write layers: a large base split into [`SHARDS`] shards,
/// and a small `recent` map that updates go into.
///
/// An update copies only the recent layer (small), so applying a delta costs in proportion to
/// the delta, not to the list. When the recent layer grows past a sixteenth of the base it is
/// folded into the base, which copies the base's shards once; a million-entry list therefore
/// pays that copy once every ~60 000 added entries. Keys are never in both layers, so counts and
/// iteration need no merging, and a lookup probes the recent layer only when it exists.
#[derive(Clone)]
pub(crate) struct Sharded<K, V> {
    shards: Vec<Arc<Map<K, V>>>,
    /// `None` when empty, so the lookup hot path skips it without a pointer chase.
    recent: Option<Arc<Map<K, V>>>,
    len: usize,
}

type Map<K, V> = HashMap<K, V, PrefixHash>;

impl<K: RandomKey, V: Clone> Sharded<K, V> {
    pub(crate) fn new() -> Sharded<K, V> {
        Sharded {
            shards: (0..SHARDS).map(|_| Arc::new(Map::default())).collect(),
            recent: None,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        if let Some(recent) = &self.recent
            && let Some(value) = recent.get(key)
        {
            return Some(value);
        }
        self.shards[key.shard()].get(key)
    }

    /// Inserts a batch, merging values for keys already present. Small batches go to the recent
    /// layer; a batch as large as the fold threshold goes straight to the base.
    pub(crate) fn insert_batch(
        &mut self,
        batch: impl ExactSizeIterator<Item = (K, V)>,
        merge: impl Fn(&mut V, V),
    ) {
        if batch.len() > self.fold_threshold() {
            self.fold_recent(&merge);
            let per_shard = batch.len().div_ceil(SHARDS);
            for shard in &mut self.shards {
                Arc::make_mut(shard).reserve(per_shard);
            }
            for (key, value) in batch {
                let shard = Arc::make_mut(&mut self.shards[key.shard()]);
                self.len += usize::from(upsert(shard, key, value, &merge));
            }
            return;
        }
        for (key, value) in batch {
            let shard = &mut self.shards[key.shard()];
            // Keys stay in one layer: a key the base has is merged there (a rare re-revocation).
            let target = if shard.contains_key(&key) {
                Arc::make_mut(shard)
            } else {
                Arc::make_mut(self.recent.get_or_insert_with(|| Arc::new(Map::default())))
            };
            self.len += usize::from(upsert(target, key, value, &merge));
        }
        if self.recent_len() > self.fold_threshold() {
            self.fold_recent(&merge);
        }
    }

    /// Removes `key`, copying the part that held it; returns its value.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        if let Some(recent) = self.recent.as_mut()
            && recent.contains_key(key)
        {
            let removed = Arc::make_mut(recent).remove(key);
            if recent.is_empty() {
                self.recent = None;
            }
            self.len -= 1;
            return removed;
        }
        let shard = &mut self.shards[key.shard()];
        if !shard.contains_key(key) {
            return None;
        }
        self.len -= 1;
        Arc::make_mut(shard).remove(key)
    }

    /// Removes the entries `remove` selects, copying only the parts that lose one. Returns how
    /// many were removed.
    pub(crate) fn remove_where(&mut self, remove: impl Fn(&V) -> bool) -> usize {
        let mut removed = 0;
        for map in self.shards.iter_mut().chain(self.recent.as_mut()) {
            if map.values().any(&remove) {
                let map = Arc::make_mut(map);
                let before = map.len();
                map.retain(|_, value| !remove(value));
                removed += before - map.len();
            }
        }
        self.len -= removed;
        if self.recent.as_ref().is_some_and(|recent| recent.is_empty()) {
            self.recent = None;
        }
        removed
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().chain(self.recent.as_ref()).flat_map(|map| map.iter())
    }

    fn recent_len(&self) -> usize {
        self.recent.as_ref().map_or(0, |recent| recent.len())
    }

    fn fold_threshold(&self) -> usize {
        (self.len - self.recent_len()) / 16 + 1024
    }

    fn fold_recent(&mut self, merge: &impl Fn(&mut V, V)) {
        let Some(recent) = self.recent.take() else { return };
        let recent = Arc::try_unwrap(recent).unwrap_or_else(|shared| (*shared).clone());
        for (key, value) in recent {
            upsert(Arc::make_mut(&mut self.shards[key.shard()]), key, value, merge);
        }
    }
}

/// Inserts `value`, or merges it into the value there; returns whether the key was new.
fn upsert<K: Hash + Eq, V>(
    map: &mut Map<K, V>,
    key: K,
    value: V,
    merge: &impl Fn(&mut V, V),
) -> bool {
    match map.entry(key) {
        Entry::Occupied(mut occupied) => {
            merge(occupied.get_mut(), value);
            false
        }
        Entry::Vacant(vacant) => {
            vacant.insert(value);
            true
        }
    }
}
