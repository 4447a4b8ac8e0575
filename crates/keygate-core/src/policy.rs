//! The rules a new key has to pass.

use serde::{Deserialize, Serialize};

use crate::{
    Error, ExpiryPolicy, KeyRecord, KeyTemplate, Principal, PrincipalKind, Span, Timestamp,
};

/// The deployment's rules for keys: a quota per principal, bounds on expiry, whether users may
/// own keys, and the overlap rotation uses when none is given.
///
/// The quota counts *live* keys (see [`KeyRecord::counts_toward_quota`]): revoked and expired keys
/// do not count, suspended ones do. During a rotation the old and the new key are both live,
/// so a principal at its quota has to free a slot before it can rotate.
///
/// The quota is checked by the store, atomically with the insert, because only there can two
/// concurrent creations not both squeeze under the limit; [`KeyPolicy::check_new_key`] checks
/// everything else.
///
/// ```
/// use keygate_core::{Expiry, KeyFormat, KeyPolicy, KeyTemplate, Principal, PrincipalKind, Scope, Span, Timestamp};
///
/// let now = Timestamp::from_unix(1_800_000_000)?;
/// let policy = KeyPolicy::default().with_allow_user_keys(false);
/// let alice = Principal::new("alice".parse()?, PrincipalKind::User, now);
/// let template = KeyTemplate::new(alice.id.clone(), Scope::Global, KeyFormat::Opaque,
///     Expiry::At(now.checked_add(Span::days(30))?));
/// assert!(policy.check_new_key(&alice, &template, now).is_err());
/// assert!(policy.check_quota(10).is_err());
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyPolicy {
    /// The most live keys one principal may hold.
    pub max_keys_per_principal: u32,
    /// Bounds on the lifetime of new keys.
    pub expiry: ExpiryPolicy,
    /// Whether principals of kind [`PrincipalKind::User`] may own keys.
    pub allow_user_keys: bool,
    /// How long the old key keeps working after a rotation, when the caller does not say.
    pub default_rotation_overlap: Span,
    /// The most live keys scoped to one resource; `None` for no limit.
    #[serde(default)]
    pub max_keys_per_resource: Option<u32>,
    /// How old a key may get before it is due for rotation; `None`: keys are never due.
    #[serde(default)]
    pub rotation_period: Option<Span>,
}

impl Default for KeyPolicy {
    /// Ten live keys per principal, [`ExpiryPolicy::default`] (every key expires within a
    /// year), user keys allowed, and a 24-hour rotation overlap.
    fn default() -> KeyPolicy {
        KeyPolicy {
            max_keys_per_principal: 10,
            expiry: ExpiryPolicy::default(),
            allow_user_keys: true,
            default_rotation_overlap: Span::hours(24),
            max_keys_per_resource: None,
            rotation_period: None,
        }
    }
}

impl KeyPolicy {
    /// Sets the quota of live keys per principal.
    pub fn with_max_keys_per_principal(mut self, max: u32) -> KeyPolicy {
        self.max_keys_per_principal = max;
        self
    }

    /// Sets the expiry bounds.
    pub fn with_expiry(mut self, expiry: ExpiryPolicy) -> KeyPolicy {
        self.expiry = expiry;
        self
    }

    /// Allows or forbids keys owned by users.
    pub fn with_allow_user_keys(mut self, allow: bool) -> KeyPolicy {
        self.allow_user_keys = allow;
        self
    }

    /// Limits the live keys scoped to one resource; `None` removes the limit.
    pub fn with_max_keys_per_resource(mut self, max: Option<u32>) -> KeyPolicy {
        self.max_keys_per_resource = max;
        self
    }

    /// Sets how old a key may get before it is due for rotation; `None`: never due.
    pub fn with_rotation_period(mut self, period: Option<Span>) -> KeyPolicy {
        self.rotation_period = period;
        self
    }

    /// Sets the default rotation overlap.
    pub fn with_default_rotation_overlap(mut self, overlap: Span) -> KeyPolicy {
        self.default_rotation_overlap = overlap;
        self
    }

    /// Checks that the policy can be lived with: the longest lifetime is not zero nor shorter
    /// than the shortest, and a rotation period, if any, is not zero (every key would be due
    /// the moment it is made).
    pub fn check(&self) -> Result<(), Error> {
        let bad = |expected| Err(Error::Malformed { what: "policy", expected });
        match self.expiry.max_lifetime {
            Some(max) if max == Span::ZERO => return bad("a longest lifetime above zero"),
            Some(max) if max < self.expiry.min_lifetime => {
                return bad("a longest lifetime no shorter than the shortest");
            }
            _ => {}
        }
        if self.rotation_period == Some(Span::ZERO) {
            return bad("a rotation period above zero, or none");
        }
        Ok(())
    }

    /// Checks a key about to be issued at `now` for `owner`, except the quota.
    pub fn check_new_key(
        &self,
        owner: &Principal,
        template: &KeyTemplate,
        now: Timestamp,
    ) -> Result<(), Error> {
        if owner.kind == PrincipalKind::User && !self.allow_user_keys {
            return Err(Error::UserKeysNotAllowed);
        }
        self.expiry.check(template.expires, now)
    }

    /// Checks that a principal holding `live_keys` live keys may get one more.
    pub fn check_quota(&self, live_keys: u32) -> Result<(), Error> {
        if live_keys >= self.max_keys_per_principal {
            return Err(Error::QuotaExceeded {
                limit: self.max_keys_per_principal,
                count: live_keys,
            });
        }
        Ok(())
    }
}

impl KeyRecord {
    /// Whether this key counts toward its owner's quota at `now`: it is not revoked and has not
    /// expired. Suspended and not-yet-valid keys count.
    pub fn counts_toward_quota(&self, now: Timestamp) -> bool {
        !self.state().is_revoked() && !self.expires().has_passed(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Expiry, KeyFormat, Scope};

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    #[test]
    fn quota_error_names_limit_and_count() {
        let policy = KeyPolicy::default().with_max_keys_per_principal(2);
        assert!(policy.check_quota(1).is_ok());
        let err = policy.check_quota(2).unwrap_err();
        assert_eq!(err, Error::QuotaExceeded { limit: 2, count: 2 });
        assert_eq!(
            err.to_string(),
            "key quota exceeded: the principal has 2 live keys and the limit is 2"
        );
    }

    #[test]
    fn user_keys_follow_policy() {
        let now = at(1_000_000);
        let user = Principal::new("dev".parse().unwrap(), PrincipalKind::User, now);
        let template = KeyTemplate::new(
            user.id.clone(),
            Scope::Global,
            KeyFormat::Jwt,
            Expiry::At(now.saturating_add(Span::days(1))),
        );
        assert!(KeyPolicy::default().check_new_key(&user, &template, now).is_ok());
        let strict = KeyPolicy::default().with_allow_user_keys(false);
        assert_eq!(strict.check_new_key(&user, &template, now), Err(Error::UserKeysNotAllowed));
        let service = Principal::new("svc".parse().unwrap(), PrincipalKind::ServiceAccount, now);
        assert!(strict.check_new_key(&service, &template, now).is_ok());
    }
}
