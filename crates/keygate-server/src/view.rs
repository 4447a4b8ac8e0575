//! What the API answers with: principals, keys, signing keys, bindings, events, as JSON in the
//! vocabulary the `keygate` command prints with `--output json`. Instants are RFC 3339 text in
//! UTC; an expiry of `null` is never.

use keygate::core::{
    KeyPolicy, KeyRecord, KeyState, Principal, PrincipalKind, RoleBinding, Timestamp,
};
use keygate::store::{AuditEntry, KeyUse, SigningKeyRecord, VerificationMaterial};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A service account or a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrincipalView {
    /// Its name, unique among principals.
    pub name: String,
    /// `service_account` or `user`.
    pub kind: String,
    /// Its human-readable name.
    pub display_name: String,
    /// A note.
    pub description: String,
    /// When it was created.
    pub created_at: String,
}

impl From<&Principal> for PrincipalView {
    fn from(principal: &Principal) -> PrincipalView {
        PrincipalView {
            name: principal.id.to_string(),
            kind: principal.kind.to_string(),
            display_name: principal.display_name.to_string(),
            description: principal.description.to_string(),
            created_at: principal.created_at.to_string(),
        }
    }
}

/// An API key: everything but its secret, which is shown once, when it is made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    /// Its id: the SASL/PLAIN username, the JWT's `jti`.
    pub key_id: String,
    /// The name a tool gave it, unique among its owner's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The principal that owns it.
    pub owner: String,
    /// Where it is valid: `KIND/ID` (one resource), `cloud` (this API) or `global`.
    pub scope: String,
    /// What it may do; `null` for everything its owner may.
    pub permissions: Option<Vec<String>>,
    /// `opaque` or `jwt`.
    pub format: String,
    /// Now: `active`, `pending`, `expired`, `suspended` or `revoked`; or, for a JWT key that
    /// would be active but whose signing key was retired, `unusable (signing key KID retired)`.
    pub status: String,
    /// A note.
    pub description: String,
    /// When it was made.
    pub created_at: String,
    /// When it becomes valid.
    pub not_before: String,
    /// When it expires; `null` for never.
    pub expires: Option<String>,
    /// The key it replaced in a rotation.
    pub replaces: Option<String>,
    /// The key that replaced it in a rotation.
    #[serde(default)]
    pub replaced_by: Option<String>,
    /// When it was last authenticated, to the minute; `null` if never, or not reported yet.
    #[serde(default)]
    pub last_used: Option<String>,
    /// Where it was last authenticated, if the server said.
    #[serde(default)]
    pub last_used_on: Option<String>,
    /// When it was suspended, while it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_at: Option<String>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Why it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
}

impl KeyView {
    /// `key` as it stands at `now`, with its last use if known.
    pub fn new(key: &KeyRecord, now: Timestamp, last_used: Option<&KeyUse>) -> KeyView {
        let (mut suspended_at, mut revoked_at, mut revoked_reason) = (None, None, None);
        match key.state() {
            KeyState::Suspended { at } => suspended_at = Some(at.to_string()),
            KeyState::Revoked { at, reason } => {
                revoked_at = Some(at.to_string());
                revoked_reason = Some(reason.to_string());
            }
            _ => {}
        }
        KeyView {
            key_id: key.id().to_string(),
            name: key.name().map(ToString::to_string),
            owner: key.owner().to_string(),
            scope: key.scope().to_string(),
            permissions: match key.permissions() {
                keygate::core::Permissions::Unrestricted => None,
                keygate::core::Permissions::Only(names) => {
                    Some(names.iter().map(|p| p.as_str().to_owned()).collect())
                }
            },
            format: key.format().to_string(),
            status: key.status_at(now).to_string(),
            description: key.description().to_string(),
            created_at: key.created_at().to_string(),
            not_before: key.not_before().to_string(),
            expires: key.expires().at().map(|at| at.to_string()),
            replaces: key.replaces().map(|id| id.to_string()),
            replaced_by: key.replaced_by().map(|id| id.to_string()),
            last_used: last_used.map(|used| used.at.to_string()),
            last_used_on: last_used
                .and_then(|used| used.resource.as_ref())
                .map(ToString::to_string),
            suspended_at,
            revoked_at,
            revoked_reason,
        }
    }

    /// The view without what changes by itself (its last use), for an entity tag.
    pub(crate) fn versioned(&self) -> KeyView {
        KeyView { last_used: None, last_used_on: None, ..self.clone() }
    }
}

/// What views of keys show beside each record: their last uses, and which signing keys
/// remain (a JWT key whose signing key was retired can no longer be verified). Loaded for the
/// keys of one answer: their uses only, and the signing keys.
#[derive(Debug)]
pub struct KeyContext {
    now: Timestamp,
    signing_keys: std::collections::HashSet<keygate::core::SigningKeyId>,
    uses: std::collections::HashMap<keygate::core::KeyId, KeyUse>,
}

impl KeyContext {
    /// The context of `keys` at `now`, read from `manager`'s store.
    pub async fn load(
        manager: &keygate::KeyManager,
        keys: &[KeyRecord],
        now: Timestamp,
    ) -> Result<KeyContext, keygate::ManagerError> {
        let ids: Vec<_> = keys.iter().map(KeyRecord::id).collect();
        let uses = manager.store().key_uses_of(&ids).await?;
        let signing_keys = if keys.iter().any(|key| key.signing_key().is_some()) {
            manager.signing_keys().await?.into_iter().map(|key| key.kid).collect()
        } else {
            Default::default()
        };
        Ok(KeyContext {
            now,
            signing_keys,
            uses: uses.into_iter().map(|used| (used.key, used)).collect(),
        })
    }

    /// The view of `key`.
    pub fn view(&self, key: &KeyRecord) -> KeyView {
        let mut view = KeyView::new(key, self.now, self.uses.get(&key.id()));
        if let Some(kid) = key.signing_key()
            && key.is_usable_at(self.now)
            && !self.signing_keys.contains(kid)
        {
            view.status = format!("unusable (signing key {kid} retired)");
        }
        view
    }

    /// When `key` was last used, if it was.
    pub fn last_use(&self, key: &KeyRecord) -> Option<&KeyUse> {
        self.uses.get(&key.id())
    }
}

/// A key just made or rotated in, with its secret: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuedKeyView {
    /// The key.
    #[serde(flatten)]
    pub key: KeyView,
    /// The secret: the `kgk_…` API key, or the JWT. Save it now; it cannot be shown again.
    pub secret: String,
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RotationView {
    /// The old key, now expiring at the end of the overlap.
    pub old: KeyView,
    /// The replacement, with its secret.
    pub new: IssuedKeyView,
}

/// A signing key of JWT API keys: its id, algorithm and status, never its material.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SigningKeyView {
    /// Its key id, the JWT header's `kid`.
    pub kid: String,
    /// The one algorithm it signs with.
    pub algorithm: String,
    /// `active` (signs new tokens), `verifying` (only verifies) or `retired`.
    pub status: String,
    /// When it was made.
    pub created_at: String,
    /// Whether its secret verifies too (an HMAC key), so outside verifiers cannot have it.
    pub shared_secret: bool,
}

impl From<&SigningKeyRecord> for SigningKeyView {
    fn from(key: &SigningKeyRecord) -> SigningKeyView {
        SigningKeyView {
            kid: key.kid.to_string(),
            algorithm: key.algorithm.to_string(),
            status: serde_json::to_value(key.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            created_at: key.created_at.to_string(),
            shared_secret: matches!(
                key.verification,
                VerificationMaterial::SharedSecret(_) | VerificationMaterial::SealedSecret(_)
            ),
        }
    }
}

/// A principal bound to a role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleBindingView {
    /// Who has the role.
    pub principal: String,
    /// `OrganizationAdmin`, `ServiceAccountOwner` or `Viewer`.
    pub role: String,
    /// For a `ServiceAccountOwner`, the service account it owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// When it was bound.
    pub created_at: String,
}

impl From<&RoleBinding> for RoleBindingView {
    fn from(binding: &RoleBinding) -> RoleBindingView {
        RoleBindingView {
            principal: binding.principal.to_string(),
            role: binding.role.name().to_owned(),
            service_account: binding.role.target().map(ToString::to_string),
            created_at: binding.created_at.to_string(),
        }
    }
}

/// One entry of the audit log: the event as recorded, instants in RFC 3339, and its position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEventView {
    /// Its position in the log; later entries have higher ones.
    pub position: u64,
    /// When.
    pub at: String,
    /// Who: the calling principal for a change made through the API, else the name the local
    /// `keygate` command was given (`--actor`).
    pub actor: String,
    /// How the actor was known: `{"kind": "api_key", "principal": …, "key": …}` for a change
    /// made through the API, `{"kind": "local"}` for one made with the store in hand.
    #[schema(value_type = Object)]
    pub origin: serde_json::Value,
    /// What: `{"action": "key_created", …}`, with the ids and values the action names.
    #[schema(value_type = Object)]
    pub action: serde_json::Value,
}

impl AuditEventView {
    /// The view of `entry`, whose event is keygate's own.
    pub fn new(entry: &AuditEntry) -> AuditEventView {
        let event: serde_json::Value =
            serde_json::from_str(&entry.record.event).unwrap_or(serde_json::Value::Null);
        let origin = match &event["origin"] {
            origin @ serde_json::Value::Object(_) => origin.clone(),
            // Events written before origins were recorded were local.
            _ => serde_json::json!({ "kind": "local" }),
        };
        AuditEventView {
            position: entry.position,
            at: entry.record.at.to_string(),
            actor: event["actor"].as_str().unwrap_or_default().to_owned(),
            origin,
            action: with_rfc3339_times(event["action"].clone()),
        }
    }
}

/// The policy every writer over the store enforces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyView {
    /// `store` when the store holds a policy, `default` while it holds none and the built-in
    /// one applies. Read only: a `PUT` may send it back, and it is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Keys a principal may hold at once (live ones: not expired, not revoked).
    pub max_keys_per_principal: u32,
    /// Keys one resource may have at once; `null` for no limit.
    #[serde(default)]
    pub max_keys_per_resource: Option<u32>,
    /// Whether users (not only service accounts) may own keys.
    pub allow_user_keys: bool,
    /// The shortest lifetime of a key, a span such as `1h`.
    pub min_lifetime: String,
    /// The longest lifetime of a key, a span such as `90d`; `null` for no bound.
    #[serde(default)]
    pub max_lifetime: Option<String>,
    /// Whether a key may never expire.
    pub allow_never: bool,
    /// How long an old key keeps working after a rotation, by default.
    pub default_rotation_overlap: String,
    /// How old a key may get before it is due for rotation; `null` for never due.
    #[serde(default)]
    pub rotation_period: Option<String>,
}

impl From<&KeyPolicy> for PolicyView {
    fn from(policy: &KeyPolicy) -> PolicyView {
        PolicyView {
            source: None,
            max_keys_per_principal: policy.max_keys_per_principal,
            max_keys_per_resource: policy.max_keys_per_resource,
            allow_user_keys: policy.allow_user_keys,
            min_lifetime: policy.expiry.min_lifetime.to_string(),
            max_lifetime: policy.expiry.max_lifetime.map(|span| span.to_string()),
            allow_never: policy.expiry.allow_never,
            default_rotation_overlap: policy.default_rotation_overlap.to_string(),
            rotation_period: policy.rotation_period.map(|span| span.to_string()),
        }
    }
}

/// A resource keys are scoped to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResourceView {
    /// `KIND/ID`.
    pub resource: String,
    /// Live keys scoped to it (those that count toward its quota: not expired, not revoked).
    pub live_keys: usize,
    /// When it was deleted, if it was; no key is made for it until it is restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}

/// The kind of a principal, as a path names it.
pub(crate) fn kind_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "user",
        _ => "service account",
    }
}

/// `value` with every instant, which events serialise as Unix seconds, as RFC 3339 text: the
/// fields named `at`, `before`, `expires` and `old_expires`, at any depth.
pub fn with_rfc3339_times(mut value: serde_json::Value) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(fields) => {
                for (name, field) in fields.iter_mut() {
                    let instant =
                        matches!(name.as_str(), "at" | "before" | "expires" | "old_expires");
                    match field.as_i64().and_then(|unix| Timestamp::from_unix(unix).ok()) {
                        Some(at) if instant => *field = serde_json::Value::String(at.to_string()),
                        _ => walk(field),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}
