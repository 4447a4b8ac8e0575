//! The copy-on-write map of key ids the revocation set is built on, public so that the keygate
//! facade's key index shares it.

use std::fmt;

use keygate_core::KeyId;

use crate::shard::Sharded;

/// An immutable-by-default map from keygate key ids to values, cheap to clone and cheap to
/// change: a clone shares everything, and a change copies only the small part it touches (see
/// [`RevocationSet`](crate::RevocationSet)'s notes on updates). Lookups hash nothing: key ids
/// are random already.
///
/// Meant for state that readers load through an atomic pointer while a writer builds the next
/// version: clone, change, publish.
#[derive(Clone)]
pub struct KeyIdMap<V> {
    inner: Sharded<KeyId, V>,
}

impl<V: Clone> KeyIdMap<V> {
    /// An empty map.
    pub fn new() -> KeyIdMap<V> {
        KeyIdMap { inner: Sharded::new() }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The value of `id`.
    #[inline]
    pub fn get(&self, id: &KeyId) -> Option<&V> {
        self.inner.get(id)
    }

    /// Inserts or replaces `id`'s value.
    pub fn insert(&mut self, id: KeyId, value: V) {
        self.extend([(id, value)]);
    }

    /// Inserts or replaces many values at once: large batches go straight to the base.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = (KeyId, V)>) {
        let entries: Vec<(KeyId, V)> = entries.into_iter().collect();
        self.inner.insert_batch(entries.into_iter(), |current, new| *current = new);
    }

    /// Removes `id`, returning its value.
    pub fn remove(&mut self, id: &KeyId) -> Option<V> {
        self.inner.remove(id)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&KeyId, &V)> {
        self.inner.iter()
    }
}

impl<V: Clone> Default for KeyIdMap<V> {
    fn default() -> KeyIdMap<V> {
        KeyIdMap::new()
    }
}

impl<V: Clone> fmt::Debug for KeyIdMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyIdMap").field("len", &self.inner.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replace_remove_across_both_layers() {
        let id = |n: u32| {
            let b = n.to_le_bytes();
            KeyId::from_bytes([b[0], b[1], b[2], 1, 2, 3, 4, 5, 6, b[0] ^ b[2]])
        };
        let mut map = KeyIdMap::new();
        map.extend((0..5_000).map(|n| (id(n), n)));
        for n in 5_000..5_100 {
            map.insert(id(n), n);
        }
        let snapshot = map.clone();
        map.insert(id(7), 70);
        map.insert(id(5_050), 50_500);
        assert_eq!(map.remove(&id(8)), Some(8));
        assert_eq!(map.remove(&id(5_060)), Some(5_060));
        assert_eq!(map.remove(&id(999_999)), None);
        assert_eq!(map.len(), 5_098);
        assert_eq!(map.get(&id(7)), Some(&70));
        assert_eq!(map.get(&id(5_050)), Some(&50_500));
        assert_eq!(map.get(&id(8)), None);
        // The clone taken before the changes still has the old values.
        assert_eq!(snapshot.get(&id(7)), Some(&7));
        assert_eq!(snapshot.get(&id(8)), Some(&8));
        assert_eq!(snapshot.len(), 5_100);
        assert_eq!(map.iter().count(), 5_098);
    }
}
