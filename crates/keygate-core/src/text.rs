//! Human-written text attached to principals and keys: display names, descriptions, and the
//! names tools give the keys they make.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A principal's human-readable name: 1 to 128 bytes, no control characters, not blank.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(pub(crate) String);

/// A note on a principal or a key, or the reason given for a revocation: up to 1024 bytes with
/// no control characters; may be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

/// The name a tool gives a key it makes, unique among its owner's keys, so an
/// infrastructure-as-code run finds the key it made last time instead of making another: 1 to
/// 64 bytes of ASCII letters, digits and `. _ -`, starting with a letter or digit.
///
/// ```
/// use keygate_core::KeyName;
///
/// assert!("orders-producer.prod".parse::<KeyName>().is_ok());
/// assert!("../etc".parse::<KeyName>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyName(String);

impl KeyName {
    /// The longest key name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyName {
    type Error = Error;

    fn try_from(text: String) -> Result<KeyName, Error> {
        const WHAT: &str = "key name";
        check_identifier(
            WHAT,
            &text,
            Self::MAX_LEN,
            |b| b.is_ascii_alphanumeric() || b"._-".contains(&b),
            "ASCII letters, digits and . _ -",
        )?;
        if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(Error::InvalidCharacter {
                what: WHAT,
                at: 0,
                allowed: "a letter or digit first",
            });
        }
        Ok(KeyName(text))
    }
}

impl DisplayName {
    /// The longest display name, in bytes.
    pub const MAX_LEN: usize = 128;

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Description {
    /// The longest description, in bytes.
    pub const MAX_LEN: usize = 1024;

    /// The empty description.
    pub const fn empty() -> Description {
        Description(String::new())
    }

    /// The description as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the description is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<String> for DisplayName {
    type Error = Error;

    fn try_from(text: String) -> Result<DisplayName, Error> {
        const WHAT: &str = "display name";
        if text.trim().is_empty() {
            return Err(Error::Empty { what: WHAT });
        }
        check_free_text(WHAT, &text, Self::MAX_LEN)?;
        Ok(DisplayName(text))
    }
}

impl TryFrom<String> for Description {
    type Error = Error;

    fn try_from(text: String) -> Result<Description, Error> {
        check_free_text("description", &text, Self::MAX_LEN)?;
        Ok(Description(text))
    }
}

macro_rules! text_conversions {
    ($($name:ident),*) => {$(
        impl FromStr for $name {
            type Err = Error;

            fn from_str(text: &str) -> Result<$name, Error> {
                $name::try_from(text.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}

text_conversions!(DisplayName, Description, KeyName);

/// Checks free text: bounded length and no control characters (which would let a value forge
/// lines in logs and tables).
fn check_free_text(what: &'static str, text: &str, max: usize) -> Result<(), Error> {
    if text.len() > max {
        return Err(Error::TooLong { what, len: text.len(), max });
    }
    match text.char_indices().find(|(_, c)| c.is_control()) {
        Some((at, _)) => {
            Err(Error::InvalidCharacter { what, at, allowed: "no control characters" })
        }
        None => Ok(()),
    }
}

/// Checks an identifier: non-empty, bounded, and every byte accepted by `allowed`.
pub(crate) fn check_identifier(
    what: &'static str,
    text: &str,
    max: usize,
    allowed: fn(u8) -> bool,
    alphabet: &'static str,
) -> Result<(), Error> {
    if text.is_empty() {
        return Err(Error::Empty { what });
    }
    if text.len() > max {
        return Err(Error::TooLong { what, len: text.len(), max });
    }
    match text.bytes().position(|b| !allowed(b)) {
        Some(at) => Err(Error::InvalidCharacter { what, at, allowed: alphabet }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_bounded_and_printable() {
        assert_eq!("Orders pipeline".parse::<DisplayName>().unwrap().as_str(), "Orders pipeline");
        assert!(matches!("   ".parse::<DisplayName>(), Err(Error::Empty { .. })));
        assert!(matches!(
            "a\nb".parse::<DisplayName>(),
            Err(Error::InvalidCharacter { at: 1, .. })
        ));
        assert!(matches!("x".repeat(129).parse::<DisplayName>(), Err(Error::TooLong { .. })));
        assert!("Zürich ingest ✓".parse::<DisplayName>().is_ok());
    }

    #[test]
    fn descriptions_may_be_empty_but_not_forge_lines() {
        assert!("".parse::<Description>().unwrap().is_empty());
        assert!("leaked in CI logs\r\nFAKE LOG LINE".parse::<Description>().is_err());
        assert!("\u{1b}[31mred".parse::<Description>().is_err());
        assert!(serde_json::from_str::<Description>("\"tab\\there\"").is_err());
    }

    #[test]
    fn key_names_are_safe_in_paths_and_queries() {
        assert_eq!("ci-orders_2.prod".parse::<KeyName>().unwrap().as_str(), "ci-orders_2.prod");
        for bad in ["", ".hidden", "-flag", "a/b", "..", "a b", "a\0b", "é"] {
            assert!(bad.parse::<KeyName>().is_err(), "{bad:?}");
        }
        assert!(matches!("k".repeat(65).parse::<KeyName>(), Err(Error::TooLong { .. })));
    }
}
