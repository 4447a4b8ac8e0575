//! Signing-key rotation with no downtime, and JWKS in both directions.

use keygate_core::{SigningAlgorithm, SigningKeyId};
use keygate_token::{
    Claims, Error, KeyRing, SigningKey, UnverifiedToken, VerifyOptions, verification_keys_from_jwks,
};

use super::support::at;

fn kid(text: &str) -> SigningKeyId {
    text.parse().unwrap()
}

fn key(name: &str) -> SigningKey {
    SigningKey::generate(SigningAlgorithm::ES256).unwrap().with_kid(kid(name))
}

fn claims() -> Claims<'static> {
    Claims::new("svc").with_expires(Some(at(4_000_000_000)))
}

#[test]
fn rotation_keeps_old_tokens_valid_until_retirement() {
    let mut ring = KeyRing::new(key("old")).unwrap();
    let old_token = ring.minter().mint(&claims()).unwrap();

    ring.add(key("new")).unwrap();
    // Added but not promoted: it verifies, the old key still signs.
    assert_eq!(ring.active().kid(), Some(&kid("old")));
    ring.promote(&kid("new")).unwrap();
    let new_token = ring.minter().mint(&claims()).unwrap();
    assert_eq!(UnverifiedToken::parse(new_token.expose()).unwrap().kid(), Some("new"));

    let verifier = ring.verifier().unwrap();
    let now = at(1_800_000_000);
    for token in [&old_token, &new_token] {
        verifier
            .verify(
                &UnverifiedToken::parse(token.expose()).unwrap(),
                &VerifyOptions::default(),
                now,
            )
            .unwrap();
    }

    assert!(matches!(ring.retire(&kid("new")), Err(Error::Unsupported(_))));
    ring.retire(&kid("old")).unwrap();
    let verifier = ring.verifier().unwrap();
    let old = UnverifiedToken::parse(old_token.expose()).unwrap();
    assert_eq!(
        verifier.verify(&old, &VerifyOptions::default(), now).unwrap_err(),
        Error::UnknownKeyId
    );
}

#[test]
fn kids_are_required_and_unique() {
    assert!(KeyRing::new(SigningKey::generate(SigningAlgorithm::EdDSA).unwrap()).is_err());
    let mut ring = KeyRing::new(key("a")).unwrap();
    assert!(ring.add(key("a")).is_err());
    assert_eq!(ring.promote(&kid("zzz")).unwrap_err(), Error::UnknownKeyId);
}

#[test]
fn jwks_exports_public_keys_only_and_imports_back() {
    let mut ring = KeyRing::new(key("ec")).unwrap();
    ring.add(SigningKey::generate(SigningAlgorithm::EdDSA).unwrap().with_kid(kid("ed"))).unwrap();
    ring.add(SigningKey::generate(SigningAlgorithm::HS256).unwrap().with_kid(kid("hmac"))).unwrap();
    let jwks = serde_json::to_string(&ring.jwks().unwrap()).unwrap();
    assert!(!jwks.contains("\"d\""), "private members in {jwks}");
    assert!(!jwks.contains("hmac"), "an HMAC key was exported: {jwks}");

    let imported = verification_keys_from_jwks(&jwks).unwrap();
    assert_eq!(imported.len(), 2);
    let token = ring.minter().mint(&claims()).unwrap();
    let verifier =
        keygate_token::Verifier::new(imported.into_iter().map(std::sync::Arc::new)).unwrap();
    verifier
        .verify(
            &UnverifiedToken::parse(token.expose()).unwrap(),
            &VerifyOptions::default(),
            at(1_800_000_000),
        )
        .unwrap();

    assert!(verification_keys_from_jwks("{").is_err());
    assert!(
        verification_keys_from_jwks(r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#).is_err()
    );
}
