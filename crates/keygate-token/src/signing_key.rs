//! Keys that sign, each bound to one algorithm and an optional `kid` when it is loaded, with the
//! verification key that checks what they sign.

use std::fmt;
use std::sync::Arc;

use keygate_core::{SigningAlgorithm, SigningKeyId};
use ring::signature::{self, KeyPair};
use ring::{hmac, rand};
use zeroize::Zeroizing;

use crate::algorithm::{self, Family, KeyKind};
use crate::der::{self, Curve, PrivateKeyKind, PublicKeyInfo};
use crate::{Error, VerificationKey, pem};

/// A key that signs tokens with exactly one algorithm, together with its verification key.
///
/// Loaded from the raw HMAC secret, PKCS#8 (DER or PEM; what `pulsar tokens create-key-pair`
/// writes), or a PKCS#1 RSA private key; or generated with ring for HMAC, P-256, P-384 and
/// Ed25519. ring cannot generate RSA keys, and keygate keeps RustCrypto's signature crates out of
/// its tree, so RSA keys are made elsewhere (for example
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -outform DER`) and loaded.
///
/// ring needs an EC private key to carry its public key; PKCS#8 files that leave it out (as the
/// JDK writes them) are refused with a hint to re-encode them with `openssl pkcs8 -topk8`. Their
/// public keys verify either way.
///
/// It is not `Clone`, prints only its `kid` and algorithm, and zeroizes its private bytes on
/// drop.
pub struct SigningKey {
    signing: Signing,
    private: Zeroizing<Vec<u8>>,
    private_format: PrivateFormat,
    verification: Arc<VerificationKey>,
}

enum Signing {
    Hmac(hmac::Key),
    Rsa(signature::RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(signature::EcdsaKeyPair, Curve),
    Ed25519(signature::Ed25519KeyPair),
}

/// How a signing key's private bytes are encoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivateFormat {
    /// The raw HMAC secret.
    RawSecret,
    /// A PKCS#8 PrivateKeyInfo in DER (`PRIVATE KEY` in PEM).
    Pkcs8,
    /// A PKCS#1 RSAPrivateKey in DER (`RSA PRIVATE KEY` in PEM).
    Pkcs1,
}

impl SigningKey {
    /// A fresh key for `algorithm` from the operating system's randomness (through ring). HMAC
    /// secrets are as long as the hash output. RSA is refused; see the type's docs.
    pub fn generate(algorithm: SigningAlgorithm) -> Result<SigningKey, Error> {
        let random = rand::SystemRandom::new();
        match algorithm::spec(algorithm)?.family {
            Family::Hmac { min_secret, .. } => {
                let mut secret = Zeroizing::new(vec![0u8; min_secret]);
                rand::SecureRandom::fill(&random, &mut secret)
                    .map_err(|_| keygate_core::Error::RandomUnavailable)?;
                SigningKey::from_secret(algorithm, &secret)
            }
            Family::Ecdsa { sign, .. } => {
                let document = signature::EcdsaKeyPair::generate_pkcs8(sign, &random)
                    .map_err(|_| keygate_core::Error::RandomUnavailable)?;
                SigningKey::from_pkcs8_der(algorithm, document.as_ref())
            }
            Family::Ed25519 => {
                let document = signature::Ed25519KeyPair::generate_pkcs8(&random)
                    .map_err(|_| keygate_core::Error::RandomUnavailable)?;
                // ring writes PKCS#8 v2 (RFC 5958, the public key included), which OpenSSL 3 and
                // Python's cryptography refuse; v1 (RFC 8410) is what every tool reads.
                let v1 = der::ed25519_pkcs8_v1(document.as_ref())
                    .ok_or(Error::KeyRejected("ring wrote an Ed25519 key of an unknown form"))?;
                SigningKey::from_pkcs8_der(algorithm, &v1)
            }
            Family::Rsa { .. } => Err(Error::Unsupported(
                "ring cannot generate RSA keys: make one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -outform DER` and load it",
            )),
        }
    }

    /// An HMAC key for `algorithm` from the raw shared secret.
    pub fn from_secret(algorithm: SigningAlgorithm, secret: &[u8]) -> Result<SigningKey, Error> {
        let hmac_algorithm = algorithm::hmac_for(algorithm, secret)?;
        Ok(SigningKey {
            signing: Signing::Hmac(hmac::Key::new(hmac_algorithm, secret)),
            private: Zeroizing::new(secret.to_vec()),
            private_format: PrivateFormat::RawSecret,
            verification: Arc::new(VerificationKey::hmac(algorithm, secret)?),
        })
    }

    /// A private key from bytes as a key file holds them (PEM, PKCS#8 DER or PKCS#1 DER), for
    /// `algorithm` when one is named, else for the one its own kind implies, as
    /// [`VerificationKey::from_public_bytes`] reads public keys.
    pub fn from_private_bytes(
        bytes: &[u8],
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<SigningKey, Error> {
        if bytes.is_empty() {
            return Err(Error::KeyRejected("the key is empty"));
        }
        if algorithm.is_some_and(SigningAlgorithm::is_symmetric) {
            return Err(Error::KeyRejected(
                "an HMAC algorithm signs with a secret, not a private key",
            ));
        }
        let kind = if pem::looks_like_pem(bytes) {
            let (label, der) = pem::decode(bytes)?;
            match label.as_str() {
                "PRIVATE KEY" => der::pkcs8_kind(&der)?,
                "RSA PRIVATE KEY" => PrivateKeyKind::Rsa,
                _ => {
                    return SigningKey::from_pem(
                        algorithm.unwrap_or(SigningAlgorithm::RS256),
                        bytes,
                    );
                }
            }
        } else {
            // Not PKCS#8: PKCS#1 is the only other form, and loading it says whether it is.
            der::pkcs8_kind(bytes).unwrap_or(PrivateKeyKind::Rsa)
        };
        let kind = match kind {
            PrivateKeyKind::Rsa => KeyKind::Rsa,
            PrivateKeyKind::Ec(curve) => KeyKind::Ec(curve),
            PrivateKeyKind::Ed25519 => KeyKind::Ed25519,
        };
        let algorithm = match algorithm {
            Some(declared) => kind.check(declared)?,
            None => kind.implied(),
        };
        SigningKey::from_bytes(algorithm, bytes)
    }

    /// A private key for `algorithm` from PKCS#8 DER (v1 or v2).
    pub fn from_pkcs8_der(algorithm: SigningAlgorithm, der: &[u8]) -> Result<SigningKey, Error> {
        let kind = der::pkcs8_kind(der)?;
        let (signing, public) = match (algorithm::spec(algorithm)?.family, kind) {
            (Family::Rsa { sign, .. }, PrivateKeyKind::Rsa) => {
                let pair = signature::RsaKeyPair::from_pkcs8(der).map_err(rsa_rejected)?;
                let public = pair.public().as_ref().to_vec();
                (Signing::Rsa(pair, sign), public)
            }
            (Family::Ecdsa { curve, sign, .. }, PrivateKeyKind::Ec(presented))
                if curve == presented =>
            {
                let pair = signature::EcdsaKeyPair::from_pkcs8(sign, der, &rand::SystemRandom::new())
                    .map_err(|_| {
                        Error::KeyRejected(
                            "ring cannot load this EC private key; it must be PKCS#8 with its public key included (re-encode it with `openssl pkcs8 -topk8 -nocrypt`)",
                        )
                    })?;
                let public = pair.public_key().as_ref().to_vec();
                (Signing::Ecdsa(pair, curve), public)
            }
            (Family::Ed25519, PrivateKeyKind::Ed25519) => {
                let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|_| Error::KeyRejected("an invalid Ed25519 private key"))?;
                let public = pair.public_key().as_ref().to_vec();
                (Signing::Ed25519(pair), public)
            }
            _ => return Err(algorithm::mismatch()),
        };
        let info = match &signing {
            Signing::Rsa(..) => PublicKeyInfo::Rsa(&public),
            Signing::Ecdsa(_, curve) => PublicKeyInfo::Ec(*curve, &public),
            Signing::Ed25519(_) => PublicKeyInfo::Ed25519(&public),
            Signing::Hmac(_) => return Err(algorithm::mismatch()),
        };
        Ok(SigningKey {
            verification: Arc::new(VerificationKey::from_public_info(algorithm, &info)?),
            signing,
            private: Zeroizing::new(der.to_vec()),
            private_format: PrivateFormat::Pkcs8,
        })
    }

    /// An RSA private key for `algorithm` from PKCS#1 RSAPrivateKey DER.
    pub fn from_pkcs1_der(algorithm: SigningAlgorithm, der: &[u8]) -> Result<SigningKey, Error> {
        let Family::Rsa { sign: encoding, .. } = algorithm::spec(algorithm)?.family else {
            return Err(algorithm::mismatch());
        };
        let pair = signature::RsaKeyPair::from_der(der).map_err(rsa_rejected)?;
        let verification = Arc::new(VerificationKey::from_public_info(
            algorithm,
            &PublicKeyInfo::Rsa(pair.public().as_ref()),
        )?);
        Ok(SigningKey {
            signing: Signing::Rsa(pair, encoding),
            private: Zeroizing::new(der.to_vec()),
            private_format: PrivateFormat::Pkcs1,
            verification,
        })
    }

    /// A private key from PEM: `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1).
    pub fn from_pem(algorithm: SigningAlgorithm, pem: &[u8]) -> Result<SigningKey, Error> {
        let (label, der) = pem::decode(pem)?;
        match label.as_str() {
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(algorithm, &der),
            "RSA PRIVATE KEY" => SigningKey::from_pkcs1_der(algorithm, &der),
            "EC PRIVATE KEY" => Err(Error::KeyFormat(
                "SEC1 EC keys; convert to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt`",
            )),
            "ENCRYPTED PRIVATE KEY" => {
                Err(Error::KeyFormat("encrypted private keys; decrypt it first"))
            }
            _ => Err(Error::KeyFormat("a PEM block that is not a private key")),
        }
    }

    /// A key from bytes as a key file or a Pulsar key value holds them: the raw secret for the
    /// HMAC algorithms; PEM, PKCS#8 DER or PKCS#1 DER otherwise.
    pub fn from_bytes(algorithm: SigningAlgorithm, bytes: &[u8]) -> Result<SigningKey, Error> {
        if algorithm.is_symmetric() {
            return SigningKey::from_secret(algorithm, bytes);
        }
        if bytes.is_empty() {
            return Err(Error::KeyRejected("the key is empty"));
        }
        if pem::looks_like_pem(bytes) {
            return SigningKey::from_pem(algorithm, bytes);
        }
        match der::pkcs8_kind(bytes) {
            Ok(_) => SigningKey::from_pkcs8_der(algorithm, bytes),
            Err(pkcs8_error) => {
                SigningKey::from_pkcs1_der(algorithm, bytes).map_err(|_| pkcs8_error)
            }
        }
    }

    /// Names the key; tokens it signs carry this `kid`, and its verification key has it too.
    pub fn with_kid(mut self, kid: SigningKeyId) -> SigningKey {
        match Arc::get_mut(&mut self.verification) {
            Some(verification) => verification.kid = Some(kid),
            // Someone holds the old verification key; leave theirs as it was.
            None => self.verification = Arc::new(self.verification.duplicate().with_kid(kid)),
        }
        self
    }

    /// The key's `kid`, if it has one.
    pub fn kid(&self) -> Option<&SigningKeyId> {
        self.verification.kid()
    }

    /// The one algorithm this key signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.verification.algorithm
    }

    /// The key that verifies this key's signatures (for HMAC, the same secret).
    pub fn verification_key(&self) -> &Arc<VerificationKey> {
        &self.verification
    }

    /// Signs `message`, giving the raw JWS signature (P1363 form for ECDSA).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.signing {
            Signing::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Signing::Rsa(pair, encoding) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(*encoding, &rand::SystemRandom::new(), message, &mut signature)
                    .map_err(|_| Error::Signing)?;
                Ok(signature)
            }
            Signing::Ecdsa(pair, _) => pair
                .sign(&rand::SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| Error::Signing),
            Signing::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// The private key bytes, in [`SigningKey::private_format`]: what a key file or a trusted
    /// store holds. Handle with care; it is the key.
    pub fn private_bytes(&self) -> &[u8] {
        &self.private
    }

    /// How [`SigningKey::private_bytes`] is encoded.
    pub fn private_format(&self) -> PrivateFormat {
        self.private_format
    }

    /// The private key as PEM; HMAC secrets have no PEM form.
    pub fn private_pem(&self) -> Result<Zeroizing<String>, Error> {
        match self.private_format {
            PrivateFormat::Pkcs8 => Ok(pem::encode("PRIVATE KEY", &self.private)),
            PrivateFormat::Pkcs1 => Ok(pem::encode("RSA PRIVATE KEY", &self.private)),
            PrivateFormat::RawSecret => Err(Error::Unsupported("an HMAC secret has no PEM form")),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid())
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

fn rsa_rejected(rejected: ring::error::KeyRejected) -> Error {
    match rejected.to_string().as_str() {
        "TooSmall" => Error::KeyRejected("RSA keys must have at least 2048 bits"),
        "TooLarge" => Error::KeyRejected("RSA keys larger than ring can sign with"),
        _ => Error::KeyRejected("an invalid RSA private key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_secrets_are_checked_against_the_hash_size() {
        assert!(VerificationKey::hmac(SigningAlgorithm::HS256, &[1; 31]).is_err());
        assert!(VerificationKey::hmac(SigningAlgorithm::HS256, &[1; 32]).is_ok());
        assert!(VerificationKey::hmac(SigningAlgorithm::HS384, &[1; 47]).is_err());
        assert!(VerificationKey::hmac(SigningAlgorithm::HS512, &[1; 63]).is_err());
        assert_eq!(
            VerificationKey::hmac(SigningAlgorithm::HS256, &[]).unwrap_err(),
            Error::KeyRejected("the key is empty")
        );
        assert!(VerificationKey::hmac(SigningAlgorithm::ES256, &[1; 32]).is_err());
        assert!(SigningKey::from_secret(SigningAlgorithm::RS256, &[1; 32]).is_err());
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        for algorithm in [
            SigningAlgorithm::HS256,
            SigningAlgorithm::HS384,
            SigningAlgorithm::HS512,
            SigningAlgorithm::ES256,
            SigningAlgorithm::ES384,
            SigningAlgorithm::EdDSA,
        ] {
            let key = SigningKey::generate(algorithm).unwrap();
            let signature = key.sign(b"message").unwrap();
            key.verification_key().verify_signature(b"message", &signature).unwrap();
            assert_eq!(
                key.verification_key().verify_signature(b"messagE", &signature),
                Err(Error::InvalidSignature)
            );
        }
        assert!(matches!(
            SigningKey::generate(SigningAlgorithm::RS256),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn a_key_is_bound_to_its_declared_algorithm() {
        let ec = SigningKey::generate(SigningAlgorithm::ES256).unwrap();
        assert!(SigningKey::from_pkcs8_der(SigningAlgorithm::ES384, ec.private_bytes()).is_err());
        assert!(SigningKey::from_pkcs8_der(SigningAlgorithm::EdDSA, ec.private_bytes()).is_err());
        assert!(SigningKey::from_pkcs8_der(SigningAlgorithm::RS256, ec.private_bytes()).is_err());
        let spki = ec.verification_key().to_spki_der().unwrap();
        assert!(VerificationKey::from_spki_der(SigningAlgorithm::ES384, &spki).is_err());
        assert!(VerificationKey::from_spki_der(SigningAlgorithm::HS256, &spki).is_err());
        assert!(VerificationKey::from_spki_der(SigningAlgorithm::ES256, &spki).is_ok());
    }

    #[test]
    fn public_keys_round_trip_through_spki_pem_and_jwk() {
        for algorithm in [SigningAlgorithm::ES256, SigningAlgorithm::ES384, SigningAlgorithm::EdDSA]
        {
            let key = SigningKey::generate(algorithm).unwrap().with_kid("k1".parse().unwrap());
            let public = key.verification_key();
            let signature = key.sign(b"m").unwrap();

            let from_der =
                VerificationKey::from_spki_der(algorithm, &public.to_spki_der().unwrap()).unwrap();
            from_der.verify_signature(b"m", &signature).unwrap();
            let from_pem =
                VerificationKey::from_bytes(algorithm, public.to_pem().unwrap().as_bytes())
                    .unwrap();
            from_pem.verify_signature(b"m", &signature).unwrap();
            let from_jwk = VerificationKey::from_jwk(&public.to_jwk().unwrap(), None).unwrap();
            assert_eq!(from_jwk.kid().map(SigningKeyId::as_str), Some("k1"));
            assert_eq!(from_jwk.algorithm(), algorithm);
            from_jwk.verify_signature(b"m", &signature).unwrap();

            let reloaded =
                SigningKey::from_bytes(algorithm, key.private_pem().unwrap().as_bytes()).unwrap();
            public.verify_signature(b"m2", &reloaded.sign(b"m2").unwrap()).unwrap();
        }
    }

    #[test]
    fn hmac_keys_have_no_public_form() {
        let key = SigningKey::generate(SigningAlgorithm::HS256).unwrap();
        assert!(key.verification_key().to_jwk().is_err());
        assert!(key.verification_key().to_spki_der().is_err());
        assert!(key.private_pem().is_err());
        assert_eq!(key.private_bytes().len(), 32);
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key =
            SigningKey::from_secret(SigningAlgorithm::HS256, b"0123456789abcdef0123456789abcdef")
                .unwrap();
        let printed = format!("{key:?} {:?}", key.verification_key());
        assert!(!printed.contains("0123"), "{printed}");
        assert!(printed.contains("HS256"));
    }
}
