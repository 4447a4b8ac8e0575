//! Who a verified credential speaks for.

use std::sync::Arc;

use keygate_core::{
    Expiry, KeyId, Permission, Permissions, PrincipalId, Scope, SigningKeyId, Timestamp,
};

use crate::index::IndexedKey;

/// The outcome of a successful authentication: the principal the broker authorizes, the
/// credential that proved it, and the limits that came with it.
///
/// Making one allocates nothing for an API key: it shares the key's entry with the
/// authenticator's index, and clones of it share it too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub(crate) source: Source,
    pub(crate) credential: CredentialId,
    pub(crate) expires: Expiry,
    pub(crate) session_deadline: Expiry,
    pub(crate) issued_at: Option<Timestamp>,
    pub(crate) kid: Option<SigningKeyId>,
}

/// Who, where and what: from the key's entry in the index, or from what a trusted token said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Key(Arc<IndexedKey>),
    Token(Arc<TokenGrant>),
}

/// What a token from another trusted issuer said, once checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TokenGrant {
    pub(crate) principal: PrincipalId,
    pub(crate) scope: Scope,
    pub(crate) permissions: Permissions,
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
        match &self.source {
            Source::Key(key) => &key.grant.owner,
            Source::Token(token) => &token.principal,
        }
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
        match &self.source {
            Source::Key(key) => &key.grant.scope,
            Source::Token(token) => &token.scope,
        }
    }

    /// What it may do, within the principal's ACLs.
    pub fn permissions(&self) -> &Permissions {
        match &self.source {
            Source::Key(key) => &key.grant.permissions,
            Source::Token(token) => &token.permissions,
        }
    }

    /// Whether it may perform `operation`.
    pub fn permits(&self, operation: &Permission) -> bool {
        self.permissions().permits(operation)
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
