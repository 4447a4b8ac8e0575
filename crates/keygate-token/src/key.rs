//! Signing and verification keys, each bound to one algorithm and an optional `kid` when it is
//! loaded.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse, RSAKeyParameters, RSAKeyType,
};
use keygate_core::{SigningAlgorithm, SigningKeyId};
use ring::signature::{self, KeyPair};
use ring::{hmac, rand};
use zeroize::Zeroizing;

use crate::der::{self, Curve, PrivateKeyKind, PublicKeyInfo};
use crate::{Error, pem};

/// A key that verifies signatures for exactly one algorithm.
///
/// It is parsed and checked once, when it is loaded: an empty key, an HMAC secret shorter than
/// its hash output (RFC 7518 §3.2), an RSA modulus under 2048 bits, and a key whose type does not
/// match the algorithm it is declared for are all refused then. (ring's public API re-reads
/// asymmetric public keys on each verification; the checks here make sure that never fails for
/// a loaded key.)
///
/// It prints only its `kid` and algorithm. An HMAC verification key holds the shared secret, so
/// it is neither `Clone` nor exportable; share it behind an `Arc`.
pub struct VerificationKey {
    kid: Option<SigningKeyId>,
    algorithm: SigningAlgorithm,
    inner: Verifying,
}

#[derive(Clone)]
enum Verifying {
    Hmac(hmac::Key),
    Rsa {
        params: &'static signature::RsaParameters,
        pkcs1: Box<[u8]>,
    },
    Ecdsa {
        algorithm: &'static signature::EcdsaVerificationAlgorithm,
        curve: Curve,
        point: Box<[u8]>,
    },
    Ed25519([u8; 32]),
}

impl VerificationKey {
    /// An HMAC key for `algorithm` (HS256, HS384 or HS512) from the raw shared secret.
    pub fn hmac(algorithm: SigningAlgorithm, secret: &[u8]) -> Result<VerificationKey, Error> {
        let hmac_algorithm = hmac_algorithm(algorithm)?;
        check_secret_len(algorithm, secret)?;
        Ok(VerificationKey::new(algorithm, Verifying::Hmac(hmac::Key::new(hmac_algorithm, secret))))
    }

    /// A public key for `algorithm` from an X.509 SubjectPublicKeyInfo in DER, the form
    /// `pulsar tokens create-key-pair` writes.
    pub fn from_spki_der(
        algorithm: SigningAlgorithm,
        der: &[u8],
    ) -> Result<VerificationKey, Error> {
        let info = der::parse_spki(der)?;
        VerificationKey::from_public_info(algorithm, &info)
    }

    /// A public key from PEM: `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(algorithm: SigningAlgorithm, pem: &[u8]) -> Result<VerificationKey, Error> {
        let (label, der) = pem::decode(pem)?;
        match label.as_str() {
            "PUBLIC KEY" => VerificationKey::from_spki_der(algorithm, &der),
            "RSA PUBLIC KEY" => {
                VerificationKey::from_public_info(algorithm, &PublicKeyInfo::Rsa(&der))
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => Err(Error::KeyFormat(
                "a private key where a public key is expected; load it as a SigningKey",
            )),
            _ => Err(Error::KeyFormat("a PEM block that is not a public key")),
        }
    }

    /// A key from bytes as a key file or a Pulsar key value holds them: the raw secret for the
    /// HMAC algorithms; PEM or DER (SubjectPublicKeyInfo, or a PKCS#1 RSA public key) otherwise.
    pub fn from_bytes(algorithm: SigningAlgorithm, bytes: &[u8]) -> Result<VerificationKey, Error> {
        if algorithm.is_symmetric() {
            return VerificationKey::hmac(algorithm, bytes);
        }
        if bytes.is_empty() {
            return Err(Error::KeyRejected("the key is empty"));
        }
        if pem::looks_like_pem(bytes) {
            return VerificationKey::from_pem(algorithm, bytes);
        }
        match der::parse_spki(bytes) {
            Ok(info) => VerificationKey::from_public_info(algorithm, &info),
            Err(spki_error) => match der::rsa_public_components(bytes) {
                Ok(_) => VerificationKey::from_public_info(algorithm, &PublicKeyInfo::Rsa(bytes)),
                Err(_) => Err(spki_error),
            },
        }
    }

    /// A key from a JWK. The algorithm is the JWK's `alg`, or `algorithm` when given (they must
    /// agree if both are); EC and OKP keys without either are bound to the algorithm their curve
    /// implies. The `kid` is the JWK's.
    pub fn from_jwk(
        jwk: &Jwk,
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<VerificationKey, Error> {
        let declared = jwk.common.key_algorithm.map(from_key_algorithm).transpose()?;
        let algorithm = match (declared, algorithm) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::KeyRejected(
                    "the JWK's alg differs from the algorithm requested",
                ));
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    SigningAlgorithm::ES256
                }
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => {
                    SigningAlgorithm::ES384
                }
                AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                    SigningAlgorithm::EdDSA
                }
                _ => {
                    return Err(Error::KeyRejected(
                        "the JWK has no alg, and its key type does not imply one",
                    ));
                }
            },
        };
        let b64 = |text: &str| {
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| Error::KeyFormat("a JWK member that is not base64url"))
        };
        let key = match &jwk.algorithm {
            AlgorithmParameters::RSA(p) => {
                let (n, e) = (b64(&p.n)?, b64(&p.e)?);
                let pkcs1 = der::rsa_public_key(&n, &e);
                VerificationKey::from_public_info(algorithm, &PublicKeyInfo::Rsa(&pkcs1))?
            }
            AlgorithmParameters::EllipticCurve(p) => {
                let curve = match p.curve {
                    EllipticCurve::P256 => Curve::P256,
                    EllipticCurve::P384 => Curve::P384,
                    _ => {
                        return Err(Error::KeyFormat(
                            "an elliptic curve other than P-256 and P-384",
                        ));
                    }
                };
                let (x, y) = (b64(&p.x)?, b64(&p.y)?);
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                VerificationKey::from_public_info(algorithm, &PublicKeyInfo::Ec(curve, &point))?
            }
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                VerificationKey::from_public_info(algorithm, &PublicKeyInfo::Ed25519(&b64(&p.x)?))?
            }
            AlgorithmParameters::OctetKey(p) => {
                let secret = Zeroizing::new(b64(&p.value)?);
                VerificationKey::hmac(algorithm, &secret)?
            }
            _ => return Err(Error::KeyFormat("a JWK key type keygate does not support")),
        };
        match &jwk.common.key_id {
            Some(kid) => Ok(key.with_kid(kid.parse()?)),
            None => Ok(key),
        }
    }

    /// Names the key: tokens whose header carries this `kid` are verified with it.
    pub fn with_kid(mut self, kid: SigningKeyId) -> VerificationKey {
        self.kid = Some(kid);
        self
    }

    /// The key's `kid`, if it has one.
    pub fn kid(&self) -> Option<&SigningKeyId> {
        self.kid.as_ref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// Verifies a raw JWS signature (the decoded third segment) over `message` (the first two
    /// segments and the dot between them). Any failure is [`Error::InvalidSignature`].
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        let verified = match &self.inner {
            Verifying::Hmac(key) => hmac::verify(key, message, signature),
            Verifying::Rsa { params, pkcs1 } => {
                signature::UnparsedPublicKey::new(*params, pkcs1).verify(message, signature)
            }
            Verifying::Ecdsa { algorithm, point, .. } => {
                signature::UnparsedPublicKey::new(*algorithm, point).verify(message, signature)
            }
            Verifying::Ed25519(key) => signature::UnparsedPublicKey::new(&signature::ED25519, key)
                .verify(message, signature),
        };
        verified.map_err(|_| Error::InvalidSignature)
    }

    /// Whether this is an HMAC (shared secret) key.
    pub fn is_symmetric(&self) -> bool {
        matches!(self.inner, Verifying::Hmac(_))
    }

    /// The public key as an X.509 SubjectPublicKeyInfo in DER. HMAC keys have none.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, Error> {
        let info = match &self.inner {
            Verifying::Hmac(_) => {
                return Err(Error::Unsupported("an HMAC secret has no public key"));
            }
            Verifying::Rsa { pkcs1, .. } => PublicKeyInfo::Rsa(pkcs1),
            Verifying::Ecdsa { curve, point, .. } => PublicKeyInfo::Ec(*curve, point),
            Verifying::Ed25519(key) => PublicKeyInfo::Ed25519(key),
        };
        Ok(der::write_spki(&info))
    }

    /// The public key as PEM (`PUBLIC KEY`).
    pub fn to_pem(&self) -> Result<String, Error> {
        Ok(pem::encode("PUBLIC KEY", &self.to_spki_der()?).to_string())
    }

    /// The public key as a JWK with `use: sig`, its `alg` and its `kid`. HMAC keys are never
    /// exported.
    pub fn to_jwk(&self) -> Result<Jwk, Error> {
        let algorithm = match &self.inner {
            Verifying::Hmac(_) => {
                return Err(Error::Unsupported("HMAC secrets are never exported as JWK"));
            }
            Verifying::Rsa { pkcs1, .. } => {
                let (n, e) = der::rsa_public_components(pkcs1)?;
                AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: URL_SAFE_NO_PAD.encode(n),
                    e: URL_SAFE_NO_PAD.encode(e),
                })
            }
            Verifying::Ecdsa { curve, point, .. } => {
                let coordinate = (curve.point_len() - 1) / 2;
                let (x, y) = point[1..].split_at(coordinate);
                AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: match curve {
                        Curve::P256 => EllipticCurve::P256,
                        Curve::P384 => EllipticCurve::P384,
                    },
                    x: URL_SAFE_NO_PAD.encode(x),
                    y: URL_SAFE_NO_PAD.encode(y),
                })
            }
            Verifying::Ed25519(key) => AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(key),
            }),
        };
        let common = CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(to_key_algorithm(self.algorithm)),
            key_id: self.kid.as_ref().map(|kid| kid.as_str().to_owned()),
            ..CommonParameters::default()
        };
        Ok(Jwk { common, algorithm })
    }

    fn new(algorithm: SigningAlgorithm, inner: Verifying) -> VerificationKey {
        VerificationKey { kid: None, algorithm, inner }
    }

    /// A copy, for the rare case of renaming a key someone else still holds. Deliberately not
    /// `Clone`: an HMAC verification key is a secret.
    fn duplicate(&self) -> VerificationKey {
        VerificationKey {
            kid: self.kid.clone(),
            algorithm: self.algorithm,
            inner: self.inner.clone(),
        }
    }

    fn from_public_info(
        algorithm: SigningAlgorithm,
        info: &PublicKeyInfo<'_>,
    ) -> Result<VerificationKey, Error> {
        use SigningAlgorithm as A;
        let inner = match (algorithm, info) {
            (A::HS256 | A::HS384 | A::HS512, _) => {
                return Err(Error::KeyRejected("a public key cannot verify an HMAC algorithm"));
            }
            (
                A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512,
                PublicKeyInfo::Rsa(pkcs1),
            ) => {
                check_rsa_public_key(pkcs1)?;
                Verifying::Rsa { params: rsa_parameters(algorithm)?, pkcs1: Box::from(*pkcs1) }
            }
            (A::ES256, PublicKeyInfo::Ec(Curve::P256, point)) => Verifying::Ecdsa {
                algorithm: &signature::ECDSA_P256_SHA256_FIXED,
                curve: Curve::P256,
                point: check_point(Curve::P256, point)?,
            },
            (A::ES384, PublicKeyInfo::Ec(Curve::P384, point)) => Verifying::Ecdsa {
                algorithm: &signature::ECDSA_P384_SHA384_FIXED,
                curve: Curve::P384,
                point: check_point(Curve::P384, point)?,
            },
            (A::EdDSA, PublicKeyInfo::Ed25519(key)) => Verifying::Ed25519(
                <[u8; 32]>::try_from(*key)
                    .map_err(|_| Error::KeyRejected("an Ed25519 public key is 32 bytes"))?,
            ),
            _ => {
                return Err(Error::KeyRejected(
                    "the key's type does not match its declared algorithm",
                ));
            }
        };
        Ok(VerificationKey::new(algorithm, inner))
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

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
    Ecdsa(signature::EcdsaKeyPair),
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
        use SigningAlgorithm as A;
        match algorithm {
            A::HS256 | A::HS384 | A::HS512 => {
                let mut secret = Zeroizing::new(vec![0u8; min_secret_len(algorithm)]);
                rand::SecureRandom::fill(&random, &mut secret)
                    .map_err(|_| keygate_core::Error::RandomUnavailable)?;
                SigningKey::from_secret(algorithm, &secret)
            }
            A::ES256 | A::ES384 => {
                let document =
                    signature::EcdsaKeyPair::generate_pkcs8(ecdsa_signing(algorithm)?, &random)
                        .map_err(|_| keygate_core::Error::RandomUnavailable)?;
                SigningKey::from_pkcs8_der(algorithm, document.as_ref())
            }
            A::EdDSA => {
                let document = signature::Ed25519KeyPair::generate_pkcs8(&random)
                    .map_err(|_| keygate_core::Error::RandomUnavailable)?;
                SigningKey::from_pkcs8_der(algorithm, document.as_ref())
            }
            _ => Err(Error::Unsupported(
                "ring cannot generate RSA keys: make one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -outform DER` and load it",
            )),
        }
    }

    /// An HMAC key for `algorithm` from the raw shared secret.
    pub fn from_secret(algorithm: SigningAlgorithm, secret: &[u8]) -> Result<SigningKey, Error> {
        let hmac_algorithm = hmac_algorithm(algorithm)?;
        check_secret_len(algorithm, secret)?;
        Ok(SigningKey {
            signing: Signing::Hmac(hmac::Key::new(hmac_algorithm, secret)),
            private: Zeroizing::new(secret.to_vec()),
            private_format: PrivateFormat::RawSecret,
            verification: Arc::new(VerificationKey::hmac(algorithm, secret)?),
        })
    }

    /// A private key for `algorithm` from PKCS#8 DER (v1 or v2).
    pub fn from_pkcs8_der(algorithm: SigningAlgorithm, der: &[u8]) -> Result<SigningKey, Error> {
        use SigningAlgorithm as A;
        let kind = der::pkcs8_kind(der)?;
        let (signing, public) = match (algorithm, kind) {
            (
                A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512,
                PrivateKeyKind::Rsa,
            ) => {
                let pair = signature::RsaKeyPair::from_pkcs8(der).map_err(rsa_rejected)?;
                let public = pair.public().as_ref().to_vec();
                (Signing::Rsa(pair, rsa_encoding(algorithm)?), public)
            }
            (A::ES256, PrivateKeyKind::Ec(Curve::P256))
            | (A::ES384, PrivateKeyKind::Ec(Curve::P384)) => {
                let pair = signature::EcdsaKeyPair::from_pkcs8(ecdsa_signing(algorithm)?, der, &rand::SystemRandom::new())
                    .map_err(|_| {
                        Error::KeyRejected(
                            "ring cannot load this EC private key; it must be PKCS#8 with its public key included (re-encode it with `openssl pkcs8 -topk8 -nocrypt`)",
                        )
                    })?;
                let public = pair.public_key().as_ref().to_vec();
                (Signing::Ecdsa(pair), public)
            }
            (A::EdDSA, PrivateKeyKind::Ed25519) => {
                let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|_| Error::KeyRejected("an invalid Ed25519 private key"))?;
                let public = pair.public_key().as_ref().to_vec();
                (Signing::Ed25519(pair), public)
            }
            _ => {
                return Err(Error::KeyRejected(
                    "the key's type does not match its declared algorithm",
                ));
            }
        };
        let info = match &signing {
            Signing::Rsa(..) => PublicKeyInfo::Rsa(&public),
            Signing::Ecdsa(_) => PublicKeyInfo::Ec(
                if algorithm == A::ES256 { Curve::P256 } else { Curve::P384 },
                &public,
            ),
            Signing::Ed25519(_) => PublicKeyInfo::Ed25519(&public),
            Signing::Hmac(_) => {
                return Err(Error::KeyRejected(
                    "the key's type does not match its declared algorithm",
                ));
            }
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
        let encoding = rsa_encoding(algorithm)?;
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
            Signing::Ecdsa(pair) => pair
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

/// The shortest secret RFC 7518 §3.2 allows: the size of the hash output.
pub(crate) fn min_secret_len(algorithm: SigningAlgorithm) -> usize {
    match algorithm {
        SigningAlgorithm::HS384 => 48,
        SigningAlgorithm::HS512 => 64,
        _ => 32,
    }
}

fn check_secret_len(algorithm: SigningAlgorithm, secret: &[u8]) -> Result<(), Error> {
    if secret.is_empty() {
        return Err(Error::KeyRejected("the key is empty"));
    }
    if secret.len() < min_secret_len(algorithm) {
        return Err(Error::KeyRejected(match algorithm {
            SigningAlgorithm::HS384 => {
                "HS384 secrets must be at least 48 bytes (RFC 7518 section 3.2)"
            }
            SigningAlgorithm::HS512 => {
                "HS512 secrets must be at least 64 bytes (RFC 7518 section 3.2)"
            }
            _ => "HS256 secrets must be at least 32 bytes (RFC 7518 section 3.2)",
        }));
    }
    Ok(())
}

fn check_rsa_public_key(pkcs1: &[u8]) -> Result<(), Error> {
    let (n, e) = der::rsa_public_components(pkcs1)?;
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits < 2048 {
        return Err(Error::KeyRejected("RSA keys must have at least 2048 bits"));
    }
    if bits > 8192 {
        return Err(Error::KeyRejected("RSA keys must have at most 8192 bits"));
    }
    // ring accepts odd exponents from 3 up to 2^33 - 1.
    let exponent = (e.len() <= 5).then(|| e.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)));
    if !exponent.is_some_and(|e| e % 2 == 1 && (3..1 << 33).contains(&e)) {
        return Err(Error::KeyRejected("an RSA public exponent outside 3..2^33 or even"));
    }
    Ok(())
}

fn check_point(curve: Curve, point: &[u8]) -> Result<Box<[u8]>, Error> {
    if point.len() != curve.point_len() || point.first() != Some(&0x04) {
        return Err(Error::KeyRejected(
            "an EC public key must be an uncompressed point on its curve",
        ));
    }
    Ok(Box::from(point))
}

fn rsa_rejected(rejected: ring::error::KeyRejected) -> Error {
    match rejected.to_string().as_str() {
        "TooSmall" => Error::KeyRejected("RSA keys must have at least 2048 bits"),
        "TooLarge" => Error::KeyRejected("RSA keys larger than ring can sign with"),
        _ => Error::KeyRejected("an invalid RSA private key"),
    }
}

fn hmac_algorithm(algorithm: SigningAlgorithm) -> Result<hmac::Algorithm, Error> {
    match algorithm {
        SigningAlgorithm::HS256 => Ok(hmac::HMAC_SHA256),
        SigningAlgorithm::HS384 => Ok(hmac::HMAC_SHA384),
        SigningAlgorithm::HS512 => Ok(hmac::HMAC_SHA512),
        _ => Err(Error::KeyRejected("a shared secret can only be used with HS256, HS384 or HS512")),
    }
}

fn rsa_parameters(algorithm: SigningAlgorithm) -> Result<&'static signature::RsaParameters, Error> {
    use SigningAlgorithm as A;
    Ok(match algorithm {
        A::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        A::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        A::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        A::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        A::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        A::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => {
            return Err(Error::KeyRejected("the key's type does not match its declared algorithm"));
        }
    })
}

fn rsa_encoding(algorithm: SigningAlgorithm) -> Result<&'static dyn signature::RsaEncoding, Error> {
    use SigningAlgorithm as A;
    Ok(match algorithm {
        A::RS256 => &signature::RSA_PKCS1_SHA256,
        A::RS384 => &signature::RSA_PKCS1_SHA384,
        A::RS512 => &signature::RSA_PKCS1_SHA512,
        A::PS256 => &signature::RSA_PSS_SHA256,
        A::PS384 => &signature::RSA_PSS_SHA384,
        A::PS512 => &signature::RSA_PSS_SHA512,
        _ => {
            return Err(Error::KeyRejected("the key's type does not match its declared algorithm"));
        }
    })
}

fn ecdsa_signing(
    algorithm: SigningAlgorithm,
) -> Result<&'static signature::EcdsaSigningAlgorithm, Error> {
    match algorithm {
        SigningAlgorithm::ES256 => Ok(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        SigningAlgorithm::ES384 => Ok(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        _ => Err(Error::KeyRejected("the key's type does not match its declared algorithm")),
    }
}

pub(crate) fn to_key_algorithm(algorithm: SigningAlgorithm) -> KeyAlgorithm {
    use SigningAlgorithm as A;
    match algorithm {
        A::HS256 => KeyAlgorithm::HS256,
        A::HS384 => KeyAlgorithm::HS384,
        A::HS512 => KeyAlgorithm::HS512,
        A::RS256 => KeyAlgorithm::RS256,
        A::RS384 => KeyAlgorithm::RS384,
        A::RS512 => KeyAlgorithm::RS512,
        A::PS256 => KeyAlgorithm::PS256,
        A::PS384 => KeyAlgorithm::PS384,
        A::PS512 => KeyAlgorithm::PS512,
        A::ES256 => KeyAlgorithm::ES256,
        A::ES384 => KeyAlgorithm::ES384,
        _ => KeyAlgorithm::EdDSA,
    }
}

fn from_key_algorithm(algorithm: KeyAlgorithm) -> Result<SigningAlgorithm, Error> {
    SigningAlgorithm::ALL
        .into_iter()
        .find(|&candidate| to_key_algorithm(candidate) == algorithm)
        .ok_or(Error::KeyRejected("the JWK's alg is not a signature algorithm keygate supports"))
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
