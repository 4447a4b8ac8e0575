//! The JOSE layer of a compact JWS: its three segments, their base64url, and the header
//! members keygate reads. Nothing here depends on anything above it: the JSON readers fill a
//! [`Header`], the token and the verifier use the segments.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::SigningAlgorithm;

use crate::{Error, Malformed};

/// The parts of a JOSE header keygate reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) algorithm: SigningAlgorithm,
    /// Checked against keygate's kid alphabet.
    pub(crate) kid: Option<ShortText>,
    pub(crate) token_type: Option<ShortText>,
}

/// A header's `typ` or `kid`, held without an allocation when it is short (as `kg+jwt`, `JWT`
/// and keygate's kids are).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum ShortText {
    Short { bytes: [u8; 23], len: u8 },
    Long(Box<str>),
}

impl ShortText {
    pub(crate) fn new(text: &str) -> ShortText {
        match u8::try_from(text.len()) {
            Ok(len) if usize::from(len) <= 23 => {
                let mut bytes = [0; 23];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                ShortText::Short { bytes, len }
            }
            _ => ShortText::Long(Box::from(text)),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Built from a `&str` cut at its own length, so always UTF-8.
            ShortText::Short { bytes, len } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            ShortText::Long(text) => text,
        }
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_str().fmt(f)
    }
}

/// The three segments of a compact JWS, and the signing input (`header.payload`).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Segments<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    pub(crate) signing_input: &'a str,
}

/// Splits `text` at its two dots. The first dot and the last are each found from their own end
/// (the header and the signature are short), and there must be none in between.
pub(crate) fn split(text: &str) -> Result<Segments<'_>, Error> {
    let bytes = text.as_bytes();
    let first = bytes.iter().position(|&b| b == b'.');
    let last = bytes.iter().rposition(|&b| b == b'.');
    let (Some(first), Some(last)) = (first, last) else {
        return Err(Error::Malformed(Malformed::Segments));
    };
    if first == last || bytes[first + 1..last].contains(&b'.') {
        return Err(Error::Malformed(Malformed::Segments));
    }
    Ok(Segments {
        header: &text[..first],
        payload: &text[first + 1..last],
        signature: &text[last + 1..],
        signing_input: &text[..last],
    })
}

/// Decodes one unpadded, canonical base64url segment.
pub(crate) fn decode_segment(segment: &str, error: Malformed) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| Error::Malformed(error))
}

/// Decodes one segment into `out`, returning the decoded prefix.
pub(crate) fn decode_segment_into<'o>(
    segment: &str,
    out: &'o mut [u8],
    error: Malformed,
) -> Result<&'o [u8], Error> {
    let written =
        URL_SAFE_NO_PAD.decode_slice(segment, out).map_err(|_| Error::Malformed(error))?;
    Ok(&out[..written])
}

/// Room to decode a base64url segment: inline up to `N` bytes (every signature but RSA's, and
/// the claims of any ordinary token), on the heap beyond.
pub(crate) struct SegmentBuffer<const N: usize> {
    inline: [u8; N],
    heap: Vec<u8>,
}

impl<const N: usize> SegmentBuffer<N> {
    pub(crate) fn new() -> SegmentBuffer<N> {
        SegmentBuffer { inline: [0; N], heap: Vec::new() }
    }

    /// A buffer that holds the decoding of `encoded_len` characters.
    pub(crate) fn get(&mut self, encoded_len: usize) -> &mut [u8] {
        let needed = encoded_len.div_ceil(4) * 3;
        if needed <= N {
            &mut self.inline[..needed]
        } else {
            self.heap.resize(needed, 0);
            &mut self.heap
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_types_round_trip_short_and_long() {
        for text in ["", "JWT", "kg+jwt", "a-type-of-exactly-23-ch", &"x".repeat(200)] {
            assert_eq!(ShortText::new(text).as_str(), text);
        }
        assert!(matches!(ShortText::new("kg+jwt"), ShortText::Short { .. }));
    }

    #[test]
    fn splitting_needs_exactly_two_dots() {
        let segments = split("h.p.s").unwrap();
        assert_eq!((segments.header, segments.payload, segments.signature), ("h", "p", "s"));
        assert_eq!(segments.signing_input, "h.p");
        for bad in ["", "h.p", "h.p.s.x", "..."] {
            assert_eq!(split(bad).unwrap_err(), Error::Malformed(Malformed::Segments), "{bad:?}");
        }
        assert!(split("..").is_ok(), "empty segments are the decoders' to refuse");
    }
}
