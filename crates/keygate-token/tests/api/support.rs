//! Helpers shared by the token tests.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::{SigningAlgorithm, Timestamp};
use keygate_testkit::fixtures;
use keygate_token::{SigningKey, UnverifiedToken, VerificationKey, Verifier, VerifyOptions};

pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix(seconds).unwrap()
}

/// An HS256 key from RFC 7515 A.1, with kid `k1`.
pub(crate) fn hs256() -> SigningKey {
    SigningKey::from_secret(
        SigningAlgorithm::HS256,
        &fixtures::b64url(fixtures::RFC7515_A1_HMAC_KEY),
    )
    .unwrap()
    .with_kid("k1".parse().unwrap())
}

/// The RFC 7515 A.2 RSA key for `algorithm`, with kid `rsa`.
pub(crate) fn rsa(algorithm: SigningAlgorithm) -> SigningKey {
    SigningKey::from_pkcs1_der(algorithm, &fixtures::rfc7515_a2_rsa_pkcs1_der())
        .unwrap()
        .with_kid("rsa".parse().unwrap())
}

/// The RFC 8037 Ed25519 key, with kid `ed`.
pub(crate) fn ed25519() -> SigningKey {
    SigningKey::from_pkcs8_der(SigningAlgorithm::EdDSA, &fixtures::rfc8037_ed25519_pkcs8_der())
        .unwrap()
        .with_kid("ed".parse().unwrap())
}

pub(crate) fn verifier(keys: &[&SigningKey]) -> Verifier {
    Verifier::new(keys.iter().map(|key| Arc::clone(key.verification_key()))).unwrap()
}

pub(crate) fn verifier_of(key: VerificationKey) -> Verifier {
    Verifier::new([Arc::new(key)]).unwrap()
}

/// Signs an arbitrary header and payload (raw JSON text) with `key`: for tokens no honest
/// minter would make.
pub(crate) fn sign_raw(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Parses and verifies, returning the owned claims as JSON for easy comparison.
pub(crate) fn verify(
    verifier: &Verifier,
    token: &str,
    options: &VerifyOptions,
    now: Timestamp,
) -> Result<keygate_token::Claims<'static>, keygate_token::Error> {
    let parsed = UnverifiedToken::parse(token)?;
    verifier.verify(&parsed, options, now).map(|verified| verified.into_claims())
}
