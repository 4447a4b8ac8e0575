//! What a caller asks a [`KeyManager`](super::KeyManager) for, and what it gets back.

use std::fmt;

use keygate_core::{
    Description, DisplayName, KeyFormat, KeyName, KeyRecord, Lifetime, Permissions, PrincipalId,
    PrincipalKind, Scope, Timestamp,
};
use zeroize::Zeroizing;

/// A principal to create.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewPrincipal {
    /// Its id.
    pub id: PrincipalId,
    /// Service account or user.
    pub kind: PrincipalKind,
    /// Its display name; the id when `None`.
    pub display_name: Option<DisplayName>,
    /// A note.
    pub description: Description,
}

impl NewPrincipal {
    /// A service account.
    pub fn service_account(id: PrincipalId) -> NewPrincipal {
        NewPrincipal {
            id,
            kind: PrincipalKind::ServiceAccount,
            display_name: None,
            description: Description::empty(),
        }
    }

    /// A user.
    pub fn user(id: PrincipalId) -> NewPrincipal {
        NewPrincipal {
            id,
            kind: PrincipalKind::User,
            display_name: None,
            description: Description::empty(),
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: Description) -> NewPrincipal {
        self.description = description;
        self
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, display_name: DisplayName) -> NewPrincipal {
        self.display_name = Some(display_name);
        self
    }
}

/// A key to create.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewKey {
    /// Its owner.
    pub owner: PrincipalId,
    /// Where it is valid.
    pub scope: Scope,
    /// How long it lives; `None` for the longest the policy allows.
    pub lifetime: Option<Lifetime>,
    /// When it expires, a date rather than a lifetime; it takes precedence over `lifetime`.
    pub expires_at: Option<Timestamp>,
    /// What it may do.
    pub permissions: Permissions,
    /// How its secret is presented.
    pub format: KeyFormat,
    /// A note.
    pub description: Description,
    /// A name unique among its owner's keys, for the tool that made it to find it again.
    pub name: Option<KeyName>,
}

impl NewKey {
    /// An unrestricted opaque key for `owner` on `scope`, living as long as policy allows.
    pub fn new(owner: PrincipalId, scope: Scope) -> NewKey {
        NewKey {
            owner,
            scope,
            lifetime: None,
            expires_at: None,
            permissions: Permissions::Unrestricted,
            format: KeyFormat::Opaque,
            description: Description::empty(),
            name: None,
        }
    }

    /// Sets the lifetime.
    pub fn with_lifetime(mut self, lifetime: Lifetime) -> NewKey {
        self.lifetime = Some(lifetime);
        self
    }

    /// Sets the instant it expires, within the policy's bounds as a lifetime would be.
    pub fn with_expires_at(mut self, at: Timestamp) -> NewKey {
        self.expires_at = Some(at);
        self
    }

    /// Restricts permissions.
    pub fn with_permissions(mut self, permissions: Permissions) -> NewKey {
        self.permissions = permissions;
        self
    }

    /// Sets the format.
    pub fn with_format(mut self, format: KeyFormat) -> NewKey {
        self.format = format;
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: Description) -> NewKey {
        self.description = description;
        self
    }

    /// Names the key, uniquely among its owner's keys.
    pub fn with_name(mut self, name: KeyName) -> NewKey {
        self.name = Some(name);
        self
    }
}

/// A key just issued: its record, and its secret, shown this once.
#[derive(Debug)]
#[non_exhaustive]
pub struct IssuedKey {
    /// The record, as stored.
    pub record: KeyRecord,
    /// The secret: the `kgk_…` string of an opaque key, or the JWT of a JWT key.
    pub secret: IssuedSecret,
}

/// The secret of a newly issued key. It prints as `IssuedSecret(..)`, is not `Clone`, and is
/// zeroized on drop: hand it to the user once and let it go.
pub struct IssuedSecret(pub(super) Zeroizing<String>);

impl IssuedSecret {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IssuedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuedSecret(..)")
    }
}

/// What revoking did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revoked {
    /// The key is now revoked.
    Now(KeyRecord),
    /// It had been revoked already; nothing changed.
    Already(KeyRecord),
}

impl Revoked {
    /// The key as it is now.
    pub fn record(&self) -> &KeyRecord {
        match self {
            Revoked::Now(record) | Revoked::Already(record) => record,
        }
    }
}

/// What a rotation did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rotation {
    /// The old key, with its expiry brought forward to the end of the overlap.
    pub old: KeyRecord,
    /// The replacement, with its secret.
    pub new: IssuedKey,
}
