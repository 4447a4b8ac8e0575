//! One token per algorithm, and everything that verifies it: keygate's verifier, jsonwebtoken's
//! `decode`, and ring's bare signature check.

use std::sync::Arc;

use jsonwebtoken::{DecodingKey, Validation};
use keygate::core::{SigningAlgorithm, Span};
use keygate::token::{Claims, Minter, SigningKey, Verifier, VerifyOptions};
use keygate_testkit::fixtures;
use ring::signature::{self, UnparsedPublicKey};
use serde::Deserialize;

use crate::NOW;

/// The algorithms compared: one per family.
pub const ALGORITHMS: [SigningAlgorithm; 4] = [
    SigningAlgorithm::HS256,
    SigningAlgorithm::ES256,
    SigningAlgorithm::EdDSA,
    SigningAlgorithm::RS256,
];

/// The audience tokens are minted for.
pub const AUDIENCE: &str = "kafka-cluster/lkc-bench";

/// The claims jsonwebtoken decodes into: what keygate reads from an API-key token.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // Decoded to be measured, not read.
pub struct DecodedClaims {
    sub: String,
    jti: String,
    iat: i64,
    exp: i64,
    aud: String,
    kg_scope: String,
}

/// A signing key for `algorithm`: generated, or for RSA the 2048-bit key of RFC 7515 A.2.
pub fn signing_key(algorithm: SigningAlgorithm) -> Arc<SigningKey> {
    let key = if algorithm == SigningAlgorithm::RS256 {
        SigningKey::from_pkcs1_der(algorithm, &fixtures::rfc7515_a2_rsa_pkcs1_der()).unwrap()
    } else {
        SigningKey::generate(algorithm).unwrap()
    };
    Arc::new(key.with_kid("bench".parse().unwrap()))
}

/// The claims of the token benched: those of a keygate API key.
pub fn claims() -> Claims<'static> {
    Claims::new("orders-service")
        .with_jwt_id("5x7k2m9q4w8n6p1r")
        .with_issued_at(NOW)
        .with_expires(Some(NOW.saturating_add(Span::days(90))))
        .with_audience(AUDIENCE)
        .with_scope(AUDIENCE.parse().unwrap())
}

/// A token signed by `key` with [`claims`].
pub fn token(key: &Arc<SigningKey>) -> String {
    Minter::new(Arc::clone(key)).mint(&claims()).unwrap().expose().to_owned()
}

/// keygate's verifier for `key`, with its signature cache (`cached`) or without.
pub fn verifier(key: &SigningKey, cached: bool) -> Verifier {
    let verifier = Verifier::new([Arc::clone(key.verification_key())]).unwrap();
    if cached { verifier } else { verifier.with_cache_slots(0) }
}

/// The options keygate verifies the benched token with.
pub fn options() -> VerifyOptions {
    VerifyOptions::default().with_audience(AUDIENCE)
}

/// jsonwebtoken's key and validation for `key`, as its users write them.
pub fn jsonwebtoken(key: &SigningKey) -> (DecodingKey, Validation) {
    let algorithm: jsonwebtoken::Algorithm = key.algorithm().name().parse().unwrap();
    let decoding = if key.algorithm().is_symmetric() {
        DecodingKey::from_secret(key.private_bytes())
    } else {
        DecodingKey::from_jwk(&key.verification_key().to_jwk().unwrap()).unwrap()
    };
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[AUDIENCE]);
    // jsonwebtoken reads the wall clock; the token's window is wide enough for any real date.
    validation.validate_exp = false;
    (decoding, validation)
}

/// ring's bare check of `token`'s signature, the floor under any verifier: the signing input,
/// the decoded signature, and a closure that verifies them once.
pub fn ring_floor(key: &SigningKey, token: &str) -> impl Fn() -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (input, signature) = token.rsplit_once('.').unwrap();
    let (input, signature) =
        (input.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(signature).unwrap());
    let algorithm = key.algorithm();
    let secret = key.private_bytes().to_vec();
    let public = public_key_bytes(key);
    move || match algorithm {
        SigningAlgorithm::HS256 => {
            let mac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
            ring::hmac::verify(&mac, &input, &signature).is_ok()
        }
        SigningAlgorithm::ES256 => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &public)
                .verify(&input, &signature)
                .is_ok()
        }
        SigningAlgorithm::EdDSA => {
            UnparsedPublicKey::new(&signature::ED25519, &public).verify(&input, &signature).is_ok()
        }
        _ => UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &public)
            .verify(&input, &signature)
            .is_ok(),
    }
}

/// The public key as ring takes it: the content of the SubjectPublicKeyInfo's BIT STRING.
fn public_key_bytes(key: &SigningKey) -> Vec<u8> {
    if key.algorithm().is_symmetric() {
        return Vec::new();
    }
    let spki = key.verification_key().to_spki_der().unwrap();
    // SEQUENCE { AlgorithmIdentifier SEQUENCE, BIT STRING }.
    let (_, outer) = der_header(&spki, 0x30);
    let (algorithm_length, algorithm_header) = der_header(&spki[outer..], 0x30);
    let bits = outer + algorithm_header + algorithm_length;
    let (_, bits_header) = der_header(&spki[bits..], 0x03);
    // Skip the count of unused bits, always 0 here.
    spki[bits + bits_header + 1..].to_vec()
}

/// The tag `tag` and length at the start of `bytes`: (content length, header length).
fn der_header(bytes: &[u8], tag: u8) -> (usize, usize) {
    assert_eq!(bytes[0], tag, "an unexpected DER tag");
    match bytes[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(bytes[2]), 3),
        0x82 => (usize::from(bytes[2]) << 8 | usize::from(bytes[3]), 4),
        _ => panic!("an unexpected DER length"),
    }
}
