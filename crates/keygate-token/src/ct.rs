//! Constant-time equality of byte strings, a word at a time.

use subtle::ConstantTimeEq;

/// Whether `a` and `b` are equal, in time that depends on their lengths only: the XOR of every
/// word is gathered without a branch, and only the union meets subtle's optimisation barrier.
/// (subtle's own slice `ct_eq` puts a barrier on every byte, which costs ten times as much on a
/// path every authentication takes.) Lengths are not secret: unequal lengths return at once.
pub(crate) fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, a_rest) = a.as_chunks::<8>();
    let (b_words, b_rest) = b.as_chunks::<8>();
    let words = a_words
        .iter()
        .zip(b_words)
        .fold(0u64, |union, (x, y)| union | (u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y)));
    let rest = a_rest.iter().zip(b_rest).fold(0u8, |union, (x, y)| union | (x ^ y));
    bool::from((words | u64::from(rest)).ct_eq(&0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_differing_byte_is_seen() {
        let a: Vec<u8> = (0..75u8).collect();
        for len in 0..a.len() {
            assert!(bytes_equal(&a[..len], &a[..len]));
            for at in 0..len {
                let mut b = a[..len].to_vec();
                b[at] ^= 0x80;
                assert!(!bytes_equal(&a[..len], &b), "length {len}, byte {at}");
            }
        }
        assert!(!bytes_equal(b"abc", b"abcd"));
    }
}
