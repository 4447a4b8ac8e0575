//! Sealing private signing material under a key-encryption key that lives outside the store.
//!
//! A [`MasterKey`] is 32 random bytes. It seals a private key (or an HMAC secret) with
//! AES-256-GCM from ring, under a fresh random nonce, bound to a context (the signing key's
//! `kid`) so that a sealed value cannot be moved to another key's row and still open. The
//! sealed form carries the master key's fingerprint, so opening with the wrong master key says
//! so, by fingerprint, rather than failing as if the bytes were damaged.
//!
//! Layout: `kgs1` (4 bytes), the fingerprint (8), the nonce (12), the ciphertext and its tag
//! (16). The fingerprint is the first 8 bytes of SHA-256 over a fixed label and the key: it
//! names the key without helping anyone find it.

use std::fmt;

use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::SecureRandom as _;
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"kgs1";
const FINGERPRINT_LEN: usize = 8;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + FINGERPRINT_LEN + NONCE_LEN;
/// What the sealed bytes are bound to besides the caller's context.
const AAD_LABEL: &[u8] = b"keygate sealed signing key\0";
const FINGERPRINT_LABEL: &[u8] = b"keygate master key fingerprint\0";

/// Why sealing or opening failed. The messages name fingerprints and lengths, never key
/// material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A master key must be exactly 32 bytes, raw or as base64 text.
    #[error("a master key is {expected} bytes, raw or as base64 text; this one is {found}")]
    MasterKeyLength {
        /// The length a master key has.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The value was sealed under another master key.
    #[error(
        "sealed under master key {sealed_with}, but the master key given is {given}: \
         give the master key this store was created with"
    )]
    WrongMasterKey {
        /// The fingerprint of the key it was sealed with.
        sealed_with: String,
        /// The fingerprint of the key given.
        given: String,
    },
    /// Not a sealed value: too short, or not in the sealed layout.
    #[error("not a sealed value keygate can read")]
    Malformed,
    /// The right master key, but the value does not open: altered, or moved from another key.
    #[error("the sealed value does not open: it was altered, or belongs to another key")]
    Tampered,
    /// The system's random number generator failed.
    #[error("no randomness available to seal with")]
    Random,
}

/// The key-encryption key that seals private signing material. `Debug` prints its fingerprint
/// only; the key bytes live in ring's key schedule and are never handed out again.
pub struct MasterKey {
    key: LessSafeKey,
    fingerprint: [u8; FINGERPRINT_LEN],
}

impl MasterKey {
    /// The length of a master key, in bytes.
    pub const LEN: usize = 32;

    /// A new random master key that only this process holds: for an in-memory store, whose
    /// signing keys die with it. A persistent store needs [`generate_bytes`] kept safe.
    ///
    /// [`generate_bytes`]: MasterKey::generate_bytes
    pub fn generate() -> Result<MasterKey, SealError> {
        MasterKey::from_bytes(&MasterKey::generate_bytes()?)
    }

    /// Fresh random bytes for a new master key, to be kept somewhere safe and loaded with
    /// [`MasterKey::from_bytes`].
    pub fn generate_bytes() -> Result<Zeroizing<Vec<u8>>, SealError> {
        let mut bytes = Zeroizing::new(vec![0u8; Self::LEN]);
        ring::rand::SystemRandom::new().fill(&mut bytes).map_err(|_| SealError::Random)?;
        Ok(bytes)
    }

    /// The master key `bytes` (exactly [`MasterKey::LEN`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, SealError> {
        if bytes.len() != Self::LEN {
            return Err(SealError::MasterKeyLength { expected: Self::LEN, found: bytes.len() });
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| SealError::MasterKeyLength { expected: Self::LEN, found: bytes.len() })?;
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(FINGERPRINT_LABEL);
        context.update(bytes);
        let digest = context.finish();
        let mut fingerprint = [0u8; FINGERPRINT_LEN];
        fingerprint.copy_from_slice(&digest.as_ref()[..FINGERPRINT_LEN]);
        Ok(MasterKey { key: LessSafeKey::new(unbound), fingerprint })
    }

    /// The master key in `bytes` as it is kept: 32 raw bytes, or their standard base64 as text
    /// (surrounding whitespace ignored), which is how the `keygate` command writes it.
    pub fn decode(bytes: &[u8]) -> Result<MasterKey, SealError> {
        if bytes.len() == Self::LEN {
            return MasterKey::from_bytes(bytes);
        }
        let text = std::str::from_utf8(bytes).map(str::trim).unwrap_or_default();
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default(),
        );
        MasterKey::from_bytes(&decoded).map_err(|_| SealError::MasterKeyLength {
            expected: Self::LEN,
            found: if decoded.is_empty() { bytes.len() } else { decoded.len() },
        })
    }

    /// Its fingerprint, as 16 hex digits: what a sealed value names it by.
    pub fn fingerprint(&self) -> String {
        hex(&self.fingerprint)
    }

    /// Seals `plaintext`, bound to `context` (the signing key's id).
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        ring::rand::SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut sealed = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        sealed.extend_from_slice(MAGIC);
        sealed.extend_from_slice(&self.fingerprint);
        sealed.extend_from_slice(&nonce);
        let mut body = Zeroizing::new(plaintext.to_vec());
        let aad = aad(context);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut *body,
            )
            .map_err(|_| SealError::Malformed)?;
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    /// Opens what [`seal`](MasterKey::seal) sealed under this key for `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let fingerprint = sealed_with(sealed)?;
        if fingerprint != self.fingerprint {
            return Err(SealError::WrongMasterKey {
                sealed_with: hex(&fingerprint),
                given: self.fingerprint(),
            });
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[MAGIC.len() + FINGERPRINT_LEN..HEADER_LEN]);
        let mut body = Zeroizing::new(sealed[HEADER_LEN..].to_vec());
        let aad = aad(context);
        let opened = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&aad[..]), &mut body)
            .map_err(|_| SealError::Tampered)?
            .len();
        body.truncate(opened);
        Ok(body)
    }
}

/// The fingerprint of the master key `sealed` was sealed under, as 16 hex digits.
pub fn sealed_with_fingerprint(sealed: &[u8]) -> Result<String, SealError> {
    sealed_with(sealed).map(|fingerprint| hex(&fingerprint))
}

fn sealed_with(sealed: &[u8]) -> Result<[u8; FINGERPRINT_LEN], SealError> {
    if sealed.len() < HEADER_LEN + TAG_LEN || !sealed.starts_with(MAGIC) {
        return Err(SealError::Malformed);
    }
    let mut fingerprint = [0u8; FINGERPRINT_LEN];
    fingerprint.copy_from_slice(&sealed[MAGIC.len()..MAGIC.len() + FINGERPRINT_LEN]);
    Ok(fingerprint)
}

fn aad(context: &[u8]) -> Vec<u8> {
    [AAD_LABEL, context].concat()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn sealed_values_open_under_their_key_and_context_only() {
        let secret = b"a private key, say".as_slice();
        let sealed = key(1).seal(b"k1", secret).unwrap();
        assert_eq!(&key(1).open(b"k1", &sealed).unwrap()[..], secret);
        assert!(!sealed.windows(secret.len()).any(|window| window == secret));
        assert_eq!(key(1).open(b"k2", &sealed).unwrap_err(), SealError::Tampered);
        match key(2).open(b"k1", &sealed).unwrap_err() {
            SealError::WrongMasterKey { sealed_with, given } => {
                assert_eq!(sealed_with, key(1).fingerprint());
                assert_eq!(given, key(2).fingerprint());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(sealed_with_fingerprint(&sealed).unwrap(), key(1).fingerprint());
    }

    #[test]
    fn each_seal_draws_a_fresh_nonce() {
        let (a, b) = (key(1).seal(b"k1", b"same").unwrap(), key(1).seal(b"k1", b"same").unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn damaged_or_foreign_bytes_are_refused_without_panicking() {
        let sealed = key(1).seal(b"k1", b"secret").unwrap();
        for cut in 0..sealed.len() {
            assert!(key(1).open(b"k1", &sealed[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[at] ^= 1;
            assert!(key(1).open(b"k1", &flipped).is_err(), "flip at {at}");
        }
        assert_eq!(key(1).open(b"k1", &[0x30; 64]).unwrap_err(), SealError::Malformed);
    }

    #[test]
    fn master_keys_decode_from_raw_bytes_or_base64_text() {
        let text = format!("{}\n", base64::engine::general_purpose::STANDARD.encode([5u8; 32]));
        let from_text = MasterKey::decode(text.as_bytes()).unwrap();
        assert_eq!(from_text.fingerprint(), key(5).fingerprint());
        assert_eq!(MasterKey::decode(&[5; 32]).unwrap().fingerprint(), key(5).fingerprint());
        assert!(MasterKey::decode(b"c2hvcnQ=").is_err());
        assert!(MasterKey::decode(&[5; 31]).is_err());
    }

    #[test]
    fn master_keys_are_32_bytes_and_print_their_fingerprint_only() {
        assert_eq!(
            MasterKey::from_bytes(&[1; 16]).unwrap_err(),
            SealError::MasterKeyLength { expected: 32, found: 16 }
        );
        let printed = format!("{:?}", key(7));
        assert_eq!(printed, format!("MasterKey({})", key(7).fingerprint()));
        assert_eq!(key(7).fingerprint().len(), 16);
        assert_ne!(key(7).fingerprint(), key(8).fingerprint());
        assert_eq!(MasterKey::generate_bytes().unwrap().len(), 32);
    }
}
