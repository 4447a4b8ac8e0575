//! The claims of a JWT API key.

use std::borrow::Cow;

use keygate_core::{KeyId, Permissions, Scope, Timestamp};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// keygate's claim for the key's [`Scope`], as its text: `global`, `cloud` or `kind/id`.
pub const SCOPE_CLAIM: &str = "kg_scope";

/// keygate's claim for the key's [`Permissions`] restriction: a list of permission names.
/// Absent means unrestricted; an empty list permits nothing.
pub const PERMISSIONS_CLAIM: &str = "kg_permissions";

/// The `typ` header of keygate API-key tokens. It separates them from other JWTs signed by the
/// same key (RFC 8725 §3.11).
pub const API_KEY_TOKEN_TYPE: &str = "kg+jwt";

/// The claims keygate mints and reads.
///
/// | claim | field | meaning |
/// |---|---|---|
/// | `sub` (or the configured subject claim) | `subject` | the principal: Pulsar's role, Kafka's principal name |
/// | `jti` | `jwt_id` | the key id: the handle for revocation |
/// | `iat` | `issued_at` | when it was minted |
/// | `nbf` | `not_before` | when it becomes valid |
/// | `exp` | `expires` | when it stops being valid; absent means never, as in Pulsar tokens |
/// | `iss` | `issuer` | who minted it |
/// | `aud` | `audience` | the resource it is for: one string or a list |
/// | `kg_scope` | `scope` | keygate's scope |
/// | `kg_permissions` | `permissions` | keygate's permission restriction |
///
/// Strings borrow from the decoded token where they can (`Claims<'a>`); minting uses
/// `Claims<'static>` built with [`Claims::new`] and the `with_*` setters. Holding a `Claims`
/// proves nothing: only [`VerifiedToken`](crate::VerifiedToken) comes out of a signature check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claims<'a> {
    /// The principal.
    pub subject: Option<Cow<'a, str>>,
    /// The token's id; for keygate API keys, the key id.
    pub jwt_id: Option<Cow<'a, str>>,
    /// When it was minted.
    pub issued_at: Option<Timestamp>,
    /// When it becomes valid.
    pub not_before: Option<Timestamp>,
    /// When it stops being valid.
    pub expires: Option<Timestamp>,
    /// Who minted it.
    pub issuer: Option<Cow<'a, str>>,
    /// Whom it is for.
    pub audience: Audience<'a>,
    /// keygate's scope claim.
    pub scope: Option<Cow<'a, Scope>>,
    /// keygate's permission claim.
    pub permissions: Option<Cow<'a, Permissions>>,
}

/// The `aud` claim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Audience<'a> {
    /// No `aud` claim.
    #[default]
    None,
    /// One audience, as a string.
    One(Cow<'a, str>),
    /// A list of audiences.
    Many(Vec<Cow<'a, str>>),
}

impl<'a> Audience<'a> {
    /// Whether the claim is present.
    pub fn is_present(&self) -> bool {
        !matches!(self, Audience::None)
    }

    /// Whether it names `audience`.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::None => false,
            Audience::One(one) => one == audience,
            Audience::Many(all) => all.iter().any(|one| one == audience),
        }
    }

    /// Every audience named.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Audience::None => (None, &[][..]),
            Audience::One(one) => (Some(one.as_ref()), &[][..]),
            Audience::Many(all) => (None, all.as_slice()),
        };
        one.into_iter().chain(many.iter().map(AsRef::as_ref))
    }

    fn into_owned(self) -> Audience<'static> {
        match self {
            Audience::None => Audience::None,
            Audience::One(one) => Audience::One(Cow::Owned(one.into_owned())),
            Audience::Many(all) => {
                Audience::Many(all.into_iter().map(|a| Cow::Owned(a.into_owned())).collect())
            }
        }
    }
}

impl Claims<'static> {
    /// Claims for `subject`, with nothing else set.
    pub fn new(subject: impl Into<String>) -> Claims<'static> {
        Claims { subject: Some(Cow::Owned(subject.into())), ..Claims::default() }
    }

    /// Sets `jti`.
    pub fn with_jwt_id(mut self, jti: impl Into<String>) -> Claims<'static> {
        self.jwt_id = Some(Cow::Owned(jti.into()));
        self
    }

    /// Sets `iat`.
    pub fn with_issued_at(mut self, at: Timestamp) -> Claims<'static> {
        self.issued_at = Some(at);
        self
    }

    /// Sets `nbf`.
    pub fn with_not_before(mut self, at: Timestamp) -> Claims<'static> {
        self.not_before = Some(at);
        self
    }

    /// Sets `exp`; `None` mints a token that never expires.
    pub fn with_expires(mut self, at: Option<Timestamp>) -> Claims<'static> {
        self.expires = at;
        self
    }

    /// Sets `iss`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Claims<'static> {
        self.issuer = Some(Cow::Owned(issuer.into()));
        self
    }

    /// Adds an audience: the first makes `aud` a string, more make it a list.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Claims<'static> {
        let audience = Cow::Owned(audience.into());
        self.audience = match self.audience {
            Audience::None => Audience::One(audience),
            Audience::One(first) => Audience::Many(vec![first, audience]),
            Audience::Many(mut all) => {
                all.push(audience);
                Audience::Many(all)
            }
        };
        self
    }

    /// Sets keygate's scope claim.
    pub fn with_scope(mut self, scope: Scope) -> Claims<'static> {
        self.scope = Some(Cow::Owned(scope));
        self
    }

    /// Sets keygate's permission claim (omitted when unrestricted).
    pub fn with_permissions(mut self, permissions: Permissions) -> Claims<'static> {
        self.permissions = match permissions {
            Permissions::Unrestricted => None,
            restricted => Some(Cow::Owned(restricted)),
        };
        self
    }
}

impl<'a> Claims<'a> {
    /// The subject, if present.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The `jti`, if present.
    pub fn jwt_id(&self) -> Option<&str> {
        self.jwt_id.as_deref()
    }

    /// The `jti` read as a keygate key id, if it is one.
    pub fn key_id(&self) -> Option<KeyId> {
        self.jwt_id.as_deref().and_then(|jti| KeyId::parse_canonical(jti.as_bytes()).ok())
    }

    /// The scope claim, if present.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_deref()
    }

    /// The permission claim: unrestricted when absent.
    pub fn permissions(&self) -> &Permissions {
        const UNRESTRICTED: &Permissions = &Permissions::Unrestricted;
        self.permissions.as_deref().unwrap_or(UNRESTRICTED)
    }

    /// Claims that own all their data.
    pub fn into_owned(self) -> Claims<'static> {
        let owned = |text: Option<Cow<'a, str>>| text.map(|text| Cow::Owned(text.into_owned()));
        Claims {
            subject: owned(self.subject),
            jwt_id: owned(self.jwt_id),
            issued_at: self.issued_at,
            not_before: self.not_before,
            expires: self.expires,
            issuer: owned(self.issuer),
            audience: self.audience.into_owned(),
            scope: self.scope.map(|scope| Cow::Owned(scope.into_owned())),
            permissions: self.permissions.map(|permissions| Cow::Owned(permissions.into_owned())),
        }
    }
}

impl Serialize for Claims<'_> {
    /// Members in a fixed order (`sub`, `jti`, `iat`, `nbf`, `exp`, `iss`, `aud`, `kg_scope`,
    /// `kg_permissions`), absent ones left out, so minted tokens are byte-stable.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(subject) = &self.subject {
            map.serialize_entry("sub", subject)?;
        }
        if let Some(jti) = &self.jwt_id {
            map.serialize_entry("jti", jti)?;
        }
        for (name, at) in [("iat", self.issued_at), ("nbf", self.not_before), ("exp", self.expires)]
        {
            if let Some(at) = at {
                map.serialize_entry(name, &at.unix())?;
            }
        }
        if let Some(issuer) = &self.issuer {
            map.serialize_entry("iss", issuer)?;
        }
        match &self.audience {
            Audience::None => {}
            Audience::One(one) => map.serialize_entry("aud", one)?,
            Audience::Many(all) => map.serialize_entry("aud", all)?,
        }
        if let Some(scope) = &self.scope {
            map.serialize_entry(SCOPE_CLAIM, &scope.to_string())?;
        }
        if let Some(permissions) = &self.permissions {
            map.serialize_entry(PERMISSIONS_CLAIM, &PermissionList(permissions))?;
        }
        map.end()
    }
}

struct PermissionList<'p>(&'p Permissions);

impl Serialize for PermissionList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        if let Permissions::Only(set) = self.0 {
            for permission in set {
                seq.serialize_element(permission.as_str())?;
            }
        }
        seq.end()
    }
}
