//! Whether a credential is valid at an instant: the one rule for not-before and expiry, used
//! alike for key records, JWT claims and open sessions.

use crate::{Expiry, Span, Timestamp};

/// The clock-skew leeway JWT time claims get by default: 30 seconds, as jsonwebtoken and most
/// brokers allow.
pub const DEFAULT_LEEWAY: Span = Span::seconds(30);

/// When a credential is valid: from its not-before (inclusive) until its expiry (exclusive).
///
/// ```
/// use keygate_core::{Expiry, Span, Timestamp, Validity, ValidityError};
///
/// let at = |s| Timestamp::from_unix(s).unwrap();
/// let validity = Validity::new(Some(at(100)), Expiry::At(at(200)));
/// assert_eq!(validity.check(at(100), Span::ZERO), Ok(()));
/// assert_eq!(validity.check(at(200), Span::ZERO), Err(ValidityError::Expired { at: at(200), now: at(200) }));
/// // Leeway widens the window at both ends, for clocks that disagree a little.
/// assert_eq!(validity.check(at(90), Span::seconds(10)), Ok(()));
/// assert_eq!(validity.check(at(209), Span::seconds(10)), Ok(()));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Validity {
    /// The first instant it is valid, if it has one.
    pub not_before: Option<Timestamp>,
    /// When it stops being valid.
    pub expires: Expiry,
}

/// Why a credential is not valid at an instant. A window has two ends, so this has two
/// variants, and no more will come.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidityError {
    /// It has expired.
    #[error("expired at {at} (now {now})")]
    Expired {
        /// When it expired.
        at: Timestamp,
        /// The instant of the check.
        now: Timestamp,
    },
    /// It is not valid yet.
    #[error("not valid before {at} (now {now})")]
    NotYetValid {
        /// When it becomes valid.
        at: Timestamp,
        /// The instant of the check.
        now: Timestamp,
    },
}

impl Validity {
    /// Valid from `not_before` until `expires`.
    pub const fn new(not_before: Option<Timestamp>, expires: Expiry) -> Validity {
        Validity { not_before, expires }
    }

    /// Checks the window at `now`, widened by `leeway` at both ends: valid while
    /// `not_before - leeway <= now < expires + leeway`. Expiry is checked first, so a credential
    /// whose window is empty reports that it expired.
    pub fn check(&self, now: Timestamp, leeway: Span) -> Result<(), ValidityError> {
        if let Expiry::At(at) = self.expires
            && now.saturating_sub(leeway) >= at
        {
            return Err(ValidityError::Expired { at, now });
        }
        if let Some(at) = self.not_before
            && now.saturating_add(leeway) < at
        {
            return Err(ValidityError::NotYetValid { at, now });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    #[test]
    fn the_window_is_half_open_and_never_ends_without_an_expiry() {
        let window = Validity::new(Some(at(10)), Expiry::At(at(20)));
        assert_eq!(
            window.check(at(9), Span::ZERO),
            Err(ValidityError::NotYetValid { at: at(10), now: at(9) })
        );
        assert_eq!(window.check(at(10), Span::ZERO), Ok(()));
        assert_eq!(window.check(at(19), Span::ZERO), Ok(()));
        assert_eq!(
            window.check(at(20), Span::ZERO),
            Err(ValidityError::Expired { at: at(20), now: at(20) })
        );
        assert_eq!(Validity::new(None, Expiry::Never).check(Timestamp::MAX, Span::ZERO), Ok(()));
    }

    #[test]
    fn leeway_saturates_at_the_ends_of_time() {
        let never_yet = Validity::new(Some(Timestamp::MAX), Expiry::Never);
        assert_eq!(never_yet.check(Timestamp::EPOCH, Span::seconds(u64::MAX)), Ok(()));
        let long_gone = Validity::new(None, Expiry::At(Timestamp::EPOCH));
        assert_eq!(
            long_gone.check(Timestamp::MAX, Span::seconds(u64::MAX)),
            Err(ValidityError::Expired { at: Timestamp::EPOCH, now: Timestamp::MAX })
        );
    }
}
