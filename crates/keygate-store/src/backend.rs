//! The rules every backend applies the same way, as pure functions: a backend's job is to run
//! them inside one transaction, not to re-derive them.

use keygate_core::{
    Description, Expiry, KeyFormat, KeyRecord, KeyState, PrincipalId, Scope, Timestamp,
};
use keygate_revocation::Revocation;

use crate::{Quota, StoreError};

/// The tombstone deleting `key` at `at` records: a JWT key that has not expired gets one,
/// because its token still verifies by signature after the record is gone. An opaque key needs
/// none: without its digest, its secret matches nothing.
pub fn deletion_tombstone(key: &KeyRecord, at: Timestamp) -> Option<Revocation> {
    (key.format() == KeyFormat::Jwt && !key.expires().has_passed(at))
        .then(|| Revocation::Key { id: key.id(), expires: key.expires() })
}

/// The watermark deleting principal `id` at `at` records: every credential issued for it before
/// `at`, including tokens minted elsewhere with it as subject. Their expiry is unknown, so the
/// watermark never expires.
pub fn principal_watermark(id: &PrincipalId, at: Timestamp) -> Revocation {
    Revocation::Principal { principal: id.clone(), before: at, expires: Expiry::Never }
}

/// Checks a quota: `live` is how many of the owner's keys count toward it at `quota.now`.
pub fn check_quota(quota: Quota, live: usize) -> Result<(), StoreError> {
    let count = u32::try_from(live).unwrap_or(u32::MAX);
    if count >= quota.limit {
        return Err(StoreError::QuotaExceeded { limit: quota.limit, count });
    }
    Ok(())
}

/// Checks the per-resource quota for `key`: `live` is how many keys scoped to its resource
/// count toward the quota at `quota.now`. Keys that are not scoped to one resource pass.
pub fn check_resource_quota(key: &KeyRecord, quota: Quota, live: usize) -> Result<(), StoreError> {
    let (Some(limit), Scope::Resource(resource)) = (quota.per_resource, key.scope()) else {
        return Ok(());
    };
    let count = u32::try_from(live).unwrap_or(u32::MAX);
    if count >= limit {
        return Err(StoreError::ResourceQuotaExceeded {
            resource: resource.to_string(),
            limit,
            count,
        });
    }
    Ok(())
}

/// The record of `key` revoked at `at` for `reason`, for a resource's deletion; `None` for a key
/// revoked already.
pub fn revoked_with_resource(
    key: &KeyRecord,
    at: Timestamp,
    reason: &Description,
) -> Option<KeyRecord> {
    let revoked = KeyState::Revoked { at, reason: reason.clone() };
    change_state(key, key.state(), &revoked).ok()
}

/// Checks a compare-and-set of a key's state and returns the record after it.
pub fn change_state(
    current: &KeyRecord,
    expected: &KeyState,
    new: &KeyState,
) -> Result<KeyRecord, StoreError> {
    if current.state() != expected {
        return Err(StoreError::conflict(
            "the key's state is not the expected one",
            current.clone(),
        ));
    }
    if expected.is_revoked() {
        return Err(StoreError::Invalid("a revoked key's state is final"));
    }
    let mut parts = current.clone().into_parts();
    parts.state = new.clone();
    KeyRecord::from_parts(parts)
        .map_err(|_| StoreError::Invalid("the new state makes the record inconsistent"))
}

/// Brings `current`'s expiry forward to `expires`, or explains why not.
pub fn shorten(current: &KeyRecord, expires: Expiry) -> Result<KeyRecord, StoreError> {
    let mut next = current.clone();
    next.shorten_expiry(expires).map_err(|_| {
        StoreError::conflict("an expiry can only be brought forward", current.clone())
    })?;
    Ok(next)
}

/// Checks that `replacement` may rotate `old`, and returns the old key with its new expiry.
pub fn rotation(
    old: &KeyRecord,
    replacement: &KeyRecord,
    old_expires: Expiry,
) -> Result<KeyRecord, StoreError> {
    if replacement.replaces() != Some(old.id()) {
        return Err(StoreError::Invalid("the replacement does not name the key it replaces"));
    }
    if replacement.owner() != old.owner() {
        return Err(StoreError::Invalid("a replacement belongs to the old key's owner"));
    }
    if *old.state() != KeyState::Active {
        return Err(StoreError::conflict("only an active key can be rotated", old.clone()));
    }
    let mut old = shorten(old, old_expires)?;
    if replacement.name().is_some() && replacement.name() == old.name() {
        old.take_name();
    }
    old.set_replaced_by(replacement.id())
        .map_err(|_| StoreError::Invalid("a key cannot replace itself"))?;
    Ok(old)
}
