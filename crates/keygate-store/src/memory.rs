//! The in-memory store: the embedded default for libraries and tests.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use keygate_core::{
    Description, DisplayName, Expiry, KeyId, KeyPolicy, KeyRecord, KeyState, Principal,
    PrincipalId, ResourceRef, Role, RoleBinding, Scope, SigningKeyId, Timestamp,
};
use keygate_revocation::Revocation;

use crate::backend::{
    change_state, check_quota, check_resource_quota, deletion_tombstone, principal_watermark,
    revoked_with_resource, rotation, shorten,
};
use crate::{
    AuditEntry, AuditLog, AuditQuery, AuditRecord, Change, ChangeEvent, ChangeFeed, ChangeSignal,
    ChangeWatch, DeletedPrincipal, KeyFilter, KeyStore, KeyUse, Page, PageRequest, PolicyStore,
    PrincipalStore, Quota, Reach, RevocationStore, RoleBindingStore, Rotated, Sealed, Seq,
    SigningKeyRecord, SigningKeyStatus, SigningKeyStore, StoreError, StoreSnapshot, UsageStore,
};

/// A store in memory: every trait, always compiled, the embedded default for libraries and
/// tests.
///
/// One mutex guards everything, taken and released inside each call (never held across an
/// `.await`), so every operation is atomic and the change feed is in commit order by
/// construction. Iteration order is deterministic: ids in order.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    principals: BTreeMap<PrincipalId, Principal>,
    keys: BTreeMap<KeyId, KeyRecord>,
    keys_by_owner: BTreeMap<PrincipalId, BTreeSet<KeyId>>,
    revocations: Vec<Revocation>,
    signing_keys: BTreeMap<SigningKeyId, (SigningKeyRecord, Option<Sealed>)>,
    changes: VecDeque<Change>,
    audit: Vec<AuditEntry>,
    policy: Option<KeyPolicy>,
    uses: BTreeMap<KeyId, KeyUse>,
    deleted: BTreeMap<ResourceRef, Timestamp>,
    bindings: BTreeMap<(PrincipalId, Role), RoleBinding>,
    head: Seq,
    compacted_through: Seq,
    signal: Signal,
}

/// Raised with every change, while the store's lock is still held: a woken reader waits for the
/// lock, so it finds the whole mutation.
#[derive(Debug)]
struct Signal(ChangeSignal);

impl Default for Signal {
    fn default() -> Signal {
        Signal(ChangeSignal::new(Reach::AllWriters))
    }
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> InMemoryStore {
        InMemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-done mutation: every mutation
        // validates first and writes last.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn record(&mut self, at: Timestamp, event: ChangeEvent) -> Seq {
        self.head = self.head.next();
        self.changes.push_back(Change { seq: self.head, at, event });
        self.signal.0.changed();
        self.head
    }

    /// Appends `record` (checked by [`checked`] before anything changed) to the audit log, filed
    /// under `keys` too.
    fn audit(&mut self, record: Option<&AuditRecord>, keys: impl IntoIterator<Item = KeyId>) {
        if let Some(record) = record {
            let position = self.audit.len() as u64 + 1;
            let record = record.clone().with_keys(keys);
            self.audit.push(AuditEntry::new(position, record));
        }
    }

    fn key(&self, id: KeyId) -> Result<&KeyRecord, StoreError> {
        self.keys.get(&id).ok_or_else(|| StoreError::not_found("key", id))
    }

    fn live_keys(&self, owner: &PrincipalId, now: Timestamp) -> usize {
        self.keys_by_owner.get(owner).map_or(0, |ids| {
            ids.iter()
                .filter(|id| self.keys.get(id).is_some_and(|key| key.counts_toward_quota(now)))
                .count()
        })
    }

    fn check_insert(&self, key: &KeyRecord, quota: Quota) -> Result<(), StoreError> {
        if !self.principals.contains_key(key.owner()) {
            return Err(StoreError::not_found("principal", key.owner()));
        }
        if self.keys.contains_key(&key.id()) {
            return Err(StoreError::already_exists("key", key.id()));
        }
        if let Scope::Resource(resource) = key.scope() {
            let whole = resource.whole();
            if let Some(deleted) = [Some(resource), whole.as_ref()]
                .into_iter()
                .flatten()
                .find(|r| self.deleted.contains_key(*r))
            {
                return Err(StoreError::ResourceDeleted { resource: deleted.to_string() });
            }
        }
        if let Some(name) = key.name() {
            let owned = self.keys_by_owner.get(key.owner()).into_iter().flatten();
            // A replacement takes the name of the key it replaces.
            let holder = owned
                .filter_map(|id| self.keys.get(id))
                .find(|other| other.name() == Some(name) && key.replaces() != Some(other.id()));
            if holder.is_some() {
                return Err(StoreError::already_exists("key name", name));
            }
        }
        check_quota(quota, self.live_keys(key.owner(), quota.now))?;
        let scope = key.scope();
        let live = self
            .keys
            .values()
            .filter(|other| other.scope() == scope && other.counts_toward_quota(quota.now))
            .count();
        check_resource_quota(key, quota, live)
    }

    fn insert(&mut self, key: KeyRecord) -> Seq {
        self.keys_by_owner.entry(key.owner().clone()).or_default().insert(key.id());
        let at = key.created_at();
        self.keys.insert(key.id(), key.clone());
        self.record(at, ChangeEvent::KeyCreated { key })
    }

    fn update(&mut self, key: KeyRecord, at: Timestamp) -> KeyRecord {
        self.keys.insert(key.id(), key.clone());
        self.record(at, ChangeEvent::KeyUpdated { key: key.clone() });
        key
    }

    fn remove_key(&mut self, id: KeyId, at: Timestamp) -> Option<KeyRecord> {
        let key = self.keys.remove(&id)?;
        if let Some(ids) = self.keys_by_owner.get_mut(key.owner()) {
            ids.remove(&id);
        }
        if let Some(tombstone) = deletion_tombstone(&key, at) {
            self.revocations.push(tombstone.clone());
            self.record(at, ChangeEvent::Revoked { revocation: tombstone });
        }
        self.record(at, ChangeEvent::KeyDeleted { key: key.clone() });
        Some(key)
    }
}

/// Refuses an audit record the log would not keep, before anything changes.
fn checked(audit: Option<&AuditRecord>) -> Result<(), StoreError> {
    audit.map_or(Ok(()), AuditRecord::check)
}

#[async_trait]
impl PrincipalStore for InMemoryStore {
    async fn create_principal(
        &self,
        principal: &Principal,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        if inner.principals.contains_key(&principal.id) {
            return Err(StoreError::already_exists("principal", &principal.id));
        }
        inner.principals.insert(principal.id.clone(), principal.clone());
        inner.audit(audit, []);
        Ok(inner.record(
            principal.created_at,
            ChangeEvent::PrincipalCreated { principal: principal.clone() },
        ))
    }

    async fn update_principal(
        &self,
        id: &PrincipalId,
        display_name: Option<&DisplayName>,
        description: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Principal, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let principal =
            inner.principals.get_mut(id).ok_or_else(|| StoreError::not_found("principal", id))?;
        if let Some(display_name) = display_name {
            principal.display_name = display_name.clone();
        }
        principal.description = description.clone();
        let principal = principal.clone();
        inner.audit(audit, []);
        inner.record(at, ChangeEvent::PrincipalUpdated { principal: principal.clone() });
        Ok(principal)
    }

    async fn principal(&self, id: &PrincipalId) -> Result<Principal, StoreError> {
        self.lock()
            .principals
            .get(id)
            .cloned()
            .ok_or_else(|| StoreError::not_found("principal", id))
    }

    async fn list_principals(
        &self,
        page: &PageRequest<PrincipalId>,
    ) -> Result<Page<Principal, PrincipalId>, StoreError> {
        let inner = self.lock();
        let start = page.after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
        let items: Vec<Principal> = inner
            .principals
            .range::<PrincipalId, _>((start, Bound::Unbounded))
            .take(page.limit)
            .map(|(_, p)| p.clone())
            .collect();
        let next =
            (items.len() == page.limit).then(|| items.last().map(|p| p.id.clone())).flatten();
        Ok(Page::new(items, next))
    }

    async fn delete_principal(
        &self,
        id: &PrincipalId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<DeletedPrincipal, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let principal =
            inner.principals.remove(id).ok_or_else(|| StoreError::not_found("principal", id))?;
        let ids: Vec<KeyId> =
            inner.keys_by_owner.remove(id).unwrap_or_default().into_iter().collect();
        let keys: Vec<KeyRecord> =
            ids.into_iter().filter_map(|key| inner.remove_key(key, at)).collect();
        inner.audit(audit, keys.iter().map(KeyRecord::id));
        inner.bindings.retain(|(principal, role), _| principal != id && role.target() != Some(id));
        let watermark = principal_watermark(id, at);
        inner.revocations.push(watermark.clone());
        inner.record(at, ChangeEvent::Revoked { revocation: watermark });
        inner.record(at, ChangeEvent::PrincipalDeleted { id: id.clone() });
        Ok(DeletedPrincipal::new(principal, keys))
    }
}

#[async_trait]
impl RoleBindingStore for InMemoryStore {
    async fn add_role_binding(
        &self,
        binding: &RoleBinding,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        for principal in [Some(&binding.principal), binding.role.target()].into_iter().flatten() {
            if !inner.principals.contains_key(principal) {
                return Err(StoreError::not_found("principal", principal));
            }
        }
        let at = (binding.principal.clone(), binding.role.clone());
        if inner.bindings.contains_key(&at) {
            let binding = format!("{} for {}", binding.role, binding.principal);
            return Err(StoreError::already_exists("role binding", binding));
        }
        inner.bindings.insert(at, binding.clone());
        inner.audit(audit, []);
        Ok(())
    }

    async fn remove_role_binding(
        &self,
        principal: &PrincipalId,
        role: &Role,
        audit: Option<&AuditRecord>,
    ) -> Result<RoleBinding, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let removed =
            inner.bindings.remove(&(principal.clone(), role.clone())).ok_or_else(|| {
                StoreError::not_found("role binding", format!("{role} for {principal}"))
            })?;
        inner.audit(audit, []);
        Ok(removed)
    }

    async fn role_bindings(
        &self,
        principal: Option<&PrincipalId>,
    ) -> Result<Vec<RoleBinding>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .bindings
            .values()
            .filter(|binding| principal.is_none_or(|p| &binding.principal == p))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl KeyStore for InMemoryStore {
    async fn insert_key(
        &self,
        key: &KeyRecord,
        quota: Quota,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        inner.check_insert(key, quota)?;
        inner.audit(audit, []);
        Ok(inner.insert(key.clone()))
    }

    async fn key(&self, id: KeyId) -> Result<KeyRecord, StoreError> {
        self.lock().key(id).cloned()
    }

    async fn list_keys(
        &self,
        filter: &KeyFilter,
        page: &PageRequest<KeyId>,
    ) -> Result<Page<KeyRecord, KeyId>, StoreError> {
        let inner = self.lock();
        let start = page.after.map_or(Bound::Unbounded, Bound::Excluded);
        let items: Vec<KeyRecord> = inner
            .keys
            .range((start, Bound::Unbounded))
            .map(|(_, key)| key)
            .filter(|key| filter.matches(key))
            .take(page.limit)
            .cloned()
            .collect();
        let next = (items.len() == page.limit).then(|| items.last().map(KeyRecord::id)).flatten();
        Ok(Page::new(items, next))
    }

    async fn update_description(
        &self,
        id: KeyId,
        description: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let mut key = inner.key(id)?.clone();
        key.set_description(description.clone());
        inner.audit(audit, []);
        Ok(inner.update(key, at))
    }

    async fn compare_and_set_state(
        &self,
        id: KeyId,
        expected: &KeyState,
        new: &KeyState,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let next = change_state(inner.key(id)?, expected, new)?;
        inner.audit(audit, []);
        Ok(inner.update(next, at))
    }

    async fn shorten_expiry(
        &self,
        id: KeyId,
        expires: Expiry,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let next = shorten(inner.key(id)?, expires)?;
        inner.audit(audit, []);
        Ok(inner.update(next, at))
    }

    async fn rotate_key(
        &self,
        replacement: &KeyRecord,
        old_expires: Expiry,
        quota: Quota,
        audit: Option<&AuditRecord>,
    ) -> Result<Rotated, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let old_id = replacement
            .replaces()
            .ok_or(StoreError::Invalid("the replacement does not name the key it replaces"))?;
        let old = rotation(inner.key(old_id)?, replacement, old_expires)?;
        inner.check_insert(replacement, quota)?;
        inner.audit(audit, []);
        let old = inner.update(old, replacement.created_at());
        inner.insert(replacement.clone());
        Ok(Rotated::new(old, replacement.clone()))
    }

    async fn delete_resource(
        &self,
        resource: &ResourceRef,
        reason: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let revoked: Vec<KeyRecord> = inner
            .keys
            .values()
            .filter(|key| match key.scope() {
                Scope::Resource(scoped) => scoped == resource || resource.contains(scoped),
                _ => false,
            })
            .filter_map(|key| revoked_with_resource(key, at, reason))
            .collect();
        inner.audit(audit, revoked.iter().map(KeyRecord::id));
        inner.deleted.entry(resource.clone()).or_insert(at);
        Ok(revoked.into_iter().map(|key| inner.update(key, at)).collect())
    }

    async fn restore_resource(
        &self,
        resource: &ResourceRef,
        audit: Option<&AuditRecord>,
    ) -> Result<bool, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        inner.audit(audit, []);
        Ok(inner.deleted.remove(resource).is_some())
    }

    async fn deleted_resources(&self) -> Result<Vec<(ResourceRef, Timestamp)>, StoreError> {
        Ok(self.lock().deleted.iter().map(|(resource, at)| (resource.clone(), *at)).collect())
    }

    async fn delete_key(
        &self,
        id: KeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        let key = inner.remove_key(id, at).ok_or_else(|| StoreError::not_found("key", id))?;
        inner.audit(audit, []);
        Ok(key)
    }
}

#[async_trait]
impl RevocationStore for InMemoryStore {
    async fn add_revocation(
        &self,
        revocation: &Revocation,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        inner.revocations.push(revocation.clone());
        inner.audit(audit, []);
        Ok(inner.record(at, ChangeEvent::Revoked { revocation: revocation.clone() }))
    }

    async fn prune_revocations(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let count = inner.revocations.len();
        inner.revocations.retain(|revocation| !revocation.expires().has_passed(before));
        Ok(count - inner.revocations.len())
    }
}

#[async_trait]
impl SigningKeyStore for InMemoryStore {
    async fn add_signing_key(
        &self,
        key: &SigningKeyRecord,
        private: Option<&Sealed>,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        if inner.signing_keys.contains_key(&key.kid) {
            return Err(StoreError::already_exists("signing key", &key.kid));
        }
        let active = inner.signing_keys.values().any(|(k, _)| k.status == SigningKeyStatus::Active);
        if key.status == SigningKeyStatus::Active && active {
            return Err(StoreError::Conflict {
                reason: "another signing key is active; add this one and promote it",
                current: None,
            });
        }
        inner.signing_keys.insert(key.kid.clone(), (key.clone(), private.cloned()));
        inner.audit(audit, []);
        Ok(inner.record(at, ChangeEvent::SigningKeyChanged { key: key.clone() }))
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        Ok(self.lock().signing_keys.values().map(|(key, _)| key.clone()).collect())
    }

    async fn signing_key_private(&self, kid: &SigningKeyId) -> Result<Sealed, StoreError> {
        self.lock()
            .signing_keys
            .get(kid)
            .and_then(|(_, private)| private.clone())
            .ok_or_else(|| StoreError::not_found("signing key", kid))
    }

    async fn promote_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        if !inner.signing_keys.contains_key(kid) {
            return Err(StoreError::not_found("signing key", kid));
        }
        inner.audit(audit, []);
        let mut changed = Vec::new();
        for (key, _) in inner.signing_keys.values_mut() {
            let status = if key.kid == *kid {
                SigningKeyStatus::Active
            } else {
                SigningKeyStatus::Verifying
            };
            if key.status != status {
                key.status = status;
                changed.push(key.clone());
            }
        }
        let mut seq = inner.head;
        for key in changed {
            seq = inner.record(at, ChangeEvent::SigningKeyChanged { key });
        }
        Ok(seq)
    }

    async fn remove_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        match inner.signing_keys.get(kid) {
            None => return Err(StoreError::not_found("signing key", kid)),
            Some((key, _)) if key.status == SigningKeyStatus::Active => {
                return Err(StoreError::Conflict {
                    reason: "the active signing key cannot be removed",
                    current: None,
                });
            }
            Some(_) => {}
        }
        inner.signing_keys.remove(kid);
        inner.audit(audit, []);
        Ok(inner.record(at, ChangeEvent::SigningKeyRemoved { kid: kid.clone() }))
    }
}

#[async_trait]
impl PolicyStore for InMemoryStore {
    async fn policy(&self) -> Result<Option<KeyPolicy>, StoreError> {
        Ok(self.lock().policy.clone())
    }

    async fn set_policy(
        &self,
        policy: &KeyPolicy,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError> {
        checked(audit)?;
        let mut inner = self.lock();
        inner.policy = Some(policy.clone());
        inner.audit(audit, []);
        Ok(())
    }
}

#[async_trait]
impl UsageStore for InMemoryStore {
    async fn record_key_uses(&self, uses: &[KeyUse]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for used in uses {
            let entry = inner.uses.entry(used.key).or_insert_with(|| used.clone());
            if used.at > entry.at {
                *entry = used.clone();
            }
        }
        Ok(())
    }

    async fn key_uses(&self) -> Result<Vec<KeyUse>, StoreError> {
        Ok(self.lock().uses.values().cloned().collect())
    }
}

#[async_trait]
impl AuditLog for InMemoryStore {
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let inner = self.lock();
        let mut newest: Vec<AuditEntry> = inner
            .audit
            .iter()
            .rev()
            .filter(|entry| query.matches(entry))
            .take(query.limit)
            .cloned()
            .collect();
        newest.reverse();
        Ok(newest)
    }
}

#[async_trait]
impl ChangeFeed for InMemoryStore {
    async fn head(&self) -> Result<Seq, StoreError> {
        Ok(self.lock().head)
    }

    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<Change>, StoreError> {
        let inner = self.lock();
        if after < inner.compacted_through {
            return Err(StoreError::ChangesCompacted {
                requested: after,
                oldest: inner.compacted_through,
            });
        }
        Ok(inner.changes.iter().filter(|change| change.seq > after).take(limit).cloned().collect())
    }

    async fn snapshot(&self) -> Result<StoreSnapshot, StoreError> {
        let inner = self.lock();
        Ok(StoreSnapshot::new(
            inner.head,
            inner.principals.values().cloned().collect(),
            inner.keys.values().cloned().collect(),
            inner.revocations.clone(),
            inner.signing_keys.values().map(|(key, _)| key.clone()).collect(),
        ))
    }

    fn watch(&self) -> Option<ChangeWatch> {
        Some(self.lock().signal.0.watch())
    }

    async fn compact(&self, through: Seq) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let through = through.min(inner.head);
        while inner.changes.front().is_some_and(|change| change.seq <= through) {
            inner.changes.pop_front();
        }
        inner.compacted_through = inner.compacted_through.max(through);
        Ok(())
    }
}
