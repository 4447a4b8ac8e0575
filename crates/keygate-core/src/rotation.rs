//! Rotation planning: replace a key while the old one keeps working for an overlap window.
//!
//! Everything here is a pure function of the records, the policy and `now`. The facade carries
//! the plan out against a store as one atomic step.

use std::collections::HashSet;

use crate::{
    Error, Expiry, ExpiryPolicy, KeyId, KeyRecord, KeyStatus, KeyTemplate, Span, Timestamp,
};

/// What a rotation does: issue `replacement`, and bring the old key's expiry forward to
/// `old_expires`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationPlan {
    /// The key to issue: same owner, scope, permissions, format and description as the old
    /// one, `replaces` set to the old key.
    pub replacement: KeyTemplate,
    /// The old key's new expiry: the end of the overlap, or its current expiry if that comes
    /// first. Never later than before.
    pub old_expires: Expiry,
}

/// Plans the rotation at `now` of `old`, which must be usable, with the old key working for
/// `overlap` more.
///
/// The replacement gets the lifetime the old key was issued with, counted from `now` and
/// brought inside `policy` (a never-expiring key becomes the longest the policy allows if the
/// policy no longer allows `never`). The old key's expiry only ever moves forward, and it stays
/// valid for at least one second after its not-before, so the record stays consistent.
///
/// ```
/// use keygate_core::{Expiry, ExpiryPolicy, KeyFormat, KeyId, KeyRecord, KeyTemplate, Scope, Span, Timestamp, SecretDigest, DigestScheme};
/// use keygate_core::rotation::plan_rotation;
///
/// let created = Timestamp::from_unix(1_800_000_000)?;
/// let template = KeyTemplate::new("orders".parse()?, Scope::Global, KeyFormat::Opaque,
///     Expiry::At(created.checked_add(Span::days(90))?));
/// let digest = SecretDigest::new(DigestScheme::Sha256, [0; 32]);
/// let old = KeyRecord::issue(template, KeyId::from_bytes([1; 10]), created, Some(digest))?;
///
/// let now = created.checked_add(Span::days(80))?;
/// let plan = plan_rotation(&old, now, Span::hours(24), &ExpiryPolicy::default())?;
/// assert_eq!(plan.old_expires, Expiry::At(now.checked_add(Span::hours(24))?));
/// assert_eq!(plan.replacement.expires, Expiry::At(now.checked_add(Span::days(90))?));
/// assert_eq!(plan.replacement.replaces, Some(old.id()));
/// # Ok::<(), keygate_core::Error>(())
/// ```
pub fn plan_rotation(
    old: &KeyRecord,
    now: Timestamp,
    overlap: Span,
    policy: &ExpiryPolicy,
) -> Result<RotationPlan, Error> {
    let status = old.status_at(now);
    if status != KeyStatus::Active {
        return Err(Error::IllegalTransition { transition: "rotate", status });
    }

    let expires = match old.expires() {
        Expiry::Never if policy.allow_never => Expiry::Never,
        Expiry::Never => policy.longest(now),
        Expiry::At(at) => {
            let lifetime = at.saturating_since(old.created_at());
            let lifetime = match policy.max_lifetime {
                Some(max) => lifetime.min(max),
                None => lifetime,
            };
            Expiry::At(now.saturating_add(lifetime.max(policy.min_lifetime)))
        }
    };
    policy.check(expires, now)?;

    let end_of_overlap =
        now.saturating_add(overlap).max(old.not_before().saturating_add(Span::seconds(1)));
    let old_expires = old.expires().min(Expiry::At(end_of_overlap));

    let parts = old.parts();
    let replacement = KeyTemplate {
        owner: parts.owner.clone(),
        scope: parts.scope.clone(),
        permissions: parts.permissions.clone(),
        format: parts.format,
        description: parts.description.clone(),
        not_before: None,
        expires,
        replaces: Some(parts.id),
        // Signed by whichever key is active when the replacement is minted.
        signing_key: None,
        // The name moves to the replacement: a tool that looks the key up by name finds the
        // new one. The store takes it off the old key in the same step.
        name: parts.name.clone(),
    };
    Ok(RotationPlan { replacement, old_expires })
}

/// The keys in `records` that are usable at `now`, at least `max_age` old, and not already
/// replaced by another key in `records`: the ones a scheduled rotation should pick up.
pub fn due_for_rotation<'r>(
    records: impl IntoIterator<Item = &'r KeyRecord>,
    now: Timestamp,
    max_age: Span,
) -> Vec<&'r KeyRecord> {
    let records: Vec<&KeyRecord> = records.into_iter().collect();
    let replaced: HashSet<KeyId> = records.iter().filter_map(|record| record.replaces()).collect();
    records
        .into_iter()
        .filter(|record| record.is_usable_at(now))
        .filter(|record| now.saturating_since(record.created_at()) >= max_age)
        .filter(|record| !replaced.contains(&record.id()))
        .collect()
}

/// The keys in `records` that are usable at `now` and expire within `window` of it: the ones an
/// expiry warning should name, soonest first.
pub fn expiring_within<'r>(
    records: impl IntoIterator<Item = &'r KeyRecord>,
    now: Timestamp,
    window: Span,
) -> Vec<&'r KeyRecord> {
    let horizon = now.saturating_add(window);
    let mut expiring: Vec<&KeyRecord> = records
        .into_iter()
        .filter(|record| record.is_usable_at(now))
        .filter(|record| matches!(record.expires(), Expiry::At(at) if at <= horizon))
        .collect();
    expiring.sort_by_key(|record| (record.expires().at(), record.id()));
    expiring
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DigestScheme, KeyFormat, Scope, SecretDigest, Transition};

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    fn record(id: u8, created: i64, expires: Expiry) -> KeyRecord {
        let template =
            KeyTemplate::new("orders".parse().unwrap(), Scope::Global, KeyFormat::Opaque, expires);
        let digest = SecretDigest::new(DigestScheme::Sha256, [id; 32]);
        KeyRecord::issue(template, KeyId::from_bytes([id; 10]), at(created), Some(digest)).unwrap()
    }

    #[test]
    fn overlap_never_extends_the_old_key() {
        let old = record(1, 0, Expiry::At(at(1_000)));
        let plan = plan_rotation(&old, at(990), Span::hours(1), &ExpiryPolicy::default()).unwrap();
        assert_eq!(plan.old_expires, Expiry::At(at(1_000)));
    }

    #[test]
    fn replacement_is_brought_inside_policy() {
        let old = record(1, 0, Expiry::Never);
        let strict = ExpiryPolicy::default().with_max_lifetime(Some(Span::days(30)));
        let plan = plan_rotation(&old, at(100), Span::ZERO, &strict).unwrap();
        assert_eq!(plan.replacement.expires, Expiry::At(at(100).saturating_add(Span::days(30))));
        let lenient = strict.with_allow_never(true).with_max_lifetime(None);
        let plan = plan_rotation(&old, at(100), Span::ZERO, &lenient).unwrap();
        assert_eq!(plan.replacement.expires, Expiry::Never);
        // No overlap: the old key stops at the moment of rotation.
        assert_eq!(plan.old_expires, Expiry::At(at(100)));
    }

    #[test]
    fn old_key_stays_consistent_when_rotated_the_second_it_starts() {
        let old = record(1, 100, Expiry::Never);
        let plan = plan_rotation(&old, at(100), Span::ZERO, &ExpiryPolicy::default()).unwrap();
        assert_eq!(plan.old_expires, Expiry::At(at(101)));
        let mut cut = old.clone();
        cut.shorten_expiry(plan.old_expires).unwrap();
    }

    #[test]
    fn only_usable_keys_rotate() {
        let mut old = record(1, 0, Expiry::At(at(1_000)));
        let policy = ExpiryPolicy::default();
        assert!(matches!(
            plan_rotation(&old, at(1_000), Span::ZERO, &policy),
            Err(Error::IllegalTransition { transition: "rotate", status: KeyStatus::Expired })
        ));
        old.apply(&Transition::Suspend { at: at(5) }).unwrap();
        assert!(plan_rotation(&old, at(6), Span::ZERO, &policy).is_err());
    }

    #[test]
    fn schedules_skip_replaced_and_unusable_keys() {
        let old = record(1, 0, Expiry::At(at(100_000)));
        let rotated = record(2, 0, Expiry::At(at(100_000)));
        let replacement = {
            let template = KeyTemplate::new(
                "orders".parse().unwrap(),
                Scope::Global,
                KeyFormat::Opaque,
                Expiry::At(at(200_000)),
            )
            .with_replaces(rotated.id());
            let digest = SecretDigest::new(DigestScheme::Sha256, [3; 32]);
            KeyRecord::issue(template, KeyId::from_bytes([3; 10]), at(50_000), Some(digest))
                .unwrap()
        };
        let records = [old.clone(), rotated, replacement];
        let due: Vec<KeyId> = due_for_rotation(&records, at(60_000), Span::seconds(60_000))
            .iter()
            .map(|r| r.id())
            .collect();
        assert_eq!(due, [old.id()]);

        let soon: Vec<KeyId> = expiring_within(&records, at(60_000), Span::seconds(40_000))
            .iter()
            .map(|r| r.id())
            .collect();
        assert_eq!(soon, [KeyId::from_bytes([1; 10]), KeyId::from_bytes([2; 10])]);
        assert!(expiring_within(&records, at(100_000), Span::days(1000)).len() == 1);
    }
}
