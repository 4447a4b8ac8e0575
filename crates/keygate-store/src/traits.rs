//! The storage traits: what every backend implements.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use keygate_core::{
    Description, DisplayName, Expiry, KeyId, KeyPolicy, KeyRecord, KeyState, Principal,
    PrincipalId, ResourceRef, Role, RoleBinding, SigningKeyId, Timestamp,
};
use keygate_revocation::Revocation;

use crate::{
    AuditEntry, AuditQuery, AuditRecord, Change, ChangeWatch, DeletedPrincipal, KeyFilter, KeyUse,
    Page, PageRequest, Quota, Rotated, Sealed, Seq, SigningKeyRecord, SnapshotSink, StoreError,
    StoreSnapshot,
};

/// Principals: the owners of keys.
///
/// Every mutation appends its change to the feed, and its `audit` record (when given) to the
/// audit log, in the same atomic step as the mutation: a mutation that fails, for any reason
/// including a refused or failed audit append, writes none of the three.
#[async_trait]
pub trait PrincipalStore: Send + Sync {
    /// Creates `principal`. Fails with `AlreadyExists` if one with its id exists. Records
    /// `PrincipalCreated`.
    async fn create_principal(
        &self,
        principal: &Principal,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError>;

    /// The principal `id`, or `NotFound`.
    async fn principal(&self, id: &PrincipalId) -> Result<Principal, StoreError>;

    /// Replaces the display name and description of the principal `id` and returns it after
    /// the change, or `NotFound`. Records `PrincipalUpdated`.
    async fn update_principal(
        &self,
        id: &PrincipalId,
        display_name: Option<&DisplayName>,
        description: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Principal, StoreError>;

    /// Principals in id order, a page at a time.
    async fn list_principals(
        &self,
        page: &PageRequest<PrincipalId>,
    ) -> Result<Page<Principal, PrincipalId>, StoreError>;

    /// Deletes the principal `id` and every key it owns, in one atomic step, and returns what was
    /// removed. Records, in order: for each key, `KeyDeleted` (preceded by a `Revoked` tombstone
    /// for an unexpired JWT key, whose token would otherwise still verify); a `Revoked` principal
    /// watermark at `at`, so credentials issued for the principal before now, keygate's or not,
    /// stay refused if a principal of the same name is created again; then `PrincipalDeleted`.
    /// `NotFound` if it does not exist. Its role bindings, and the bindings that make others
    /// owners of it, go with it.
    async fn delete_principal(
        &self,
        id: &PrincipalId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<DeletedPrincipal, StoreError>;
}

/// Keys: the records of API keys (never their secrets, only digests).
///
/// Every mutation appends its change to the feed, and its `audit` record (when given) to the
/// audit log, in the same atomic step as the mutation, and a failed mutation writes nothing.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Inserts `key`, atomically checking that its owner exists (`NotFound`), its id is new
    /// (`AlreadyExists`), its owner holds fewer than `quota.limit` keys that count toward the
    /// quota at `quota.now` (`QuotaExceeded`), and, for a key scoped to a resource, that the
    /// resource has fewer than `quota.per_resource` such keys (`ResourceQuotaExceeded`).
    /// Concurrent inserts can never exceed either quota. Records `KeyCreated`.
    async fn insert_key(
        &self,
        key: &KeyRecord,
        quota: Quota,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError>;

    /// The key `id`, or `NotFound`.
    async fn key(&self, id: KeyId) -> Result<KeyRecord, StoreError>;

    /// Keys that pass `filter`, in id order, a page at a time; stable under concurrent inserts.
    async fn list_keys(
        &self,
        filter: &KeyFilter,
        page: &PageRequest<KeyId>,
    ) -> Result<Page<KeyRecord, KeyId>, StoreError>;

    /// Replaces the description of key `id`. Records `KeyUpdated`. `NotFound` if absent.
    async fn update_description(
        &self,
        id: KeyId,
        description: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError>;

    /// Sets the state of key `id` to `new` if it is `expected` now; otherwise `Conflict` with the
    /// current record, and nothing is written. Of many concurrent calls with the same `expected`,
    /// exactly one succeeds. A revoked key's state is final (`Invalid`). Records `KeyUpdated`.
    async fn compare_and_set_state(
        &self,
        id: KeyId,
        expected: &KeyState,
        new: &KeyState,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError>;

    /// Brings the expiry of key `id` forward to `expires`; an expiry later than the current one
    /// is a `Conflict` (expiries never lengthen). Records `KeyUpdated`.
    async fn shorten_expiry(
        &self,
        id: KeyId,
        expires: Expiry,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError>;

    /// A rotation as one atomic step: inserts `replacement` (whose `replaces` names the old key,
    /// and whose owner is the old key's) under `quota`, and brings the old key's expiry forward
    /// to `old_expires`, only if the old key is still active. `Conflict` (with the old record) if
    /// it is not, `NotFound` if it does not exist, `Invalid` if the replacement does not name it.
    /// Records `KeyUpdated` for the old key, then `KeyCreated` for the new one.
    async fn rotate_key(
        &self,
        replacement: &KeyRecord,
        old_expires: Expiry,
        quota: Quota,
        audit: Option<&AuditRecord>,
    ) -> Result<Rotated, StoreError>;

    /// Deletes `resource` as far as keys go, in one atomic step: revokes every key scoped to it
    /// or to a part of it ([`ResourceRef::contains`]: the namespaces of a Pulsar tenant) that is
    /// not revoked yet, at `at` for `reason`, and returns them as they now are (none for a
    /// resource without keys); and remembers the deletion, so that [`KeyStore::insert_key`] and
    /// [`KeyStore::rotate_key`] refuse a key scoped to it, or to a part of it, with
    /// [`StoreError::ResourceDeleted`] until [`KeyStore::restore_resource`]. Records
    /// `KeyUpdated` for each key revoked; deleting a deleted resource again revokes what was
    /// made since and keeps the first deletion's time.
    async fn delete_resource(
        &self,
        resource: &ResourceRef,
        reason: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Vec<KeyRecord>, StoreError>;

    /// Forgets that `resource` was deleted, so it can have keys again; whether it was. Keys
    /// revoked by the deletion stay revoked. Nothing in the feed: the data plane never needed
    /// to know.
    async fn restore_resource(
        &self,
        resource: &ResourceRef,
        audit: Option<&AuditRecord>,
    ) -> Result<bool, StoreError>;

    /// The resources deleted and not restored, each with when it was deleted, by name.
    async fn deleted_resources(&self) -> Result<Vec<(ResourceRef, Timestamp)>, StoreError>;

    /// Deletes key `id` and returns it as it was. Records a `Revoked` tombstone first for an
    /// unexpired JWT key (its token would otherwise still verify), then `KeyDeleted`.
    async fn delete_key(
        &self,
        id: KeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<KeyRecord, StoreError>;
}

/// Revocations of credentials that have no key record of their own: tokens minted elsewhere,
/// tombstones of deleted keys, principal watermarks, signing keys.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Records `revocation`, and a `Revoked` change.
    async fn add_revocation(
        &self,
        revocation: &Revocation,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError>;

    /// Drops recorded revocations whose credentials expired before `before`: they can no longer
    /// affect any check. Records no change; replicas prune on their own. Returns how many.
    async fn prune_revocations(&self, before: Timestamp) -> Result<usize, StoreError>;
}

/// The key ring that signs JWT API keys.
///
/// A store holds what verifies each signing key's tokens (the public half, or an HMAC key's
/// secret sealed) and ships it to replicas. It holds a private key only when one is passed to
/// [`add_signing_key`](SigningKeyStore::add_signing_key), and then only [`Sealed`]: the
/// key-encryption key that opens it lives outside the store, so reading the store does not
/// give the power to mint. An embedder may also keep private keys in a KMS and store public
/// halves only.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Adds a signing key (with its sealed private key, if given). `AlreadyExists` for a known kid; a
    /// key added as active while another is active is `Conflict` (promote instead). Records
    /// `SigningKeyChanged`.
    async fn add_signing_key(
        &self,
        key: &SigningKeyRecord,
        private: Option<&Sealed>,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError>;

    /// Every signing key, in kid order.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;

    /// The sealed private key of `kid`; `NotFound` if the key is unknown or its private half was
    /// not stored.
    async fn signing_key_private(&self, kid: &SigningKeyId) -> Result<Sealed, StoreError>;

    /// Makes `kid` the active key, and the previously active key verifying, in one step.
    /// Records `SigningKeyChanged` for each key whose status changed.
    async fn promote_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError>;

    /// Removes a verifying key; tokens it signed stop verifying. The active key cannot be removed
    /// (`Conflict`). Records `SigningKeyRemoved`.
    async fn remove_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError>;
}

/// The key policy every writer enforces: kept in the store so that every `keygate` command and
/// every control plane over the store applies the same one.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The policy, or `None` when none was set (writers then apply their own default).
    async fn policy(&self) -> Result<Option<KeyPolicy>, StoreError>;

    /// Replaces the policy, appending `audit` in the same step. Records no change in the feed:
    /// replicas do not enforce policy, and existing keys are untouched.
    async fn set_policy(
        &self,
        policy: &KeyPolicy,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError>;
}

/// Who may do what through the control plane: principals bound to roles
/// ([`RoleBinding`](keygate_core::RoleBinding)). The data plane never reads them, so they never
/// enter the feed; every change is audited.
#[async_trait]
pub trait RoleBindingStore: Send + Sync {
    /// Adds `binding`, appending `audit` in the same step. `AlreadyExists` if the principal has
    /// that role already; `NotFound` if the principal, or the service account a
    /// `ServiceAccountOwner` would own, does not exist.
    async fn add_role_binding(
        &self,
        binding: &RoleBinding,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError>;

    /// Removes the binding of `principal` to `role` and returns it; `NotFound` if there is none.
    async fn remove_role_binding(
        &self,
        principal: &PrincipalId,
        role: &Role,
        audit: Option<&AuditRecord>,
    ) -> Result<RoleBinding, StoreError>;

    /// The bindings, only those of `principal` when given, ordered by principal, then role.
    async fn role_bindings(
        &self,
        principal: Option<&PrincipalId>,
    ) -> Result<Vec<RoleBinding>, StoreError>;
}

/// When each key was last used, as servers report it: bookkeeping for operators ("is anything
/// still using this key?"), not a change. It never enters the feed or the audit log, and
/// reporting a use never fails a check.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Records `uses`, in one step: a key's last use moves forward only (a use older than the
    /// one recorded changes nothing).
    async fn record_key_uses(&self, uses: &[KeyUse]) -> Result<(), StoreError>;

    /// The last use of every key that has one, in key order.
    async fn key_uses(&self) -> Result<Vec<KeyUse>, StoreError>;

    /// The last use of each of `keys` that has one, in key order: for a page of a listing.
    /// The default reads every use; a store with an index reads only these.
    async fn key_uses_of(&self, keys: &[KeyId]) -> Result<Vec<KeyUse>, StoreError> {
        let wanted: std::collections::BTreeSet<&KeyId> = keys.iter().collect();
        Ok(self.key_uses().await?.into_iter().filter(|used| wanted.contains(&used.key)).collect())
    }
}

/// The audit log, appended to by the mutations of the traits above.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// The entries `query` selects: the newest `query.limit` that match, oldest first.
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The ordered, gap-free feed of every change, and the snapshot that bootstraps a reader.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// The position of the last change.
    async fn head(&self) -> Result<Seq, StoreError>;

    /// Up to `limit` changes after `after`, in order. Sequence numbers follow commit order, so a
    /// reader that tails this never skips a change, even with concurrent writers. If changes
    /// after `after` were compacted away, `ChangesCompacted`: the reader bootstraps again from
    /// [`snapshot`](ChangeFeed::snapshot).
    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<Change>, StoreError>;

    /// Every principal, key, revocation and signing key, consistent with one position.
    async fn snapshot(&self) -> Result<StoreSnapshot, StoreError>;

    /// The same snapshot, handed to `sink` a record at a time: what a replica starting against
    /// a large store reads, so it never holds the whole snapshot beside what it builds from it.
    /// The default reads [`snapshot`](ChangeFeed::snapshot) whole; a backend that can read its
    /// rows as they come (one consistent read, streamed) should. If it fails, `sink` may have
    /// received part of the snapshot: throw it away.
    async fn stream_snapshot(&self, sink: &mut (dyn SnapshotSink + '_)) -> Result<(), StoreError> {
        self.snapshot().await?.stream_into(sink);
        Ok(())
    }

    /// Discards changes at or before `through` (at most the head).
    async fn compact(&self, through: Seq) -> Result<(), StoreError>;

    /// A subscription to notifications that the feed moved, for a store that can send them;
    /// `None` (the default) for one that cannot, whose readers poll. Notifications only wake a
    /// reader early: it still reads [`changes_since`](ChangeFeed::changes_since), and still
    /// polls now and then, because a notification can be lost.
    fn watch(&self) -> Option<ChangeWatch> {
        None
    }
}

/// A complete store: every trait above. Blanket-implemented, and object safe, so backends are
/// used as `Arc<dyn Store>`.
pub trait Store:
    PrincipalStore
    + RoleBindingStore
    + KeyStore
    + RevocationStore
    + SigningKeyStore
    + PolicyStore
    + UsageStore
    + AuditLog
    + ChangeFeed
    + Debug
{
}

impl<
    T: PrincipalStore
        + RoleBindingStore
        + KeyStore
        + RevocationStore
        + SigningKeyStore
        + PolicyStore
        + UsageStore
        + AuditLog
        + ChangeFeed
        + Debug
        + ?Sized,
> Store for T
{
}

/// Forwards every trait through a smart pointer, so `Arc<dyn Store>` and `Box<dyn Store>` are
/// stores themselves.
macro_rules! forward {
    ($($pointer:ident),*) => {$(
        #[async_trait]
        impl<T: PrincipalStore + ?Sized> PrincipalStore for $pointer<T> {
            async fn create_principal(&self, principal: &Principal, audit: Option<&AuditRecord>) -> Result<Seq, StoreError> {
                (**self).create_principal(principal, audit).await
            }
            async fn principal(&self, id: &PrincipalId) -> Result<Principal, StoreError> {
                (**self).principal(id).await
            }
            async fn update_principal(&self, id: &PrincipalId, display_name: Option<&DisplayName>, description: &Description, at: Timestamp, audit: Option<&AuditRecord>) -> Result<Principal, StoreError> {
                (**self).update_principal(id, display_name, description, at, audit).await
            }
            async fn list_principals(&self, page: &PageRequest<PrincipalId>) -> Result<Page<Principal, PrincipalId>, StoreError> {
                (**self).list_principals(page).await
            }
            async fn delete_principal(&self, id: &PrincipalId, at: Timestamp, audit: Option<&AuditRecord>) -> Result<DeletedPrincipal, StoreError> {
                (**self).delete_principal(id, at, audit).await
            }
        }

        #[async_trait]
        impl<T: KeyStore + ?Sized> KeyStore for $pointer<T> {
            async fn insert_key(&self, key: &KeyRecord, quota: Quota, audit: Option<&AuditRecord>) -> Result<Seq, StoreError> {
                (**self).insert_key(key, quota, audit).await
            }
            async fn key(&self, id: KeyId) -> Result<KeyRecord, StoreError> {
                (**self).key(id).await
            }
            async fn list_keys(&self, filter: &KeyFilter, page: &PageRequest<KeyId>) -> Result<Page<KeyRecord, KeyId>, StoreError> {
                (**self).list_keys(filter, page).await
            }
            async fn update_description(&self, id: KeyId, description: &Description, at: Timestamp, audit: Option<&AuditRecord>) -> Result<KeyRecord, StoreError> {
                (**self).update_description(id, description, at, audit).await
            }
            async fn compare_and_set_state(&self, id: KeyId, expected: &KeyState, new: &KeyState, at: Timestamp, audit: Option<&AuditRecord>) -> Result<KeyRecord, StoreError> {
                (**self).compare_and_set_state(id, expected, new, at, audit).await
            }
            async fn shorten_expiry(&self, id: KeyId, expires: Expiry, at: Timestamp, audit: Option<&AuditRecord>) -> Result<KeyRecord, StoreError> {
                (**self).shorten_expiry(id, expires, at, audit).await
            }
            async fn rotate_key(&self, replacement: &KeyRecord, old_expires: Expiry, quota: Quota, audit: Option<&AuditRecord>) -> Result<Rotated, StoreError> {
                (**self).rotate_key(replacement, old_expires, quota, audit).await
            }
            async fn delete_resource(&self, resource: &ResourceRef, reason: &Description, at: Timestamp, audit: Option<&AuditRecord>) -> Result<Vec<KeyRecord>, StoreError> {
                (**self).delete_resource(resource, reason, at, audit).await
            }
            async fn restore_resource(&self, resource: &ResourceRef, audit: Option<&AuditRecord>) -> Result<bool, StoreError> {
                (**self).restore_resource(resource, audit).await
            }
            async fn deleted_resources(&self) -> Result<Vec<(ResourceRef, Timestamp)>, StoreError> {
                (**self).deleted_resources().await
            }
            async fn delete_key(&self, id: KeyId, at: Timestamp, audit: Option<&AuditRecord>) -> Result<KeyRecord, StoreError> {
                (**self).delete_key(id, at, audit).await
            }
        }

        #[async_trait]
        impl<T: RevocationStore + ?Sized> RevocationStore for $pointer<T> {
            async fn add_revocation(&self, revocation: &Revocation, at: Timestamp, audit: Option<&AuditRecord>) -> Result<Seq, StoreError> {
                (**self).add_revocation(revocation, at, audit).await
            }
            async fn prune_revocations(&self, before: Timestamp) -> Result<usize, StoreError> {
                (**self).prune_revocations(before).await
            }
        }

        #[async_trait]
        impl<T: SigningKeyStore + ?Sized> SigningKeyStore for $pointer<T> {
            async fn add_signing_key(&self, key: &SigningKeyRecord, private: Option<&Sealed>, at: Timestamp, audit: Option<&AuditRecord>) -> Result<Seq, StoreError> {
                (**self).add_signing_key(key, private, at, audit).await
            }
            async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
                (**self).signing_keys().await
            }
            async fn signing_key_private(&self, kid: &SigningKeyId) -> Result<Sealed, StoreError> {
                (**self).signing_key_private(kid).await
            }
            async fn promote_signing_key(&self, kid: &SigningKeyId, at: Timestamp, audit: Option<&AuditRecord>) -> Result<Seq, StoreError> {
                (**self).promote_signing_key(kid, at, audit).await
            }
            async fn remove_signing_key(&self, kid: &SigningKeyId, at: Timestamp, audit: Option<&AuditRecord>) -> Result<Seq, StoreError> {
                (**self).remove_signing_key(kid, at, audit).await
            }
        }

        #[async_trait]
        impl<T: RoleBindingStore + ?Sized> RoleBindingStore for $pointer<T> {
            async fn add_role_binding(&self, binding: &RoleBinding, audit: Option<&AuditRecord>) -> Result<(), StoreError> {
                (**self).add_role_binding(binding, audit).await
            }
            async fn remove_role_binding(&self, principal: &PrincipalId, role: &Role, audit: Option<&AuditRecord>) -> Result<RoleBinding, StoreError> {
                (**self).remove_role_binding(principal, role, audit).await
            }
            async fn role_bindings(&self, principal: Option<&PrincipalId>) -> Result<Vec<RoleBinding>, StoreError> {
                (**self).role_bindings(principal).await
            }
        }

        #[async_trait]
        impl<T: PolicyStore + ?Sized> PolicyStore for $pointer<T> {
            async fn policy(&self) -> Result<Option<KeyPolicy>, StoreError> {
                (**self).policy().await
            }
            async fn set_policy(&self, policy: &KeyPolicy, audit: Option<&AuditRecord>) -> Result<(), StoreError> {
                (**self).set_policy(policy, audit).await
            }
        }

        #[async_trait]
        impl<T: UsageStore + ?Sized> UsageStore for $pointer<T> {
            async fn record_key_uses(&self, uses: &[KeyUse]) -> Result<(), StoreError> {
                (**self).record_key_uses(uses).await
            }
            async fn key_uses(&self) -> Result<Vec<KeyUse>, StoreError> {
                (**self).key_uses().await
            }
            async fn key_uses_of(&self, keys: &[KeyId]) -> Result<Vec<KeyUse>, StoreError> {
                (**self).key_uses_of(keys).await
            }
        }

        #[async_trait]
        impl<T: AuditLog + ?Sized> AuditLog for $pointer<T> {
            async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
                (**self).audit_log(query).await
            }
        }

        #[async_trait]
        impl<T: ChangeFeed + ?Sized> ChangeFeed for $pointer<T> {
            async fn head(&self) -> Result<Seq, StoreError> {
                (**self).head().await
            }
            async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<Change>, StoreError> {
                (**self).changes_since(after, limit).await
            }
            async fn snapshot(&self) -> Result<StoreSnapshot, StoreError> {
                (**self).snapshot().await
            }
            async fn stream_snapshot(
                &self,
                sink: &mut (dyn SnapshotSink + '_),
            ) -> Result<(), StoreError> {
                (**self).stream_snapshot(sink).await
            }
            async fn compact(&self, through: Seq) -> Result<(), StoreError> {
                (**self).compact(through).await
            }
            fn watch(&self) -> Option<ChangeWatch> {
                (**self).watch()
            }
        }
    )*};
}

forward!(Arc, Box);
