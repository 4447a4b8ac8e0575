//! The errors of the facade: authentication failures, manager failures, sync failures.

use keygate_core::{
    KeyId, Permission, ResourceRef, Scope, SigningKeyId, Span, Timestamp, ValidityError,
};
use keygate_revocation::Reason;
use keygate_store::StoreError;

/// Why a credential was refused.
///
/// It has two faces. The variant and its `Display` are the whole reason, for operators, logs
/// and metrics ([`AuthError::kind`] gives a stable label). [`AuthError::client_message`] is what
/// to tell the client: the same words for every failure that could reveal whether a key exists
/// (anything before the secret or signature was proven), and a specific one only once the client
/// has shown it holds the key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The credential is not in any form keygate reads (or its checksum is wrong).
    #[error("malformed credential: {0}")]
    Malformed(#[source] keygate_token::Error),
    /// No key has this id.
    #[error("unknown key {0}")]
    UnknownKey(KeyId),
    /// A token was signed by a key this authenticator does not know, or names no key it can use.
    #[error("the token's signing key is not known here")]
    UnknownSigningKey,
    /// The secret does not match the key's stored digest.
    #[error("wrong secret for key {0}")]
    BadSecret(KeyId),
    /// The token's signature does not verify.
    #[error("invalid token signature")]
    InvalidSignature,
    /// The token is signed correctly but fails a claim check (wrong type, audience, issuer, a
    /// claim of the wrong type, a subject that is not the key's owner...).
    #[error("token rejected: {0}")]
    BadToken(#[source] TokenRejection),
    /// The key or token has expired.
    #[error("expired at {at} (now {now})")]
    Expired {
        /// When it expired.
        at: Timestamp,
        /// When it was presented.
        now: Timestamp,
    },
    /// The key or token is not valid yet.
    #[error("not valid before {at} (now {now})")]
    NotYetValid {
        /// When it becomes valid.
        at: Timestamp,
        /// When it was presented.
        now: Timestamp,
    },
    /// The key is suspended.
    #[error("key {0} is suspended")]
    Suspended(KeyId),
    /// The key, the token, its principal or its signing key is revoked.
    #[error("{0}")]
    Revoked(Reason),
    /// The key is valid, but not on this resource.
    #[error("a key scoped to {scope} is not valid on {presented}")]
    WrongResource {
        /// Where the key is valid.
        scope: Scope,
        /// Where it was presented.
        presented: ResourceRef,
    },
    /// The key may not perform this operation.
    #[error("the key does not permit {permission}")]
    PermissionDenied {
        /// The operation asked for.
        permission: Permission,
    },
    /// The authenticator's copy of keys and revocations is older than allowed (or was never
    /// synced): whether the credential is revoked is unknown, so it is refused.
    #[error("revocation status unknown: state last synced {}, now {now}, allowed staleness {max}", synced_at.map_or_else(|| "never".to_owned(), |at| at.to_string()))]
    StatusUnknown {
        /// When the state was last synced.
        synced_at: Option<Timestamp>,
        /// When the credential was presented.
        now: Timestamp,
        /// The staleness allowed.
        max: Span,
    },
    /// The authenticator could not decide, for a reason that is not the client's: its state is
    /// inconsistent. The client is told to retry; the operator should look.
    #[error("the authenticator could not decide: {0}")]
    Internal(#[source] keygate_revocation::Error),
}

/// Why a correctly signed token was refused: a check of the token library, or one of the
/// facade's own rules about what a token must say.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRejection {
    /// A claim check of keygate-token failed (type, audience, issuer, a claim's type).
    #[error(transparent)]
    Claims(keygate_token::Error),
    /// The `jti` of an API-key token is not a keygate key id.
    #[error("the token's jti is not a keygate key id")]
    NotAKeyId,
    /// The subject of an API-key token is not its key's owner.
    #[error("the token's subject is not its key's owner")]
    SubjectNotOwner,
    /// The token is not a keygate API key, and no other issuer is trusted.
    #[error("the token is not a keygate API key, and no other issuer is trusted here")]
    UntrustedIssuer,
    /// The token names an audience, and not the resource it was presented to.
    #[error("the token's audience is not this resource")]
    AudienceNotHere,
    /// The token names no principal.
    #[error("the token names no principal")]
    NoPrincipal,
    /// The token's principal is not a valid principal id.
    #[error("the token's principal is not a valid principal id")]
    InvalidPrincipal,
}

impl From<ValidityError> for AuthError {
    fn from(error: ValidityError) -> AuthError {
        match error {
            ValidityError::Expired { at, now } => AuthError::Expired { at, now },
            ValidityError::NotYetValid { at, now } => AuthError::NotYetValid { at, now },
        }
    }
}

impl From<keygate_token::Error> for AuthError {
    /// Sorts keygate-token's reasons into the facade's: coarse for the signature, exact for
    /// time, and "malformed" or "rejected" for the rest.
    fn from(error: keygate_token::Error) -> AuthError {
        use keygate_token::Error as E;
        match error {
            E::InvalidSignature | E::AlgorithmMismatch { .. } => AuthError::InvalidSignature,
            E::UnknownKeyId | E::MissingKeyId => AuthError::UnknownSigningKey,
            E::Expired { at, now } => AuthError::Expired { at, now },
            E::NotYetValid { at, now } => AuthError::NotYetValid { at, now },
            E::TooLarge { .. }
            | E::Malformed(_)
            | E::AlgorithmNone
            | E::UnsupportedAlgorithm
            | E::UnsupportedHeader(_)
            | E::MalformedApiKey(_)
            | E::ApiKeyChecksum
            | E::KeyIdMismatch => AuthError::Malformed(error),
            other => AuthError::BadToken(TokenRejection::Claims(other)),
        }
    }
}

/// The stable, low-cardinality name of an [`AuthError`], for metrics labels.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // Each kind is the variant of the same name.
pub enum AuthFailure {
    Malformed,
    UnknownKey,
    UnknownSigningKey,
    BadSecret,
    InvalidSignature,
    BadToken,
    Expired,
    NotYetValid,
    Suspended,
    Revoked,
    WrongResource,
    PermissionDenied,
    StatusUnknown,
    Internal,
}

impl AuthFailure {
    /// The name in snake_case, as a metrics label: `wrong_resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Malformed => "malformed",
            AuthFailure::UnknownKey => "unknown_key",
            AuthFailure::UnknownSigningKey => "unknown_signing_key",
            AuthFailure::BadSecret => "bad_secret",
            AuthFailure::InvalidSignature => "invalid_signature",
            AuthFailure::BadToken => "bad_token",
            AuthFailure::Expired => "expired",
            AuthFailure::NotYetValid => "not_yet_valid",
            AuthFailure::Suspended => "suspended",
            AuthFailure::Revoked => "revoked",
            AuthFailure::WrongResource => "wrong_resource",
            AuthFailure::PermissionDenied => "permission_denied",
            AuthFailure::StatusUnknown => "status_unknown",
            AuthFailure::Internal => "internal",
        }
    }
}

impl AuthError {
    /// The same message for every failure that happens before the client has proven it holds
    /// the key, so a client cannot learn which keys exist.
    pub const GENERIC: &'static str = "authentication failed";

    /// What to tell the client.
    pub fn client_message(&self) -> &'static str {
        match self {
            AuthError::Malformed(_)
            | AuthError::UnknownKey(_)
            | AuthError::UnknownSigningKey
            | AuthError::BadSecret(_)
            | AuthError::InvalidSignature
            | AuthError::BadToken(_) => Self::GENERIC,
            AuthError::Expired { .. } => "the credential has expired",
            AuthError::NotYetValid { .. } => "the credential is not valid yet",
            AuthError::Suspended(_) => "the API key is suspended",
            AuthError::Revoked(_) => "the credential has been revoked",
            AuthError::WrongResource { .. } => "the API key is not valid for this resource",
            AuthError::PermissionDenied { .. } => "the API key does not permit this operation",
            AuthError::StatusUnknown { .. } | AuthError::Internal(_) => {
                "authentication is temporarily unavailable"
            }
        }
    }

    /// The label for metrics.
    pub fn kind(&self) -> AuthFailure {
        match self {
            AuthError::Malformed(_) => AuthFailure::Malformed,
            AuthError::UnknownKey(_) => AuthFailure::UnknownKey,
            AuthError::UnknownSigningKey => AuthFailure::UnknownSigningKey,
            AuthError::BadSecret(_) => AuthFailure::BadSecret,
            AuthError::InvalidSignature => AuthFailure::InvalidSignature,
            AuthError::BadToken(_) => AuthFailure::BadToken,
            AuthError::Expired { .. } => AuthFailure::Expired,
            AuthError::NotYetValid { .. } => AuthFailure::NotYetValid,
            AuthError::Suspended(_) => AuthFailure::Suspended,
            AuthError::Revoked(_) => AuthFailure::Revoked,
            AuthError::WrongResource { .. } => AuthFailure::WrongResource,
            AuthError::PermissionDenied { .. } => AuthFailure::PermissionDenied,
            AuthError::StatusUnknown { .. } => AuthFailure::StatusUnknown,
            AuthError::Internal(_) => AuthFailure::Internal,
        }
    }

    /// Whether an open session authenticated with this credential must be closed: the
    /// credential itself is no longer good (as opposed to a permission or resource mismatch,
    /// which concern one request).
    pub fn ends_sessions(&self) -> bool {
        !matches!(
            self,
            AuthError::PermissionDenied { .. }
                | AuthError::WrongResource { .. }
                | AuthError::StatusUnknown { .. }
                | AuthError::Internal(_)
        )
    }
}

/// Why a [`KeyManager`](crate::KeyManager) operation failed. Nothing was changed, unless the
/// store failed after committing (then the operation happened, and retrying finds it done).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// The request breaks a rule of the model or the policy (a quota or lifetime bound, user
    /// keys forbidden, a state transition that is not allowed).
    #[error(transparent)]
    Rule(#[from] keygate_core::Error),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key material or minting failed.
    #[error(transparent)]
    Token(#[from] keygate_token::Error),
    /// A key was to carry a permission the profile does not know: a typo, or a name the
    /// deployment has not declared ([`Profile::with_permission`](crate::Profile::with_permission)).
    #[error("unknown permission {name}; known: {known}")]
    UnknownPermission {
        /// The name given.
        name: Permission,
        /// The names known, comma-separated.
        known: String,
    },
    /// A key was to be scoped to a resource of a kind that neither keygate nor the deployment
    /// has declared ([`Profile::with_resource_kind`](crate::Profile::with_resource_kind)).
    #[error("unknown resource kind {kind}; known: {known}")]
    UnknownResourceKind {
        /// The kind given.
        kind: String,
        /// The kinds known, comma-separated.
        known: String,
    },
    /// A signing key that live JWT API keys depend on was to be retired.
    #[error("signing key {kid} signs {} live JWT API key(s): {}", keys.len(), list(keys))]
    SigningKeyInUse {
        /// The signing key.
        kid: SigningKeyId,
        /// The keys that would stop working.
        keys: Vec<KeyId>,
    },
    /// A JWT key was requested, and there is no active signing key with a private key to sign it.
    #[error("no active signing key to mint JWT API keys with; create one first")]
    NoSigningKey,
    /// A private signing key was to be sealed or opened, and the manager has no master key.
    #[error(
        "no master key: it seals private signing keys before they reach the store, and opens \
         them to mint; give the one this store's signing keys were sealed with"
    )]
    NoMasterKey,
    /// A sealed signing key did not open: the wrong master key, or damaged bytes.
    #[error("signing key {kid}: {source}")]
    Sealed {
        /// The signing key.
        kid: SigningKeyId,
        /// Why it did not open.
        source: keygate_token::SealError,
    },
    /// Deleting forgets a key, so a key still in force must be revoked (or have expired) first:
    /// every key's end is then on record as a revocation with its reason.
    #[error("key {id} is still {status}; revoke it before deleting it")]
    KeyStillInForce {
        /// The key.
        id: KeyId,
        /// Its status.
        status: keygate_core::KeyStatus,
    },
    /// Another writer changed the key while this operation ran, more than once in a row.
    #[error("key {0} kept changing concurrently; try again")]
    Contended(KeyId),
}

/// Why a [`Replica`](crate::Replica) sync failed. The authenticator keeps its previous state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The store failed; the next sync retries.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store sent something the replica could not apply (a signing key it cannot load, a
    /// revocation delta out of order). The next sync bootstraps from a snapshot.
    #[error("could not apply the store's state: {0}")]
    Apply(String),
    /// A snapshot older than the state it would replace: loading it could un-revoke
    /// credentials revoked since. Nothing changed.
    #[error("a snapshot at {snapshot} is older than the state at {current}")]
    StaleSnapshot {
        /// The snapshot's position.
        snapshot: keygate_store::Seq,
        /// The state's position.
        current: keygate_store::Seq,
    },
}

/// Key ids for a message: the first few, and how many more.
fn list(keys: &[KeyId]) -> String {
    const SHOWN: usize = 10;
    let mut text = keys.iter().take(SHOWN).map(KeyId::to_string).collect::<Vec<_>>().join(", ");
    if keys.len() > SHOWN {
        text.push_str(&format!(" and {} more", keys.len() - SHOWN));
    }
    text
}
