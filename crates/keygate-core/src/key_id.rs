//! keygate's public key identifier.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, SecureRandom, base32};

/// The public id of an API key: 80 random bits, written as 16 characters of lowercase
/// Crockford base32, e.g. `5x7k2m9q4w8n6p1r`.
///
/// It is shown in lists, logs and audit events, is the SASL/PLAIN username, the JWT `jti` and the
/// handle for revocation. Short enough to read out and type, long enough that ids never collide
/// in practice and cannot be enumerated. In memory it is the 10 raw bytes: `Copy`, no allocation,
/// and the key of every index. Ids sort in the same order as their text.
///
/// Parsing accepts the canonical form and its uppercase spelling (normalised to lowercase);
/// anything else, including Crockford's lenient `i`/`l`/`o` substitutions, is refused.
///
/// ```
/// use keygate_core::KeyId;
///
/// let id: KeyId = "5x7k2m9q4w8n6p1r".parse()?;
/// assert_eq!(id.to_string(), "5x7k2m9q4w8n6p1r");
/// assert_eq!("5X7K2M9Q4W8N6P1R".parse::<KeyId>()?, id);
/// assert!("5x7k2m9q4w8n6p1".parse::<KeyId>().is_err());
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Copy, Clone, Eq, PartialOrd, Ord)]
pub struct KeyId([u8; KeyId::BYTES]);

impl std::hash::Hash for KeyId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

// Two loads and a compare each, where a derived comparison of ten bytes is a call to memcmp: an
// index lookup compares ids on every authentication.
impl PartialEq for KeyId {
    #[inline]
    fn eq(&self, other: &KeyId) -> bool {
        let split = |id: &KeyId| {
            let (head, tail) = id.0.split_at(8);
            let head = u64::from_ne_bytes(head.try_into().unwrap_or_default());
            let tail = u16::from_ne_bytes(tail.try_into().unwrap_or_default());
            (head, tail)
        };
        split(self) == split(other)
    }
}

impl KeyId {
    /// Length of the id in bytes: 80 bits.
    pub const BYTES: usize = 10;

    /// Length of the id's text in characters.
    pub const LEN: usize = base32::encoded_len(Self::BYTES);

    /// A fresh random id.
    pub fn generate(random: &dyn SecureRandom) -> Result<KeyId, Error> {
        let mut bytes = [0; Self::BYTES];
        random.fill(&mut bytes)?;
        Ok(KeyId(bytes))
    }

    /// The id with these raw bytes.
    pub const fn from_bytes(bytes: [u8; Self::BYTES]) -> KeyId {
        KeyId(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; Self::BYTES] {
        &self.0
    }

    /// Parses the canonical lowercase text without allocating; the hot-path form of `FromStr`.
    pub fn parse_canonical(text: &[u8]) -> Result<KeyId, Error> {
        const WHAT: &str = "key id";
        if text.is_empty() {
            return Err(Error::Empty { what: WHAT });
        }
        let mut bytes = [0; Self::BYTES];
        base32::decode_into(text, &mut bytes).map_err(|error| match error {
            base32::DecodeError::Length if text.len() > Self::LEN => {
                Error::TooLong { what: WHAT, len: text.len(), max: Self::LEN }
            }
            base32::DecodeError::Length => {
                Error::Malformed { what: WHAT, expected: "16 characters of base32" }
            }
            base32::DecodeError::Symbol(at) => Error::InvalidCharacter {
                what: WHAT,
                at,
                allowed: "0-9 and a-z without i, l, o, u",
            },
            base32::DecodeError::NonCanonical => {
                Error::Malformed { what: WHAT, expected: "the canonical encoding" }
            }
        })?;
        Ok(KeyId(bytes))
    }

    fn write_text(&self, out: &mut [u8; Self::LEN]) {
        base32::encode_to_slice(&self.0, out);
    }
}

impl FromStr for KeyId {
    type Err = Error;

    fn from_str(text: &str) -> Result<KeyId, Error> {
        if text.len() == Self::LEN && text.bytes().any(|b| b.is_ascii_uppercase()) {
            let mut lower = [0u8; Self::LEN];
            lower.copy_from_slice(text.as_bytes());
            lower.make_ascii_lowercase();
            return KeyId::parse_canonical(&lower);
        }
        KeyId::parse_canonical(text.as_bytes())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; Self::LEN];
        self.write_text(&mut text);
        // The alphabet is ASCII, so every symbol is one char.
        text.iter().try_for_each(|&b| fmt::Write::write_char(f, char::from(b)))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; Self::LEN];
        self.write_text(&mut text);
        let text = std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        KeyId::parse_canonical(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_matches_the_shared_codec() {
        let id = KeyId::from_bytes([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc]);
        assert_eq!(id.to_string(), base32::encode(id.as_bytes()));
        assert_eq!(id.to_string().len(), KeyId::LEN);
        assert_eq!(id.to_string().parse::<KeyId>().unwrap(), id);
    }

    #[test]
    fn refuses_lenient_spellings() {
        assert!(matches!(
            "5x7k2m9q4w8n6p1i".parse::<KeyId>(),
            Err(Error::InvalidCharacter { at: 15, .. })
        ));
        assert!(matches!("5x7k2m9q4w8n6p1r0".parse::<KeyId>(), Err(Error::TooLong { .. })));
        assert!(matches!("".parse::<KeyId>(), Err(Error::Empty { .. })));
        assert!("5x7k-2m9q4w8n6p1".parse::<KeyId>().is_err());
        // Mixed case is normalised only as a whole; a non-ASCII byte is refused.
        assert!("5x7k2m9q4w8n6p1é".parse::<KeyId>().is_err());
    }

    #[test]
    fn serde_uses_the_canonical_text() {
        let id: KeyId = "5x7k2m9q4w8n6p1r".parse().unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"5x7k2m9q4w8n6p1r\"");
        assert_eq!(serde_json::from_str::<KeyId>("\"5x7k2m9q4w8n6p1r\"").unwrap(), id);
        assert!(serde_json::from_str::<KeyId>("\"5X7K2M9Q4W8N6P1R\"").is_err());
    }

    #[test]
    fn order_matches_text_order() {
        let a = KeyId::from_bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff]);
        let b = KeyId::from_bytes([0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
