//! Crockford's base32 in lowercase, without padding: the alphabet of keygate's key ids and
//! opaque API keys.
//!
//! The alphabet `0123456789abcdefghjkmnpqrstvwxyz` leaves out `i`, `l`, `o` and `u`, so a key
//! read aloud or copied by hand is not mistyped into another valid key, and it sorts in the
//! same order as the bytes it encodes. Decoding is strict: lowercase only, an exact length, and
//! the unused low bits of the last character must be zero, so every byte string has exactly one
//! encoding.

/// The 32 symbols, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

const INVALID: u8 = 0xff;

const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut value = 0;
    while value < 32 {
        table[ALPHABET[value] as usize] = value as u8;
        value += 1;
    }
    table
};

/// The number of characters that encode `bytes` bytes.
pub const fn encoded_len(bytes: usize) -> usize {
    (bytes * 8).div_ceil(5)
}

/// Writes the encoding of `bytes` into `out`, which must be [`encoded_len`]`(bytes.len())`
/// long; a shorter `out` receives a prefix of the encoding.
pub fn encode_to_slice(bytes: &[u8], out: &mut [u8]) {
    let mut symbols = out.iter_mut();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            if let Some(slot) = symbols.next() {
                *slot = ALPHABET[((buffer >> bits) & 31) as usize];
            }
        }
    }
    if bits > 0
        && let Some(slot) = symbols.next()
    {
        *slot = ALPHABET[((buffer << (5 - bits)) & 31) as usize];
    }
}

/// Appends the encoding of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    let mut symbols = vec![0; encoded_len(bytes.len())];
    encode_to_slice(bytes, &mut symbols);
    // Every symbol of the alphabet is ASCII.
    out.extend(symbols.iter().map(|&b| char::from(b)));
}

/// The encoding of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    encode_into(bytes, &mut out);
    out
}

/// Why a string is not the canonical encoding of the expected number of bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The string does not have the length that encodes the expected number of bytes.
    Length,
    /// The byte at this offset is not in the alphabet.
    Symbol(usize),
    /// The unused low bits of the last character are not zero.
    NonCanonical,
}

/// Decodes `text` into `out`, which must be exactly as long as the bytes `text` encodes.
pub fn decode_into(text: &[u8], out: &mut [u8]) -> Result<(), DecodeError> {
    if text.len() != encoded_len(out.len()) {
        return Err(DecodeError::Length);
    }
    // Whole groups of 8 symbols are 40 bits, 5 bytes: decoded without a branch per symbol.
    let (groups, tail_text) = text.as_chunks::<8>();
    let (whole, tail_out) = out.as_chunks_mut::<5>();
    for (index, (group, bytes)) in groups.iter().zip(whole.iter_mut()).enumerate() {
        let mut bits: u64 = 0;
        let mut invalid = 0;
        for &symbol in group {
            let value = DECODE[usize::from(symbol)];
            invalid |= value;
            bits = (bits << 5) | u64::from(value & 31);
        }
        // Every symbol's value is under 32; only INVALID has higher bits.
        if invalid > 31 {
            return Err(first_invalid(group, index * 8));
        }
        let [_, _, _, five @ ..] = bits.to_be_bytes();
        *bytes = five;
    }
    decode_tail(tail_text, tail_out, groups.len() * 8)
}

/// The last, partial group: fewer than 8 symbols for fewer than 5 bytes.
fn decode_tail(text: &[u8], out: &mut [u8], offset: usize) -> Result<(), DecodeError> {
    let mut buffer: u32 = 0;
    let mut bits = 0;
    let mut written = 0;
    for (at, &symbol) in text.iter().enumerate() {
        let value = DECODE[usize::from(symbol)];
        if value == INVALID {
            return Err(DecodeError::Symbol(offset + at));
        }
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // The caller's length check guarantees room for every whole byte.
            if let Some(slot) = out.get_mut(written) {
                *slot = (buffer >> bits) as u8;
            }
            written += 1;
        }
    }
    if buffer & ((1 << bits) - 1) != 0 {
        return Err(DecodeError::NonCanonical);
    }
    Ok(())
}

fn first_invalid(group: &[u8], offset: usize) -> DecodeError {
    let at = group.iter().position(|&symbol| DECODE[usize::from(symbol)] == INVALID);
    DecodeError::Symbol(offset + at.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = encode(&bytes);
            assert_eq!(text.len(), encoded_len(len));
            let mut back = vec![0; len];
            decode_into(text.as_bytes(), &mut back).unwrap();
            assert_eq!(back, bytes);
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(encode(&[0; 5]), "00000000");
        assert_eq!(encode(&[0xff; 5]), "zzzzzzzz");
        assert_eq!(encode(b"f"), "cr");
    }

    #[test]
    fn decoding_is_strict() {
        let mut out = [0u8; 1];
        assert_eq!(decode_into(b"cr", &mut out), Ok(()));
        assert_eq!(decode_into(b"cs", &mut out), Err(DecodeError::NonCanonical));
        assert_eq!(decode_into(b"CR", &mut out), Err(DecodeError::Symbol(0)));
        assert_eq!(decode_into(b"ci", &mut out), Err(DecodeError::Symbol(1)));
        assert_eq!(decode_into(b"crr", &mut out), Err(DecodeError::Length));
        // A bad symbol is found at its own offset, in a whole group or in the tail.
        let mut out = [0u8; 7];
        for at in 0..encoded_len(7) {
            let mut text = encode(&[0x5a; 7]).into_bytes();
            text[at] = b'u';
            assert_eq!(decode_into(&text, &mut out), Err(DecodeError::Symbol(at)));
        }
    }

    #[test]
    fn order_is_preserved() {
        let a = [0x01, 0xff, 0x00];
        let b = [0x02, 0x00, 0x00];
        assert!(encode(&a) < encode(&b));
    }
}
