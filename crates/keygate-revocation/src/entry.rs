//! What can be revoked, and what a check is told about a credential.

use std::fmt;

use keygate_core::{Expiry, KeyId, PrincipalId, SigningKeyId, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// The longest `jti` a [`Revocation::Jti`] may hold, in bytes.
pub const MAX_JTI_LEN: usize = 256;

/// One revocation, and the expiry of what it revokes.
///
/// `expires` is when the revoked credential would have expired anyway: once that has passed
/// (plus the pruning leeway), the entry can go, because the credential fails on its expiry alone.
/// `Expiry::Never` entries stay until the list is rebuilt.
///
/// Serialised as an object tagged by `by`: `{"by":"key","id":"…","expires":…}` and so on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Revocation {
    /// A keygate key by its id: an opaque key, or a JWT whose `jti` is the key id.
    Key {
        /// The key id.
        id: KeyId,
        /// When the key expires.
        expires: Expiry,
    },
    /// A token by its `jti`, when that is not a keygate key id (tokens minted elsewhere).
    Jti {
        /// The `jti`, 1 to 256 bytes.
        jti: String,
        /// When the token expires.
        expires: Expiry,
    },
    /// A token by the SHA-256 of its whole text: for tokens that carry no `jti`, such as the
    /// ones `pulsar tokens create` makes.
    Token {
        /// SHA-256 of the token text.
        digest: TokenDigest,
        /// When the token expires.
        expires: Expiry,
    },
    /// Every credential of `principal` issued before `before`, and every credential of it that
    /// carries no issue time: what deleting an account or "sign out everywhere" needs.
    Principal {
        /// The principal.
        principal: PrincipalId,
        /// The watermark: credentials issued at or after it are not affected.
        before: Timestamp,
        /// When the last credential it affects expires; `Never` if unknown.
        expires: Expiry,
    },
    /// Every token signed by the signing key `kid`: a compromised or withdrawn signing key.
    SigningKey {
        /// The signing key's id.
        kid: SigningKeyId,
        /// When the last token it signed expires; `Never` if unknown.
        expires: Expiry,
    },
}

impl Revocation {
    /// Revokes a token by its `jti`. A `jti` that is a keygate key id becomes
    /// [`Revocation::Key`], so it matches however the credential is presented.
    pub fn jti(jti: &str, expires: Expiry) -> Result<Revocation, Error> {
        if let Ok(id) = KeyId::parse_canonical(jti.as_bytes()) {
            return Ok(Revocation::Key { id, expires });
        }
        if jti.is_empty() || jti.len() > MAX_JTI_LEN {
            return Err(Error::InvalidEntry("a jti is 1 to 256 bytes"));
        }
        Ok(Revocation::Jti { jti: jti.to_owned(), expires })
    }

    /// When the revoked credential expires.
    pub fn expires(&self) -> Expiry {
        match self {
            Revocation::Key { expires, .. }
            | Revocation::Jti { expires, .. }
            | Revocation::Token { expires, .. }
            | Revocation::Principal { expires, .. }
            | Revocation::SigningKey { expires, .. } => *expires,
        }
    }

    /// Checks an entry that arrived from outside (a deserialised delta or snapshot).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        match self {
            Revocation::Jti { jti, .. } if jti.is_empty() || jti.len() > MAX_JTI_LEN => {
                Err(Error::InvalidEntry("a jti is 1 to 256 bytes"))
            }
            _ => Ok(()),
        }
    }
}

/// SHA-256 of a token's text. It prints and serialises as 64 lowercase hex digits.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({self})")
    }
}

impl fmt::Display for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl Serialize for TokenDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TokenDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TokenDigest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(serde::de::Error::custom("a token digest is 64 hex digits"));
        }
        let mut digest = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let pair = std::str::from_utf8(pair).map_err(serde::de::Error::custom)?;
            digest[i] = u8::from_str_radix(pair, 16)
                .ok()
                .filter(|_| pair.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                .ok_or_else(|| serde::de::Error::custom("a token digest is lowercase hex"))?;
        }
        Ok(TokenDigest(digest))
    }
}

/// Why a credential is revoked: the operator-facing reason a check returns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// Its key id is revoked.
    #[error("key {0} is revoked")]
    Key(KeyId),
    /// Its `jti` is revoked.
    #[error("the token's jti is revoked")]
    Jti,
    /// The token itself is revoked, by digest.
    #[error("the token is revoked")]
    Token,
    /// Its principal's credentials issued before a watermark are revoked.
    #[error("credentials of this principal issued before {before} are revoked")]
    Principal {
        /// The watermark.
        before: Timestamp,
    },
    /// Its signing key is revoked.
    #[error("tokens signed by this signing key are revoked")]
    SigningKey,
}

/// What a check is told about a credential. Every field is optional: a check looks for
/// revocations of whatever it is given.
///
/// ```
/// use keygate_core::KeyId;
/// use keygate_revocation::CredentialFacts;
///
/// let id = KeyId::from_bytes([7; 10]);
/// let facts = CredentialFacts::new().with_key_id(id).with_principal("orders-service");
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct CredentialFacts<'a> {
    /// The keygate key id: an opaque key's id, or a JWT `jti` that is one.
    pub key_id: Option<KeyId>,
    /// A `jti` that is not a keygate key id.
    pub jti: Option<&'a str>,
    /// SHA-256 of the token text. Computing it costs a hash of the whole token, so pass it only
    /// when [`RevocationSet::has_token_digests`](crate::RevocationSet::has_token_digests) says
    /// there is anything to match.
    pub token_digest: Option<&'a [u8; 32]>,
    /// The principal the credential authenticates.
    pub principal: Option<&'a str>,
    /// When the credential was issued (`iat`, or the key's creation).
    pub issued_at: Option<Timestamp>,
    /// The `kid` of the key that signed a token.
    pub kid: Option<&'a str>,
}

impl<'a> CredentialFacts<'a> {
    /// No facts yet.
    pub fn new() -> CredentialFacts<'a> {
        CredentialFacts::default()
    }

    /// Sets the key id.
    pub fn with_key_id(mut self, key_id: KeyId) -> CredentialFacts<'a> {
        self.key_id = Some(key_id);
        self
    }

    /// Sets the `jti`; one that is a keygate key id is checked as a key id.
    pub fn with_jti(mut self, jti: &'a str) -> CredentialFacts<'a> {
        match KeyId::parse_canonical(jti.as_bytes()) {
            Ok(id) => self.key_id = Some(id),
            Err(_) => self.jti = Some(jti),
        }
        self
    }

    /// Sets the token digest.
    pub fn with_token_digest(mut self, digest: &'a [u8; 32]) -> CredentialFacts<'a> {
        self.token_digest = Some(digest);
        self
    }

    /// Sets the principal.
    pub fn with_principal(mut self, principal: &'a str) -> CredentialFacts<'a> {
        self.principal = Some(principal);
        self
    }

    /// Sets the issue time.
    pub fn with_issued_at(mut self, issued_at: Timestamp) -> CredentialFacts<'a> {
        self.issued_at = Some(issued_at);
        self
    }

    /// Sets the signing key's `kid`.
    pub fn with_kid(mut self, kid: &'a str) -> CredentialFacts<'a> {
        self.kid = Some(kid);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_that_is_a_key_id_becomes_a_key_revocation() {
        let id = KeyId::from_bytes([1; 10]);
        assert_eq!(
            Revocation::jti(&id.to_string(), Expiry::Never).unwrap(),
            Revocation::Key { id, expires: Expiry::Never }
        );
        assert!(matches!(
            Revocation::jti("custom-jti", Expiry::Never).unwrap(),
            Revocation::Jti { .. }
        ));
        assert!(Revocation::jti("", Expiry::Never).is_err());
        assert!(Revocation::jti(&"x".repeat(257), Expiry::Never).is_err());
        assert_eq!(CredentialFacts::new().with_jti(&id.to_string()).key_id, Some(id));
    }

    #[test]
    fn entries_serialise_tagged() {
        let entry = Revocation::Token { digest: TokenDigest([0xab; 32]), expires: Expiry::Never };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["by"], "token");
        assert_eq!(json["digest"], "ab".repeat(32));
        assert_eq!(serde_json::from_value::<Revocation>(json).unwrap(), entry);
        let bad = serde_json::json!({"by": "token", "digest": "AB".repeat(32), "expires": null});
        assert!(serde_json::from_value::<Revocation>(bad).is_err());
        let bad = serde_json::json!({"by": "token", "digest": "+b".repeat(32), "expires": null});
        assert!(serde_json::from_value::<Revocation>(bad).is_err());
    }
}
