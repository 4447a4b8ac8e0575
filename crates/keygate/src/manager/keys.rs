//! API keys through their whole life: issued, described, suspended, resumed, revoked,
//! rotated, deleted.

use keygate_core::rotation::{due_for_rotation, expiring_within, plan_rotation};
use keygate_core::{
    Clock, Description, Expiry, KeyFormat, KeyId, KeyPolicy, KeyRecord, KeyStatus, KeyTemplate,
    ResourceRef, Span, Timestamp, Transition,
};
use keygate_revocation::Revocation;
use keygate_store::{KeyFilter, Page, PageRequest, Quota, Seq, StoreError};
use keygate_token::{ApiKey, Minter};

use crate::ManagerError;
use crate::audit::{Actor, AuditAction};

use super::{IssuedKey, IssuedSecret, KeyManager, NewKey, Revoked, Rotation};

/// The quotas `policy` sets for an insert at `now`.
fn quota(policy: &KeyPolicy, now: Timestamp) -> Quota {
    Quota::new(policy.max_keys_per_principal, now).with_per_resource(policy.max_keys_per_resource)
}

/// How many times an operation that reads, then writes conditionally, tries before giving up
/// on a key that keeps changing.
const ATTEMPTS: usize = 3;

impl KeyManager {
    /// Issues a key: checks its permissions against the profile's and the policy (user keys,
    /// lifetime bounds; the quota atomically with the insert), generates its id and secret, and
    /// returns the secret this once.
    pub async fn create_key(&self, actor: &Actor, new: NewKey) -> Result<IssuedKey, ManagerError> {
        if let Some(name) = self.profile.unknown_permission(&new.permissions) {
            let known = self.profile.known_permissions();
            return Err(ManagerError::UnknownPermission { name: name.clone(), known });
        }
        if let Some(kind) = self.profile.unknown_resource_kind(&new.scope) {
            let known = self.profile.known_resource_kinds();
            return Err(ManagerError::UnknownResourceKind { kind: kind.to_owned(), known });
        }
        let now = self.clock.now();
        let policy = self.policy_in_force().await?;
        let owner = self.store.principal(&new.owner).await?;
        let expires = match (new.expires_at, new.lifetime) {
            (Some(at), _) => Expiry::At(at),
            (None, Some(lifetime)) => lifetime.expiry_from(now)?,
            (None, None) => policy.expiry.longest(now),
        };
        let mut template = KeyTemplate::new(new.owner, new.scope, new.format, expires)
            .with_permissions(new.permissions)
            .with_description(new.description);
        template.name = new.name;
        policy.check_new_key(&owner, &template, now)?;
        let minter = match template.format {
            KeyFormat::Jwt => Some(self.minter().await?),
            _ => None,
        };
        for _ in 0..ATTEMPTS {
            let issued = self.issue(template.clone(), now, minter.as_ref())?;
            let record = &issued.record;
            let action = AuditAction::KeyCreated {
                id: record.id(),
                owner: record.owner().clone(),
                scope: record.scope().clone(),
                permissions: record.permissions().clone(),
                format: record.format(),
                expires: record.expires(),
            };
            let audited = self.audited(now, actor, action, None)?;
            match self.store.insert_key(record, quota(&policy, now), Some(&audited.record)).await {
                Ok(_) => {
                    self.committed(audited).await;
                    return Ok(issued);
                }
                // 80 random bits do not collide; if they ever do, draw again.
                Err(StoreError::AlreadyExists { kind: "key", .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ManagerError::Store(StoreError::Invalid("could not draw an unused key id")))
    }

    /// The key `id`.
    pub async fn key(&self, id: KeyId) -> Result<KeyRecord, ManagerError> {
        Ok(self.store.key(id).await?)
    }

    /// Keys that pass `filter`, a page at a time.
    pub async fn list_keys(
        &self,
        filter: &KeyFilter,
        page: &PageRequest<KeyId>,
    ) -> Result<Page<KeyRecord, KeyId>, ManagerError> {
        Ok(self.store.list_keys(filter, page).await?)
    }

    /// Replaces a key's description, the one edit a key allows.
    pub async fn update_description(
        &self,
        actor: &Actor,
        id: KeyId,
        description: Description,
    ) -> Result<KeyRecord, ManagerError> {
        let now = self.clock.now();
        // The owner, to file the event under: it never changes.
        let owner = self.store.key(id).await?.owner().clone();
        let action = AuditAction::KeyDescriptionUpdated { id };
        let audited = self.audited(now, actor, action, Some(&owner))?;
        let record =
            self.store.update_description(id, &description, now, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(record)
    }

    /// Suspends an active key; [`resume`](KeyManager::resume) undoes it.
    pub async fn suspend(&self, actor: &Actor, id: KeyId) -> Result<KeyRecord, ManagerError> {
        let now = self.clock.now();
        let action = AuditAction::KeySuspended { id };
        self.transition(actor, id, &Transition::Suspend { at: now }, action, now).await
    }

    /// Resumes a suspended key.
    pub async fn resume(&self, actor: &Actor, id: KeyId) -> Result<KeyRecord, ManagerError> {
        let now = self.clock.now();
        let action = AuditAction::KeyResumed { id };
        self.transition(actor, id, &Transition::Resume, action, now).await
    }

    /// Revokes a key, for good. Revoking a revoked key succeeds and says so.
    pub async fn revoke(
        &self,
        actor: &Actor,
        id: KeyId,
        reason: Description,
    ) -> Result<Revoked, ManagerError> {
        let now = self.clock.now();
        for _ in 0..ATTEMPTS {
            let current = self.store.key(id).await?;
            if current.state().is_revoked() {
                return Ok(Revoked::Already(current));
            }
            let next =
                current.state().apply(&Transition::Revoke { at: now, reason: reason.clone() })?;
            let action = AuditAction::KeyRevoked { id, reason: reason.clone() };
            let audited = self.audited(now, actor, action, Some(current.owner()))?;
            let changed = self
                .store
                .compare_and_set_state(id, current.state(), &next, now, Some(&audited.record))
                .await;
            match changed {
                Ok(record) => {
                    self.committed(audited).await;
                    return Ok(Revoked::Now(record));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ManagerError::Contended(id))
    }

    /// Deletes a key that is revoked or expired; a key still in force is refused.
    pub async fn delete_key(&self, actor: &Actor, id: KeyId) -> Result<KeyRecord, ManagerError> {
        let now = self.clock.now();
        let current = self.store.key(id).await?;
        let status = current.status_at(now);
        if !matches!(status, KeyStatus::Revoked | KeyStatus::Expired) {
            return Err(ManagerError::KeyStillInForce { id, status });
        }
        let action = AuditAction::KeyDeleted { id };
        let audited = self.audited(now, actor, action, Some(current.owner()))?;
        let deleted = self.store.delete_key(id, now, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(deleted)
    }

    /// Rotates a key: issues a replacement (same owner, scope, permissions and format, the
    /// lifetime the old key was issued with, within policy) and brings the old key's expiry
    /// forward to now plus `overlap` (the policy's default when `None`), in one store step.
    pub async fn rotate(
        &self,
        actor: &Actor,
        id: KeyId,
        overlap: Option<Span>,
    ) -> Result<Rotation, ManagerError> {
        let now = self.clock.now();
        let policy = self.policy_in_force().await?;
        let old = self.store.key(id).await?;
        let owner = self.store.principal(old.owner()).await?;
        let plan = plan_rotation(
            &old,
            now,
            overlap.unwrap_or(policy.default_rotation_overlap),
            &policy.expiry,
        )?;
        policy.check_new_key(&owner, &plan.replacement, now)?;
        let minter = match plan.replacement.format {
            KeyFormat::Jwt => Some(self.minter().await?),
            _ => None,
        };
        let new = self.issue(plan.replacement, now, minter.as_ref())?;
        let action = AuditAction::KeyRotated {
            old: id,
            new: new.record.id(),
            owner: owner.id,
            old_expires: plan.old_expires,
        };
        let audited = self.audited(now, actor, action, None)?;
        let quota = quota(&policy, now);
        let rotated = self
            .store
            .rotate_key(&new.record, plan.old_expires, quota, Some(&audited.record))
            .await?;
        self.committed(audited).await;
        Ok(Rotation { old: rotated.old, new })
    }

    /// Usable keys at least `max_age` old that no other key replaces yet: the ones a scheduled
    /// rotation should pick up.
    pub async fn due_for_rotation(&self, max_age: Span) -> Result<Vec<KeyRecord>, ManagerError> {
        let now = self.clock.now();
        let all = self.all_keys(&KeyFilter::all()).await?;
        Ok(due_for_rotation(&all, now, max_age).into_iter().cloned().collect())
    }

    /// Usable keys due for rotation under the policy in force (older than its rotation period,
    /// and not replaced yet), the longest overdue first; none when the policy sets no period.
    pub async fn due_keys(&self) -> Result<Vec<KeyRecord>, ManagerError> {
        let Some(period) = self.policy_in_force().await?.rotation_period else {
            return Ok(Vec::new());
        };
        let mut due = self.due_for_rotation(period).await?;
        due.sort_by_key(|key| (key.created_at(), key.id()));
        Ok(due)
    }

    /// Revokes, in one step, every key scoped to `resource` or to a part of it (the namespaces of
    /// a Pulsar tenant): the resource is gone, and keys for it must not outlive it. Until
    /// [`KeyManager::restore_resource`], no key is issued for it or its parts. Returns the keys
    /// revoked.
    pub async fn delete_resource(
        &self,
        actor: &Actor,
        resource: &ResourceRef,
    ) -> Result<Vec<KeyRecord>, ManagerError> {
        let now = self.clock.now();
        // A resource with parts (a tenant) is looked for among every key; others by their own.
        let filter = if resource.is_kind(&keygate_core::ResourceKind::PULSAR_TENANT) {
            KeyFilter::all()
        } else {
            KeyFilter::all().with_resource(resource.clone())
        };
        let scoped = self.all_keys(&filter).await?;
        let under = |key: &&KeyRecord| match key.scope() {
            keygate_core::Scope::Resource(scoped) => {
                scoped == resource || resource.contains(scoped)
            }
            _ => false,
        };
        let keys: Vec<KeyId> = scoped
            .iter()
            .filter(under)
            .filter(|key| !key.state().is_revoked())
            .map(KeyRecord::id)
            .collect();
        let action = AuditAction::ResourceDeleted { resource: resource.clone(), keys };
        let audited = self.audited(now, actor, action, None)?;
        let reason: Description = "its resource was deleted".parse()?;
        let revoked =
            self.store.delete_resource(resource, &reason, now, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(revoked)
    }

    /// Lets a deleted resource have keys again (the keys its deletion revoked stay revoked);
    /// whether it was deleted. Audited when it was.
    pub async fn restore_resource(
        &self,
        actor: &Actor,
        resource: &ResourceRef,
    ) -> Result<bool, ManagerError> {
        let deleted = self.store.deleted_resources().await?;
        if !deleted.iter().any(|(gone, _)| gone == resource) {
            return Ok(false);
        }
        let now = self.clock.now();
        let action = AuditAction::ResourceRestored { resource: resource.clone() };
        let audited = self.audited(now, actor, action, None)?;
        let restored = self.store.restore_resource(resource, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(restored)
    }

    /// The resources deleted and not restored, with when, by name.
    pub async fn deleted_resources(&self) -> Result<Vec<(ResourceRef, Timestamp)>, ManagerError> {
        Ok(self.store.deleted_resources().await?)
    }

    /// Usable keys that expire within `window`, soonest first: the ones to warn about.
    pub async fn expiring_within(&self, window: Span) -> Result<Vec<KeyRecord>, ManagerError> {
        let now = self.clock.now();
        let all = self.all_keys(&KeyFilter::all()).await?;
        Ok(expiring_within(&all, now, window).into_iter().cloned().collect())
    }

    /// Revokes a credential that has no key record: a token minted elsewhere (by `jti` or
    /// digest), every credential of a principal issued before now, or a signing key's tokens.
    pub async fn revoke_credential(
        &self,
        actor: &Actor,
        revocation: Revocation,
    ) -> Result<Seq, ManagerError> {
        let now = self.clock.now();
        let action = AuditAction::CredentialRevoked { revocation: revocation.clone() };
        let audited = self.audited(now, actor, action, None)?;
        let seq = self.store.add_revocation(&revocation, now, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(seq)
    }

    /// Draws an id and a secret for `template` and builds its record.
    fn issue(
        &self,
        template: KeyTemplate,
        now: Timestamp,
        minter: Option<&Minter>,
    ) -> Result<IssuedKey, ManagerError> {
        let id = KeyId::generate(&*self.random)?;
        match template.format {
            KeyFormat::Jwt => {
                let minter = minter.ok_or(ManagerError::NoSigningKey)?;
                let template = match minter.key().kid() {
                    Some(kid) => template.with_signing_key(kid.clone()),
                    None => template,
                };
                let record = KeyRecord::issue(template, id, now, None)?;
                let token = minter.mint_api_key(&record, now)?;
                Ok(IssuedKey { record, secret: IssuedSecret(token.into_zeroizing()) })
            }
            _ => {
                let key = ApiKey::generate_for(id, &*self.random)?;
                let record =
                    KeyRecord::issue(template, id, now, Some(self.profile.hasher.digest(&key)))?;
                Ok(IssuedKey { record, secret: IssuedSecret(key.expose()) })
            }
        }
    }

    /// Moves key `id` through `transition`, recording `action`.
    async fn transition(
        &self,
        actor: &Actor,
        id: KeyId,
        transition: &Transition,
        action: AuditAction,
        now: Timestamp,
    ) -> Result<KeyRecord, ManagerError> {
        for _ in 0..ATTEMPTS {
            let current = self.store.key(id).await?;
            let next = current.state().apply(transition)?;
            let audited = self.audited(now, actor, action.clone(), Some(current.owner()))?;
            let changed = self
                .store
                .compare_and_set_state(id, current.state(), &next, now, Some(&audited.record))
                .await;
            match changed {
                Ok(record) => {
                    self.committed(audited).await;
                    return Ok(record);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ManagerError::Contended(id))
    }

    /// Every key that passes `filter`, read a thousand at a time: for reports over the whole
    /// store, off any hot path.
    pub async fn all_keys(&self, filter: &KeyFilter) -> Result<Vec<KeyRecord>, ManagerError> {
        let mut all = Vec::new();
        let mut page = PageRequest::first(1000);
        loop {
            let result = self.store.list_keys(filter, &page).await?;
            all.extend(result.items);
            match result.next {
                Some(cursor) => page = PageRequest::after(cursor, 1000),
                None => return Ok(all),
            }
        }
    }
}
