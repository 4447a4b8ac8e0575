//! A ring-backed `CryptoProvider` for jsonwebtoken 11, so that jsonwebtoken's signing, decoding
//! and JWK handling run on the same crypto stack as keygate: no aws-lc, no RustCrypto signature
//! crates.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use keygate_core::SigningAlgorithm;
use ring::signature::KeyPair;

use crate::der::{self, Curve, PublicKeyInfo};
use crate::{SigningKey, VerificationKey};

/// jsonwebtoken's crypto on ring. Install it with [`install_jsonwebtoken_provider`].
///
/// Keys it is given go through keygate's loaders, so jsonwebtoken on this provider inherits
/// keygate's rules: HMAC secrets shorter than the hash, RSA keys under 2048 bits, and keys that do
/// not match their algorithm are refused.
pub(crate) static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: rsa_components_from_public_key,
        ec_pub_components_from_private_key: ec_components_from_private_key,
        ed_pub_components_from_private_key: ed_components_from_private_key,
        compute_digest,
    },
};

/// What [`install_jsonwebtoken_provider`] found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderInstall {
    /// keygate's ring provider is now jsonwebtoken's process-wide provider.
    Installed,
    /// It already was.
    AlreadyInstalled,
    /// The host process chose another provider first. It is left in place: jsonwebtoken keeps
    /// working for the host, and keygate's own minting and verification never go through
    /// jsonwebtoken's provider.
    OtherProvider,
}

/// Makes keygate's ring-backed provider jsonwebtoken's process-wide one, unless the host process
/// already installed one, which is respected.
pub fn install_jsonwebtoken_provider() -> ProviderInstall {
    match RING_PROVIDER.install_default() {
        Ok(()) => ProviderInstall::Installed,
        Err(existing) if std::ptr::eq(existing, &RING_PROVIDER) => {
            ProviderInstall::AlreadyInstalled
        }
        Err(_) => ProviderInstall::OtherProvider,
    }
}

pub(crate) fn to_jwt_algorithm(algorithm: SigningAlgorithm) -> Algorithm {
    use SigningAlgorithm as A;
    match algorithm {
        A::HS256 => Algorithm::HS256,
        A::HS384 => Algorithm::HS384,
        A::HS512 => Algorithm::HS512,
        A::RS256 => Algorithm::RS256,
        A::RS384 => Algorithm::RS384,
        A::RS512 => Algorithm::RS512,
        A::PS256 => Algorithm::PS256,
        A::PS384 => Algorithm::PS384,
        A::PS512 => Algorithm::PS512,
        A::ES256 => Algorithm::ES256,
        A::ES384 => Algorithm::ES384,
        _ => Algorithm::EdDSA,
    }
}

fn from_jwt_algorithm(algorithm: Algorithm) -> Result<SigningAlgorithm, JwtError> {
    SigningAlgorithm::ALL
        .into_iter()
        .find(|&candidate| to_jwt_algorithm(candidate) == algorithm)
        .ok_or_else(|| ErrorKind::InvalidAlgorithm.into())
}

struct RingSigner(SigningKey, Algorithm);

impl signature::Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        self.0.sign(message).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        self.1
    }
}

struct RingVerifier(VerificationKey, Algorithm);

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        self.0.verify_signature(message, signature).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.1
    }
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, JwtError> {
    let ours = from_jwt_algorithm(*algorithm)?;
    let bytes = key.as_bytes();
    let loaded = if ours.is_symmetric() {
        SigningKey::from_secret(ours, bytes)
    } else if matches!(
        ours,
        SigningAlgorithm::ES256 | SigningAlgorithm::ES384 | SigningAlgorithm::EdDSA
    ) {
        SigningKey::from_pkcs8_der(ours, bytes)
    } else {
        // jsonwebtoken holds RSA private keys as PKCS#1.
        SigningKey::from_pkcs1_der(ours, bytes)
    };
    let key = loaded.map_err(|_| JwtError::from(ErrorKind::InvalidKeyFormat))?;
    Ok(Box::new(RingSigner(key, *algorithm)))
}

fn new_verifier(
    algorithm: &Algorithm,
    key: &DecodingKey,
) -> Result<Box<dyn JwtVerifier>, JwtError> {
    let ours = from_jwt_algorithm(*algorithm)?;
    let loaded = match key.kind() {
        DecodingKeyKind::SecretOrDer(bytes) if ours.is_symmetric() => {
            VerificationKey::hmac(ours, bytes)
        }
        // jsonwebtoken holds public keys as PKCS#1 (RSA), the bare point (EC) or the bare key (Ed25519).
        DecodingKeyKind::SecretOrDer(bytes) => {
            let info = match ours {
                SigningAlgorithm::ES256 => PublicKeyInfo::Ec(Curve::P256, bytes),
                SigningAlgorithm::ES384 => PublicKeyInfo::Ec(Curve::P384, bytes),
                SigningAlgorithm::EdDSA => PublicKeyInfo::Ed25519(bytes),
                _ => PublicKeyInfo::Rsa(bytes),
            };
            VerificationKey::from_spki_der(ours, &der::write_spki(&info))
        }
        DecodingKeyKind::RsaModulusExponent { n, e } => {
            let pkcs1 = der::rsa_public_key(n, e);
            VerificationKey::from_spki_der(ours, &der::write_spki(&PublicKeyInfo::Rsa(&pkcs1)))
        }
    };
    let key = loaded.map_err(|_| JwtError::from(ErrorKind::InvalidKeyFormat))?;
    Ok(Box::new(RingVerifier(key, *algorithm)))
}

fn rsa_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    let pair = ring::signature::RsaKeyPair::from_der(der).map_err(|_| {
        JwtError::from(ErrorKind::InvalidRsaKey("invalid RSA private key".to_owned()))
    })?;
    rsa_components_from_public_key(pair.public().as_ref())
}

fn rsa_components_from_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    let (n, e) = der::rsa_public_components(der).map_err(|_| {
        JwtError::from(ErrorKind::InvalidRsaKey("invalid RSA public key".to_owned()))
    })?;
    Ok((n.to_vec(), e.to_vec()))
}

fn ec_components_from_private_key(
    der: &[u8],
    algorithm: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>), JwtError> {
    let (signing, curve, coordinate) = match algorithm {
        Algorithm::ES256 => {
            (&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, EllipticCurve::P256, 32)
        }
        Algorithm::ES384 => {
            (&ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING, EllipticCurve::P384, 48)
        }
        _ => return Err(ErrorKind::InvalidEcdsaKey.into()),
    };
    let pair =
        ring::signature::EcdsaKeyPair::from_pkcs8(signing, der, &ring::rand::SystemRandom::new())
            .map_err(|_| JwtError::from(ErrorKind::InvalidEcdsaKey))?;
    let point = pair.public_key().as_ref();
    let (x, y) = point.get(1..).ok_or(ErrorKind::InvalidEcdsaKey)?.split_at(coordinate);
    Ok((curve, x.to_vec(), y.to_vec()))
}

fn ed_components_from_private_key(der: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>, JwtError> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .map_err(|_| JwtError::from(ErrorKind::InvalidEddsaKey))?;
    Ok(pair.public_key().as_ref().to_vec())
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, JwtError> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(ring::digest::digest(algorithm, data).as_ref().to_vec())
}
