//! Key values as Pulsar configuration and `pulsar tokens` accept them.

use std::fmt;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use zeroize::Zeroizing;

use crate::Error;

/// Standard base64 that accepts the padding or its absence, as Java's basic decoder does.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A key as written in Pulsar's `tokenSecretKey` / `tokenPublicKey` settings and in the
/// `--secret-key` / `--private-key` / `--public-key` options of `pulsar tokens`:
///
/// - `data:;base64,<base64>`: the key bytes inline (any media type before `;base64` is ignored);
/// - `file:///path/to/key` or `file:/path/to/key`: the key bytes are the file's contents, read as
///   they are (a file holding base64 text is *not* decoded, exactly as Pulsar reads it);
/// - anything else: base64 of the key bytes, padded or not.
///
/// This crate does no I/O, so a `file:` value is handed back as a path for the caller to read;
/// [`SigningKey::from_bytes`](crate::SigningKey::from_bytes) and
/// [`VerificationKey::from_bytes`](crate::VerificationKey::from_bytes) then take the bytes.
///
/// ```
/// use keygate_token::KeyValue;
///
/// let inline = KeyValue::parse("data:;base64,c2VjcmV0")?;
/// assert!(matches!(inline, KeyValue::Inline(bytes) if bytes.as_slice() == b"secret"));
/// let file = KeyValue::parse("file:///etc/pulsar/token.key")?;
/// assert!(matches!(file, KeyValue::File(path) if path.to_str() == Some("/etc/pulsar/token.key")));
/// # Ok::<(), keygate_token::Error>(())
/// ```
pub enum KeyValue {
    /// The key bytes.
    Inline(Zeroizing<Vec<u8>>),
    /// A file whose contents are the key bytes.
    File(PathBuf),
}

impl KeyValue {
    /// The most bytes a key file may hold: the largest key keygate reads (an RSA-4096 private
    /// key in PEM) is under 4 KiB, and a token is smaller still.
    pub const MAX_FILE_LEN: usize = 64 * 1024;

    /// Reads what `reader` holds (a key or token file the caller opened), refusing more than
    /// [`KeyValue::MAX_FILE_LEN`] bytes before reading them: `file:///dev/zero` is an error, not
    /// an exhausted memory. The caller owns the file; this only moves bytes.
    pub fn read_capped(reader: impl std::io::Read) -> std::io::Result<Zeroizing<Vec<u8>>> {
        let mut bytes = Zeroizing::new(Vec::new());
        let limit = u64::try_from(Self::MAX_FILE_LEN).unwrap_or(u64::MAX) + 1;
        std::io::Read::read_to_end(&mut reader.take(limit), &mut bytes)?;
        if bytes.len() > Self::MAX_FILE_LEN {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("more than {} bytes: not a key or token file", Self::MAX_FILE_LEN),
            ));
        }
        Ok(bytes)
    }

    /// Parses a key value in one of the forms above. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<KeyValue, Error> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("data:") {
            let (media, data) =
                rest.split_once(',').ok_or(Error::KeyFormat("a data: URL without a comma"))?;
            if !media.ends_with(";base64") {
                return Err(Error::KeyFormat("a data: URL that is not ;base64"));
            }
            return decode(data).map(KeyValue::Inline);
        }
        if let Some(rest) = text.strip_prefix("file:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(Error::KeyFormat("a file: URL without a path"));
            }
            return Ok(KeyValue::File(PathBuf::from(path)));
        }
        if text.is_empty() {
            return Err(Error::KeyRejected("the key is empty"));
        }
        decode(text).map(KeyValue::Inline)
    }
}

fn decode(data: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let compact: Zeroizing<String> =
        Zeroizing::new(data.chars().filter(|c| !c.is_whitespace()).collect());
    LENIENT_BASE64
        .decode(compact.as_bytes())
        .or_else(|_| general_purpose::URL_SAFE_NO_PAD.decode(compact.as_bytes()))
        .map(Zeroizing::new)
        .map_err(|_| Error::KeyFormat("a key value that is neither data:, file: nor base64"))
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyValue::Inline(bytes) => write!(f, "KeyValue::Inline({} bytes)", bytes.len()),
            KeyValue::File(path) => f.debug_tuple("KeyValue::File").field(path).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline(text: &str) -> Vec<u8> {
        match KeyValue::parse(text).unwrap() {
            KeyValue::Inline(bytes) => bytes.to_vec(),
            KeyValue::File(_) => panic!("{text} read as a file"),
        }
    }

    #[test]
    fn reads_every_pulsar_form() {
        assert_eq!(inline("data:;base64,AAEC"), [0, 1, 2]);
        assert_eq!(inline("data:application/octet-stream;base64,AAEC"), [0, 1, 2]);
        assert_eq!(inline("AAECAw=="), [0, 1, 2, 3]);
        assert_eq!(inline("AAECAw"), [0, 1, 2, 3]);
        assert_eq!(inline("  AAEC\nAw==\n"), [0, 1, 2, 3]);
        assert_eq!(inline("-_8"), [0xfb, 0xff]);
        assert!(
            matches!(KeyValue::parse("file:/k").unwrap(), KeyValue::File(p) if p.to_str() == Some("/k"))
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in ["", "data:,plain", "data:;base64", "file:", "file://", "not base64!"] {
            assert!(KeyValue::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let value = KeyValue::parse("c2VjcmV0").unwrap();
        assert_eq!(format!("{value:?}"), "KeyValue::Inline(6 bytes)");
    }
}
