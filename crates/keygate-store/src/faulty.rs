//! A store wrapper that fails on purpose, for testing the layers above.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use keygate_core::{
    Description, DisplayName, Expiry, KeyId, KeyPolicy, KeyRecord, KeyState, Principal,
    PrincipalId, ResourceRef, Role, RoleBinding, SigningKeyId, Timestamp,
};
use keygate_revocation::Revocation;

use crate::{
    AuditEntry, AuditLog, AuditQuery, AuditRecord, Change, ChangeFeed, ChangeWatch,
    DeletedPrincipal, KeyFilter, KeyStore, KeyUse, Page, PageRequest, PolicyStore, PrincipalStore,
    Quota, RevocationStore, RoleBindingStore, Rotated, Sealed, Seq, SigningKeyRecord,
    SigningKeyStore, SnapshotSink, StoreError, StoreSnapshot, UsageStore,
};

/// Every store operation, by name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // Each variant is the trait method of the same name.
pub enum Operation {
    CreatePrincipal,
    UpdatePrincipal,
    Principal,
    ListPrincipals,
    DeletePrincipal,
    InsertKey,
    Key,
    ListKeys,
    UpdateDescription,
    CompareAndSetState,
    ShortenExpiry,
    RotateKey,
    DeleteResource,
    RestoreResource,
    DeletedResources,
    DeleteKey,
    AddRoleBinding,
    RemoveRoleBinding,
    RoleBindings,
    AddRevocation,
    PruneRevocations,
    AddSigningKey,
    SigningKeys,
    SigningKeyPrivate,
    PromoteSigningKey,
    RemoveSigningKey,
    Policy,
    SetPolicy,
    RecordKeyUses,
    KeyUses,
    AuditLog,
    Head,
    ChangesSince,
    Snapshot,
    Compact,
}

/// When an injected fault strikes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum When {
    /// Before the inner store is called: the operation does not happen.
    Before,
    /// After the inner store returned: the operation happened, but the caller sees an error, as
    /// with a connection dropped after a commit.
    After,
}

/// Wraps a store and fails chosen operations, or a seeded random fraction of all of them,
/// before or after calling the inner store. Injected failures are
/// [`StoreError::Unavailable`], what a flaky network or database produces.
///
/// ```
/// # async fn run() {
/// use keygate_store::{FaultyStore, InMemoryStore, Operation, When, ChangeFeed};
///
/// let store = FaultyStore::new(InMemoryStore::new());
/// store.fail_next(Operation::Head, When::Before, 1);
/// assert!(store.head().await.is_err());
/// assert!(store.head().await.is_ok());
/// # }
/// ```
pub struct FaultyStore<S> {
    inner: S,
    plan: Mutex<Plan>,
}

#[derive(Default)]
struct Plan {
    next: Vec<(Operation, When, usize)>,
    random: Option<(u32, When)>,
    state: u64,
    injected: usize,
}

impl<S> FaultyStore<S> {
    /// A wrapper that injects nothing until told to.
    pub fn new(inner: S) -> FaultyStore<S> {
        FaultyStore {
            inner,
            plan: Mutex::new(Plan { state: 0x853c_49e6_748f_ea9b, ..Plan::default() }),
        }
    }

    /// Fails the next `times` calls of `operation`.
    pub fn fail_next(&self, operation: Operation, when: When, times: usize) {
        self.plan().next.push((operation, when, times));
    }

    /// Fails each call with probability `percent`/100, from a generator seeded with `seed`, so a
    /// failing run can be replayed.
    pub fn fail_randomly(&self, percent: u32, when: When, seed: u64) {
        let mut plan = self.plan();
        plan.random = Some((percent.min(100), when));
        plan.state = seed | 1;
    }

    /// Stops injecting faults.
    pub fn heal(&self) {
        let mut plan = self.plan();
        plan.next.clear();
        plan.random = None;
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> usize {
        self.plan().injected
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn plan(&self) -> MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `operation` fails at `when` now (and counts it).
    fn strikes(&self, operation: Operation, when: When) -> bool {
        let mut plan = self.plan();
        if let Some(rule) =
            plan.next.iter_mut().find(|(op, w, times)| *op == operation && *w == when && *times > 0)
        {
            rule.2 -= 1;
            plan.injected += 1;
            return true;
        }
        if let Some((percent, random_when)) = plan.random
            && random_when == when
        {
            // xorshift64*: fast, deterministic per seed.
            plan.state ^= plan.state >> 12;
            plan.state ^= plan.state << 25;
            plan.state ^= plan.state >> 27;
            let roll = (plan.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % 100;
            if roll < u64::from(percent) {
                plan.injected += 1;
                return true;
            }
        }
        false
    }

    async fn around<T>(
        &self,
        operation: Operation,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if self.strikes(operation, When::Before) {
            return Err(injected(operation, When::Before));
        }
        let result = call.await;
        if self.strikes(operation, When::After) {
            return Err(injected(operation, When::After));
        }
        result
    }
}

impl<S: fmt::Debug> fmt::Debug for FaultyStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyStore")
            .field("inner", &self.inner)
            .field("injected", &self.injected())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("injected fault in {operation:?} ({when:?} the call)")]
struct Injected {
    operation: Operation,
    when: When,
}

fn injected(operation: Operation, when: When) -> StoreError {
    StoreError::unavailable(Injected { operation, when })
}

#[async_trait]
impl<S: PrincipalStore> PrincipalStore for FaultyStore<S> {
    async fn create_principal(
        &self,
        principal: &Principal,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        self.around(Operation::CreatePrincipal, self.inner.create_principal(principal, audit)).await
    }
    async fn update_principal(
        &self,
        id: &PrincipalId,
        display_name: Option<&DisplayName>,
        description: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Principal, StoreError> {
        let update = self.inner.update_principal(id, display_name, description, at, audit);
        self.around(Operation::UpdatePrincipal, update).await
    }
    async fn principal(&self, id: &PrincipalId) -> Result<Principal, StoreError> {
        self.around(Operation::Principal, self.inner.principal(id)).await
    }
    async fn list_principals(
        &self,
        page: &PageRequest<PrincipalId>,
    ) -> Result<Page<Principal, PrincipalId>, StoreError> {
        self.around(Operation::ListPrincipals, self.inner.list_principals(page)).await
    }
    async fn delete_principal(
        &self,
        id: &PrincipalId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<DeletedPrincipal, StoreError> {
        self.around(Operation::DeletePrincipal, self.inner.delete_principal(id, at, audit)).await
    }
}

#[async_trait]
impl<S: KeyStore> KeyStore for FaultyStore<S> {
    async fn insert_key(
        &self,
        key: &KeyRecord,
        quota: Quota,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        self.around(Operation::InsertKey, self.inner.insert_key(key, quota, audit)).await
    }
    async fn key(&self, id: KeyId) -> Result<KeyRecord, StoreError> {
        self.around(Operation::Key, self.inner.key(id)).await
    }
    async fn list_keys(
        &self,
        filter: &KeyFilter,
        page: &PageRequest<KeyId>,
    ) -> Result<Page<KeyRecord, KeyId>, StoreError> {
        self.around(Operation::ListKeys, self.inner.list_keys(filter, page)).await
    }
    async fn update_description(
        &self,
        id: KeyId,
        description: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        self.around(
            Operation::UpdateDescription,
            self.inner.update_description(id, description, at, audit),
        )
        .await
    }
    async fn compare_and_set_state(
        &self,
        id: KeyId,
        expected: &KeyState,
        new: &KeyState,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        self.around(
            Operation::CompareAndSetState,
            self.inner.compare_and_set_state(id, expected, new, at, audit),
        )
        .await
    }
    async fn shorten_expiry(
        &self,
        id: KeyId,
        expires: Expiry,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        self.around(Operation::ShortenExpiry, self.inner.shorten_expiry(id, expires, at, audit))
            .await
    }
    async fn rotate_key(
        &self,
        replacement: &KeyRecord,
        old_expires: Expiry,
        quota: Quota,
        audit: Option<&AuditRecord>,
    ) -> Result<Rotated, StoreError> {
        self.around(
            Operation::RotateKey,
            self.inner.rotate_key(replacement, old_expires, quota, audit),
        )
        .await
    }
    async fn delete_resource(
        &self,
        resource: &ResourceRef,
        reason: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        self.around(
            Operation::DeleteResource,
            self.inner.delete_resource(resource, reason, at, audit),
        )
        .await
    }

    async fn restore_resource(
        &self,
        resource: &ResourceRef,
        audit: Option<&AuditRecord>,
    ) -> Result<bool, StoreError> {
        self.around(Operation::RestoreResource, self.inner.restore_resource(resource, audit)).await
    }

    async fn deleted_resources(&self) -> Result<Vec<(ResourceRef, Timestamp)>, StoreError> {
        self.around(Operation::DeletedResources, self.inner.deleted_resources()).await
    }
    async fn delete_key(
        &self,
        id: KeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError> {
        self.around(Operation::DeleteKey, self.inner.delete_key(id, at, audit)).await
    }
}

#[async_trait]
impl<S: RevocationStore> RevocationStore for FaultyStore<S> {
    async fn add_revocation(
        &self,
        revocation: &Revocation,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        self.around(Operation::AddRevocation, self.inner.add_revocation(revocation, at, audit))
            .await
    }
    async fn prune_revocations(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.around(Operation::PruneRevocations, self.inner.prune_revocations(before)).await
    }
}

#[async_trait]
impl<S: SigningKeyStore> SigningKeyStore for FaultyStore<S> {
    async fn add_signing_key(
        &self,
        key: &SigningKeyRecord,
        private: Option<&Sealed>,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        self.around(Operation::AddSigningKey, self.inner.add_signing_key(key, private, at, audit))
            .await
    }
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.around(Operation::SigningKeys, self.inner.signing_keys()).await
    }
    async fn signing_key_private(&self, kid: &SigningKeyId) -> Result<Sealed, StoreError> {
        self.around(Operation::SigningKeyPrivate, self.inner.signing_key_private(kid)).await
    }
    async fn promote_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        self.around(Operation::PromoteSigningKey, self.inner.promote_signing_key(kid, at, audit))
            .await
    }
    async fn remove_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        self.around(Operation::RemoveSigningKey, self.inner.remove_signing_key(kid, at, audit))
            .await
    }
}

#[async_trait]
impl<S: RoleBindingStore> RoleBindingStore for FaultyStore<S> {
    async fn add_role_binding(
        &self,
        binding: &RoleBinding,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError> {
        self.around(Operation::AddRoleBinding, self.inner.add_role_binding(binding, audit)).await
    }
    async fn remove_role_binding(
        &self,
        principal: &PrincipalId,
        role: &Role,
        audit: Option<&AuditRecord>,
    ) -> Result<RoleBinding, StoreError> {
        self.around(
            Operation::RemoveRoleBinding,
            self.inner.remove_role_binding(principal, role, audit),
        )
        .await
    }
    async fn role_bindings(
        &self,
        principal: Option<&PrincipalId>,
    ) -> Result<Vec<RoleBinding>, StoreError> {
        self.around(Operation::RoleBindings, self.inner.role_bindings(principal)).await
    }
}

#[async_trait]
impl<S: PolicyStore> PolicyStore for FaultyStore<S> {
    async fn policy(&self) -> Result<Option<KeyPolicy>, StoreError> {
        self.around(Operation::Policy, self.inner.policy()).await
    }
    async fn set_policy(
        &self,
        policy: &KeyPolicy,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError> {
        self.around(Operation::SetPolicy, self.inner.set_policy(policy, audit)).await
    }
}

#[async_trait]
impl<S: UsageStore> UsageStore for FaultyStore<S> {
    async fn record_key_uses(&self, uses: &[KeyUse]) -> Result<(), StoreError> {
        self.around(Operation::RecordKeyUses, self.inner.record_key_uses(uses)).await
    }
    async fn key_uses(&self) -> Result<Vec<KeyUse>, StoreError> {
        self.around(Operation::KeyUses, self.inner.key_uses()).await
    }
    async fn key_uses_of(&self, keys: &[KeyId]) -> Result<Vec<KeyUse>, StoreError> {
        self.around(Operation::KeyUses, self.inner.key_uses_of(keys)).await
    }
}

#[async_trait]
impl<S: AuditLog> AuditLog for FaultyStore<S> {
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.around(Operation::AuditLog, self.inner.audit_log(query)).await
    }
}

#[async_trait]
impl<S: ChangeFeed> ChangeFeed for FaultyStore<S> {
    async fn head(&self) -> Result<Seq, StoreError> {
        self.around(Operation::Head, self.inner.head()).await
    }
    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.around(Operation::ChangesSince, self.inner.changes_since(after, limit)).await
    }
    async fn snapshot(&self) -> Result<StoreSnapshot, StoreError> {
        self.around(Operation::Snapshot, self.inner.snapshot()).await
    }
    async fn stream_snapshot(&self, sink: &mut (dyn SnapshotSink + '_)) -> Result<(), StoreError> {
        self.around(Operation::Snapshot, self.inner.stream_snapshot(sink)).await
    }
    async fn compact(&self, through: Seq) -> Result<(), StoreError> {
        self.around(Operation::Compact, self.inner.compact(through)).await
    }
    fn watch(&self) -> Option<ChangeWatch> {
        self.inner.watch()
    }
}
