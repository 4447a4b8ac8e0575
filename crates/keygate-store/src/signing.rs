//! Stored signing keys: the material of the key ring that signs JWT API keys.

use std::fmt;

use keygate_core::{SigningAlgorithm, SigningKeyId, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// What a signing key does in the ring.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SigningKeyStatus {
    /// Signs new tokens, and verifies. At most one key is active.
    Active,
    /// Verifies only: newly added (not yet promoted) or previously active.
    Verifying,
}

/// A stored signing key, as replicas see it: its id, algorithm, status and the material that
/// verifies its tokens. The private key of an asymmetric key is not part of it; see
/// [`SigningKeyStore::signing_key_private`](crate::SigningKeyStore::signing_key_private).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SigningKeyRecord {
    /// The `kid`.
    pub kid: SigningKeyId,
    /// The one algorithm it signs with.
    pub algorithm: SigningAlgorithm,
    /// Its role in the ring.
    pub status: SigningKeyStatus,
    /// When it was added.
    pub created_at: Timestamp,
    /// What verifies its tokens.
    pub verification: VerificationMaterial,
}

impl SigningKeyRecord {
    /// A record.
    pub fn new(
        kid: SigningKeyId,
        algorithm: SigningAlgorithm,
        status: SigningKeyStatus,
        created_at: Timestamp,
        verification: VerificationMaterial,
    ) -> SigningKeyRecord {
        SigningKeyRecord { kid, algorithm, status, created_at, verification }
    }
}

/// What verifies a signing key's tokens.
///
/// For asymmetric keys, the public key: safe to ship anywhere. For HMAC keys the verifier needs
/// the secret itself, so it travels sealed, and only a replica given the key-encryption key can
/// verify HS-signed tokens: a fleet of brokers is better served by EdDSA or ES256 signing keys,
/// which keep the power to mint off the brokers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "der", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VerificationMaterial {
    /// An X.509 SubjectPublicKeyInfo in DER, hex-encoded when serialised.
    PublicKey(#[serde(with = "hex")] Vec<u8>),
    /// The HMAC secret in the clear: how stores written before sealing kept it. Replicas still
    /// read it; the `keygate` command seals it on the first run with a master key.
    SharedSecret(SecretBytes),
    /// The HMAC secret, sealed under the key-encryption key.
    SealedSecret(Sealed),
}

/// A private signing key or HMAC secret sealed under a key-encryption key that the store never
/// holds (an AEAD ciphertext, bound to its signing key's id). Opaque to stores; not secret, but
/// `Debug` prints the length only all the same. Serialised as hex.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(#[serde(with = "hex")] Vec<u8>);

impl Sealed {
    /// Wraps sealed `bytes`.
    pub fn new(bytes: Vec<u8>) -> Sealed {
        Sealed(bytes)
    }

    /// The sealed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

/// Secret bytes: the private key of a signing key, or an HMAC secret. `Debug` prints the length
/// only; the bytes are zeroized on drop. Serialised as hex, because stores persist it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// The bytes. Handle with care.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        hex::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SecretBytes, D::Error> {
        hex::deserialize(deserializer).map(SecretBytes::new)
    }
}

/// Lowercase hex for byte strings in serialised records.
mod hex {
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = Zeroizing::new(String::with_capacity(bytes.len() * 2));
        for byte in bytes {
            text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            text.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
        }
        serializer.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        if text.len() % 2 != 0 {
            return Err(serde::de::Error::custom("hex of odd length"));
        }
        let digit = |b: u8| match b {
            b'0'..=b'9' => Ok(b - b'0'),
            b'a'..=b'f' => Ok(b - b'a' + 10),
            _ => Err(serde::de::Error::custom("not lowercase hex")),
        };
        text.as_bytes()
            .chunks_exact(2)
            .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_their_length_only_and_round_trip() {
        let secret = SecretBytes::new(vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(format!("{secret:?}"), "SecretBytes(4 bytes)");
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, "\"deadbeef\"");
        assert_eq!(serde_json::from_str::<SecretBytes>(&json).unwrap(), secret);
        assert!(serde_json::from_str::<SecretBytes>("\"DEAD\"").is_err());
        assert!(serde_json::from_str::<SecretBytes>("\"abc\"").is_err());
    }

    #[test]
    fn records_serialise_with_tagged_material() {
        let record = SigningKeyRecord::new(
            "k1".parse().unwrap(),
            SigningAlgorithm::EdDSA,
            SigningKeyStatus::Active,
            Timestamp::from_unix(5).unwrap(),
            VerificationMaterial::PublicKey(vec![1, 2]),
        );
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["verification"], serde_json::json!({"kind": "public_key", "der": "0102"}));
        assert_eq!(serde_json::from_value::<SigningKeyRecord>(json).unwrap(), record);
    }
}
