//! Tokens revoked as they are presented: a keygate JWT API key as its key, anything else by its
//! `jti` or its digest.

use keygate_core::{Clock, Description, Expiry, KeyId, ResourceRef, Timestamp};
use keygate_revocation::{Revocation, TokenDigest};
use keygate_token::dangerous::peek_unverified;
use keygate_token::token_digest;

use crate::audit::Actor;
use crate::{AuthContext, AuthError, Authenticator, Credential, ManagerError};

use super::KeyManager;

/// How a token was revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRevocation {
    /// It was a JWT API key of this store: the key is revoked, and its record says so.
    Key(KeyId),
    /// By its `jti`: every token with that id is refused.
    Jti(String),
    /// By its digest: this token alone is refused.
    Digest(TokenDigest),
}

/// What revoking a token did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevokedToken {
    /// By what it was revoked.
    pub by: TokenRevocation,
    /// Until when the revocation is kept: the token's own expiry.
    pub expires: Expiry,
}

impl TokenRevocation {
    /// `key`, `jti` or `digest`.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenRevocation::Key(_) => "key",
            TokenRevocation::Jti(_) => "jti",
            TokenRevocation::Digest(_) => "digest",
        }
    }

    /// The key id, `jti` or digest it was revoked by.
    pub fn handle(&self) -> String {
        match self {
            TokenRevocation::Key(id) => id.to_string(),
            TokenRevocation::Jti(jti) => jti.clone(),
            TokenRevocation::Digest(digest) => digest.to_string(),
        }
    }
}

impl KeyManager {
    /// Revokes `token` until its expiry. A keygate JWT API key of this store (its `jti` names a
    /// key here, and `authenticator`, kept from this store, accepts its signature) is revoked
    /// as its key; any other token by its `jti`, or by its digest when it has none or its `jti`
    /// is a key id it was not signed for.
    ///
    /// What a token says is enough to refuse that token: a forged claim can only revoke a
    /// token with that `jti` or digest, which the caller asked for anyway. Revoking a key takes
    /// more: the token must be signed by this store's keys.
    pub async fn revoke_token(
        &self,
        actor: &Actor,
        token: &str,
        reason: Description,
        authenticator: &Authenticator,
    ) -> Result<RevokedToken, ManagerError> {
        let (_, claims) = peek_unverified(token)?;
        let expires = match claims.get("exp").and_then(serde_json::Value::as_i64) {
            Some(exp) => Expiry::At(Timestamp::from_unix(exp)?),
            None => Expiry::Never,
        };
        let jti = claims.get("jti").and_then(serde_json::Value::as_str);
        let key = jti.and_then(|jti| jti.parse::<KeyId>().ok());
        if let Some(id) = key
            && self.store.key(id).await.is_ok()
            && self.signed_here(token, authenticator)?
        {
            self.revoke(actor, id, reason).await?;
            return Ok(RevokedToken { by: TokenRevocation::Key(id), expires });
        }
        let digest = || TokenDigest(token_digest(token));
        let (by, revocation) = match jti {
            // A key id that is not this store's key's own token: only the token is refused.
            Some(_) if key.is_some() => {
                let digest = digest();
                (TokenRevocation::Digest(digest), Revocation::Token { digest, expires })
            }
            Some(jti) => {
                let revocation = Revocation::jti(jti, expires).map_err(|_| {
                    keygate_core::Error::Malformed { what: "jti", expected: "1 to 256 bytes" }
                })?;
                (TokenRevocation::Jti(jti.to_owned()), revocation)
            }
            None => {
                let digest = digest();
                (TokenRevocation::Digest(digest), Revocation::Token { digest, expires })
            }
        };
        self.revoke_credential(actor, revocation).await?;
        Ok(RevokedToken { by, expires })
    }

    /// Whether `token` gets past the signature check of `authenticator`, whatever the checks
    /// after it (its key's state, scope or permissions) say.
    fn signed_here(
        &self,
        token: &str,
        authenticator: &Authenticator,
    ) -> Result<bool, ManagerError> {
        // Any resource: a key scoped elsewhere still proves its signature by failing on scope.
        let resource: ResourceRef = "keygate/token-revoke".parse()?;
        let context = AuthContext::new(&resource, self.clock.now());
        Ok(matches!(
            authenticator.authenticate(&Credential::Bearer(token), &context),
            Ok(_)
                | Err(AuthError::Suspended(_)
                    | AuthError::Revoked(_)
                    | AuthError::WrongResource { .. }
                    | AuthError::PermissionDenied { .. })
        ))
    }
}
