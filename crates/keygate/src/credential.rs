//! What a client presents, and where.

use keygate_core::{Permission, ResourceRef, Timestamp};

/// A credential as a wire adapter hands it over. Borrowed: nothing is copied before it is
/// checked.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Credential<'a> {
    /// A key id and a secret: SASL/PLAIN username and password, or HTTP Basic. The secret is the
    /// `kgk_…` single-string key (its embedded key id must match) or its bare secret part.
    KeyAndSecret {
        /// The key id.
        key_id: &'a str,
        /// The secret.
        secret: &'a str,
    },
    /// The single-string opaque key, `kgk_…`.
    ApiKey(&'a str),
    /// A bearer JWT: a keygate JWT API key, or a token from an issuer configured with
    /// [`AuthConfig::with_external_tokens`](crate::AuthConfig::with_external_tokens).
    Bearer(&'a str),
}

impl std::fmt::Debug for Credential<'_> {
    /// Shows the kind and the key id only: a credential is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::KeyAndSecret { key_id, .. } => {
                f.debug_struct("KeyAndSecret").field("key_id", key_id).finish_non_exhaustive()
            }
            Credential::ApiKey(_) => f.write_str("ApiKey(..)"),
            Credential::Bearer(_) => f.write_str("Bearer(..)"),
        }
    }
}

/// Where and when a credential is presented, and what it is for.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct AuthContext<'a> {
    /// The resource the broker or gateway serves, e.g. `kafka-cluster/lkc-abc123`.
    pub resource: &'a ResourceRef,
    /// The time of the check.
    pub now: Timestamp,
    /// The operation the credential must permit, if the caller already knows it.
    pub permission: Option<&'a Permission>,
    /// Whether a credential valid on a part of the resource only is accepted too (see
    /// [`AuthContext::reaching_parts`]).
    pub reaching_parts: bool,
}

impl<'a> AuthContext<'a> {
    /// A credential presented to `resource` at `now`.
    pub fn new(resource: &'a ResourceRef, now: Timestamp) -> AuthContext<'a> {
        AuthContext { resource, now, permission: None, reaching_parts: false }
    }

    /// Requires the credential to permit `permission`.
    pub fn with_permission(mut self, permission: &'a Permission) -> AuthContext<'a> {
        self.permission = Some(permission);
        self
    }

    /// Also accepts a credential valid on a part of the resource only
    /// ([`Scope::reaches`](keygate_core::Scope::reaches)): a key for one namespace, presented to a
    /// server that fronts the whole tenant. A named opening: the server must then authorize each
    /// request against the part it touches, as `keygate-wire`'s Pulsar topic authorization does.
    pub fn reaching_parts(mut self) -> AuthContext<'a> {
        self.reaching_parts = true;
        self
    }
}

impl AuthContext<'_> {
    /// Whether a credential of `scope` is valid in this context.
    pub(crate) fn scope_fits(&self, scope: &keygate_core::Scope) -> bool {
        if self.reaching_parts { scope.reaches(self.resource) } else { scope.admits(self.resource) }
    }
}
