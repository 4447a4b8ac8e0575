//! The one table of what each signing algorithm is made of: ring's primitives to verify and
//! sign with, the curve or the secret length it needs, and its JWK name.

use jsonwebtoken::jwk::KeyAlgorithm;
use keygate_core::SigningAlgorithm;
use ring::{hmac, signature};

use crate::Error;
use crate::der::Curve;

/// What an algorithm is made of.
pub(crate) struct Spec {
    pub(crate) family: Family,
    /// Its name in a JWK's `alg`.
    pub(crate) jwk: KeyAlgorithm,
}

/// The kind of key an algorithm takes, and ring's primitives for it.
pub(crate) enum Family {
    Hmac {
        algorithm: hmac::Algorithm,
        /// The shortest secret RFC 7518 §3.2 allows: the size of the hash output.
        min_secret: usize,
        too_short: &'static str,
    },
    Rsa {
        verify: &'static signature::RsaParameters,
        sign: &'static dyn signature::RsaEncoding,
    },
    Ecdsa {
        curve: Curve,
        verify: &'static signature::EcdsaVerificationAlgorithm,
        sign: &'static signature::EcdsaSigningAlgorithm,
    },
    Ed25519,
}

/// The table. An algorithm keygate-core may add later, and this crate does not know, is an
/// error here, never a guess.
pub(crate) fn spec(algorithm: SigningAlgorithm) -> Result<Spec, Error> {
    use SigningAlgorithm as A;
    use signature as s;
    let hmac = |algorithm, min_secret, too_short| Family::Hmac { algorithm, min_secret, too_short };
    let rsa = |verify, sign| Family::Rsa { verify, sign };
    let (family, jwk) = match algorithm {
        A::HS256 => (
            hmac(
                hmac::HMAC_SHA256,
                32,
                "HS256 secrets must be at least 32 bytes (RFC 7518 section 3.2)",
            ),
            KeyAlgorithm::HS256,
        ),
        A::HS384 => (
            hmac(
                hmac::HMAC_SHA384,
                48,
                "HS384 secrets must be at least 48 bytes (RFC 7518 section 3.2)",
            ),
            KeyAlgorithm::HS384,
        ),
        A::HS512 => (
            hmac(
                hmac::HMAC_SHA512,
                64,
                "HS512 secrets must be at least 64 bytes (RFC 7518 section 3.2)",
            ),
            KeyAlgorithm::HS512,
        ),
        A::RS256 => {
            (rsa(&s::RSA_PKCS1_2048_8192_SHA256, &s::RSA_PKCS1_SHA256), KeyAlgorithm::RS256)
        }
        A::RS384 => {
            (rsa(&s::RSA_PKCS1_2048_8192_SHA384, &s::RSA_PKCS1_SHA384), KeyAlgorithm::RS384)
        }
        A::RS512 => {
            (rsa(&s::RSA_PKCS1_2048_8192_SHA512, &s::RSA_PKCS1_SHA512), KeyAlgorithm::RS512)
        }
        A::PS256 => (rsa(&s::RSA_PSS_2048_8192_SHA256, &s::RSA_PSS_SHA256), KeyAlgorithm::PS256),
        A::PS384 => (rsa(&s::RSA_PSS_2048_8192_SHA384, &s::RSA_PSS_SHA384), KeyAlgorithm::PS384),
        A::PS512 => (rsa(&s::RSA_PSS_2048_8192_SHA512, &s::RSA_PSS_SHA512), KeyAlgorithm::PS512),
        A::ES256 => (
            Family::Ecdsa {
                curve: Curve::P256,
                verify: &s::ECDSA_P256_SHA256_FIXED,
                sign: &s::ECDSA_P256_SHA256_FIXED_SIGNING,
            },
            KeyAlgorithm::ES256,
        ),
        A::ES384 => (
            Family::Ecdsa {
                curve: Curve::P384,
                verify: &s::ECDSA_P384_SHA384_FIXED,
                sign: &s::ECDSA_P384_SHA384_FIXED_SIGNING,
            },
            KeyAlgorithm::ES384,
        ),
        A::EdDSA => (Family::Ed25519, KeyAlgorithm::EdDSA),
        _ => return Err(Error::UnsupportedAlgorithm),
    };
    Ok(Spec { family, jwk })
}

/// The algorithm a JWK's `alg` names, if keygate supports it.
pub(crate) fn from_jwk(algorithm: KeyAlgorithm) -> Result<SigningAlgorithm, Error> {
    SigningAlgorithm::ALL
        .into_iter()
        .find(|&candidate| spec(candidate).is_ok_and(|spec| spec.jwk == algorithm))
        .ok_or(Error::KeyRejected("the JWK's alg is not a signature algorithm keygate supports"))
}

/// An HMAC secret for `algorithm`, checked: the primitive to key, if the secret is long enough.
pub(crate) fn hmac_for(
    algorithm: SigningAlgorithm,
    secret: &[u8],
) -> Result<hmac::Algorithm, Error> {
    let Family::Hmac { algorithm, min_secret, too_short } = spec(algorithm)?.family else {
        return Err(Error::KeyRejected(
            "a shared secret can only be used with HS256, HS384 or HS512",
        ));
    };
    if secret.is_empty() {
        return Err(Error::KeyRejected("the key is empty"));
    }
    if secret.len() < min_secret {
        return Err(Error::KeyRejected(too_short));
    }
    Ok(algorithm)
}

/// What kind of key some bytes hold, read from the key itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    Ec(Curve),
    Ed25519,
}

impl KeyKind {
    /// The algorithm a key of this kind is used with when none is named. RSA keys serve both
    /// PKCS#1 v1.5 and PSS, and RS256 is what `pulsar tokens` means by default.
    pub(crate) fn implied(self) -> SigningAlgorithm {
        match self {
            KeyKind::Rsa => SigningAlgorithm::RS256,
            KeyKind::Ec(Curve::P256) => SigningAlgorithm::ES256,
            KeyKind::Ec(Curve::P384) => SigningAlgorithm::ES384,
            KeyKind::Ed25519 => SigningAlgorithm::EdDSA,
        }
    }

    /// `declared` if a key of this kind can be used with it, else an error that says what the
    /// key is and which algorithms fit it.
    pub(crate) fn check(self, declared: SigningAlgorithm) -> Result<SigningAlgorithm, Error> {
        let fits = match (spec(declared)?.family, self) {
            (Family::Rsa { .. }, KeyKind::Rsa) | (Family::Ed25519, KeyKind::Ed25519) => true,
            (Family::Ecdsa { curve, .. }, KeyKind::Ec(presented)) => curve == presented,
            _ => false,
        };
        if fits {
            return Ok(declared);
        }
        let (key, suggested) = match self {
            KeyKind::Rsa => ("an RSA key", "RS256, RS384, RS512, PS256, PS384 or PS512"),
            KeyKind::Ec(Curve::P256) => ("an EC P-256 key", "ES256"),
            KeyKind::Ec(Curve::P384) => ("an EC P-384 key", "ES384"),
            KeyKind::Ed25519 => ("an Ed25519 key", "EdDSA"),
        };
        Err(Error::KeyAlgorithmMismatch { key, declared, suggested })
    }
}

/// The error for a key whose type is not the one its algorithm takes.
pub(crate) fn mismatch() -> Error {
    Error::KeyRejected("the key's type does not match its declared algorithm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_has_an_entry_and_a_jwk_name_of_its_own() {
        let names: Vec<KeyAlgorithm> =
            SigningAlgorithm::ALL.into_iter().map(|a| spec(a).unwrap().jwk).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(name), "{name:?} twice");
        }
        for algorithm in SigningAlgorithm::ALL {
            assert_eq!(from_jwk(spec(algorithm).unwrap().jwk).unwrap(), algorithm);
        }
    }
}
