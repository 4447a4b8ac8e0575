//! When keys stop working, and the policy that bounds it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Span, Timestamp};

/// When a credential stops being valid: never, or at an instant.
///
/// A credential that expires at `t` is valid strictly before `t`: the validity window of a key is
/// the half-open interval `[not_before, expiry)`. Serialised as `null` (never) or unix seconds,
/// which is also the shape of an optional JWT `exp` claim.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Option<Timestamp>", into = "Option<Timestamp>")]
pub enum Expiry {
    /// Valid until revoked. Policy decides whether this is allowed.
    Never,
    /// Valid strictly before this instant.
    At(Timestamp),
}

impl Expiry {
    /// Whether a credential with this expiry has expired at `now`.
    pub fn has_passed(self, now: Timestamp) -> bool {
        match self {
            Expiry::Never => false,
            Expiry::At(at) => now >= at,
        }
    }

    /// The instant, if there is one.
    pub fn at(self) -> Option<Timestamp> {
        match self {
            Expiry::Never => None,
            Expiry::At(at) => Some(at),
        }
    }

    /// The earlier of two expiries; `Never` is later than every instant.
    pub fn min(self, other: Expiry) -> Expiry {
        match (self, other) {
            (Expiry::Never, other) | (other, Expiry::Never) => other,
            (Expiry::At(a), Expiry::At(b)) => Expiry::At(a.min(b)),
        }
    }

    /// Whether `self` ends no later than `other`.
    pub fn is_no_later_than(self, other: Expiry) -> bool {
        self.min(other) == self
    }
}

impl From<Option<Timestamp>> for Expiry {
    fn from(at: Option<Timestamp>) -> Expiry {
        at.map_or(Expiry::Never, Expiry::At)
    }
}

impl From<Expiry> for Option<Timestamp> {
    fn from(expiry: Expiry) -> Option<Timestamp> {
        expiry.at()
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expiry::Never => f.write_str("never"),
            Expiry::At(at) => at.fmt(f),
        }
    }
}

/// How long a new key should live, as an operator asks for it: `never`, or a [`Span`] from the
/// moment of creation (`90d`).
///
/// ```
/// use keygate_core::{Lifetime, Span};
///
/// assert_eq!("never".parse::<Lifetime>()?, Lifetime::Never);
/// assert_eq!("90d".parse::<Lifetime>()?, Lifetime::Span(Span::days(90)));
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Lifetime {
    /// The key never expires.
    Never,
    /// The key expires this long after it is created.
    Span(Span),
}

impl Lifetime {
    /// The expiry of a key with this lifetime created at `now`.
    pub fn expiry_from(self, now: Timestamp) -> Result<Expiry, Error> {
        match self {
            Lifetime::Never => Ok(Expiry::Never),
            Lifetime::Span(span) => now.checked_add(span).map(Expiry::At),
        }
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lifetime::Never => f.write_str("never"),
            Lifetime::Span(span) => span.fmt(f),
        }
    }
}

impl FromStr for Lifetime {
    type Err = Error;

    fn from_str(text: &str) -> Result<Lifetime, Error> {
        if text == "never" { Ok(Lifetime::Never) } else { text.parse().map(Lifetime::Span) }
    }
}

impl TryFrom<String> for Lifetime {
    type Error = Error;

    fn try_from(text: String) -> Result<Lifetime, Error> {
        text.parse()
    }
}

impl From<Lifetime> for String {
    fn from(lifetime: Lifetime) -> String {
        lifetime.to_string()
    }
}

/// The bounds policy puts on the lifetime of a new key.
///
/// The default is the closed choice: every key expires, after at least one minute and at most
/// one year. Hosted platforms differ (Astra Streaming offers seven days to never, many teams cap
/// keys at 90 days), so each bound has a setter.
///
/// ```
/// use keygate_core::{Expiry, ExpiryPolicy, Span, Timestamp};
///
/// let now = Timestamp::from_unix(1_800_000_000)?;
/// let policy = ExpiryPolicy::default().with_max_lifetime(Some(Span::days(90)));
/// assert!(policy.check(Expiry::At(now.checked_add(Span::days(30))?), now).is_ok());
/// assert!(policy.check(Expiry::At(now.checked_add(Span::days(91))?), now).is_err());
/// assert!(policy.check(Expiry::Never, now).is_err());
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExpiryPolicy {
    /// The shortest lifetime a new key may have.
    pub min_lifetime: Span,
    /// The longest lifetime a new key may have; `None` for no bound.
    pub max_lifetime: Option<Span>,
    /// Whether keys that never expire are allowed.
    pub allow_never: bool,
}

impl Default for ExpiryPolicy {
    fn default() -> ExpiryPolicy {
        ExpiryPolicy {
            min_lifetime: Span::minutes(1),
            max_lifetime: Some(Span::days(365)),
            allow_never: false,
        }
    }
}

impl ExpiryPolicy {
    /// Sets the shortest lifetime.
    pub fn with_min_lifetime(mut self, min: Span) -> ExpiryPolicy {
        self.min_lifetime = min;
        self
    }

    /// Sets the longest lifetime; `None` removes the bound.
    pub fn with_max_lifetime(mut self, max: Option<Span>) -> ExpiryPolicy {
        self.max_lifetime = max;
        self
    }

    /// Allows or forbids keys that never expire.
    pub fn with_allow_never(mut self, allow: bool) -> ExpiryPolicy {
        self.allow_never = allow;
        self
    }

    /// The longest lifetime as a [`Lifetime`]: `never` when there is no bound.
    pub fn max(&self) -> Lifetime {
        self.max_lifetime.map_or(Lifetime::Never, Lifetime::Span)
    }

    /// Checks the expiry of a key created at `now` against the bounds.
    pub fn check(&self, expiry: Expiry, now: Timestamp) -> Result<(), Error> {
        let at = match expiry {
            Expiry::Never if self.allow_never => return Ok(()),
            Expiry::Never => return Err(Error::NeverExpiryNotAllowed { max: self.max() }),
            Expiry::At(at) => at,
        };
        if at <= now {
            return Err(Error::ExpiryNotInFuture);
        }
        let requested = at.saturating_since(now);
        if requested < self.min_lifetime {
            return Err(Error::LifetimeTooShort { requested, min: self.min_lifetime });
        }
        match self.max_lifetime {
            Some(max) if requested > max => Err(Error::LifetimeTooLong { requested, max }),
            _ => Ok(()),
        }
    }

    /// The expiry for a key created at `now` with the requested lifetime, checked.
    pub fn resolve(&self, lifetime: Lifetime, now: Timestamp) -> Result<Expiry, Error> {
        let expiry = lifetime.expiry_from(now)?;
        self.check(expiry, now)?;
        Ok(expiry)
    }

    /// The longest expiry this policy allows for a key created at `now`.
    pub fn longest(&self, now: Timestamp) -> Expiry {
        match self.max_lifetime {
            None if self.allow_never => Expiry::Never,
            // No upper bound yet `never` forbidden: the latest representable instant.
            None => Expiry::At(Timestamp::MAX),
            Some(max) => Expiry::At(now.saturating_add(max)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    #[test]
    fn validity_is_half_open() {
        let expiry = Expiry::At(at(100));
        assert!(!expiry.has_passed(at(99)));
        assert!(expiry.has_passed(at(100)));
        assert!(!Expiry::Never.has_passed(Timestamp::MAX));
    }

    #[test]
    fn min_treats_never_as_latest() {
        assert_eq!(Expiry::Never.min(Expiry::At(at(5))), Expiry::At(at(5)));
        assert_eq!(Expiry::At(at(5)).min(Expiry::At(at(3))), Expiry::At(at(3)));
        assert_eq!(Expiry::Never.min(Expiry::Never), Expiry::Never);
        assert!(Expiry::At(at(3)).is_no_later_than(Expiry::Never));
        assert!(!Expiry::Never.is_no_later_than(Expiry::At(at(3))));
    }

    #[test]
    fn serialises_like_an_optional_exp_claim() {
        assert_eq!(serde_json::to_string(&Expiry::Never).unwrap(), "null");
        assert_eq!(serde_json::to_string(&Expiry::At(at(7))).unwrap(), "7");
        assert_eq!(serde_json::from_str::<Expiry>("7").unwrap(), Expiry::At(at(7)));
        assert_eq!(serde_json::from_str::<Expiry>("null").unwrap(), Expiry::Never);
    }

    #[test]
    fn policy_names_the_bound_that_was_crossed() {
        let now = at(1_000_000);
        let policy = ExpiryPolicy::default()
            .with_min_lifetime(Span::hours(1))
            .with_max_lifetime(Some(Span::days(7)));
        assert_eq!(
            policy.check(Expiry::At(now.saturating_add(Span::minutes(5))), now),
            Err(Error::LifetimeTooShort { requested: Span::minutes(5), min: Span::hours(1) })
        );
        let err = policy.check(Expiry::At(now.saturating_add(Span::days(8))), now).unwrap_err();
        assert_eq!(err.to_string(), "a lifetime of 8d exceeds the policy maximum of 7d");
        assert_eq!(policy.check(Expiry::At(now), now), Err(Error::ExpiryNotInFuture));
        assert_eq!(
            policy.check(Expiry::Never, now).unwrap_err().to_string(),
            "keys must expire under this policy (at most 7d after creation)"
        );
        assert!(policy.clone().with_allow_never(true).check(Expiry::Never, now).is_ok());
    }

    #[test]
    fn longest_respects_never() {
        let now = at(1_000);
        let bounded = ExpiryPolicy::default().with_max_lifetime(Some(Span::days(1)));
        assert_eq!(bounded.longest(now), Expiry::At(at(1_000 + 86_400)));
        let open = ExpiryPolicy::default().with_max_lifetime(None).with_allow_never(true);
        assert_eq!(open.longest(now), Expiry::Never);
        let open_but_finite = ExpiryPolicy::default().with_max_lifetime(None);
        assert_eq!(open_but_finite.longest(now), Expiry::At(Timestamp::MAX));
    }

    #[test]
    fn lifetime_parses_never_and_spans() {
        assert_eq!("never".parse::<Lifetime>().unwrap(), Lifetime::Never);
        assert_eq!("7d".parse::<Lifetime>().unwrap(), Lifetime::Span(Span::days(7)));
        assert!("Never".parse::<Lifetime>().is_err());
        assert_eq!(serde_json::to_string(&Lifetime::Never).unwrap(), "\"never\"");
    }
}
