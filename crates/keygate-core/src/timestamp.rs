//! Points in time, and the clocks that report them.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Error, Span};

/// A point in time in whole seconds, UTC, between 1970-01-01T00:00:00Z and
/// 9999-12-31T23:59:59Z.
///
/// It is a `time::OffsetDateTime` restricted to whole seconds and to that range, kept as its unix
/// seconds: 8 bytes, `Copy`, and compared with one integer comparison, because the verification
/// hot path compares timestamps on every call. Every `Timestamp` converts to an
/// [`OffsetDateTime`] without loss, and the range is that of RFC 3339 dates with four-digit years
/// (and of JWT NumericDate values that keygate accepts: negative ones are refused).
///
/// `Timestamp` owns the time arithmetic of the model: adding a [`Span`] is checked or
/// saturating, never wrapping, and the distance between two timestamps is a non-negative
/// `Span`. It serialises as unix seconds.
///
/// ```
/// use keygate_core::{Span, Timestamp};
///
/// let created = Timestamp::from_unix(1_700_000_000)?;
/// let expires = created.checked_add(Span::days(90))?;
/// assert_eq!(expires.saturating_since(created), Span::days(90));
/// assert_eq!(created.to_string(), "2023-11-14T22:13:20Z");
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// 9999-12-31T23:59:59Z, the last second with a four-digit year.
    pub const MAX: Timestamp = Timestamp(253_402_300_799);

    /// The timestamp `seconds` after the unix epoch, if it is in range.
    pub const fn from_unix(seconds: i64) -> Result<Timestamp, Error> {
        if seconds < 0 || seconds > Self::MAX.0 {
            return Err(Error::TimestampOutOfRange { seconds: seconds as i128 });
        }
        Ok(Timestamp(seconds))
    }

    /// Seconds since the unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// `self + span`, or [`Error::TimeOverflow`] past [`Timestamp::MAX`].
    pub fn checked_add(self, span: Span) -> Result<Timestamp, Error> {
        let overflow = Error::TimeOverflow { at: self.0, span };
        let span = i64::try_from(span.as_seconds()).map_err(|_| overflow.clone())?;
        match self.0.checked_add(span) {
            Some(seconds) if seconds <= Self::MAX.0 => Ok(Timestamp(seconds)),
            _ => Err(overflow),
        }
    }

    /// `self + span`, clamped to [`Timestamp::MAX`].
    pub fn saturating_add(self, span: Span) -> Timestamp {
        self.checked_add(span).unwrap_or(Self::MAX)
    }

    /// `self - span`, clamped to [`Timestamp::EPOCH`].
    pub fn saturating_sub(self, span: Span) -> Timestamp {
        let span = i64::try_from(span.as_seconds()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(span).max(0))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is not before `self`.
    pub fn saturating_since(self, earlier: Timestamp) -> Span {
        // Both are in 0..=MAX, so the difference cannot overflow and is non-negative here.
        Span::seconds(self.0.saturating_sub(earlier.0).max(0).unsigned_abs())
    }

    /// The same instant as a `time::OffsetDateTime` in UTC.
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        // The range check in every constructor keeps this conversion total.
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(timestamp: Timestamp) -> OffsetDateTime {
        timestamp.to_offset_date_time()
    }
}

impl TryFrom<OffsetDateTime> for Timestamp {
    type Error = Error;

    /// Drops the sub-second part and refuses instants outside the supported range.
    fn try_from(instant: OffsetDateTime) -> Result<Timestamp, Error> {
        let seconds = instant.unix_timestamp();
        Timestamp::from_unix(seconds)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, e.g. `2026-11-23T10:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_offset_date_time().format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = Error;

    /// Parses RFC 3339 (any offset; fractional seconds are dropped) or plain unix seconds.
    fn from_str(text: &str) -> Result<Timestamp, Error> {
        const WHAT: &str = "timestamp";
        if text.is_empty() {
            return Err(Error::Empty { what: WHAT });
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            let seconds = text.parse::<i64>().map_err(|_| Error::TooLong {
                what: WHAT,
                len: text.len(),
                max: 12,
            })?;
            return Timestamp::from_unix(seconds);
        }
        let instant = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| Error::Malformed {
            what: WHAT,
            expected: "RFC 3339 (2026-11-23T10:00:00Z) or unix seconds",
        })?;
        Timestamp::try_from(instant)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let seconds = i64::deserialize(deserializer)?;
        Timestamp::from_unix(seconds).map_err(serde::de::Error::custom)
    }
}

/// A source of the current time.
///
/// keygate never reads the clock on its own: every rule takes `now` as an argument, and the
/// conveniences that do not take it ask the `Clock` the embedder configured. Read it once per
/// operation and pass the value down, so one operation sees one instant.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The operating system's wall clock, truncated to whole seconds.
///
/// A wall clock before 1970 or after 9999 is clamped to the supported range rather than
/// failing: a broker with a broken clock then refuses credentials on expiry instead of panicking.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let seconds = OffsetDateTime::now_utc().unix_timestamp();
        Timestamp(seconds.clamp(0, Timestamp::MAX.0))
    }
}

/// A clock that moves only when told to; for tests, simulations and replaying events.
///
/// It is shared by reference or `Arc` and safe to advance from another thread.
///
/// ```
/// use keygate_core::{Clock, ManualClock, Span, Timestamp};
///
/// let clock = ManualClock::new(Timestamp::from_unix(1_800_000_000)?);
/// clock.advance(Span::hours(1));
/// assert_eq!(clock.now().unix(), 1_800_003_600);
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: Timestamp) -> ManualClock {
        ManualClock { now: AtomicI64::new(now.0) }
    }

    /// Moves the clock to `now`, forwards or backwards.
    pub fn set(&self, now: Timestamp) {
        self.now.store(now.0, Ordering::SeqCst);
    }

    /// Moves the clock forward by `span`, stopping at [`Timestamp::MAX`].
    pub fn advance(&self, span: Span) {
        // fetch_update only fails when the closure returns None, which it never does.
        let _ = self.now.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |current| {
            Some(Timestamp(current).saturating_add(span).0)
        });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    #[test]
    fn range_is_enforced_at_construction() {
        assert!(Timestamp::from_unix(-1).is_err());
        assert!(Timestamp::from_unix(Timestamp::MAX.unix() + 1).is_err());
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn arithmetic_is_checked_or_saturating() {
        assert_eq!(at(10).checked_add(Span::seconds(5)).unwrap(), at(15));
        assert!(matches!(
            Timestamp::MAX.checked_add(Span::seconds(1)),
            Err(Error::TimeOverflow { .. })
        ));
        assert!(at(0).checked_add(Span::seconds(u64::MAX)).is_err());
        assert_eq!(Timestamp::MAX.saturating_add(Span::days(1)), Timestamp::MAX);
        assert_eq!(at(5).saturating_sub(Span::seconds(10)), Timestamp::EPOCH);
        assert_eq!(at(5).saturating_sub(Span::seconds(u64::MAX)), Timestamp::EPOCH);
        assert_eq!(at(5).saturating_since(at(10)), Span::ZERO);
        assert_eq!(at(10).saturating_since(at(4)), Span::seconds(6));
    }

    #[test]
    fn parses_rfc3339_and_unix_seconds() {
        assert_eq!("2023-11-14T22:13:20Z".parse::<Timestamp>().unwrap(), at(1_700_000_000));
        assert_eq!("2023-11-14T23:13:20.75+01:00".parse::<Timestamp>().unwrap(), at(1_700_000_000));
        assert_eq!("1700000000".parse::<Timestamp>().unwrap(), at(1_700_000_000));
        for bad in ["", "yesterday", "1969-12-31T23:59:59Z", "99999999999999999999", "-5"] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn serialises_as_unix_seconds() {
        assert_eq!(serde_json::to_string(&at(42)).unwrap(), "42");
        assert_eq!(serde_json::from_str::<Timestamp>("42").unwrap(), at(42));
        assert!(serde_json::from_str::<Timestamp>("-1").is_err());
        assert!(serde_json::from_str::<Timestamp>("1.5").is_err());
        assert!(serde_json::from_str::<Timestamp>("\"42\"").is_err());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(at(100));
        assert_eq!(clock.now(), at(100));
        clock.advance(Span::seconds(20));
        assert_eq!(clock.now(), at(120));
        clock.set(at(50));
        assert_eq!(clock.now(), at(50));
        clock.set(Timestamp::MAX);
        clock.advance(Span::days(1));
        assert_eq!(clock.now(), Timestamp::MAX);
    }

    #[test]
    fn system_clock_is_after_this_code_was_written() {
        assert!(SystemClock.now() > at(1_780_000_000));
    }
}
