//! The small part of DER that key files need: SubjectPublicKeyInfo (X.509 public keys), PKCS#8
//! private keys, PKCS#1 RSA public keys, and writing SubjectPublicKeyInfo back out.
//!
//! The reader accepts canonical DER only: definite minimal lengths, single-byte tags, and no
//! trailing bytes. It never panics; every malformed input is an error.

use crate::Error;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;

/// OID contents (without tag and length).
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A named elliptic curve.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    /// Length of an uncompressed point: 0x04 || x || y.
    pub(crate) fn point_len(self) -> usize {
        match self {
            Curve::P256 => 65,
            Curve::P384 => 97,
        }
    }

    fn oid(self) -> &'static [u8] {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
        }
    }
}

/// A public key as found inside a SubjectPublicKeyInfo.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PublicKeyInfo<'a> {
    /// An RSAPublicKey (PKCS#1) structure.
    Rsa(&'a [u8]),
    /// An uncompressed point.
    Ec(Curve, &'a [u8]),
    /// A 32-byte Ed25519 public key.
    Ed25519(&'a [u8]),
}

/// The kind of key in a PKCS#8 PrivateKeyInfo.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PrivateKeyKind {
    Rsa,
    Ec(Curve),
    Ed25519,
}

/// Parses an X.509 SubjectPublicKeyInfo.
pub(crate) fn parse_spki(der: &[u8]) -> Result<PublicKeyInfo<'_>, Error> {
    let mut outer = Reader::new(der);
    let mut spki = Reader::new(outer.expect(SEQUENCE)?);
    outer.finish()?;
    let (algorithm, parameters) = algorithm_identifier(spki.expect(SEQUENCE)?)?;
    let key = bit_string(spki.expect(BIT_STRING)?)?;
    spki.finish()?;
    match (algorithm, parameters) {
        (OID_RSA_ENCRYPTION, _) => Ok(PublicKeyInfo::Rsa(key)),
        (OID_EC_PUBLIC_KEY, Some(curve)) => Ok(PublicKeyInfo::Ec(named_curve(curve)?, key)),
        (OID_EC_PUBLIC_KEY, None) => Err(Error::KeyFormat("an EC key without its named curve")),
        (OID_ED25519, _) => Ok(PublicKeyInfo::Ed25519(key)),
        (OID_RSASSA_PSS, _) => Err(Error::KeyFormat(
            "RSASSA-PSS-restricted keys; use an rsaEncryption key for PS256/PS384/PS512",
        )),
        _ => Err(Error::KeyFormat("a public key of an algorithm keygate does not support")),
    }
}

/// Reads the algorithm of a PKCS#8 PrivateKeyInfo (v1 or v2). The whole document is what ring
/// loads, so only the kind is returned.
/// The start of an Ed25519 PKCS#8 document up to its 32-byte seed, in v2 (as ring writes it,
/// the public key following the seed) and v1 (RFC 8410, the seed alone).
const ED25519_V2_PREFIX: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
const ED25519_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The PKCS#8 v1 form of an Ed25519 key that ring wrote in v2, or `None` if `der` is not of
/// that form. The seed is copied; the public key, which can be derived from it, is dropped.
pub(crate) fn ed25519_pkcs8_v1(der: &[u8]) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let rest = der.strip_prefix(&ED25519_V2_PREFIX[..])?;
    let seed = rest.get(..32)?;
    let mut v1 = zeroize::Zeroizing::new(Vec::with_capacity(48));
    v1.extend_from_slice(&ED25519_V1_PREFIX);
    v1.extend_from_slice(seed);
    Some(v1)
}

pub(crate) fn pkcs8_kind(der: &[u8]) -> Result<PrivateKeyKind, Error> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.expect(SEQUENCE)?);
    outer.finish()?;
    let version = info.expect(INTEGER)?;
    if version != [0] && version != [1] {
        return Err(Error::KeyFormat("a PKCS#8 version other than 1 or 2"));
    }
    let (algorithm, parameters) = algorithm_identifier(info.expect(SEQUENCE)?)?;
    info.expect(OCTET_STRING)?;
    match (algorithm, parameters) {
        (OID_RSA_ENCRYPTION, _) => Ok(PrivateKeyKind::Rsa),
        (OID_EC_PUBLIC_KEY, Some(curve)) => Ok(PrivateKeyKind::Ec(named_curve(curve)?)),
        (OID_EC_PUBLIC_KEY, None) => Err(Error::KeyFormat("an EC key without its named curve")),
        (OID_ED25519, _) => Ok(PrivateKeyKind::Ed25519),
        _ => Err(Error::KeyFormat("a private key of an algorithm keygate does not support")),
    }
}

/// The modulus and public exponent of a PKCS#1 RSAPublicKey, without leading zero bytes.
pub(crate) fn rsa_public_components(der: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let mut outer = Reader::new(der);
    let mut key = Reader::new(outer.expect(SEQUENCE)?);
    outer.finish()?;
    let n = positive_integer(key.expect(INTEGER)?)?;
    let e = positive_integer(key.expect(INTEGER)?)?;
    key.finish()?;
    Ok((n, e))
}

/// Encodes a PKCS#1 RSAPublicKey from its modulus and exponent.
pub(crate) fn rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    write_unsigned_integer(&mut body, n);
    write_unsigned_integer(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 4);
    write_tlv(&mut out, SEQUENCE, &body);
    out
}

/// Encodes a SubjectPublicKeyInfo for a public key.
pub(crate) fn write_spki(key: &PublicKeyInfo<'_>) -> Vec<u8> {
    let mut algorithm = Vec::new();
    let public = match key {
        PublicKeyInfo::Rsa(pkcs1) => {
            write_tlv(&mut algorithm, OID, OID_RSA_ENCRYPTION);
            write_tlv(&mut algorithm, NULL, &[]);
            pkcs1
        }
        PublicKeyInfo::Ec(curve, point) => {
            write_tlv(&mut algorithm, OID, OID_EC_PUBLIC_KEY);
            write_tlv(&mut algorithm, OID, curve.oid());
            point
        }
        PublicKeyInfo::Ed25519(key) => {
            write_tlv(&mut algorithm, OID, OID_ED25519);
            key
        }
    };
    let mut bits = Vec::with_capacity(public.len() + 1);
    bits.push(0); // no unused bits
    bits.extend_from_slice(public);
    let mut body = Vec::new();
    write_tlv(&mut body, SEQUENCE, &algorithm);
    write_tlv(&mut body, BIT_STRING, &bits);
    let mut out = Vec::with_capacity(body.len() + 4);
    write_tlv(&mut out, SEQUENCE, &body);
    out
}

fn algorithm_identifier(der: &[u8]) -> Result<(&[u8], Option<&[u8]>), Error> {
    let mut reader = Reader::new(der);
    let oid = reader.expect(OID)?;
    let parameters = match reader.peek() {
        None => None,
        Some(NULL) => {
            if !reader.expect(NULL)?.is_empty() {
                return Err(Error::KeyFormat("a NULL with contents"));
            }
            None
        }
        Some(OID) => Some(reader.expect(OID)?),
        Some(_) => return Err(Error::KeyFormat("algorithm parameters keygate does not read")),
    };
    reader.finish()?;
    Ok((oid, parameters))
}

fn named_curve(oid: &[u8]) -> Result<Curve, Error> {
    match oid {
        OID_P256 => Ok(Curve::P256),
        OID_P384 => Ok(Curve::P384),
        _ => Err(Error::KeyFormat("an elliptic curve other than P-256 and P-384")),
    }
}

fn bit_string(contents: &[u8]) -> Result<&[u8], Error> {
    match contents.split_first() {
        Some((0, bits)) => Ok(bits),
        _ => Err(Error::KeyFormat("a BIT STRING with unused bits")),
    }
}

/// The magnitude of a non-negative INTEGER, without its sign byte.
fn positive_integer(contents: &[u8]) -> Result<&[u8], Error> {
    match contents {
        [] => Err(Error::KeyFormat("an empty INTEGER")),
        [first, ..] if first & 0x80 != 0 => Err(Error::KeyFormat("a negative INTEGER")),
        [0, second, ..] if second & 0x80 == 0 => Err(Error::KeyFormat("a non-minimal INTEGER")),
        [0, rest @ ..] if !rest.is_empty() => Ok(rest),
        _ => Ok(contents),
    }
}

fn write_unsigned_integer(out: &mut Vec<u8>, magnitude: &[u8]) {
    let start = magnitude.iter().position(|&b| b != 0).unwrap_or(magnitude.len());
    let magnitude = &magnitude[start..];
    let mut contents = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_none_or(|&b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend_from_slice(magnitude);
    write_tlv(out, INTEGER, &contents);
}

fn write_tlv(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
}

/// A cursor over DER elements.
struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { input }
    }

    fn peek(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// Reads one element with `tag` and returns its contents.
    fn expect(&mut self, tag: u8) -> Result<&'a [u8], Error> {
        const TRUNCATED: Error = Error::KeyFormat("truncated or malformed DER");
        let (&found, rest) = self.input.split_first().ok_or(TRUNCATED)?;
        if found != tag {
            return Err(Error::KeyFormat("an unexpected DER element"));
        }
        let (&first, rest) = rest.split_first().ok_or(TRUNCATED)?;
        let (len, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            0x81 => match rest.split_first() {
                Some((&len, rest)) if len >= 0x80 => (usize::from(len), rest),
                _ => return Err(TRUNCATED),
            },
            0x82 => match rest {
                [high, low, rest @ ..] if *high != 0 => {
                    (usize::from(*high) << 8 | usize::from(*low), rest)
                }
                _ => return Err(TRUNCATED),
            },
            // Key material is never 64 KiB long; longer and indefinite forms are refused.
            _ => return Err(TRUNCATED),
        };
        if rest.len() < len {
            return Err(TRUNCATED);
        }
        let (contents, rest) = rest.split_at(len);
        self.input = rest;
        Ok(contents)
    }

    fn finish(&self) -> Result<(), Error> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(Error::KeyFormat("trailing bytes after DER"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_round_trips_for_every_key_kind() {
        let rsa = rsa_public_key(&[0xc5; 256], &[1, 0, 1]);
        let point = [0x04; 65];
        let ed = [9; 32];
        for key in [
            PublicKeyInfo::Rsa(&rsa),
            PublicKeyInfo::Ec(Curve::P256, &point),
            PublicKeyInfo::Ed25519(&ed),
        ] {
            let der = write_spki(&key);
            assert_eq!(parse_spki(&der).unwrap(), key);
        }
        let (n, e) = rsa_public_components(&rsa).unwrap();
        assert_eq!((n, e), (&[0xc5; 256][..], &[1, 0, 1][..]));
    }

    #[test]
    fn refuses_non_canonical_der() {
        let der = write_spki(&PublicKeyInfo::Ed25519(&[9; 32]));
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(parse_spki(&trailing).is_err());
        for cut in 0..der.len() {
            assert!(parse_spki(&der[..cut]).is_err(), "prefix of {cut} bytes parsed");
        }
        // A long-form length that fits in the short form.
        assert!(Reader::new(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).expect(0x04).is_err());
        // Indefinite length.
        assert!(Reader::new(&[0x30, 0x80, 0, 0]).expect(0x30).is_err());
        // Integers: negative and padded.
        assert!(positive_integer(&[0x80]).is_err());
        assert!(positive_integer(&[0x00, 0x01]).is_err());
        assert_eq!(positive_integer(&[0x00, 0x80]).unwrap(), &[0x80]);
    }

    #[test]
    fn integers_are_written_minimally() {
        let mut out = Vec::new();
        write_unsigned_integer(&mut out, &[0, 0, 0x80]);
        assert_eq!(out, [INTEGER, 2, 0, 0x80]);
        out.clear();
        write_unsigned_integer(&mut out, &[0, 0x7f]);
        assert_eq!(out, [INTEGER, 1, 0x7f]);
        out.clear();
        write_tlv(&mut out, OCTET_STRING, &[0; 300]);
        assert_eq!(&out[..4], &[OCTET_STRING, 0x82, 0x01, 0x2c]);
    }
}
