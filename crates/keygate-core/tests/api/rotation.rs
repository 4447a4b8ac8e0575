//! Rotation laws: the old key's expiry is never extended, the replacement never outlives
//! policy, the overlap is honoured, and the principal always has a usable key meanwhile.

use keygate_core::rotation::plan_rotation;
use keygate_core::{
    DigestScheme, Expiry, ExpiryPolicy, KeyFormat, KeyId, KeyRecord, KeyTemplate, SecretDigest,
    Span, Timestamp,
};
use keygate_testkit::strategy;
use proptest::prelude::*;

/// A consistent policy: min ≤ max.
fn policy() -> impl Strategy<Value = ExpiryPolicy> {
    (0u64..=86_400, proptest::option::of(86_400u64..=3 * 31_536_000), any::<bool>()).prop_map(
        |(min, max, allow_never)| {
            ExpiryPolicy::default()
                .with_min_lifetime(Span::seconds(min))
                .with_max_lifetime(max.map(Span::seconds))
                .with_allow_never(allow_never)
        },
    )
}

/// An old key created at `created` and a rotation time at which it is still usable.
fn old_key_and_now() -> impl Strategy<Value = (KeyRecord, Timestamp)> {
    (
        strategy::timestamp_near_t0(),
        proptest::option::of(60u64..=2 * 31_536_000),
        0.0f64..1.0,
        strategy::scope(),
        strategy::permissions(),
        any::<bool>(),
    )
        .prop_map(|(created, lifetime, fraction, scope, permissions, jwt)| {
            let expires = match lifetime {
                None => Expiry::Never,
                Some(seconds) => Expiry::At(created.saturating_add(Span::seconds(seconds))),
            };
            let (format, digest) = if jwt {
                (KeyFormat::Jwt, None)
            } else {
                (KeyFormat::Opaque, Some(SecretDigest::new(DigestScheme::Sha256, [1; 32])))
            };
            let template = KeyTemplate::new("owner".parse().unwrap(), scope, format, expires)
                .with_permissions(permissions);
            let old =
                KeyRecord::issue(template, KeyId::from_bytes([1; 10]), created, digest).unwrap();
            let age = (lifetime.unwrap_or(31_536_000) as f64 * fraction) as u64;
            (old, created.saturating_add(Span::seconds(age)))
        })
}

proptest! {
    #[test]
    fn rotation_laws((old, now) in old_key_and_now(), overlap in strategy::span(), policy in policy()) {
        prop_assume!(old.is_usable_at(now));
        let plan = plan_rotation(&old, now, overlap, &policy).unwrap();

        // The old key's expiry is never extended.
        prop_assert!(plan.old_expires.is_no_later_than(old.expires()));

        // The replacement never outlives policy.
        prop_assert!(policy.check(plan.replacement.expires, now).is_ok());

        // It is the same key in every respect that matters, and says what it replaces.
        prop_assert_eq!(&plan.replacement.owner, old.owner());
        prop_assert_eq!(&plan.replacement.scope, old.scope());
        prop_assert_eq!(&plan.replacement.permissions, old.permissions());
        prop_assert_eq!(plan.replacement.format, old.format());
        prop_assert_eq!(plan.replacement.replaces, Some(old.id()));

        let digest = (old.format() == KeyFormat::Opaque).then(|| SecretDigest::new(DigestScheme::Sha256, [2; 32]));
        let new = KeyRecord::issue(plan.replacement.clone(), KeyId::from_bytes([2; 10]), now, digest).unwrap();
        let mut cut = old.clone();
        cut.shorten_expiry(plan.old_expires).unwrap();

        // The overlap is honoured: the old key works until the overlap ends or it expires.
        let overlap_end = old.expires().min(Expiry::At(now.saturating_add(overlap)));
        for t in sample_instants(now, overlap_end) {
            prop_assert!(cut.is_usable_at(t), "old key unusable at {} inside the overlap", t);
        }

        // Meanwhile the principal always has a usable key.
        let horizon = new.expires().min(Expiry::At(now.saturating_add(Span::days(4000))));
        for t in sample_instants(now, horizon) {
            prop_assert!(cut.is_usable_at(t) || new.is_usable_at(t), "no usable key at {}", t);
        }
    }
}

/// Instants spread over `[from, until)`, both ends included where they exist.
fn sample_instants(from: Timestamp, until: Expiry) -> Vec<Timestamp> {
    let Some(until) = until.at() else { return vec![from] };
    if until <= from {
        return Vec::new();
    }
    let length = until.saturating_since(from).as_seconds();
    (0..=16)
        .map(|i| from.saturating_add(Span::seconds(length.saturating_sub(1) * i / 16)))
        .collect()
}
