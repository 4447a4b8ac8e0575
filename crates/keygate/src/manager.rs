//! The control plane: principals, keys and signing keys through their whole life.

use std::fmt;
use std::sync::Arc;

use keygate_core::rotation::{due_for_rotation, expiring_within, plan_rotation};
use keygate_core::{
    Clock, Description, DisplayName, KeyFormat, KeyId, KeyPolicy, KeyRecord, KeyStatus,
    KeyTemplate, Lifetime, Permissions, Principal, PrincipalId, PrincipalKind, Scope, SecureRandom,
    SigningAlgorithm, SigningKeyId, Span, SystemClock, Timestamp, Transition, base32,
};
use keygate_revocation::Revocation;
use keygate_store::{
    DeletedPrincipal, KeyFilter, Page, PageRequest, Quota, SecretBytes, Seq, SigningKeyRecord,
    SigningKeyStatus, Store, StoreError, VerificationMaterial,
};
use keygate_token::jwk::JwkSet;
use keygate_token::{ApiKey, Minter, SigningKey, SystemRandom, VerificationKey};
use zeroize::Zeroizing;

use crate::audit::{Actor, AuditAction, AuditEvent, AuditSink, NoAudit};
use crate::{ManagerError, Profile};

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
    store: Arc<dyn Store>,
    policy: KeyPolicy,
    clock: Arc<dyn Clock>,
    random: Arc<dyn SecureRandom>,
    profile: Profile,
    audit: Arc<dyn AuditSink>,
}

/// A principal to create.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewPrincipal {
    /// Its id.
    pub id: PrincipalId,
    /// Service account or user.
    pub kind: PrincipalKind,
    /// Its display name; the id when `None`.
    pub display_name: Option<DisplayName>,
    /// A note.
    pub description: Description,
}

impl NewPrincipal {
    /// A service account.
    pub fn service_account(id: PrincipalId) -> NewPrincipal {
        NewPrincipal {
            id,
            kind: PrincipalKind::ServiceAccount,
            display_name: None,
            description: Description::empty(),
        }
    }

    /// A user.
    pub fn user(id: PrincipalId) -> NewPrincipal {
        NewPrincipal {
            id,
            kind: PrincipalKind::User,
            display_name: None,
            description: Description::empty(),
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: Description) -> NewPrincipal {
        self.description = description;
        self
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, display_name: DisplayName) -> NewPrincipal {
        self.display_name = Some(display_name);
        self
    }
}

/// A key to create.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewKey {
    /// Its owner.
    pub owner: PrincipalId,
    /// Where it is valid.
    pub scope: Scope,
    /// How long it lives; `None` for the longest the policy allows.
    pub lifetime: Option<Lifetime>,
    /// What it may do.
    pub permissions: Permissions,
    /// How its secret is presented.
    pub format: KeyFormat,
    /// A note.
    pub description: Description,
}

impl NewKey {
    /// An unrestricted opaque key for `owner` on `scope`, living as long as policy allows.
    pub fn new(owner: PrincipalId, scope: Scope) -> NewKey {
        NewKey {
            owner,
            scope,
            lifetime: None,
            permissions: Permissions::Unrestricted,
            format: KeyFormat::Opaque,
            description: Description::empty(),
        }
    }

    /// Sets the lifetime.
    pub fn with_lifetime(mut self, lifetime: Lifetime) -> NewKey {
        self.lifetime = Some(lifetime);
        self
    }

    /// Restricts permissions.
    pub fn with_permissions(mut self, permissions: Permissions) -> NewKey {
        self.permissions = permissions;
        self
    }

    /// Sets the format.
    pub fn with_format(mut self, format: KeyFormat) -> NewKey {
        self.format = format;
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: Description) -> NewKey {
        self.description = description;
        self
    }
}

/// A key just issued: its record, and its secret, shown this once.
#[derive(Debug)]
#[non_exhaustive]
pub struct IssuedKey {
    /// The record, as stored.
    pub record: KeyRecord,
    /// The secret: the `kgk_…` string of an opaque key, or the JWT of a JWT key.
    pub secret: IssuedSecret,
}

/// The secret of a newly issued key. It prints as `IssuedSecret(..)`, is not `Clone`, and is
/// zeroized on drop: hand it to the user once and let it go.
pub struct IssuedSecret(Zeroizing<String>);

impl IssuedSecret {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IssuedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuedSecret(..)")
    }
}

/// What revoking did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revoked {
    /// The key is now revoked.
    Now(KeyRecord),
    /// It had been revoked already; nothing changed.
    Already(KeyRecord),
}

impl Revoked {
    /// The key as it is now.
    pub fn record(&self) -> &KeyRecord {
        match self {
            Revoked::Now(record) | Revoked::Already(record) => record,
        }
    }
}

/// What a rotation did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rotation {
    /// The old key, with its expiry brought forward to the end of the overlap.
    pub old: KeyRecord,
    /// The replacement, with its secret.
    pub new: IssuedKey,
}

const ATTEMPTS: usize = 3;

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

    /// Creates a principal.
    pub async fn create_principal(
        &self,
        actor: &Actor,
        new: NewPrincipal,
    ) -> Result<Principal, ManagerError> {
        let now = self.clock.now();
        let mut principal = Principal::new(new.id, new.kind, now).with_description(new.description);
        if let Some(display_name) = new.display_name {
            principal = principal.with_display_name(display_name);
        }
        self.store.create_principal(&principal).await?;
        self.audit(
            now,
            actor,
            AuditAction::PrincipalCreated { id: principal.id.clone(), kind: principal.kind },
        )
        .await;
        Ok(principal)
    }

    /// The principal `id`.
    pub async fn principal(&self, id: &PrincipalId) -> Result<Principal, ManagerError> {
        Ok(self.store.principal(id).await?)
    }

    /// Principals, a page at a time.
    pub async fn list_principals(
        &self,
        page: &PageRequest<PrincipalId>,
    ) -> Result<Page<Principal, PrincipalId>, ManagerError> {
        Ok(self.store.list_principals(page).await?)
    }

    /// Deletes a principal, revoking and removing every key it owns in the same step.
    pub async fn delete_principal(
        &self,
        actor: &Actor,
        id: &PrincipalId,
    ) -> Result<DeletedPrincipal, ManagerError> {
        let now = self.clock.now();
        let deleted = self.store.delete_principal(id, now).await?;
        let keys: Vec<KeyId> = deleted.keys.iter().map(KeyRecord::id).collect();
        self.audit(
            now,
            actor,
            AuditAction::PrincipalDeleted { id: id.clone(), keys_deleted: keys.len(), keys },
        )
        .await;
        Ok(deleted)
    }

    /// Issues a key: checks the policy (user keys, lifetime bounds; the quota atomically with the
    /// insert), generates its id and secret, and returns the secret this once.
    pub async fn create_key(&self, actor: &Actor, new: NewKey) -> Result<IssuedKey, ManagerError> {
        let now = self.clock.now();
        let owner = self.store.principal(&new.owner).await?;
        let expires = match new.lifetime {
            Some(lifetime) => lifetime.expiry_from(now)?,
            None => self.policy.expiry.longest(now),
        };
        let template = KeyTemplate::new(new.owner, new.scope, new.format, expires)
            .with_permissions(new.permissions)
            .with_description(new.description);
        self.policy.check_new_key(&owner, &template, now)?;
        let minter = match template.format {
            KeyFormat::Jwt => Some(self.minter().await?),
            _ => None,
        };
        for _ in 0..ATTEMPTS {
            let issued = self.issue(template.clone(), now, minter.as_ref())?;
            match self
                .store
                .insert_key(&issued.record, Quota::new(self.policy.max_keys_per_principal, now))
                .await
            {
                Ok(_) => {
                    let record = &issued.record;
                    self.audit(
                        now,
                        actor,
                        AuditAction::KeyCreated {
                            id: record.id(),
                            owner: record.owner().clone(),
                            scope: record.scope().clone(),
                            permissions: record.permissions().clone(),
                            format: record.format(),
                            expires: record.expires(),
                        },
                    )
                    .await;
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
        let record = self.store.update_description(id, &description, now).await?;
        self.audit(now, actor, AuditAction::KeyDescriptionUpdated { id }).await;
        Ok(record)
    }

    /// Suspends an active key; [`resume`](KeyManager::resume) undoes it.
    pub async fn suspend(&self, actor: &Actor, id: KeyId) -> Result<KeyRecord, ManagerError> {
        let now = self.clock.now();
        let record = self.transition(id, &Transition::Suspend { at: now }, now).await?;
        self.audit(now, actor, AuditAction::KeySuspended { id }).await;
        Ok(record)
    }

    /// Resumes a suspended key.
    pub async fn resume(&self, actor: &Actor, id: KeyId) -> Result<KeyRecord, ManagerError> {
        let now = self.clock.now();
        let record = self.transition(id, &Transition::Resume, now).await?;
        self.audit(now, actor, AuditAction::KeyResumed { id }).await;
        Ok(record)
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
            match self.store.compare_and_set_state(id, current.state(), &next, now).await {
                Ok(record) => {
                    self.audit(now, actor, AuditAction::KeyRevoked { id, reason }).await;
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
        let deleted = self.store.delete_key(id, now).await?;
        self.audit(now, actor, AuditAction::KeyDeleted { id }).await;
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
        let old = self.store.key(id).await?;
        let owner = self.store.principal(old.owner()).await?;
        let plan = plan_rotation(
            &old,
            now,
            overlap.unwrap_or(self.policy.default_rotation_overlap),
            &self.policy.expiry,
        )?;
        self.policy.check_new_key(&owner, &plan.replacement, now)?;
        let minter = match plan.replacement.format {
            KeyFormat::Jwt => Some(self.minter().await?),
            _ => None,
        };
        let new = self.issue(plan.replacement, now, minter.as_ref())?;
        let rotated = self
            .store
            .rotate_key(
                &new.record,
                plan.old_expires,
                Quota::new(self.policy.max_keys_per_principal, now),
            )
            .await?;
        self.audit(
            now,
            actor,
            AuditAction::KeyRotated {
                old: id,
                new: new.record.id(),
                owner: owner.id,
                old_expires: rotated.old.expires(),
            },
        )
        .await;
        Ok(Rotation { old: rotated.old, new })
    }

    /// Usable keys at least `max_age` old that no other key replaces yet: the ones a scheduled
    /// rotation should pick up.
    pub async fn due_for_rotation(&self, max_age: Span) -> Result<Vec<KeyRecord>, ManagerError> {
        let now = self.clock.now();
        let all = self.all_keys(&KeyFilter::all()).await?;
        Ok(due_for_rotation(&all, now, max_age).into_iter().cloned().collect())
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
        let seq = self.store.add_revocation(&revocation, now).await?;
        self.audit(now, actor, AuditAction::CredentialRevoked { revocation }).await;
        Ok(seq)
    }

    /// Creates a signing key for JWT API keys with `algorithm` (RSA keys cannot be generated
    /// here; load one with [`add_signing_key`](KeyManager::add_signing_key)). It becomes the
    /// active key if there is none, and verifies only otherwise, until promoted. Its private
    /// key is kept in the store.
    pub async fn create_signing_key(
        &self,
        actor: &Actor,
        algorithm: SigningAlgorithm,
        kid: Option<SigningKeyId>,
    ) -> Result<SigningKeyRecord, ManagerError> {
        let mut key = SigningKey::generate(algorithm)?;
        if let Some(kid) = kid {
            key = key.with_kid(kid);
        }
        self.add_signing_key(actor, &key, true).await
    }

    /// Adds a signing key loaded elsewhere (an RSA key, say), under its `kid` or, without one, a
    /// generated `kg-…` id. With `store_private`, its private key goes into the store (which
    /// must then be trusted with it) so this manager can mint with it; without, the store gets
    /// only what verifies its tokens.
    pub async fn add_signing_key(
        &self,
        actor: &Actor,
        key: &SigningKey,
        store_private: bool,
    ) -> Result<SigningKeyRecord, ManagerError> {
        let now = self.clock.now();
        let kid = match key.kid() {
            Some(kid) => kid.clone(),
            None => {
                let mut bytes = [0u8; 5];
                self.random.fill(&mut bytes)?;
                format!("kg-{}", base32::encode(&bytes)).parse()?
            }
        };
        let verification = if key.algorithm().is_symmetric() {
            VerificationMaterial::SharedSecret(SecretBytes::new(key.private_bytes().to_vec()))
        } else {
            VerificationMaterial::PublicKey(key.verification_key().to_spki_der()?)
        };
        let active =
            self.store.signing_keys().await?.iter().any(|k| k.status == SigningKeyStatus::Active);
        let status = if active { SigningKeyStatus::Verifying } else { SigningKeyStatus::Active };
        let record = SigningKeyRecord::new(kid.clone(), key.algorithm(), status, now, verification);
        let private = store_private.then(|| SecretBytes::new(key.private_bytes().to_vec()));
        self.store.add_signing_key(&record, private.as_ref(), now).await?;
        self.audit(now, actor, AuditAction::SigningKeyCreated { kid, algorithm: key.algorithm() })
            .await;
        Ok(record)
    }

    /// Makes `kid` the key that signs new JWT API keys; the previous one keeps verifying.
    pub async fn promote_signing_key(
        &self,
        actor: &Actor,
        kid: &SigningKeyId,
    ) -> Result<(), ManagerError> {
        let now = self.clock.now();
        self.store.promote_signing_key(kid, now).await?;
        self.audit(now, actor, AuditAction::SigningKeyPromoted { kid: kid.clone() }).await;
        Ok(())
    }

    /// Removes a verifying signing key: the tokens it signed stop verifying.
    pub async fn retire_signing_key(
        &self,
        actor: &Actor,
        kid: &SigningKeyId,
    ) -> Result<(), ManagerError> {
        let now = self.clock.now();
        self.store.remove_signing_key(kid, now).await?;
        self.audit(now, actor, AuditAction::SigningKeyRetired { kid: kid.clone() }).await;
        Ok(())
    }

    /// The signing keys.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, ManagerError> {
        Ok(self.store.signing_keys().await?)
    }

    /// The public signing keys as a JWKS, for other verifiers (HMAC keys are never exported).
    pub async fn jwks(&self) -> Result<JwkSet, ManagerError> {
        let mut keys = Vec::new();
        for record in self.store.signing_keys().await? {
            if let VerificationMaterial::PublicKey(der) = &record.verification {
                let key = VerificationKey::from_spki_der(record.algorithm, der)?
                    .with_kid(record.kid.clone());
                keys.push(key.to_jwk()?);
            }
        }
        Ok(JwkSet { keys })
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
                let record = KeyRecord::issue(template, id, now, None)?;
                let minter = minter.ok_or(ManagerError::NoSigningKey)?;
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

    /// A minter with the active signing key, from the store.
    async fn minter(&self) -> Result<Minter, ManagerError> {
        let keys = self.store.signing_keys().await?;
        let active = keys
            .into_iter()
            .find(|key| key.status == SigningKeyStatus::Active)
            .ok_or(ManagerError::NoSigningKey)?;
        let private = match self.store.signing_key_private(&active.kid).await {
            Ok(private) => private,
            Err(StoreError::NotFound { .. }) => return Err(ManagerError::NoSigningKey),
            Err(error) => return Err(error.into()),
        };
        let key = SigningKey::from_bytes(active.algorithm, private.expose())?.with_kid(active.kid);
        let minter = Minter::new(Arc::new(key));
        Ok(match &self.profile.issuer {
            Some(issuer) => minter.with_issuer(issuer.clone()),
            None => minter,
        })
    }

    async fn transition(
        &self,
        id: KeyId,
        transition: &Transition,
        now: Timestamp,
    ) -> Result<KeyRecord, ManagerError> {
        for _ in 0..ATTEMPTS {
            let current = self.store.key(id).await?;
            let next = current.state().apply(transition)?;
            match self.store.compare_and_set_state(id, current.state(), &next, now).await {
                Ok(record) => return Ok(record),
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ManagerError::Contended(id))
    }

    async fn all_keys(&self, filter: &KeyFilter) -> Result<Vec<KeyRecord>, ManagerError> {
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

    async fn audit(&self, at: Timestamp, actor: &Actor, action: AuditAction) {
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
