//! What the control plane and the data plane must agree on, as one value both take.

use std::collections::BTreeSet;
use std::sync::Arc;

use keygate_core::{Permission, Permissions, ResourceKind, Scope};
use keygate_token::SecretHasher;

/// The settings a [`KeyManager`](crate::KeyManager) and every
/// [`Authenticator`](crate::Authenticator) of its keys must share: how opaque secrets are
/// digested (plain SHA-256, or peppered), and the `iss` stamped into JWT API keys and required
/// of them. Build it once and hand the same value to both, so that the two cannot drift apart.
///
/// The default is plain SHA-256 and no issuer. The claim names of API-key tokens are fixed by
/// keygate-token (`sub`, `jti`, `kg_scope`, `kg_permissions`), so there is nothing to agree on
/// there.
///
/// ```
/// use std::sync::Arc;
/// use keygate::{AuthConfig, KeyManager, Profile, store::InMemoryStore};
/// use keygate::token::SecretHasher;
///
/// let profile = Profile::default()
///     .with_hasher(SecretHasher::with_pepper(b"from the secrets manager, 32 bytes")?)
///     .with_issuer("https://keys.example.com");
/// let manager = KeyManager::new(Arc::new(InMemoryStore::new())).with_profile(profile.clone());
/// let config = AuthConfig::default().with_profile(profile);
/// # Ok::<(), keygate::token::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Profile {
    /// Digests opaque secrets.
    pub hasher: Arc<SecretHasher>,
    /// The `iss` of JWT API keys, if the deployment sets one.
    pub issuer: Option<String>,
    /// The permission names keys may carry: [`Permission::WELL_KNOWN`] and any the deployment
    /// declares. A name outside them is a typo until declared, and is refused.
    pub permissions: Arc<BTreeSet<Permission>>,
    /// The resource kinds keys may be scoped to: [`ResourceKind::WELL_KNOWN`] and any the
    /// deployment declares. A kind outside them is a typo until declared, and is refused.
    pub resource_kinds: Arc<BTreeSet<ResourceKind>>,
}

impl Default for Profile {
    fn default() -> Profile {
        Profile {
            hasher: Arc::new(SecretHasher::sha256()),
            issuer: None,
            permissions: Arc::new(Permission::WELL_KNOWN.into_iter().collect()),
            resource_kinds: Arc::new(ResourceKind::WELL_KNOWN.into_iter().collect()),
        }
    }
}

impl Profile {
    /// Digests secrets with `hasher` (a peppered one, for instance).
    pub fn with_hasher(mut self, hasher: SecretHasher) -> Profile {
        self.hasher = Arc::new(hasher);
        self
    }

    /// Stamps `issuer` into JWT API keys, and requires it of them.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Profile {
        self.issuer = Some(issuer.into());
        self
    }

    /// Declares a permission beyond the well-known four, for an embedder whose broker
    /// authorizes more operations.
    pub fn with_permission(mut self, permission: Permission) -> Profile {
        Arc::make_mut(&mut self.permissions).insert(permission);
        self
    }

    /// The first permission of `permissions` that is not known, if any.
    pub fn unknown_permission<'a>(&self, permissions: &'a Permissions) -> Option<&'a Permission> {
        match permissions {
            Permissions::Unrestricted => None,
            Permissions::Only(set) => set.iter().find(|p| !self.permissions.contains(*p)),
        }
    }

    /// Declares a resource kind beyond the well-known ones, for an embedder that serves more.
    pub fn with_resource_kind(mut self, kind: ResourceKind) -> Profile {
        Arc::make_mut(&mut self.resource_kinds).insert(kind);
        self
    }

    /// The kind of `scope`'s resource, if it is not known.
    pub fn unknown_resource_kind<'a>(&self, scope: &'a Scope) -> Option<&'a str> {
        match scope {
            Scope::Resource(resource) => Some(resource.kind())
                .filter(|kind| !self.resource_kinds.iter().any(|known| known.as_str() == *kind)),
            _ => None,
        }
    }

    /// The known resource kinds, comma-separated, for an error message.
    pub fn known_resource_kinds(&self) -> String {
        self.resource_kinds.iter().map(ResourceKind::as_str).collect::<Vec<_>>().join(", ")
    }

    /// The known permission names, comma-separated, for an error message.
    pub fn known_permissions(&self) -> String {
        self.permissions.iter().map(Permission::as_str).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permission_is_unknown_until_declared() {
        let schema: Permission = "schema-write".parse().unwrap();
        let wanted = Permissions::only([Permission::PRODUCE, schema.clone()]);
        let profile = Profile::default();
        assert_eq!(profile.unknown_permission(&wanted), Some(&schema));
        assert_eq!(profile.unknown_permission(&Permissions::Unrestricted), None);
        assert_eq!(profile.known_permissions(), "admin, consume, describe, produce");
        let declared = profile.with_permission(schema);
        assert_eq!(declared.unknown_permission(&wanted), None);
    }
}
