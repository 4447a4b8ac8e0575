//! Who a verified credential speaks for.

use keygate_core::{
    Expiry, KeyId, Permission, Permissions, PrincipalId, Scope, SigningKeyId, Timestamp,
};

/// The outcome of a successful authentication: the principal the broker authorizes, the
/// credential that proved it, and the limits that came with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub(crate) principal: PrincipalId,
    pub(crate) credential: CredentialId,
    pub(crate) scope: Scope,
    pub(crate) permissions: Permissions,
    pub(crate) expires: Expiry,
    pub(crate) session_deadline: Expiry,
    pub(crate) issued_at: Option<Timestamp>,
    pub(crate) kid: Option<SigningKeyId>,
}

/// Which credential an identity was proven with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialId {
    /// A keygate API key (opaque or JWT).
    ApiKey(KeyId),
    /// A token from another trusted issuer, by its `jti` (if any) and the SHA-256 of its text.
    Token {
        /// Its `jti`.
        jti: Option<String>,
        /// SHA-256 of the token.
        digest: [u8; 32],
    },
}

impl Identity {
    /// The principal to authorize: Kafka's principal name, Pulsar's role.
    pub fn principal(&self) -> &PrincipalId {
        &self.principal
    }

    /// The credential.
    pub fn credential(&self) -> &CredentialId {
        &self.credential
    }

    /// The API key's id, when it was one.
    pub fn key_id(&self) -> Option<KeyId> {
        match self.credential {
            CredentialId::ApiKey(id) => Some(id),
            CredentialId::Token { .. } => None,
        }
    }

    /// Where the credential is valid.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// What it may do, within the principal's ACLs.
    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    /// Whether it may perform `operation`.
    pub fn permits(&self, operation: &Permission) -> bool {
        self.permissions.permits(operation)
    }

    /// When the credential expires.
    pub fn expires(&self) -> Expiry {
        self.expires
    }

    /// When a session opened with it must re-authenticate or end: the credential's expiry, or
    /// sooner if the authenticator caps session lifetimes. Never later than the expiry.
    pub fn session_deadline(&self) -> Expiry {
        self.session_deadline
    }
}
