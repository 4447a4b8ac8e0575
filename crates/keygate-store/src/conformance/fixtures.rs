//! Fixed instants, ids and records the cases share, so that failures reproduce.

use keygate_core::{
    Description, DigestScheme, Expiry, KeyFormat, KeyId, KeyRecord, KeyState, KeyTemplate,
    Principal, PrincipalId, PrincipalKind, Scope, SecretDigest, Timestamp,
};

use crate::{Quota, Store};

/// 2026-01-01T00:00:00Z plus `seconds`.
pub(super) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix(1_767_225_600 + seconds).unwrap()
}

pub(super) fn pid(name: &str) -> PrincipalId {
    name.parse().unwrap()
}

pub(super) fn principal(name: &str) -> Principal {
    Principal::new(pid(name), PrincipalKind::ServiceAccount, at(0))
}

pub(super) fn key_id(n: u32) -> KeyId {
    let b = n.to_be_bytes();
    KeyId::from_bytes([0, 0, 0, 0, 0, 0, b[0], b[1], b[2], b[3]])
}

pub(super) fn resource(name: &str) -> Scope {
    Scope::Resource(format!("kafka-cluster/{name}").parse().unwrap())
}

/// An opaque key `n` of `owner` on cluster `lkc-1`, issued at `at(created)`, expiring an hour
/// later.
pub(super) fn opaque(owner: &str, n: u32, created: i64) -> KeyRecord {
    let template = KeyTemplate::new(
        pid(owner),
        resource("lkc-1"),
        KeyFormat::Opaque,
        Expiry::At(at(created + 3600)),
    );
    let digest = SecretDigest::new(DigestScheme::Sha256, [n as u8; 32]);
    KeyRecord::issue(template, key_id(n), at(created), Some(digest)).unwrap()
}

/// An opaque key `n` of `owner` scoped to `resource` (KIND/ID), issued at `at(0)`, expiring an
/// hour later.
pub(super) fn scoped(owner: &str, n: u32, resource: &str) -> KeyRecord {
    let template = KeyTemplate::new(
        pid(owner),
        Scope::Resource(resource.parse().unwrap()),
        KeyFormat::Opaque,
        Expiry::At(at(3600)),
    );
    let digest = SecretDigest::new(DigestScheme::Sha256, [n as u8; 32]);
    KeyRecord::issue(template, key_id(n), at(0), Some(digest)).unwrap()
}

/// A JWT key `n` of `owner`, global, issued at `at(created)`, expiring an hour later.
pub(super) fn jwt(owner: &str, n: u32, created: i64) -> KeyRecord {
    let template =
        KeyTemplate::new(pid(owner), Scope::Global, KeyFormat::Jwt, Expiry::At(at(created + 3600)));
    KeyRecord::issue(template, key_id(n), at(created), None).unwrap()
}

pub(super) fn unlimited() -> Quota {
    Quota::unlimited(at(0))
}

pub(super) fn revoked(when: i64) -> KeyState {
    KeyState::Revoked { at: at(when), reason: Description::empty() }
}

pub(super) async fn with_principal<S: Store + ?Sized>(store: &S, name: &str) {
    store.create_principal(&principal(name), None).await.unwrap();
}

/// An opaque key `n` of `owner` on cluster `lkc-1` named `name`, issued at `at(0)`, expiring an
/// hour later.
pub(super) fn named(owner: &str, n: u32, name: &str) -> KeyRecord {
    let template =
        KeyTemplate::new(pid(owner), resource("lkc-1"), KeyFormat::Opaque, Expiry::At(at(3600)))
            .with_name(name.parse().unwrap());
    let digest = SecretDigest::new(DigestScheme::Sha256, [n as u8; 32]);
    KeyRecord::issue(template, key_id(n), at(0), Some(digest)).unwrap()
}
