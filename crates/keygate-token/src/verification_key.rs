//! Keys that verify signatures, each bound to one algorithm and an optional `kid` when it is
//! loaded.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    RSAKeyParameters, RSAKeyType,
};
use keygate_core::{SigningAlgorithm, SigningKeyId};
use ring::{hmac, signature};
use zeroize::Zeroizing;

use crate::algorithm::{self, Family, KeyKind};
use crate::der::{self, Curve, PublicKeyInfo};
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
    pub(crate) kid: Option<SigningKeyId>,
    pub(crate) algorithm: SigningAlgorithm,
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
        let hmac_algorithm = algorithm::hmac_for(algorithm, secret)?;
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

    /// A public key from bytes as a key file holds them (PEM, or DER SubjectPublicKeyInfo or
    /// PKCS#1), for `algorithm` when one is named, else for the one its own kind implies:
    /// ES256 for P-256, ES384 for P-384, EdDSA for Ed25519, RS256 for RSA (name PS256 and the
    /// others to use PSS or another hash). A named algorithm that does not fit the key is
    /// refused with [`Error::KeyAlgorithmMismatch`], which says which algorithms do.
    ///
    /// This is how the `keygate` command and the gateways read `--public-key`.
    pub fn from_public_bytes(
        bytes: &[u8],
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<VerificationKey, Error> {
        if bytes.is_empty() {
            return Err(Error::KeyRejected("the key is empty"));
        }
        if algorithm.is_some_and(SigningAlgorithm::is_symmetric) {
            return Err(Error::KeyRejected("a public key cannot verify an HMAC algorithm"));
        }
        let pem_der;
        let (der, pkcs1) = if pem::looks_like_pem(bytes) {
            let (label, der) = pem::decode(bytes)?;
            pem_der = der;
            match label.as_str() {
                "PUBLIC KEY" => (&pem_der[..], false),
                "RSA PUBLIC KEY" => (&pem_der[..], true),
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                    return Err(Error::KeyFormat(
                        "a private key where a public key is expected; load it as a SigningKey",
                    ));
                }
                _ => return Err(Error::KeyFormat("a PEM block that is not a public key")),
            }
        } else {
            (bytes, der::parse_spki(bytes).is_err() && der::rsa_public_components(bytes).is_ok())
        };
        let info = if pkcs1 {
            PublicKeyInfo::Rsa(der)
        } else {
            // Something that is not even a DER structure (a shared secret given by mistake, say)
            // is named as such; a DER key of a kind keygate does not take keeps its own reason.
            der::parse_spki(der).map_err(|error| match der.first() {
                Some(0x30) => error,
                _ => Error::KeyFormat(
                    "not a public key keygate can read (SubjectPublicKeyInfo or PKCS#1, DER or PEM)",
                ),
            })?
        };
        let kind = match info {
            PublicKeyInfo::Rsa(_) => KeyKind::Rsa,
            PublicKeyInfo::Ec(curve, _) => KeyKind::Ec(curve),
            PublicKeyInfo::Ed25519(_) => KeyKind::Ed25519,
        };
        let algorithm = match algorithm {
            Some(declared) => kind.check(declared)?,
            None => kind.implied(),
        };
        VerificationKey::from_public_info(algorithm, &info)
    }

    /// A key from a JWK. The algorithm is the JWK's `alg`, or `algorithm` when given (they must
    /// agree if both are); EC and OKP keys without either are bound to the algorithm their curve
    /// implies. The `kid` is the JWK's.
    pub fn from_jwk(
        jwk: &Jwk,
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<VerificationKey, Error> {
        let declared = jwk.common.key_algorithm.map(algorithm::from_jwk).transpose()?;
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
            key_algorithm: Some(algorithm::spec(self.algorithm)?.jwk),
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
    pub(crate) fn duplicate(&self) -> VerificationKey {
        VerificationKey {
            kid: self.kid.clone(),
            algorithm: self.algorithm,
            inner: self.inner.clone(),
        }
    }

    pub(crate) fn from_public_info(
        algorithm: SigningAlgorithm,
        info: &PublicKeyInfo<'_>,
    ) -> Result<VerificationKey, Error> {
        let inner = match (algorithm::spec(algorithm)?.family, info) {
            (Family::Hmac { .. }, _) => {
                return Err(Error::KeyRejected("a public key cannot verify an HMAC algorithm"));
            }
            (Family::Rsa { verify, .. }, PublicKeyInfo::Rsa(pkcs1)) => {
                check_rsa_public_key(pkcs1)?;
                Verifying::Rsa { params: verify, pkcs1: Box::from(*pkcs1) }
            }
            (Family::Ecdsa { curve, verify, .. }, PublicKeyInfo::Ec(presented, point))
                if curve == *presented =>
            {
                Verifying::Ecdsa { algorithm: verify, curve, point: check_point(curve, point)? }
            }
            (Family::Ed25519, PublicKeyInfo::Ed25519(key)) => Verifying::Ed25519(
                <[u8; 32]>::try_from(*key)
                    .map_err(|_| Error::KeyRejected("an Ed25519 public key is 32 bytes"))?,
            ),
            _ => return Err(algorithm::mismatch()),
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
