//! The worked examples of RFC 7515 appendix A and RFC 8037 appendix A.4.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::{Clock, SigningAlgorithm, SystemClock};
use keygate_testkit::fixtures::{self, b64url};
use keygate_token::jwk::Jwk;
use keygate_token::{
    Error, Malformed, SigningKey, UnverifiedToken, VerificationKey, VerifyOptions,
};

use super::support::{at, verifier_of, verify};

fn split(token: &str) -> (&str, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').unwrap();
    (input, URL_SAFE_NO_PAD.decode(signature).unwrap())
}

/// The RFC examples have no `sub`; they are checked for what they do carry.
fn rfc_options() -> VerifyOptions {
    VerifyOptions::default().allow_no_subject()
}

#[test]
fn a1_hs256_is_valid_before_2011_and_expired_now() {
    let key =
        VerificationKey::hmac(SigningAlgorithm::HS256, &b64url(fixtures::RFC7515_A1_HMAC_KEY))
            .unwrap();
    let verifier = verifier_of(key);
    let before = at(fixtures::RFC7515_EXP - 100);
    let claims = verify(&verifier, fixtures::RFC7515_A1_TOKEN, &rfc_options(), before).unwrap();
    assert_eq!(claims.issuer.as_deref(), Some("joe"));
    assert_eq!(claims.expires, Some(at(fixtures::RFC7515_EXP)));
    assert_eq!(
        UnverifiedToken::parse(fixtures::RFC7515_A1_TOKEN).unwrap().token_type(),
        Some("JWT")
    );

    let now = SystemClock.now();
    assert_eq!(
        verify(&verifier, fixtures::RFC7515_A1_TOKEN, &rfc_options(), now).unwrap_err(),
        Error::Expired { at: at(fixtures::RFC7515_EXP), now }
    );
}

#[test]
fn a2_rs256_verifies_and_signing_reproduces_the_signature() {
    let jwk: Jwk = serde_json::from_str(fixtures::RFC7515_A2_RSA_JWK).unwrap();
    let from_jwk = VerificationKey::from_jwk(&jwk, Some(SigningAlgorithm::RS256)).unwrap();
    let before = at(fixtures::RFC7515_EXP - 100);
    let claims =
        verify(&verifier_of(from_jwk), fixtures::RFC7515_A2_TOKEN, &rfc_options(), before).unwrap();
    assert_eq!(claims.issuer.as_deref(), Some("joe"));

    let from_spki = VerificationKey::from_spki_der(
        SigningAlgorithm::RS256,
        &fixtures::rfc7515_a2_rsa_spki_der(),
    )
    .unwrap();
    verify(&verifier_of(from_spki), fixtures::RFC7515_A2_TOKEN, &rfc_options(), before).unwrap();

    // RSASSA-PKCS1-v1_5 is deterministic: the private key reproduces the RFC's signature.
    let private =
        SigningKey::from_pkcs1_der(SigningAlgorithm::RS256, &fixtures::rfc7515_a2_rsa_pkcs1_der())
            .unwrap();
    let (input, signature) = split(fixtures::RFC7515_A2_TOKEN);
    assert_eq!(private.sign(input.as_bytes()).unwrap(), signature);
}

#[test]
fn a3_es256_verifies() {
    let jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "EC", "crv": "P-256", "x": fixtures::RFC7515_A3_EC_X, "y": fixtures::RFC7515_A3_EC_Y
    }))
    .unwrap();
    let key = VerificationKey::from_jwk(&jwk, None).unwrap();
    assert_eq!(key.algorithm(), SigningAlgorithm::ES256);
    let before = at(fixtures::RFC7515_EXP - 100);
    let claims =
        verify(&verifier_of(key), fixtures::RFC7515_A3_TOKEN, &rfc_options(), before).unwrap();
    assert_eq!(claims.expires, Some(at(fixtures::RFC7515_EXP)));
}

#[test]
fn a5_unsecured_is_refused() {
    assert_eq!(
        UnverifiedToken::parse(fixtures::RFC7515_A5_TOKEN).unwrap_err(),
        Error::AlgorithmNone
    );
}

#[test]
fn rfc8037_a4_ed25519_at_the_signature_layer() {
    let jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "x": fixtures::RFC8037_ED25519_PUBLIC
    }))
    .unwrap();
    let key = VerificationKey::from_jwk(&jwk, None).unwrap();
    assert_eq!(key.algorithm(), SigningAlgorithm::EdDSA);
    let (input, signature) = split(fixtures::RFC8037_A4_TOKEN);
    key.verify_signature(input.as_bytes(), &signature).unwrap();
    assert_eq!(
        key.verify_signature(b"Example of Ed25519 signing", &signature),
        Err(Error::InvalidSignature)
    );

    // Ed25519 is deterministic: the private key reproduces the signature.
    let private =
        SigningKey::from_pkcs8_der(SigningAlgorithm::EdDSA, &fixtures::rfc8037_ed25519_pkcs8_der())
            .unwrap();
    assert_eq!(private.sign(input.as_bytes()).unwrap(), signature);

    // As a token, its payload is a sentence, not claims: the signature verifies, the claims do not parse.
    let result = verify(&verifier_of(key), fixtures::RFC8037_A4_TOKEN, &rfc_options(), at(0));
    assert_eq!(result.unwrap_err(), Error::Malformed(Malformed::ClaimsNotObject));
}
