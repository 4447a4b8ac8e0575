//! The audit trail: a typed event for every change the key manager makes.
//!
//! The [`KeyManager`](crate::KeyManager) serialises each event to JSON and hands it to the store
//! with the change, which appends it to its audit log in the same atomic step
//! ([`keygate_store::AuditLog`]): the log never misses a change, and a change whose event cannot
//! be appended does not happen. An [`AuditSink`] gets a copy of each event after its change
//! committed, for an embedder that also ships events elsewhere.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use keygate_core::{
    Description, Expiry, KeyFormat, KeyId, KeyPolicy, Permissions, PrincipalId, PrincipalKind,
    ResourceRef, RoleBinding, Scope, SigningAlgorithm, SigningKeyId, Timestamp,
};
use keygate_revocation::Revocation;
use serde::{Deserialize, Serialize};

/// Who asked for a change: an operator, a service, a scheduled job. Its name is free text of up to
/// 128 bytes without control characters (a [`Description`] underneath), e.g.
/// `user:alice@example.com` or `job:nightly-rotation`, and it says how the caller was known
/// ([`Origin`]): by holding the store (a name anyone holding it may claim), or by an API key the
/// control plane checked. Serialised as its name; the origin goes beside it in an [`AuditEvent`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Description", into = "Description")]
pub struct Actor {
    name: Description,
    origin: Origin,
}

/// How the actor of a change was known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Origin {
    /// Whoever holds the store made the change (the `keygate` command, an embedder's
    /// `KeyManager`): the actor's name is what they said it was. Events written before origins
    /// were recorded read as local.
    #[default]
    Local,
    /// A caller authenticated by an API key: the principal and the key it used.
    ApiKey {
        /// The key's owner.
        principal: PrincipalId,
        /// The key.
        key: KeyId,
    },
}

impl From<Description> for Actor {
    fn from(name: Description) -> Actor {
        Actor { name, origin: Origin::Local }
    }
}

impl From<Actor> for Description {
    fn from(actor: Actor) -> Description {
        actor.name
    }
}

impl Actor {
    /// The longest actor name, in bytes.
    pub const MAX_LEN: usize = 128;

    /// The actor named `name`.
    pub fn new(name: &str) -> Result<Actor, keygate_core::Error> {
        if name.trim().is_empty() {
            return Err(keygate_core::Error::Empty { what: "actor" });
        }
        if name.len() > Self::MAX_LEN {
            return Err(keygate_core::Error::TooLong {
                what: "actor",
                len: name.len(),
                max: Self::MAX_LEN,
            });
        }
        name.parse().map(|name| Actor { name, origin: Origin::Local })
    }

    /// The caller a control plane authenticated with `key`, a key of `principal`: named
    /// `principal`, its origin the key.
    pub fn authenticated(principal: &PrincipalId, key: KeyId) -> Actor {
        Actor {
            // A principal id is a valid actor name: shorter, and printable.
            name: Description::try_from(principal.as_str().to_owned()).unwrap_or_default(),
            origin: Origin::ApiKey { principal: principal.clone(), key },
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.name.as_str()
    }

    /// How the actor was known.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.as_str())
    }
}

/// One audited change. It names the actor, the time and what changed, by ids; it never holds a
/// secret, a token or key material.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// How the actor was known: [`Origin::Local`] for a change made by whoever holds the store.
    #[serde(default)]
    pub origin: Origin,
    /// What.
    pub action: AuditAction,
}

impl AuditEvent {
    /// The principal the event concerns, if any.
    pub fn principal(&self) -> Option<&PrincipalId> {
        match &self.action {
            AuditAction::PrincipalCreated { id, .. }
            | AuditAction::PrincipalUpdated { id }
            | AuditAction::PrincipalDeleted { id, .. } => Some(id),
            AuditAction::KeyCreated { owner, .. } | AuditAction::KeyRotated { owner, .. } => {
                Some(owner)
            }
            AuditAction::CredentialRevoked {
                revocation: Revocation::Principal { principal, .. },
            } => Some(principal),
            AuditAction::RoleBound { binding } | AuditAction::RoleUnbound { binding } => {
                Some(&binding.principal)
            }
            _ => None,
        }
    }

    /// The keys the event concerns.
    pub fn keys(&self) -> Vec<KeyId> {
        match &self.action {
            AuditAction::KeyCreated { id, .. }
            | AuditAction::KeyDescriptionUpdated { id }
            | AuditAction::KeySuspended { id }
            | AuditAction::KeyResumed { id }
            | AuditAction::KeyRevoked { id, .. }
            | AuditAction::KeyDeleted { id } => vec![*id],
            AuditAction::KeyRotated { old, new, .. } => vec![*old, *new],
            AuditAction::PrincipalDeleted { keys, .. }
            | AuditAction::ResourceDeleted { keys, .. } => keys.clone(),
            _ => Vec::new(),
        }
    }
}

/// What an audited change did. Serialised tagged by `action`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // The fields are the ids and values each action names.
pub enum AuditAction {
    PrincipalCreated {
        id: PrincipalId,
        kind: PrincipalKind,
    },
    /// A principal's display name or description replaced.
    PrincipalUpdated {
        id: PrincipalId,
    },
    /// A principal and, with it, every key it owned.
    PrincipalDeleted {
        id: PrincipalId,
        keys_deleted: usize,
        keys: Vec<KeyId>,
    },
    KeyCreated {
        id: KeyId,
        owner: PrincipalId,
        scope: Scope,
        permissions: Permissions,
        format: KeyFormat,
        expires: Expiry,
    },
    KeyDescriptionUpdated {
        id: KeyId,
    },
    KeySuspended {
        id: KeyId,
    },
    KeyResumed {
        id: KeyId,
    },
    KeyRevoked {
        id: KeyId,
        reason: Description,
    },
    KeyDeleted {
        id: KeyId,
    },
    /// A rotation: `new` replaces `old`, which now expires at `old_expires`.
    KeyRotated {
        old: KeyId,
        new: KeyId,
        owner: PrincipalId,
        old_expires: Expiry,
    },
    /// A credential without a key record revoked (a token minted elsewhere, a principal
    /// watermark, a signing key).
    CredentialRevoked {
        revocation: Revocation,
    },
    SigningKeyCreated {
        kid: SigningKeyId,
        algorithm: SigningAlgorithm,
    },
    SigningKeyPromoted {
        kid: SigningKeyId,
    },
    SigningKeyRetired {
        kid: SigningKeyId,
    },
    /// The store's policy replaced.
    PolicyChanged {
        policy: KeyPolicy,
    },
    /// A resource deleted: `keys`, scoped to it or to its parts, revoked, and no new key for
    /// it until it is restored.
    ResourceDeleted {
        resource: ResourceRef,
        keys: Vec<KeyId>,
    },
    /// A deleted resource restored: it may have keys again.
    ResourceRestored {
        resource: ResourceRef,
    },
    /// A principal bound to a role.
    RoleBound {
        binding: RoleBinding,
    },
    /// A role binding removed.
    RoleUnbound {
        binding: RoleBinding,
    },
}

impl AuditAction {
    /// Every action's name, as events serialise it and the audit log files it.
    pub const NAMES: &'static [&'static str] = &[
        "principal_created",
        "principal_updated",
        "principal_deleted",
        "key_created",
        "key_description_updated",
        "key_suspended",
        "key_resumed",
        "key_revoked",
        "key_deleted",
        "key_rotated",
        "credential_revoked",
        "signing_key_created",
        "signing_key_promoted",
        "signing_key_retired",
        "policy_changed",
        "resource_deleted",
        "resource_restored",
        "role_bound",
        "role_unbound",
    ];

    /// Its name, as the event's `action` tag spells it.
    pub fn name(&self) -> &'static str {
        match self {
            AuditAction::PrincipalCreated { .. } => "principal_created",
            AuditAction::PrincipalUpdated { .. } => "principal_updated",
            AuditAction::PrincipalDeleted { .. } => "principal_deleted",
            AuditAction::KeyCreated { .. } => "key_created",
            AuditAction::KeyDescriptionUpdated { .. } => "key_description_updated",
            AuditAction::KeySuspended { .. } => "key_suspended",
            AuditAction::KeyResumed { .. } => "key_resumed",
            AuditAction::KeyRevoked { .. } => "key_revoked",
            AuditAction::KeyDeleted { .. } => "key_deleted",
            AuditAction::KeyRotated { .. } => "key_rotated",
            AuditAction::CredentialRevoked { .. } => "credential_revoked",
            AuditAction::SigningKeyCreated { .. } => "signing_key_created",
            AuditAction::SigningKeyPromoted { .. } => "signing_key_promoted",
            AuditAction::SigningKeyRetired { .. } => "signing_key_retired",
            AuditAction::PolicyChanged { .. } => "policy_changed",
            AuditAction::ResourceDeleted { .. } => "resource_deleted",
            AuditAction::ResourceRestored { .. } => "resource_restored",
            AuditAction::RoleBound { .. } => "role_bound",
            AuditAction::RoleUnbound { .. } => "role_unbound",
        }
    }
}

/// Where copies of audit events go once their changes committed (the store's own log already
/// holds them). The change has happened, so a sink handles its own errors: retrying, buffering,
/// or at worst reporting them to its operator.
#[async_trait]
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Records one event.
    async fn record(&self, event: &AuditEvent);
}

/// A sink that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudit;

#[async_trait]
impl AuditSink for NoAudit {
    async fn record(&self, _event: &AuditEvent) {}
}

/// A sink that keeps every event in memory, in order; for tests and for short-lived tools that
/// persist the events themselves.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAudit {
    /// An empty log.
    pub fn new() -> MemoryAudit {
        MemoryAudit::default()
    }

    /// Every event recorded so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Removes and returns every event recorded so far.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl AuditSink for MemoryAudit {
    async fn record(&self, event: &AuditEvent) {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).push(event.clone());
    }
}

#[async_trait]
impl<S: AuditSink + ?Sized> AuditSink for std::sync::Arc<S> {
    async fn record(&self, event: &AuditEvent) {
        (**self).record(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_bounded_printable_text() {
        assert_eq!(
            Actor::new("user:alice@example.com").unwrap().as_str(),
            "user:alice@example.com"
        );
        assert!(Actor::new("").is_err());
        assert!(Actor::new("  ").is_err());
        assert!(Actor::new("a\nb").is_err());
        assert!(Actor::new(&"x".repeat(129)).is_err());
    }

    #[test]
    fn action_names_are_the_serialised_tags() {
        let event = AuditEvent {
            at: Timestamp::from_unix(5).unwrap(),
            actor: Actor::new("job:x").unwrap(),
            origin: Origin::Local,
            action: AuditAction::PrincipalUpdated { id: "svc".parse().unwrap() },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["action"]["action"], event.action.name());
        assert!(AuditAction::NAMES.contains(&event.action.name()));
        assert!(AuditAction::NAMES.iter().all(|name| keygate_store::is_action_name(name)));
    }

    #[test]
    fn events_serialise_tagged_and_name_their_keys() {
        let event = AuditEvent {
            at: Timestamp::from_unix(5).unwrap(),
            actor: Actor::new("job:rotate").unwrap(),
            origin: Origin::Local,
            action: AuditAction::KeyRotated {
                old: KeyId::from_bytes([1; 10]),
                new: KeyId::from_bytes([2; 10]),
                owner: "svc".parse().unwrap(),
                old_expires: Expiry::Never,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["action"]["action"], "key_rotated");
        assert_eq!(json["actor"], "job:rotate");
        assert_eq!(serde_json::from_value::<AuditEvent>(json).unwrap(), event);
        assert_eq!(event.keys().len(), 2);
        assert_eq!(event.principal().map(PrincipalId::as_str), Some("svc"));
        // An event written before origins were recorded reads as local.
        let mut old = serde_json::to_value(&event).unwrap();
        old.as_object_mut().unwrap().remove("origin");
        assert_eq!(serde_json::from_value::<AuditEvent>(old).unwrap().origin, Origin::Local);
    }

    #[test]
    fn an_authenticated_actor_names_its_principal_and_key() {
        let key = KeyId::from_bytes([3; 10]);
        let actor = Actor::authenticated(&"ops-bot".parse().unwrap(), key);
        assert_eq!(actor.as_str(), "ops-bot");
        assert_eq!(actor.origin(), &Origin::ApiKey { principal: "ops-bot".parse().unwrap(), key });
    }
}
