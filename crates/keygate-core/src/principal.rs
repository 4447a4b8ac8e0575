//! Who owns keys: service accounts and users.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::check_identifier;
use crate::{Description, DisplayName, Error, Timestamp};

/// The name of a principal, unique within a keygate deployment.
///
/// It is what brokers authorize (Kafka's `User:<name>`, Pulsar's role, the JWT `sub` claim), so
/// it has to survive every one of those protocols unquoted: 1 to 128 bytes of ASCII letters,
/// digits and `- _ . @ : + =`, not starting with `-` (which command lines would read as a flag).
///
/// ```
/// use keygate_core::PrincipalId;
///
/// let id: PrincipalId = "orders-service".parse()?;
/// assert_eq!(id.as_str(), "orders-service");
/// assert!("orders service".parse::<PrincipalId>().is_err());
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrincipalId(String);

impl PrincipalId {
    /// The longest principal id, in bytes.
    pub const MAX_LEN: usize = 128;

    /// The longest name of a principal keygate creates, in bytes.
    pub const NAME_MAX_LEN: usize = 64;

    /// Whether this id may name a principal keygate creates: lowercase letters, digits and
    /// `. _ - @`, at most 64 bytes, starting with a letter or digit (so that no name reads as
    /// a flag, a hidden file or a parent directory, `..`, in a URL path), and so that `orders`,
    /// `Orders` and `ORDERS` cannot be three principals. Ids parse more widely (ASCII letters of either case
    /// and `: + =` too, up to 128 bytes) because tokens minted elsewhere, such as a Pulsar
    /// broker's, name roles in that wider alphabet; such a principal can be authenticated but
    /// not created here.
    pub fn check_name(&self) -> Result<(), Error> {
        check_identifier(
            "principal name",
            &self.0,
            Self::NAME_MAX_LEN,
            |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b),
            "lowercase letters, digits and . _ - @",
        )?;
        if !self.0.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return Err(Error::InvalidCharacter {
                what: "principal name",
                at: 0,
                allowed: "a letter or digit first",
            });
        }
        Ok(())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(text: &str) -> Result<(), Error> {
        const WHAT: &str = "principal id";
        check_identifier(
            WHAT,
            text,
            Self::MAX_LEN,
            |b| b.is_ascii_alphanumeric() || b"-_.@:+=".contains(&b),
            "ASCII letters, digits and - _ . @ : + =",
        )?;
        if text.starts_with('-') {
            return Err(Error::InvalidCharacter { what: WHAT, at: 0, allowed: "not - first" });
        }
        Ok(())
    }
}

impl TryFrom<String> for PrincipalId {
    type Error = Error;

    fn try_from(text: String) -> Result<PrincipalId, Error> {
        PrincipalId::check(&text)?;
        Ok(PrincipalId(text))
    }
}

impl FromStr for PrincipalId {
    type Err = Error;

    fn from_str(text: &str) -> Result<PrincipalId, Error> {
        PrincipalId::check(text)?;
        Ok(PrincipalId(text.to_owned()))
    }
}

impl From<PrincipalId> for String {
    fn from(id: PrincipalId) -> String {
        id.0
    }
}

impl AsRef<str> for PrincipalId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Hash and Eq are those of the text, so maps keyed by principal can be searched with a `&str`.
impl std::borrow::Borrow<str> for PrincipalId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrincipalId({})", self.0)
    }
}

/// What kind of principal owns a key.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PrincipalKind {
    /// A workload identity; the owner of production keys.
    ServiceAccount,
    /// A person; policy may forbid keys owned by users.
    User,
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrincipalKind::ServiceAccount => "service_account",
            PrincipalKind::User => "user",
        })
    }
}

impl FromStr for PrincipalKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<PrincipalKind, Error> {
        match text {
            "service_account" => Ok(PrincipalKind::ServiceAccount),
            "user" => Ok(PrincipalKind::User),
            _ => Err(Error::Malformed {
                what: "principal kind",
                expected: "service_account or user",
            }),
        }
    }
}

/// Who owns keys. ACLs and role bindings belong to principals, never to keys: the broker
/// authorizes the principal, keygate authenticates the key.
///
/// Serialised with the field names `id`, `kind`, `display_name`, `description` and `created_at`,
/// which stores and replicas rely on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Principal {
    /// Its unique name.
    pub id: PrincipalId,
    /// Service account or user.
    pub kind: PrincipalKind,
    /// A human-readable name; defaults to the id.
    pub display_name: DisplayName,
    /// A note for operators.
    pub description: Description,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Principal {
    /// A principal with its id as display name and no description.
    pub fn new(id: PrincipalId, kind: PrincipalKind, created_at: Timestamp) -> Principal {
        // A valid principal id is always a valid display name: shorter, printable, not blank.
        let display_name = DisplayName(id.as_str().to_owned());
        Principal { id, kind, display_name, description: Description::empty(), created_at }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, display_name: DisplayName) -> Principal {
        self.display_name = display_name;
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: Description) -> Principal {
        self.description = description;
        self
    }
}

// Constructing a DisplayName from a principal id skips its checks; keep the bounds compatible.
const _: () = assert!(PrincipalId::MAX_LEN <= DisplayName::MAX_LEN);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_what_brokers_use() {
        for good in ["alice", "orders-service", "sa-9x2k", "alice@example.com", "team:ingest", "a"]
        {
            assert!(good.parse::<PrincipalId>().is_ok(), "{good}");
        }
    }

    #[test]
    fn ids_refuse_what_would_break_a_protocol() {
        for bad in ["", "a b", "a/b", "a\0b", "-rf", "é", "a,b", "a\"b"] {
            assert!(bad.parse::<PrincipalId>().is_err(), "{bad:?}");
        }
        assert!(matches!("x".repeat(129).parse::<PrincipalId>(), Err(Error::TooLong { .. })));
    }

    #[test]
    fn names_keygate_creates_are_lowercase_and_start_with_a_letter_or_digit() {
        for good in ["orders", "orders-service", "svc.eu_1", "ci@example.com", "7eleven"] {
            assert!(good.parse::<PrincipalId>().unwrap().check_name().is_ok(), "{good}");
        }
        for bad in ["Orders", "..", ".hidden", "_x", "@x", "a:b", &"a".repeat(65)] {
            let id: PrincipalId = bad.parse().unwrap();
            assert!(id.check_name().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn error_points_at_the_byte_without_echoing_the_value() {
        let err = "secret\u{7f}value".parse::<PrincipalId>().unwrap_err();
        assert_eq!(
            err,
            Error::InvalidCharacter {
                what: "principal id",
                at: 6,
                allowed: "ASCII letters, digits and - _ . @ : + ="
            }
        );
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn principal_serialises_with_stable_field_names() {
        let principal = Principal::new(
            "orders".parse().unwrap(),
            PrincipalKind::ServiceAccount,
            Timestamp::from_unix(10).unwrap(),
        );
        let json = serde_json::to_value(&principal).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "orders",
                "kind": "service_account",
                "display_name": "orders",
                "description": "",
                "created_at": 10
            })
        );
        assert_eq!(serde_json::from_value::<Principal>(json).unwrap(), principal);
    }
}
