//! Opaque API keys: a public key id and a 256-bit random secret.

use std::fmt;

use keygate_core::{DigestScheme, KeyId, SecretDigest, SecureRandom, base32};
use ring::{digest, hmac};
use zeroize::Zeroizing;

use crate::{Error, ct};

/// The prefix of every opaque keygate API key in its single-string form.
pub const API_KEY_PREFIX: &str = "kgk_";

const SECRET_BYTES: usize = 32;
const ID_CHARS: usize = KeyId::LEN;
const SECRET_CHARS: usize = base32::encoded_len(SECRET_BYTES);
const CHECKSUM_CHARS: usize = base32::encoded_len(4);
/// The part the checksum covers: `kgk_<key id>_<secret>`.
const CHECKED_LEN: usize = API_KEY_PREFIX.len() + ID_CHARS + 1 + SECRET_CHARS;

/// The length of an opaque API key in its single-string form: 80 characters.
pub const API_KEY_LEN: usize = CHECKED_LEN + CHECKSUM_CHARS;

/// An opaque API key: its public [`KeyId`] and its secret, 256 random bits.
///
/// It is presented in one of two ways:
///
/// - as a pair: the key id as SASL/PLAIN username or HTTP Basic user, and the single-string
///   form below (or the bare secret part of it) as the password;
/// - as one string, stable and documented so that secret scanners can find leaked keys:
///
/// ```text
///   kgk_ <key id: 16 base32> _ <secret: 52 base32> <checksum: 7 base32>
///   kgk_5x7k2m9q4w8n6p1r_…52 characters…7 characters          (80 characters)
/// ```
///
/// All base32 is Crockford's alphabet in lowercase (`0-9a-z` without `i l o u`), so the whole
/// key matches `kgk_[0-9a-hjkmnp-tv-z]{16}_[0-9a-hjkmnp-tv-z]{59}` and selects with one
/// double-click. The checksum is CRC-32 (the IEEE polynomial, as in zlib) of the first 73
/// characters, big-endian: a typo or a truncated paste is refused before any lookup, and a
/// scanner can tell a real key from a look-alike without asking anyone.
///
/// Only a digest of the secret is ever stored ([`SecretHasher`]). The secret is zeroized on drop
/// and never printed: `Debug` shows the key id alone.
///
/// ```
/// use keygate_token::{ApiKey, SecretHasher, SystemRandom};
///
/// let key = ApiKey::generate(&SystemRandom::new())?;
/// let text = key.expose();                      // shown to the user once
/// let hasher = SecretHasher::sha256();
/// let stored = hasher.digest(&key);             // kept in the store
///
/// let presented = ApiKey::parse(&text)?;
/// assert_eq!(presented.key_id(), key.key_id());
/// hasher.verify(&presented, &stored)?;
/// # Ok::<(), keygate_token::Error>(())
/// ```
pub struct ApiKey {
    id: KeyId,
    secret: Zeroizing<[u8; SECRET_BYTES]>,
}

impl ApiKey {
    /// A new key with a fresh id and secret.
    pub fn generate(random: &dyn SecureRandom) -> Result<ApiKey, Error> {
        let id = KeyId::generate(random)?;
        ApiKey::generate_for(id, random)
    }

    /// A new secret for the key id `id`.
    pub fn generate_for(id: KeyId, random: &dyn SecureRandom) -> Result<ApiKey, Error> {
        let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
        random.fill(secret.as_mut())?;
        Ok(ApiKey { id, secret })
    }

    /// Parses the single-string form, checking length, prefix, alphabet and checksum before
    /// anything else looks at it.
    pub fn parse(text: &str) -> Result<ApiKey, Error> {
        let bytes = text.as_bytes();
        if bytes.len() != API_KEY_LEN {
            return Err(Error::MalformedApiKey("a keygate API key is 80 characters long"));
        }
        if !bytes.starts_with(API_KEY_PREFIX.as_bytes())
            || bytes[API_KEY_PREFIX.len() + ID_CHARS] != b'_'
        {
            return Err(Error::MalformedApiKey("a keygate API key starts with kgk_"));
        }
        let (checked, checksum) = bytes.split_at(CHECKED_LEN);
        let mut expected = [0u8; 4];
        base32::decode_into(checksum, &mut expected)
            .map_err(|_| Error::MalformedApiKey("the checksum is not base32"))?;
        if crc32(checked).to_be_bytes() != expected {
            return Err(Error::ApiKeyChecksum);
        }
        let id_start = API_KEY_PREFIX.len();
        let id = KeyId::parse_canonical(&bytes[id_start..id_start + ID_CHARS])
            .map_err(|_| Error::MalformedApiKey("the key id is not base32"))?;
        let secret = decode_secret(&bytes[id_start + ID_CHARS + 1..CHECKED_LEN])?;
        Ok(ApiKey { id, secret })
    }

    /// Reads a key presented as a pair: `key_id` is the username; `secret` is the password,
    /// either the single-string form (whose embedded key id must be `key_id`) or its bare
    /// 52-character secret part.
    pub fn from_pair(key_id: &str, secret: &str) -> Result<ApiKey, Error> {
        let id: KeyId = key_id
            .parse()
            .map_err(|_| Error::MalformedApiKey("the username is not a keygate key id"))?;
        if secret.starts_with(API_KEY_PREFIX) {
            let key = ApiKey::parse(secret)?;
            return if key.id == id { Ok(key) } else { Err(Error::KeyIdMismatch) };
        }
        if secret.len() != SECRET_CHARS {
            return Err(Error::MalformedApiKey(
                "the password is neither a keygate API key nor its secret",
            ));
        }
        Ok(ApiKey { id, secret: decode_secret(secret.as_bytes())? })
    }

    /// The public key id.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The single-string form. It is the credential: show it once, never log it.
    pub fn expose(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(API_KEY_LEN));
        text.push_str(API_KEY_PREFIX);
        text.push_str(&self.id.to_string());
        text.push('_');
        base32::encode_into(self.secret.as_ref(), &mut text);
        let checksum = crc32(text.as_bytes()).to_be_bytes();
        base32::encode_into(&checksum, &mut text);
        text
    }

    fn secret(&self) -> &[u8] {
        self.secret.as_ref()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey").field("key_id", &self.id).finish_non_exhaustive()
    }
}

/// Computes and checks the stored digests of API-key secrets.
///
/// `sha256()` stores SHA-256 of the secret: with 256 random bits there is nothing to guess, so a
/// plain hash is enough to keep a copy of the store from being a copy of the keys.
/// `with_pepper(p)` stores HMAC-SHA256 under a server-side pepper, so that a stolen store
/// without the pepper cannot even confirm a key found elsewhere. A pepper cannot change without
/// reissuing every key digested under it.
///
/// Comparison is in constant time.
pub struct SecretHasher {
    pepper: Option<hmac::Key>,
}

impl SecretHasher {
    /// Plain SHA-256 digests.
    pub fn sha256() -> SecretHasher {
        SecretHasher { pepper: None }
    }

    /// HMAC-SHA256 digests under `pepper`, which must be at least 32 bytes.
    pub fn with_pepper(pepper: &[u8]) -> Result<SecretHasher, Error> {
        if pepper.len() < 32 {
            return Err(Error::KeyRejected("a pepper must be at least 32 bytes"));
        }
        Ok(SecretHasher { pepper: Some(hmac::Key::new(hmac::HMAC_SHA256, pepper)) })
    }

    /// The digest to store for `key`.
    pub fn digest(&self, key: &ApiKey) -> SecretDigest {
        let mut bytes = [0u8; 32];
        match &self.pepper {
            None => bytes.copy_from_slice(digest::digest(&digest::SHA256, key.secret()).as_ref()),
            Some(pepper) => bytes.copy_from_slice(hmac::sign(pepper, key.secret()).as_ref()),
        }
        let scheme =
            if self.pepper.is_some() { DigestScheme::HmacSha256 } else { DigestScheme::Sha256 };
        SecretDigest::new(scheme, bytes)
    }

    /// Checks `key` against the stored digest, in constant time.
    pub fn verify(&self, key: &ApiKey, stored: &SecretDigest) -> Result<(), Error> {
        self.matches(&self.digest(key), stored)
    }

    /// Checks a digest computed with [`SecretHasher::digest`] against the stored one, in constant
    /// time: for callers that compute the digest before they know whether the key exists, so
    /// that an unknown key costs the same as a wrong secret.
    pub fn matches(&self, computed: &SecretDigest, stored: &SecretDigest) -> Result<(), Error> {
        let expected_scheme =
            if self.pepper.is_some() { DigestScheme::HmacSha256 } else { DigestScheme::Sha256 };
        if stored.scheme() != expected_scheme {
            return Err(Error::Unsupported(
                "the stored digest was made with a different scheme than this hasher's",
            ));
        }
        if ct::bytes_equal(computed.as_bytes(), stored.as_bytes()) {
            Ok(())
        } else {
            Err(Error::SecretMismatch)
        }
    }
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretHasher").field("peppered", &self.pepper.is_some()).finish()
    }
}

/// SHA-256 of a whole token: the revocation handle of tokens that carry no `jti`.
pub fn token_digest(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
}

fn decode_secret(text: &[u8]) -> Result<Zeroizing<[u8; SECRET_BYTES]>, Error> {
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    base32::decode_into(text, secret.as_mut())
        .map_err(|_| Error::MalformedApiKey("the secret is not base32"))?;
    Ok(secret)
}

/// CRC-32 with the IEEE polynomial (reflected 0xEDB88320), as zlib computes it, eight bytes a
/// step ("slicing-by-8"): a byte at a time is a chain of 73 dependent lookups per key.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLES: [[u32; 256]; 8] = {
        let mut tables = [[0u32; 256]; 8];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
                bit += 1;
            }
            tables[0][i] = crc;
            i += 1;
        }
        // tables[k][i] is the CRC of byte i followed by k zero bytes.
        let mut k = 1;
        while k < 8 {
            let mut i = 0;
            while i < 256 {
                let previous = tables[k - 1][i];
                tables[k][i] = (previous >> 8) ^ tables[0][(previous & 0xff) as usize];
                i += 1;
            }
            k += 1;
        }
        tables
    };
    let t = &TABLES;
    let byte = |word: u32, n: u32| ((word >> (8 * n)) & 0xff) as usize;
    let (words, rest) = bytes.as_chunks::<8>();
    let crc = words.iter().fold(!0u32, |crc, chunk| {
        let [a, b, c, d, e, f, g, h] = *chunk;
        let low = u32::from_le_bytes([a, b, c, d]) ^ crc;
        let high = u32::from_le_bytes([e, f, g, h]);
        t[7][byte(low, 0)]
            ^ t[6][byte(low, 1)]
            ^ t[5][byte(low, 2)]
            ^ t[4][byte(low, 3)]
            ^ t[3][byte(high, 0)]
            ^ t[2][byte(high, 1)]
            ^ t[1][byte(high, 2)]
            ^ t[0][byte(high, 3)]
    });
    !rest.iter().fold(crc, |crc, &b| t[0][((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> ApiKey {
        ApiKey {
            id: KeyId::from_bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            secret: Zeroizing::new([0xa5; 32]),
        }
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        // Past one eight-byte step, with a remainder.
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414f_a339);
        // Every length, against the definition a bit at a time.
        let bitwise = |bytes: &[u8]| {
            !bytes.iter().fold(!0u32, |mut crc, &byte| {
                crc ^= u32::from(byte);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
                }
                crc
            })
        };
        let bytes: Vec<u8> = (0..100u32).map(|i| (i * 151 + 7) as u8).collect();
        for len in 0..bytes.len() {
            assert_eq!(crc32(&bytes[..len]), bitwise(&bytes[..len]), "length {len}");
        }
    }

    #[test]
    fn single_string_round_trips() {
        let key = fixed();
        let text = key.expose();
        assert_eq!(text.len(), API_KEY_LEN);
        assert!(text.starts_with("kgk_041061050r3gg28a_"));
        let back = ApiKey::parse(&text).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(back.secret(), key.secret());
    }

    #[test]
    fn every_single_character_change_is_refused() {
        let text = fixed().expose();
        for at in 0..text.len() {
            let mut bytes = text.as_bytes().to_vec();
            bytes[at] = if bytes[at] == b'z' { b'y' } else { b'z' };
            let Ok(changed) = String::from_utf8(bytes) else { continue };
            assert!(ApiKey::parse(&changed).is_err(), "a change at {at} was accepted");
        }
    }

    #[test]
    fn pairs_must_agree_on_the_key_id() {
        let key = fixed();
        let text = key.expose();
        let id = key.key_id().to_string();
        assert_eq!(ApiKey::from_pair(&id, &text).unwrap().key_id(), key.key_id());
        let bare = &text[21..73];
        assert_eq!(ApiKey::from_pair(&id, bare).unwrap().secret(), key.secret());
        let other = KeyId::from_bytes([9; 10]).to_string();
        assert_eq!(ApiKey::from_pair(&other, &text).unwrap_err(), Error::KeyIdMismatch);
        assert!(ApiKey::from_pair("not-an-id", &text).is_err());
        assert!(ApiKey::from_pair(&id, "short").is_err());
    }

    #[test]
    fn digests_verify_in_both_schemes() {
        let key = fixed();
        let other = ApiKey { id: key.id, secret: Zeroizing::new([0x5a; 32]) };
        for hasher in [SecretHasher::sha256(), SecretHasher::with_pepper(&[7; 32]).unwrap()] {
            let stored = hasher.digest(&key);
            hasher.verify(&key, &stored).unwrap();
            assert_eq!(hasher.verify(&other, &stored), Err(Error::SecretMismatch));
        }
        let plain = SecretHasher::sha256().digest(&key);
        assert!(SecretHasher::with_pepper(&[7; 32]).unwrap().verify(&key, &plain).is_err());
        assert!(SecretHasher::with_pepper(&[7; 31]).is_err());
    }

    #[test]
    fn debug_shows_only_the_key_id() {
        let printed = format!("{:?}", fixed());
        assert!(printed.contains("041061050r3gg28a"));
        assert!(!printed.contains("a5"), "{printed}");
    }
}
