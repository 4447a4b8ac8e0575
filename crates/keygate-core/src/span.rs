//! Lengths of time in whole seconds, written the way operators type them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A non-negative length of time in whole seconds.
///
/// It parses and prints the short forms that `pulsar tokens create -e`, the Astra Streaming and
/// Confluent consoles, and most operators use: a decimal count followed by one unit.
///
/// | unit | meaning |
/// |---|---|
/// | `s` | seconds |
/// | `m` | minutes |
/// | `h` | hours |
/// | `d` | days (86 400 s) |
/// | `w` | weeks (7 d); accepted, printed as days |
/// | `y` | years of 365 days |
///
/// Printing picks the largest unit that divides the span exactly (`y`, `d`, `h`, `m`, `s`), so
/// `parse(print(x)) == x` for every span, and `"90d"` prints back as `"90d"`.
///
/// ```
/// use keygate_core::Span;
///
/// let span: Span = "12h".parse()?;
/// assert_eq!(span.as_seconds(), 12 * 3600);
/// assert_eq!(Span::days(365).to_string(), "1y");
/// assert_eq!(Span::hours(36).to_string(), "36h");
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    seconds: u64,
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
const YEAR: u64 = 365 * DAY;

/// The longest digit string a span may have: the digits of `u64::MAX`, so that every span's
/// printed form parses back.
const MAX_DIGITS: usize = 20;

impl Span {
    /// No time at all.
    pub const ZERO: Span = Span { seconds: 0 };

    /// A span of `seconds` seconds.
    pub const fn seconds(seconds: u64) -> Span {
        Span { seconds }
    }

    /// A span of `minutes` minutes, saturating at `u64::MAX` seconds.
    pub const fn minutes(minutes: u64) -> Span {
        Span { seconds: minutes.saturating_mul(MINUTE) }
    }

    /// A span of `hours` hours, saturating at `u64::MAX` seconds.
    pub const fn hours(hours: u64) -> Span {
        Span { seconds: hours.saturating_mul(HOUR) }
    }

    /// A span of `days` days, saturating at `u64::MAX` seconds.
    pub const fn days(days: u64) -> Span {
        Span { seconds: days.saturating_mul(DAY) }
    }

    /// The span in whole seconds.
    pub const fn as_seconds(self) -> u64 {
        self.seconds
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Span) -> Option<Span> {
        match self.seconds.checked_add(other.seconds) {
            Some(seconds) => Some(Span { seconds }),
            None => None,
        }
    }

    /// `self - other`, or zero when `other` is longer.
    pub const fn saturating_sub(self, other: Span) -> Span {
        Span { seconds: self.seconds.saturating_sub(other.seconds) }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        let (count, unit) = match s {
            0 => (0, 's'),
            _ if s.is_multiple_of(YEAR) => (s / YEAR, 'y'),
            _ if s.is_multiple_of(DAY) => (s / DAY, 'd'),
            _ if s.is_multiple_of(HOUR) => (s / HOUR, 'h'),
            _ if s.is_multiple_of(MINUTE) => (s / MINUTE, 'm'),
            _ => (s, 's'),
        };
        write!(f, "{count}{unit}")
    }
}

impl FromStr for Span {
    type Err = Error;

    fn from_str(text: &str) -> Result<Span, Error> {
        const WHAT: &str = "duration";
        const SHAPE: &str = "a count and a unit, e.g. 30m, 12h, 7d, 90d or 1y";
        if text.is_empty() {
            return Err(Error::Empty { what: WHAT });
        }
        if text.starts_with('-') {
            return Err(Error::Malformed { what: WHAT, expected: "a span that is not negative" });
        }
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(Error::Malformed { what: WHAT, expected: SHAPE });
        }
        let too_large = Error::TooLarge { what: WHAT, max: "18446744073709551615s" };
        if digits > MAX_DIGITS {
            return Err(too_large);
        }
        let (count, unit) = text.split_at(digits);
        let unit = match unit {
            "s" => 1,
            "m" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            "w" => WEEK,
            "y" => YEAR,
            "" => return Err(Error::Malformed { what: WHAT, expected: SHAPE }),
            _ => {
                return Err(Error::InvalidCharacter {
                    what: WHAT,
                    at: digits,
                    allowed: "one unit of s, m, h, d, w or y after the count",
                });
            }
        };
        // Only digits are left, so parsing fails on overflow alone.
        let count: u64 = count.parse().map_err(|_| too_large.clone())?;
        let seconds = count.checked_mul(unit).ok_or(too_large)?;
        Ok(Span { seconds })
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Span, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        for (text, seconds) in [
            ("0s", 0),
            ("45s", 45),
            ("30m", 1800),
            ("12h", 43_200),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("90d", 7_776_000),
            ("1y", 31_536_000),
        ] {
            assert_eq!(text.parse::<Span>().unwrap().as_seconds(), seconds, "{text}");
        }
    }

    #[test]
    fn prints_the_largest_exact_unit() {
        assert_eq!(Span::seconds(0).to_string(), "0s");
        assert_eq!(Span::seconds(61).to_string(), "61s");
        assert_eq!(Span::minutes(90).to_string(), "90m");
        assert_eq!(Span::days(14).to_string(), "14d");
        assert_eq!(Span::days(730).to_string(), "2y");
    }

    #[test]
    fn refuses_what_operators_mistype() {
        for bad in ["", "d", "12", "12 h", "12H", "1.5h", "-1d", "12hh", "1d12h", "+3d", "٣d"] {
            assert!(bad.parse::<Span>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn refuses_overflow_instead_of_wrapping() {
        assert!("99999999999y".parse::<Span>().is_ok());
        assert!("18446744073709551615s".parse::<Span>().is_ok());
        // Twelve digits of years overflow u64 seconds, as does one more second than u64 holds.
        assert!(matches!("999999999999y".parse::<Span>(), Err(Error::TooLarge { .. })));
        assert!(matches!("18446744073709551616s".parse::<Span>(), Err(Error::TooLarge { .. })));
        assert!(matches!("000000000000000000001s".parse::<Span>(), Err(Error::TooLarge { .. })));
        // Said as what it is, not as a length: the count is too large.
        let error = "99999999999999999999s".parse::<Span>().unwrap_err().to_string();
        assert_eq!(error, "duration is too large; the most is 18446744073709551615s");
    }

    #[test]
    fn a_negative_span_is_refused_as_such() {
        let error = "-1d".parse::<Span>().unwrap_err().to_string();
        assert!(error.contains("not negative"), "{error}");
    }

    #[test]
    fn serialises_as_its_text() {
        let json = serde_json::to_string(&Span::days(90)).unwrap();
        assert_eq!(json, "\"90d\"");
        assert_eq!(serde_json::from_str::<Span>(&json).unwrap(), Span::days(90));
        assert!(serde_json::from_str::<Span>("\"ninety days\"").is_err());
    }
}
