//! The control plane: principals, keys and signing keys through their whole life.
//!
//! [`KeyManager`] is one type; its operations are split by what they manage: principals
//! (`principals.rs`), API keys (`keys.rs`) and signing keys (`signing.rs`). The values a caller
//! builds and gets back are in `requests.rs`.

mod keys;
mod principals;
mod requests;
mod signing;
mod tokens;

use std::fmt;
use std::sync::Arc;

use keygate_core::{Clock, KeyPolicy, PrincipalId, SecureRandom, SystemClock, Timestamp};
use keygate_store::{AuditRecord, Store, StoreError};
use keygate_token::{MasterKey, SystemRandom};

use crate::audit::{Actor, AuditAction, AuditEvent, AuditSink, NoAudit};
use crate::{ManagerError, Profile};

pub use requests::{IssuedKey, IssuedSecret, NewKey, NewPrincipal, Revoked, Rotation};
pub use tokens::{RevokedToken, TokenRevocation};

/// Manages principals, keys and signing keys over a [`Store`], with policy enforced and an
/// audit event for every change, which the store appends in the same atomic step as the change
/// (a change whose event cannot be appended does not happen), and which then goes to the
/// [`AuditSink`] too.
///
/// Private signing keys reach the store sealed under the master key
/// ([`with_master_key`](KeyManager::with_master_key)), which never enters the store: creating a
/// signing key and minting JWT API keys need it; everything else does not.
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
    pub(super) master_key: Option<Arc<MasterKey>>,
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
            master_key: None,
        }
    }

    /// Sets the policy this manager applies while the store holds none (see
    /// [`set_policy`](KeyManager::set_policy)).
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

    /// Sets where a copy of each audit event goes once its change has committed (the store
    /// keeps the log itself).
    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> KeyManager {
        self.audit = audit;
        self
    }

    /// Sets the key-encryption key that seals private signing keys before they reach the store,
    /// and opens them to mint.
    pub fn with_master_key(mut self, master_key: Arc<MasterKey>) -> KeyManager {
        self.master_key = Some(master_key);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The policy this manager applies while the store holds none.
    pub fn policy(&self) -> &KeyPolicy {
        &self.policy
    }

    /// The policy in force: the store's, which every writer over the store enforces, else this
    /// manager's own.
    pub async fn policy_in_force(&self) -> Result<KeyPolicy, ManagerError> {
        Ok(self.store.policy().await?.unwrap_or_else(|| self.policy.clone()))
    }

    /// Makes `policy` the store's, for every writer. Audited; existing keys are untouched (a
    /// key issued under a laxer policy lives out its lifetime).
    pub async fn set_policy(&self, actor: &Actor, policy: KeyPolicy) -> Result<(), ManagerError> {
        policy.check()?;
        let now = self.clock.now();
        let action = AuditAction::PolicyChanged { policy: policy.clone() };
        let audited = self.audited(now, actor, action, None)?;
        self.store.set_policy(&policy, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(())
    }

    /// The event of a change about to be made, and the record the store is to append with it,
    /// filed under the event's principal (else `owner`) and keys.
    pub(super) fn audited(
        &self,
        at: Timestamp,
        actor: &Actor,
        action: AuditAction,
        owner: Option<&PrincipalId>,
    ) -> Result<Audited, ManagerError> {
        let event = AuditEvent { at, actor: actor.clone(), origin: actor.origin().clone(), action };
        let text = serde_json::to_string(&event)
            .map_err(|_| StoreError::Invalid("the audit event cannot be serialised"))?;
        let mut record =
            AuditRecord::new(at, text).with_keys(event.keys()).with_action(event.action.name());
        if let Some(principal) = event.principal().or(owner) {
            record = record.with_principal(principal.clone());
        }
        Ok(Audited { event, record })
    }

    /// Hands the event of a committed change to the audit sink.
    pub(super) async fn committed(&self, audited: Audited) {
        self.audit.record(&audited.event).await;
    }

    /// The master key, or why there is none.
    pub(super) fn master_key(&self) -> Result<&MasterKey, ManagerError> {
        self.master_key.as_deref().ok_or(ManagerError::NoMasterKey)
    }
}

/// A change's audit event, and the record of it the store appends with the change.
pub(super) struct Audited {
    event: AuditEvent,
    pub(super) record: AuditRecord,
}

impl fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyManager")
            .field("store", &self.store)
            .field("policy", &self.policy)
            .field("audit", &self.audit)
            .field("master_key", &self.master_key)
            .finish_non_exhaustive()
    }
}
