//! Names for the keys that sign JWT API keys: their ids (`kid`) and algorithms.
//!
//! The cryptography lives in keygate-token; the model only needs to name keys and algorithms so
//! that stores, revocation lists and audit events can refer to them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::text::check_identifier;

/// The id of a signing key, carried in a JWT header as `kid`.
///
/// 1 to 128 bytes of ASCII letters, digits and `. _ - : = + ~`. Slashes, backslashes,
/// whitespace and control characters are refused, because a `kid` arrives in untrusted tokens
/// and some systems use it as a path or a log field.
///
/// Cloning one is cheap (the text is shared): every identity verified with a key carries its
/// `kid`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SigningKeyId(Arc<str>);

impl SigningKeyId {
    /// The longest kid, in bytes.
    pub const MAX_LEN: usize = 128;

    /// The kid as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks that `text` would make a valid kid, without making one: for readers that only
    /// need to look a kid up.
    pub fn validate(text: &str) -> Result<(), Error> {
        SigningKeyId::check(text)
    }

    fn check(text: &str) -> Result<(), Error> {
        check_identifier(
            "signing key id",
            text,
            Self::MAX_LEN,
            |b| b.is_ascii_alphanumeric() || b"._-:=+~".contains(&b),
            "ASCII letters, digits and . _ - : = + ~",
        )
    }
}

impl FromStr for SigningKeyId {
    type Err = Error;

    fn from_str(text: &str) -> Result<SigningKeyId, Error> {
        SigningKeyId::check(text)?;
        Ok(SigningKeyId(Arc::from(text)))
    }
}

impl TryFrom<String> for SigningKeyId {
    type Error = Error;

    fn try_from(text: String) -> Result<SigningKeyId, Error> {
        SigningKeyId::check(&text)?;
        Ok(SigningKeyId(Arc::from(text)))
    }
}

impl From<SigningKeyId> for String {
    fn from(kid: SigningKeyId) -> String {
        kid.0.to_string()
    }
}

// Hash and Eq are those of the text, so maps keyed by kid can be searched with a `&str`.
impl std::borrow::Borrow<str> for SigningKeyId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SigningKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SigningKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKeyId({})", self.0)
    }
}

/// A JWS algorithm keygate signs and verifies with (RFC 7518, RFC 8037). `none` is not one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    /// Every algorithm, in a fixed order.
    pub const ALL: [SigningAlgorithm; 12] = [
        SigningAlgorithm::HS256,
        SigningAlgorithm::HS384,
        SigningAlgorithm::HS512,
        SigningAlgorithm::RS256,
        SigningAlgorithm::RS384,
        SigningAlgorithm::RS512,
        SigningAlgorithm::PS256,
        SigningAlgorithm::PS384,
        SigningAlgorithm::PS512,
        SigningAlgorithm::ES256,
        SigningAlgorithm::ES384,
        SigningAlgorithm::EdDSA,
    ];

    /// The JOSE `alg` name, e.g. `ES256`.
    pub const fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::HS256 => "HS256",
            SigningAlgorithm::HS384 => "HS384",
            SigningAlgorithm::HS512 => "HS512",
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::RS384 => "RS384",
            SigningAlgorithm::RS512 => "RS512",
            SigningAlgorithm::PS256 => "PS256",
            SigningAlgorithm::PS384 => "PS384",
            SigningAlgorithm::PS512 => "PS512",
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::ES384 => "ES384",
            SigningAlgorithm::EdDSA => "EdDSA",
        }
    }

    /// Whether the same secret signs and verifies (the HMAC algorithms).
    pub const fn is_symmetric(self) -> bool {
        matches!(self, SigningAlgorithm::HS256 | SigningAlgorithm::HS384 | SigningAlgorithm::HS512)
    }

    /// Whether it signs with an RSA key (RS* and PS*).
    pub const fn is_rsa(self) -> bool {
        matches!(
            self,
            SigningAlgorithm::RS256
                | SigningAlgorithm::RS384
                | SigningAlgorithm::RS512
                | SigningAlgorithm::PS256
                | SigningAlgorithm::PS384
                | SigningAlgorithm::PS512
        )
    }

    /// Parses a JOSE `alg` name without allocating; `none` and unknown names give `None`.
    pub fn from_name(name: &[u8]) -> Option<SigningAlgorithm> {
        SigningAlgorithm::ALL.into_iter().find(|alg| alg.name().as_bytes() == name)
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = Error;

    fn from_str(text: &str) -> Result<SigningAlgorithm, Error> {
        SigningAlgorithm::from_name(text.as_bytes()).ok_or(Error::Malformed {
            what: "signing algorithm",
            expected: "one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_refuses_paths_and_control_characters() {
        for good in ["2026-11-key1", "kg:primary", "a+b=c", "Xy_9.z~"] {
            assert!(good.parse::<SigningKeyId>().is_ok(), "{good}");
        }
        for bad in ["", "../../etc/passwd", "a\\b", "a b", "k\u{0}", "k\n", "ключ"] {
            assert!(bad.parse::<SigningKeyId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn algorithm_names_round_trip_and_none_is_not_one() {
        for alg in SigningAlgorithm::ALL {
            assert_eq!(alg.name().parse::<SigningAlgorithm>().unwrap(), alg);
            assert_eq!(serde_json::to_string(&alg).unwrap(), format!("\"{}\"", alg.name()));
        }
        for bad in ["none", "None", "hs256", "ES512", ""] {
            assert!(bad.parse::<SigningAlgorithm>().is_err(), "{bad}");
        }
    }
}
