//! The control plane: principals, keys and signing keys through their whole life.
//!
//! [`KeyManager`] is one type; its operations are split by what they manage: principals
//! (`principals.rs`), API keys (`keys.rs`) and signing keys (`signing.rs`). The values a caller
//! builds and gets back are in `requests.rs`.

mod keys;
mod principals;
mod requests;
mod signing;

use std::fmt;
use std::sync::Arc;

use keygate_core::{Clock, KeyPolicy, SecureRandom, SystemClock, Timestamp};
use keygate_store::Store;
use keygate_token::SystemRandom;

use crate::Profile;
use crate::audit::{Actor, AuditAction, AuditEvent, AuditSink, NoAudit};

pub use requests::{IssuedKey, IssuedSecret, NewKey, NewPrincipal, Revoked, Rotation};

/// Manages principals, keys and signing keys over a [`Store`], with policy enforced and an
/// audit event for every change.
///
/// Every operation names its actor, reads the clock once, and is one store operation (or, where
/// it reads first, a read then one conditional write), so it happens wholly or not at all. The
/// secret of a new key is returned exactly once, in an [`IssuedKey`]; only its digest is stored.
///
/// Deleting forgets a key, so a key still in force must be revoked (or have expired) first:
/// every key's end is then on record as a revocation with its reason, and deletion only tidies.
/// Deleting a principal is the exception: it revokes and removes all its keys at once, and
/// records a watermark that also refuses tokens minted elsewhere for it.
pub struct KeyManager {
    pub(super) store: Arc<dyn Store>,
    pub(super) policy: KeyPolicy,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) random: Arc<dyn SecureRandom>,
    pub(super) profile: Profile,
    pub(super) audit: Arc<dyn AuditSink>,
}

impl KeyManager {
    /// A manager over `store` with the default policy, the system clock and randomness, the
    /// default [`Profile`] (plain SHA-256 secret digests, no issuer), and no audit sink.
    pub fn new(store: Arc<dyn Store>) -> KeyManager {
        KeyManager {
            store,
            policy: KeyPolicy::default(),
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandom::new()),
            profile: Profile::default(),
            audit: Arc::new(NoAudit),
        }
    }

    /// Sets the policy.
    pub fn with_policy(mut self, policy: KeyPolicy) -> KeyManager {
        self.policy = policy;
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> KeyManager {
        self.clock = clock;
        self
    }

    /// Sets the source of key ids and secrets.
    pub fn with_random(mut self, random: Arc<dyn SecureRandom>) -> KeyManager {
        self.random = random;
        self
    }

    /// Sets what this manager shares with the authenticators of its keys: give them the same
    /// [`Profile`].
    pub fn with_profile(mut self, profile: Profile) -> KeyManager {
        self.profile = profile;
        self
    }

    /// The profile it issues keys under.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Sets where audit events go.
    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> KeyManager {
        self.audit = audit;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The policy.
    pub fn policy(&self) -> &KeyPolicy {
        &self.policy
    }

    pub(super) async fn audit(&self, at: Timestamp, actor: &Actor, action: AuditAction) {
        self.audit.record(&AuditEvent { at, actor: actor.clone(), action }).await;
    }
}

impl fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyManager")
            .field("store", &self.store)
            .field("policy", &self.policy)
            .field("audit", &self.audit)
            .finish_non_exhaustive()
    }
}
