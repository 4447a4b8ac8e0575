//! What a key may do: an optional restriction below what the owner's ACLs grant.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::text::check_identifier;

/// One operation a key can be restricted to: an open vocabulary of lowercase names with
/// well-known constants. A permission is 1 to 64 bytes of `a-z`, `0-9` and `_ . : -`, starting
/// with a letter; `all` and `none` are reserved for [`Permissions`]' text form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Permission(Cow<'static, str>);

impl Permission {
    /// Write records (Kafka Produce, Pulsar producers).
    pub const PRODUCE: Permission = Permission(Cow::Borrowed("produce"));
    /// Read records (Kafka Fetch, Pulsar consumers).
    pub const CONSUME: Permission = Permission(Cow::Borrowed("consume"));
    /// Read metadata and configuration.
    pub const DESCRIBE: Permission = Permission(Cow::Borrowed("describe"));
    /// Change topics, configuration and ACLs.
    pub const ADMIN: Permission = Permission(Cow::Borrowed("admin"));

    /// The permissions keygate names: `produce`, `consume`, `describe` and `admin`. Embedders
    /// that need more declare them (the facade's `Profile::with_permission`).
    pub const WELL_KNOWN: [Permission; 4] =
        [Permission::PRODUCE, Permission::CONSUME, Permission::DESCRIBE, Permission::ADMIN];

    /// The longest permission name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(text: &str) -> Result<(), Error> {
        const WHAT: &str = "permission";
        check_identifier(
            WHAT,
            text,
            Self::MAX_LEN,
            |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:-".contains(&b),
            "a-z, 0-9 and _ . : -",
        )?;
        if !text.as_bytes()[0].is_ascii_lowercase() {
            return Err(Error::InvalidCharacter { what: WHAT, at: 0, allowed: "a letter first" });
        }
        // Reserved: they are how `Permissions` prints "unrestricted" and "nothing".
        if text == "all" || text == "none" {
            return Err(Error::Malformed { what: WHAT, expected: "a name other than all or none" });
        }
        Ok(())
    }
}

impl FromStr for Permission {
    type Err = Error;

    fn from_str(text: &str) -> Result<Permission, Error> {
        Permission::check(text)?;
        Ok(Permission(Cow::Owned(text.to_owned())))
    }
}

impl TryFrom<String> for Permission {
    type Error = Error;

    fn try_from(text: String) -> Result<Permission, Error> {
        Permission::check(&text)?;
        Ok(Permission(Cow::Owned(text)))
    }
}

impl From<Permission> for String {
    fn from(permission: Permission) -> String {
        permission.0.into_owned()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Permission({})", self.0)
    }
}

/// The optional restriction on what a key may do.
///
/// `Unrestricted` leaves the owner's ACLs as they are; `Only(set)` narrows them to the
/// operations in `set`. Permissions narrow and never widen: a key restricted to `produce` cannot
/// consume even when its owner may, and no restriction grants what the owner's ACLs do not.
/// Combining two restrictions with [`Permissions::restrict`] yields their intersection.
///
/// Serialised as `null` (unrestricted) or a sorted list of names. Prints as `all` or a
/// comma-separated list, and parses the same way.
///
/// ```
/// use keygate_core::{Permission, Permissions};
///
/// let produce_only: Permissions = "produce".parse()?;
/// assert!(produce_only.permits(&Permission::PRODUCE));
/// assert!(!produce_only.permits(&Permission::CONSUME));
/// assert!(Permissions::Unrestricted.permits(&Permission::ADMIN));
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Option<BTreeSet<Permission>>", into = "Option<BTreeSet<Permission>>")]
pub enum Permissions {
    /// Everything the owner's ACLs grant.
    #[default]
    Unrestricted,
    /// Only these operations (an empty set permits nothing).
    Only(BTreeSet<Permission>),
}

impl Permissions {
    /// A restriction to the given operations.
    pub fn only(permissions: impl IntoIterator<Item = Permission>) -> Permissions {
        Permissions::Only(permissions.into_iter().collect())
    }

    /// Whether the key may perform `operation` (within its owner's ACLs).
    pub fn permits(&self, operation: &Permission) -> bool {
        match self {
            Permissions::Unrestricted => true,
            Permissions::Only(set) => set.contains(operation),
        }
    }

    /// The intersection of two restrictions: what both permit.
    pub fn restrict(&self, other: &Permissions) -> Permissions {
        match (self, other) {
            (Permissions::Unrestricted, other) | (other, Permissions::Unrestricted) => {
                other.clone()
            }
            (Permissions::Only(a), Permissions::Only(b)) => {
                Permissions::Only(a.intersection(b).cloned().collect())
            }
        }
    }

    /// Whether everything `self` permits is permitted by `other` too.
    pub fn is_within(&self, other: &Permissions) -> bool {
        match (self, other) {
            (_, Permissions::Unrestricted) => true,
            (Permissions::Unrestricted, Permissions::Only(_)) => false,
            (Permissions::Only(a), Permissions::Only(b)) => a.is_subset(b),
        }
    }
}

impl From<Option<BTreeSet<Permission>>> for Permissions {
    fn from(set: Option<BTreeSet<Permission>>) -> Permissions {
        set.map_or(Permissions::Unrestricted, Permissions::Only)
    }
}

impl From<Permissions> for Option<BTreeSet<Permission>> {
    fn from(permissions: Permissions) -> Option<BTreeSet<Permission>> {
        match permissions {
            Permissions::Unrestricted => None,
            Permissions::Only(set) => Some(set),
        }
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Permissions::Unrestricted => f.write_str("all"),
            Permissions::Only(set) if set.is_empty() => f.write_str("none"),
            Permissions::Only(set) => {
                for (i, permission) in set.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(permission.as_str())?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Permissions {
    type Err = Error;

    /// Parses `all`, `none`, or a comma-separated list of permission names.
    fn from_str(text: &str) -> Result<Permissions, Error> {
        match text {
            "all" => Ok(Permissions::Unrestricted),
            "none" => Ok(Permissions::Only(BTreeSet::new())),
            _ => text.split(',').map(str::parse).collect::<Result<_, _>>().map(Permissions::Only),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Permissions {
        text.parse().unwrap()
    }

    #[test]
    fn restriction_is_an_intersection() {
        assert_eq!(p("produce,consume").restrict(&p("consume,admin")), p("consume"));
        assert_eq!(p("all").restrict(&p("produce")), p("produce"));
        assert_eq!(p("produce").restrict(&p("all")), p("produce"));
        assert_eq!(p("produce").restrict(&p("consume")), p("none"));
        assert!(!p("none").permits(&Permission::PRODUCE));
    }

    #[test]
    fn vocabulary_is_open_but_validated() {
        let custom: Permission = "schema.write".parse().unwrap();
        assert!(p("schema.write").permits(&custom));
        for bad in ["", "Produce", "produce,", "1produce", "pro duce", "all,produce"] {
            assert!(bad.parse::<Permissions>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_and_json_forms() {
        assert_eq!(p("consume,produce").to_string(), "consume,produce");
        assert_eq!(p("produce,consume").to_string(), "consume,produce");
        assert_eq!(serde_json::to_string(&p("all")).unwrap(), "null");
        assert_eq!(serde_json::to_string(&p("produce")).unwrap(), "[\"produce\"]");
        assert_eq!(serde_json::from_str::<Permissions>("[\"produce\"]").unwrap(), p("produce"));
        assert!(serde_json::from_str::<Permissions>("[\"PRODUCE\"]").is_err());
    }
}
