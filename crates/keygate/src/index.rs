//! What the authenticator keeps of each key: the few fields a check reads, packed, with the
//! owner, scope and permissions shared among the keys that have the same ones.
//!
//! A broker holds every key of its cluster, so this is the memory that grows with the fleet. A
//! [`KeyRecord`] carries its description, its rotation chain, its state's reason and its own
//! copies of the owner's and the scope's text: about 330 bytes a key once indexed. An
//! [`IndexedKey`] is 88 bytes behind one pointer (its id is the map's key), and the text lives once per distinct
//! [`Grant`], of which a fleet has about as many as it has service accounts.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use keygate_core::{
    Expiry, KeyFormat, KeyRecord, KeyState, Permissions, PrincipalId, Scope, SecretDigest,
    Timestamp, Validity,
};

/// Who a key speaks for, where, and what it may do: shared by every key that says the same.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Grant {
    pub(crate) owner: PrincipalId,
    pub(crate) scope: Scope,
    pub(crate) permissions: Permissions,
}

/// A key as the authenticator checks it. Its id is the index's key, and the caller's to pass
/// along.
#[derive(Debug)]
pub(crate) struct IndexedKey {
    pub(crate) format: KeyFormat,
    pub(crate) standing: Standing,
    /// The stored digest of an opaque key's secret.
    pub(crate) digest: Option<SecretDigest>,
    pub(crate) created_at: Timestamp,
    pub(crate) not_before: Timestamp,
    pub(crate) expires: Expiry,
    pub(crate) grant: Arc<Grant>,
    /// When this process last authenticated the key.
    pub(crate) last_used: LastUse,
}

/// Two entries are equal when they check alike: when each was last used is not part of it.
impl PartialEq for IndexedKey {
    fn eq(&self, other: &IndexedKey) -> bool {
        (self.format, self.standing, &self.digest, self.created_at, self.not_before)
            == (other.format, other.standing, &other.digest, other.created_at, other.not_before)
            && self.expires == other.expires
            && self.grant == other.grant
    }
}

impl Eq for IndexedKey {}

/// When a key was last authenticated here, in Unix seconds (0: not since this process started).
/// Noting a use is a load and, at most once a second per key, a store: no lock, no allocation,
/// and no write to a cache line that many threads share when nothing changed.
#[derive(Debug, Default)]
pub(crate) struct LastUse(AtomicI64);

impl LastUse {
    /// Notes a use at `now`.
    #[inline]
    pub(crate) fn note(&self, now: Timestamp) {
        let now = now.unix();
        if self.0.load(Ordering::Relaxed) < now {
            self.0.store(now, Ordering::Relaxed);
        }
    }

    /// The last use noted, if any.
    pub(crate) fn get(&self) -> Option<Timestamp> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            unix => Timestamp::from_unix(unix).ok(),
        }
    }

    /// Carries the last use of the entry a key's new entry replaces.
    pub(crate) fn carry(&self, from: &LastUse) {
        self.0.store(from.0.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// The part of a key's state that decides a check; the when and why stay in the store.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    Active,
    Suspended,
    Revoked,
}

impl Standing {
    pub(crate) fn of(state: &KeyState) -> Standing {
        match state {
            KeyState::Suspended { .. } => Standing::Suspended,
            KeyState::Revoked { .. } => Standing::Revoked,
            // A state a newer model adds is treated as active only if it is `Active` itself.
            KeyState::Active => Standing::Active,
            _ => Standing::Suspended,
        }
    }
}

impl IndexedKey {
    /// When it is valid: the record's window, checked with no leeway.
    pub(crate) fn validity(&self) -> Validity {
        Validity::new(Some(self.not_before), self.expires)
    }
}

/// Hands out one shared [`Grant`] per distinct owner, scope and permissions.
#[derive(Clone, Debug, Default)]
pub(crate) struct Grants {
    known: HashSet<Arc<Grant>>,
}

impl Grants {
    /// `record`, indexed.
    pub(crate) fn index(&mut self, record: &KeyRecord) -> Arc<IndexedKey> {
        let grant = Grant {
            owner: record.owner().clone(),
            scope: record.scope().clone(),
            permissions: record.permissions().clone(),
        };
        let grant = match self.known.get(&grant) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared = Arc::new(grant);
                self.known.insert(Arc::clone(&shared));
                shared
            }
        };
        Arc::new(IndexedKey {
            format: record.format(),
            standing: Standing::of(record.state()),
            digest: record.secret_digest().cloned(),
            created_at: record.created_at(),
            not_before: record.not_before(),
            expires: record.expires(),
            grant,
            last_used: LastUse::default(),
        })
    }

    /// Forgets grants no key uses any more, so that the set tracks the keys, not their history.
    pub(crate) fn prune(&mut self) {
        self.known.retain(|grant| Arc::strong_count(grant) > 1);
    }
}

#[cfg(test)]
mod tests {
    use keygate_core::{Expiry, KeyFormat, KeyId, KeyRecord, KeyTemplate, Scope, Timestamp};

    use super::*;

    fn record(owner: &str, n: u8) -> KeyRecord {
        let now = Timestamp::from_unix(1_800_000_000).unwrap();
        let scope = Scope::Resource("kafka-cluster/lkc-1".parse().unwrap());
        let template =
            KeyTemplate::new(owner.parse().unwrap(), scope, KeyFormat::Jwt, Expiry::Never);
        KeyRecord::issue(template, KeyId::from_bytes([n; 10]), now, None).unwrap()
    }

    #[test]
    fn keys_that_say_the_same_share_one_grant_and_unused_grants_are_forgotten() {
        let mut grants = Grants::default();
        let (a, b, c) = (
            grants.index(&record("orders", 1)),
            grants.index(&record("orders", 2)),
            grants.index(&record("billing", 3)),
        );
        assert!(Arc::ptr_eq(&a.grant, &b.grant));
        assert!(!Arc::ptr_eq(&a.grant, &c.grant));
        assert_eq!(grants.known.len(), 2);
        drop(c);
        grants.prune();
        assert_eq!(grants.known.len(), 1, "billing's grant outlived its only key");
        assert_eq!(a.standing, Standing::Active);
    }
}
