//! A ring of signing keys that rotates with no downtime.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use keygate_core::{SigningAlgorithm, SigningKeyId};

use crate::{Error, Minter, SigningKey, VerificationKey, Verifier};

/// One active signing key and older keys kept for verification, each with a `kid`.
///
/// Rotating the key that signs JWT API keys takes three steps, none of which invalidates a
/// token in use: [`add`](KeyRing::add) the new key (it verifies, but does not sign yet) and
/// publish the JWKS so every verifier learns it; [`promote`](KeyRing::promote) it (it signs; the
/// previous key keeps verifying); and once the tokens it signed have expired or been reissued,
/// [`retire`](KeyRing::retire) the previous key.
///
/// ```
/// use keygate_core::SigningAlgorithm;
/// use keygate_token::{KeyRing, SigningKey};
///
/// let first = SigningKey::generate(SigningAlgorithm::EdDSA)?.with_kid("2026-01".parse()?);
/// let mut ring = KeyRing::new(first)?;
/// ring.add(SigningKey::generate(SigningAlgorithm::EdDSA)?.with_kid("2026-07".parse()?))?;
/// ring.promote(&"2026-07".parse()?)?;
/// assert_eq!(ring.active().kid().map(|k| k.as_str()), Some("2026-07"));
/// assert_eq!(ring.jwks()?.keys.len(), 2);
/// ring.retire(&"2026-01".parse()?)?;
/// # Ok::<(), keygate_token::Error>(())
/// ```
#[derive(Debug)]
pub struct KeyRing {
    /// The active key first, then the verification-only keys in the order they were added.
    keys: Vec<Arc<SigningKey>>,
}

impl KeyRing {
    /// A ring whose active key is `active`, which must have a `kid`.
    pub fn new(active: SigningKey) -> Result<KeyRing, Error> {
        require_kid(&active)?;
        Ok(KeyRing { keys: vec![Arc::new(active)] })
    }

    /// The key that signs.
    pub fn active(&self) -> &Arc<SigningKey> {
        &self.keys[0]
    }

    /// Every key, the active one first.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<SigningKey>> {
        self.keys.iter()
    }

    /// Adds a key that verifies but does not sign yet. Its `kid` must be new.
    pub fn add(&mut self, key: SigningKey) -> Result<(), Error> {
        let kid = require_kid(&key)?;
        if self.position(kid).is_some() {
            return Err(Error::KeyRejected("the ring already has a key with this kid"));
        }
        self.keys.push(Arc::new(key));
        Ok(())
    }

    /// Makes the key with `kid` the one that signs; the previously active key keeps verifying.
    pub fn promote(&mut self, kid: &SigningKeyId) -> Result<(), Error> {
        let at = self.position(kid).ok_or(Error::UnknownKeyId)?;
        let key = self.keys.remove(at);
        self.keys.insert(0, key);
        Ok(())
    }

    /// Removes a verification-only key: tokens it signed stop verifying. The active key cannot
    /// be retired; promote another first.
    pub fn retire(&mut self, kid: &SigningKeyId) -> Result<Arc<SigningKey>, Error> {
        match self.position(kid) {
            None => Err(Error::UnknownKeyId),
            Some(0) => Err(Error::Unsupported(
                "the active signing key cannot be retired; promote another first",
            )),
            Some(at) => Ok(self.keys.remove(at)),
        }
    }

    /// A minter with the active key.
    pub fn minter(&self) -> Minter {
        Minter::new(Arc::clone(self.active()))
    }

    /// A verifier that accepts tokens signed by any key in the ring.
    pub fn verifier(&self) -> Result<Verifier, Error> {
        Verifier::new(self.keys.iter().map(|key| Arc::clone(key.verification_key())))
    }

    /// The public keys as a JWKS, active first. HMAC keys are never exported, so a ring of HMAC
    /// keys publishes an empty set.
    pub fn jwks(&self) -> Result<JwkSet, Error> {
        let keys = self
            .keys
            .iter()
            .filter(|key| !key.algorithm().is_symmetric())
            .map(|key| key.verification_key().to_jwk())
            .collect::<Result<_, _>>()?;
        Ok(JwkSet { keys })
    }

    fn position(&self, kid: &SigningKeyId) -> Option<usize> {
        self.keys.iter().position(|key| key.kid() == Some(kid))
    }
}

/// Reads verification keys from a JWKS document, as another issuer publishes them. Each key is
/// bound to its `alg`, or to the algorithm its curve implies; a key with neither, or of a type
/// keygate does not support, fails the whole import.
pub fn verification_keys_from_jwks(json: &str) -> Result<Vec<VerificationKey>, Error> {
    let set: JwkSet = serde_json::from_str(json)
        .map_err(|_| Error::KeyFormat("a JWKS that is not valid JSON"))?;
    set.keys.iter().map(|jwk| VerificationKey::from_jwk(jwk, None)).collect()
}

fn require_kid(key: &SigningKey) -> Result<&SigningKeyId, Error> {
    key.kid().ok_or(Error::KeyRejected("keys in a key ring need a kid"))
}

/// The algorithm keygate generates signing keys with when none is asked for: Ed25519, which is
/// fast to sign and verify, has small keys and tokens, and is deterministic.
pub const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = SigningAlgorithm::EdDSA;
