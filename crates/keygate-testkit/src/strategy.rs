//! proptest strategies for the model's types.

use std::collections::BTreeSet;

use keygate_core::{
    KeyId, Permission, Permissions, PrincipalId, ResourceKind, ResourceRef, Scope, Span, Timestamp,
};
use proptest::prelude::*;

/// Valid principal ids, short and long.
pub fn principal_id() -> impl Strategy<Value = PrincipalId> {
    "[a-zA-Z0-9_][a-zA-Z0-9._@:+=-]{0,40}"
        .prop_map(|text| text.parse().expect("valid by construction"))
}

/// Valid resource references over well-known and made-up kinds.
pub fn resource_ref() -> impl Strategy<Value = ResourceRef> {
    let kind = prop_oneof![
        Just(ResourceKind::KAFKA_CLUSTER.as_str().to_owned()),
        Just(ResourceKind::PULSAR_TENANT.as_str().to_owned()),
        Just(ResourceKind::CLOUD.as_str().to_owned()),
        "[a-z][a-z0-9-]{0,12}",
    ];
    (kind, "[a-zA-Z0-9._:=-]{1,12}")
        .prop_map(|(kind, id)| format!("{kind}/{id}").parse().expect("valid by construction"))
}

/// Every kind of scope.
pub fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![Just(Scope::Global), Just(Scope::Cloud), resource_ref().prop_map(Scope::Resource)]
}

/// Well-known and made-up permissions.
pub fn permission() -> impl Strategy<Value = Permission> {
    prop_oneof![
        Just(Permission::PRODUCE),
        Just(Permission::CONSUME),
        Just(Permission::DESCRIBE),
        Just(Permission::ADMIN),
        "[a-z][a-z0-9_.:-]{0,8}".prop_map(|text| text.parse().expect("valid by construction")),
    ]
}

/// Unrestricted, or a restriction to up to five permissions (possibly none).
pub fn permissions() -> impl Strategy<Value = Permissions> {
    prop_oneof![
        Just(Permissions::Unrestricted),
        proptest::collection::btree_set(permission(), 0..5)
            .prop_map(|set: BTreeSet<Permission>| Permissions::Only(set)),
    ]
}

/// Any supported timestamp.
pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0..=Timestamp::MAX.unix()).prop_map(|s| Timestamp::from_unix(s).expect("in range"))
}

/// Timestamps within about ten years of [`T0`](crate::T0).
pub fn timestamp_near_t0() -> impl Strategy<Value = Timestamp> {
    let t0 = crate::T0.unix();
    (t0 - 315_360_000..=t0 + 315_360_000).prop_map(|s| Timestamp::from_unix(s).expect("in range"))
}

/// Spans from zero to about ten years, biased towards whole units.
pub fn span() -> impl Strategy<Value = Span> {
    prop_oneof![
        (0u64..=315_360_000).prop_map(Span::seconds),
        (0u64..=600).prop_map(Span::minutes),
        (0u64..=240).prop_map(Span::hours),
        (0u64..=3650).prop_map(Span::days),
    ]
}

/// Any key id.
pub fn key_id() -> impl Strategy<Value = KeyId> {
    any::<[u8; KeyId::BYTES]>().prop_map(KeyId::from_bytes)
}
