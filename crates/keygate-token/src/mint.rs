//! Minting JWT API keys.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::{KeyFormat, KeyRecord, Scope, Timestamp};
use zeroize::Zeroizing;

use crate::claims::API_KEY_TOKEN_TYPE;
use crate::provider::to_jwt_algorithm;
use crate::{Claims, Error, SigningKey};

/// Mints tokens with one signing key.
///
/// The header is jsonwebtoken's [`Header`](jsonwebtoken::Header) with the key's `alg` and `kid`
/// and a `typ` (by default [`API_KEY_TOKEN_TYPE`]); the claims are serialised in a fixed order.
/// For HMAC, RSA PKCS#1 v1.5 and Ed25519 the output is byte-for-byte what `jsonwebtoken::encode`
/// produces on keygate's ring provider, which the crate's tests check.
///
/// keygate signs with its own ring key, parsed once, rather than through `jsonwebtoken::encode`:
/// that function goes through a process-wide provider (which a host process may have set to
/// something else, or to nothing) and re-parses the private key on every call, which for
/// ECDSA costs more than the signature itself.
pub struct Minter {
    key: Arc<SigningKey>,
    token_type: Option<String>,
    issuer: Option<String>,
}

/// A freshly minted token: a credential, shown once. It prints as `MintedToken(..)` and zeroizes
/// on drop.
pub struct MintedToken(Zeroizing<String>);

impl MintedToken {
    /// The token text. Whoever holds it holds the key: hand it to the user once, never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token text, still zeroized on drop.
    pub fn into_zeroizing(self) -> Zeroizing<String> {
        self.0
    }
}

impl fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MintedToken(..)")
    }
}

impl Minter {
    /// A minter for `key` with the API-key `typ` and no issuer.
    pub fn new(key: Arc<SigningKey>) -> Minter {
        Minter { key, token_type: Some(API_KEY_TOKEN_TYPE.to_owned()), issuer: None }
    }

    /// Sets the `typ` header; `None` leaves it out, as `pulsar tokens create` does.
    pub fn with_token_type(mut self, token_type: Option<&str>) -> Minter {
        self.token_type = token_type.map(str::to_owned);
        self
    }

    /// Sets the `iss` claim of API-key tokens.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Minter {
        self.issuer = Some(issuer.into());
        self
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Mints a token with exactly these claims.
    pub fn mint(&self, claims: &Claims<'_>) -> Result<MintedToken, Error> {
        // A token for no one would be refused by every verifier; refuse to make it.
        if claims.subject.as_deref() == Some("") {
            return Err(Error::InvalidClaim(Cow::Borrowed("sub")));
        }
        let mut header = jsonwebtoken::Header::new(to_jwt_algorithm(self.key.algorithm()));
        header.typ = self.token_type.clone();
        header.kid = self.key.kid().map(|kid| kid.as_str().to_owned());
        let header = serde_json::to_vec(&header).map_err(|_| Error::Signing)?;
        let claims = Zeroizing::new(serde_json::to_vec(claims).map_err(|_| Error::Signing)?);

        let mut token =
            Zeroizing::new(String::with_capacity((header.len() + claims.len()) * 4 / 3 + 400));
        URL_SAFE_NO_PAD.encode_string(&header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&*claims, &mut token);
        let signature = self.key.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(MintedToken(token))
    }

    /// Mints the token of a JWT API key issued at `now`: `sub` is the owner, `jti` the key id,
    /// `nbf` and `exp` its validity window, `aud` the resource of a resource-scoped key, and
    /// keygate's scope and permission claims carry the rest.
    pub fn mint_api_key(&self, record: &KeyRecord, now: Timestamp) -> Result<MintedToken, Error> {
        if record.format() != KeyFormat::Jwt {
            return Err(Error::Unsupported("only keys in the JWT format are minted as tokens"));
        }
        let mut claims = Claims::new(record.owner().as_str())
            .with_jwt_id(record.id().to_string())
            .with_issued_at(now)
            .with_not_before(record.not_before())
            .with_expires(record.expires().at())
            .with_scope(record.scope().clone())
            .with_permissions(record.permissions().clone());
        if let Scope::Resource(resource) = record.scope() {
            claims = claims.with_audience(resource.as_str());
        }
        if let Some(issuer) = &self.issuer {
            claims = claims.with_issuer(issuer.as_str());
        }
        self.mint(&claims)
    }
}

impl fmt::Debug for Minter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minter")
            .field("key", &self.key)
            .field("token_type", &self.token_type)
            .field("issuer", &self.issuer)
            .finish()
    }
}
