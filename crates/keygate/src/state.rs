//! The authenticator's immutable state, and how a replica builds the next one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use keygate_core::{
    Expiry, KeyId, KeyRecord, KeyState, Principal, PrincipalId, SigningKeyId, Timestamp,
};
use keygate_revocation::{Delta, KeyIdMap, Revocation, RevocationSet};
use keygate_store::{
    Change, ChangeEvent, Seq, SigningKeyRecord, SnapshotSink, VerificationMaterial,
};
use keygate_token::{VerificationKey, Verifier};

use crate::index::{Grants, IndexedKey, Standing};
use crate::{AuthConfig, SyncError};

/// Everything the data plane reads, as of one position in the store's change feed. Immutable:
/// readers load it with one atomic read and a sync publishes the next one with one atomic store,
/// so a check never mixes keys from one version with revocations from another.
#[derive(Clone)]
pub(crate) struct AuthState {
    pub(crate) keys: KeyIdMap<Arc<IndexedKey>>,
    /// The owners, scopes and permissions the keys share. One interner serves every state a
    /// replica builds: sharing it between the state readers hold and the next one is harmless
    /// (what it hands out never changes), and a delta then costs what it changes rather than a
    /// copy of every grant. Only syncs, which a replica runs one at a time, lock it.
    grants: Arc<Mutex<Grants>>,
    pub(crate) signing_keys: Arc<BTreeMap<SigningKeyId, SigningKeyRecord>>,
    /// Verifies keygate's JWT API keys; `None` while there is no signing key.
    pub(crate) verifier: Option<Arc<Verifier>>,
    pub(crate) revocations: RevocationSet,
    pub(crate) version: Seq,
    /// False until the first snapshot is loaded.
    pub(crate) bootstrapped: bool,
}

/// What one sync changed: the input a [`SessionRegistry`](crate::SessionRegistry) reviews open
/// sessions against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// The position before the sync.
    pub from: Seq,
    /// The position after it.
    pub to: Seq,
    /// Whether the state was rebuilt from a snapshot (first sync, or the feed was compacted
    /// past this replica); every open session should then be re-checked.
    pub bootstrapped: bool,
    /// Keys created, updated or deleted.
    pub changed_keys: Vec<KeyId>,
    /// Keys revoked.
    pub revoked_keys: Vec<KeyId>,
    /// Keys suspended.
    pub suspended_keys: Vec<KeyId>,
    /// Keys deleted.
    pub deleted_keys: Vec<KeyId>,
    /// Principals deleted.
    pub deleted_principals: Vec<PrincipalId>,
    /// Revocations recorded (tombstones, watermarks, tokens, signing keys).
    pub revocations: Vec<Revocation>,
    /// Whether the signing keys changed.
    pub signing_keys_changed: bool,
    /// Signing keys the replica holds but cannot verify with, each with why (sealed under
    /// another master key, material it cannot read): reported by the sync that brought them, and
    /// left out, so the keys they signed are refused while every other key keeps working.
    pub unusable_signing_keys: Vec<(SigningKeyId, String)>,
}

impl SyncReport {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.from == self.to && !self.bootstrapped
    }
}

impl AuthState {
    /// The state before anything is known: every check fails closed as never synced.
    pub(crate) fn empty() -> AuthState {
        AuthState {
            keys: KeyIdMap::new(),
            grants: Arc::default(),
            signing_keys: Arc::default(),
            verifier: None,
            revocations: RevocationSet::new(),
            version: Seq::ZERO,
            bootstrapped: false,
        }
    }

    /// Applies a batch of changes in order and returns the next state, synced at `now`.
    pub(crate) fn with_changes(
        &self,
        changes: &[Change],
        now: Timestamp,
        config: &AuthConfig,
        report: &mut SyncReport,
    ) -> Result<AuthState, SyncError> {
        let mut next = self.clone();
        let mut revocations = Vec::new();
        let mut signing_keys = None;
        for change in changes {
            if change.seq <= next.version {
                continue;
            }
            match &change.event {
                ChangeEvent::PrincipalCreated { .. } | ChangeEvent::PrincipalUpdated { .. } => {}
                ChangeEvent::PrincipalDeleted { id } => report.deleted_principals.push(id.clone()),
                ChangeEvent::KeyCreated { key } | ChangeEvent::KeyUpdated { key } => {
                    let before = next.keys.get(&key.id()).map(|old| old.standing);
                    match key.state() {
                        KeyState::Revoked { .. } if before != Some(Standing::Revoked) => {
                            report.revoked_keys.push(key.id());
                        }
                        KeyState::Suspended { .. } if before != Some(Standing::Suspended) => {
                            report.suspended_keys.push(key.id());
                        }
                        _ => {}
                    }
                    report.changed_keys.push(key.id());
                    let indexed = lock(&next.grants).index(key);
                    if let Some(old) = next.keys.get(&key.id()) {
                        indexed.last_used.carry(&old.last_used);
                    }
                    next.keys.insert(key.id(), indexed);
                }
                ChangeEvent::KeyDeleted { key } => {
                    next.keys.remove(&key.id());
                    report.changed_keys.push(key.id());
                    report.deleted_keys.push(key.id());
                }
                ChangeEvent::Revoked { revocation } => revocations.push(revocation.clone()),
                ChangeEvent::SigningKeyChanged { key } => {
                    signing_keys
                        .get_or_insert_with(|| (*next.signing_keys).clone())
                        .insert(key.kid.clone(), key.clone());
                }
                ChangeEvent::SigningKeyRemoved { kid } => {
                    signing_keys.get_or_insert_with(|| (*next.signing_keys).clone()).remove(kid);
                }
                // Events a newer store may add are skipped; they carry nothing this version reads.
                _ => {}
            }
            next.version = change.seq;
        }
        // A key's grant never changes, so grants fall out of use only when keys are deleted.
        if !report.deleted_keys.is_empty() {
            lock(&next.grants).prune();
        }
        if let Some(signing_keys) = signing_keys {
            next.verifier = build_verifier(&signing_keys, config, report)?;
            next.signing_keys = Arc::new(signing_keys);
            report.signing_keys_changed = true;
        }
        next.revocations = if next.version.0 > next.revocations.version() {
            let delta = Delta::new(next.revocations.version(), next.version.0, revocations.clone())
                .map_err(|e| SyncError::Apply(e.to_string()))?;
            next.revocations
                .with_delta(&delta, now)
                .map_err(|e| SyncError::Apply(e.to_string()))?
                .unwrap_or_else(|| next.revocations.with_synced(now))
        } else {
            next.revocations.with_synced(now)
        };
        report.revocations.extend(revocations);
        report.to = next.version;
        Ok(next)
    }
}

/// Builds the state a snapshot describes as the snapshot streams in, a record at a time: each
/// key is indexed as it arrives, so a replica starting against a million keys never holds the
/// records and the index at once.
#[derive(Default)]
pub(crate) struct StateBuilder {
    seq: Seq,
    keys: KeyIdMap<Arc<IndexedKey>>,
    grants: Grants,
    signing_keys: BTreeMap<SigningKeyId, SigningKeyRecord>,
    revocations: Vec<Revocation>,
}

impl StateBuilder {
    /// The position of the snapshot it was given.
    pub(crate) fn seq(&self) -> Seq {
        self.seq
    }

    /// The state, synced at `now`.
    pub(crate) fn finish(
        self,
        now: Timestamp,
        config: &AuthConfig,
        report: &mut SyncReport,
    ) -> Result<AuthState, SyncError> {
        let verifier = build_verifier(&self.signing_keys, config, report)?;
        let revocations = if self.seq > Seq::ZERO {
            let delta = Delta::new(0, self.seq.0, self.revocations)
                .map_err(|e| SyncError::Apply(e.to_string()))?;
            RevocationSet::new()
                .with_delta(&delta, now)
                .map_err(|e| SyncError::Apply(e.to_string()))?
                .unwrap_or_default()
        } else {
            RevocationSet::new().with_synced(now)
        };
        Ok(AuthState {
            keys: self.keys,
            grants: Arc::new(Mutex::new(self.grants)),
            signing_keys: Arc::new(self.signing_keys),
            verifier,
            revocations,
            version: self.seq,
            bootstrapped: true,
        })
    }
}

impl SnapshotSink for StateBuilder {
    fn position(&mut self, seq: Seq) {
        self.seq = seq;
    }

    // Principals carry nothing a check reads: a key's owner is in its record.
    fn principal(&mut self, _principal: Principal) {}

    fn key(&mut self, key: KeyRecord) {
        let indexed = self.grants.index(&key);
        self.keys.insert(key.id(), indexed);
    }

    fn revocation(&mut self, revocation: Revocation) {
        self.revocations.push(revocation);
    }

    fn signing_key(&mut self, key: SigningKeyRecord) {
        self.signing_keys.insert(key.kid.clone(), key);
    }
}

/// The verifier of keygate's JWT API keys, from the signing keys. An HMAC key whose secret is
/// sealed is left out unless `config` has the master key; its tokens are then refused as signed
/// by a key not known here. A key that cannot be used (sealed under another master key, or
/// material this version cannot read) is left out too, and named in `report`: one bad record
/// must not stop every sync, and with it every revocation after it.
fn build_verifier(
    signing_keys: &BTreeMap<SigningKeyId, SigningKeyRecord>,
    config: &AuthConfig,
    report: &mut SyncReport,
) -> Result<Option<Arc<Verifier>>, SyncError> {
    let mut keys = Vec::new();
    for record in signing_keys.values() {
        match verification_key(record, config) {
            Ok(Some(key)) => keys.push(Arc::new(key.with_kid(record.kid.clone()))),
            Ok(None) => {}
            Err(reason) => report.unusable_signing_keys.push((record.kid.clone(), reason)),
        }
    }
    if keys.is_empty() {
        return Ok(None);
    }
    Verifier::new(keys)
        .map(|verifier| Some(Arc::new(verifier.with_cache_slots(config.token_cache_slots))))
        .map_err(|error| SyncError::Apply(error.to_string()))
}

/// The key that verifies what `record` signed; `None` for a sealed HMAC secret without the
/// master key (left out by design); why not, when it cannot be used.
fn verification_key(
    record: &SigningKeyRecord,
    config: &AuthConfig,
) -> Result<Option<VerificationKey>, String> {
    let key = match &record.verification {
        VerificationMaterial::PublicKey(der) => {
            VerificationKey::from_spki_der(record.algorithm, der)
        }
        VerificationMaterial::SharedSecret(secret) => {
            VerificationKey::hmac(record.algorithm, secret.expose())
        }
        VerificationMaterial::SealedSecret(sealed) => {
            let Some(master_key) = config.master_key.as_deref() else { return Ok(None) };
            let secret = master_key
                .open(record.kid.as_str().as_bytes(), sealed.as_bytes())
                .map_err(|e| e.to_string())?;
            VerificationKey::hmac(record.algorithm, &secret)
        }
        _ => return Err("its material is of a kind this version cannot read".to_owned()),
    };
    key.map(Some).map_err(|error| error.to_string())
}

/// The earlier of an expiry and now plus an optional cap.
pub(crate) fn session_deadline(
    expires: Expiry,
    now: Timestamp,
    cap: Option<keygate_core::Span>,
) -> Expiry {
    match cap {
        Some(cap) => expires.min(Expiry::At(now.saturating_add(cap))),
        None => expires,
    }
}

fn lock(grants: &Mutex<Grants>) -> MutexGuard<'_, Grants> {
    grants.lock().unwrap_or_else(PoisonError::into_inner)
}
