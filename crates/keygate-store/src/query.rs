//! Listing: pages, key filters, and the quota an insert is checked against.

use keygate_core::{
    KeyId, KeyName, KeyRecord, KeyStatus, PrincipalId, ResourceRef, Scope, Timestamp,
};

/// Which page of a listing to return: the items after `after`, at most `limit` of them.
///
/// Listings are ordered by id, and a cursor is the last id of the previous page, so paging is
/// stable under concurrent inserts: no item that existed when paging started is skipped or
/// returned twice.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageRequest<C> {
    /// Start after this id; `None` for the first page.
    pub after: Option<C>,
    /// The most items to return; at least 1.
    pub limit: usize,
}

impl<C> PageRequest<C> {
    /// The first page of at most `limit` items.
    pub fn first(limit: usize) -> PageRequest<C> {
        PageRequest { after: None, limit: limit.max(1) }
    }

    /// The page after `cursor`.
    pub fn after(cursor: C, limit: usize) -> PageRequest<C> {
        PageRequest { after: Some(cursor), limit: limit.max(1) }
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page<T, C> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// The cursor of the next page, if there may be one.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// A page of `items`, followed by `next`.
    pub fn new(items: Vec<T>, next: Option<C>) -> Page<T, C> {
        Page { items, next }
    }
}

/// Which keys a listing returns. Every field narrows; the default returns every key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyFilter {
    /// Keys owned by this principal.
    pub owner: Option<PrincipalId>,
    /// Keys scoped to exactly this resource.
    pub resource: Option<ResourceRef>,
    /// The key of this name (unique per owner, so with an owner, at most one key).
    pub name: Option<KeyName>,
    /// Keys with this status at [`KeyFilter::now`].
    pub status: Option<KeyStatus>,
    /// The instant statuses are evaluated at (needed for `Expired`, `Pending` and `Active`).
    pub now: Option<Timestamp>,
}

impl KeyFilter {
    /// Every key.
    pub fn all() -> KeyFilter {
        KeyFilter::default()
    }

    /// Narrows to keys of `owner`.
    pub fn with_owner(mut self, owner: PrincipalId) -> KeyFilter {
        self.owner = Some(owner);
        self
    }

    /// Narrows to keys scoped to `resource`.
    pub fn with_resource(mut self, resource: ResourceRef) -> KeyFilter {
        self.resource = Some(resource);
        self
    }

    /// Narrows to keys named `name`.
    pub fn with_name(mut self, name: KeyName) -> KeyFilter {
        self.name = Some(name);
        self
    }

    /// Narrows to keys with `status` at `now`.
    pub fn with_status(mut self, status: KeyStatus, now: Timestamp) -> KeyFilter {
        self.status = Some(status);
        self.now = Some(now);
        self
    }

    /// Whether `key` passes the filter; the reference every backend's query must agree with.
    pub fn matches(&self, key: &KeyRecord) -> bool {
        self.owner.as_ref().is_none_or(|owner| key.owner() == owner)
            && self
                .resource
                .as_ref()
                .is_none_or(|resource| matches!(key.scope(), Scope::Resource(r) if r == resource))
            && self.name.as_ref().is_none_or(|name| key.name() == Some(name))
            && self
                .status
                .is_none_or(|status| key.status_at(self.now.unwrap_or(Timestamp::EPOCH)) == status)
    }
}

/// The quotas an insert is checked against, atomically with the insert: the owner may hold at
/// most `limit` keys that count toward the quota at `now` (see
/// [`KeyRecord::counts_toward_quota`]), and a key scoped to a resource may be one of at most
/// `per_resource` such keys of that resource.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quota {
    /// Keys per principal.
    pub limit: u32,
    /// Keys per resource, for a key scoped to one; `None` for no limit.
    pub per_resource: Option<u32>,
    /// The instant liveness is evaluated at.
    pub now: Timestamp,
}

impl Quota {
    /// At most `limit` live keys per principal at `now`.
    pub fn new(limit: u32, now: Timestamp) -> Quota {
        Quota { limit, per_resource: None, now }
    }

    /// No limit.
    pub fn unlimited(now: Timestamp) -> Quota {
        Quota { limit: u32::MAX, per_resource: None, now }
    }

    /// At most `limit` live keys per resource too.
    pub fn with_per_resource(mut self, limit: Option<u32>) -> Quota {
        self.per_resource = limit;
        self
    }
}

/// What deleting a principal removed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeletedPrincipal {
    /// The principal as it was.
    pub principal: keygate_core::Principal,
    /// Its keys as they were.
    pub keys: Vec<KeyRecord>,
}

impl DeletedPrincipal {
    /// What a deletion removed.
    pub fn new(principal: keygate_core::Principal, keys: Vec<KeyRecord>) -> DeletedPrincipal {
        DeletedPrincipal { principal, keys }
    }
}

/// The result of a rotation: the old key with its shortened expiry, and the replacement.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotated {
    /// The old key, after its expiry was brought forward.
    pub old: KeyRecord,
    /// The replacement.
    pub new: KeyRecord,
}

impl Rotated {
    /// A rotation's outcome.
    pub fn new(old: KeyRecord, new: KeyRecord) -> Rotated {
        Rotated { old, new }
    }
}

/// The latest authentication of a key that a server reported: when, and on which resource.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyUse {
    /// The key.
    pub key: KeyId,
    /// When it was last authenticated.
    pub at: Timestamp,
    /// The resource it was presented to, if the server said.
    pub resource: Option<ResourceRef>,
}

impl KeyUse {
    /// A use of `key` at `at`, on `resource`.
    pub fn new(key: KeyId, at: Timestamp, resource: Option<ResourceRef>) -> KeyUse {
        KeyUse { key, at, resource }
    }
}
