//! jsonwebtoken 11 on keygate's ring provider: it verifies what keygate mints, and keygate's
//! minter produces exactly what `jsonwebtoken::encode` does for the deterministic algorithms.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keygate_core::SigningAlgorithm;
use keygate_testkit::fixtures;
use keygate_token::{Claims, Minter, ProviderInstall, SigningKey, install_jsonwebtoken_provider};

use super::support::{at, ed25519, hs256, rsa};

fn install() {
    let installed = install_jsonwebtoken_provider();
    assert!(
        matches!(installed, ProviderInstall::Installed | ProviderInstall::AlreadyInstalled),
        "{installed:?}"
    );
}

fn claims() -> Claims<'static> {
    Claims::new("orders-service")
        .with_jwt_id("5x7k2m9q4w8n6p1r")
        .with_issued_at(at(1_800_000_000))
        .with_expires(Some(at(4_000_000_000)))
        .with_audience("kafka-cluster/lkc-abc123")
        .with_scope("kafka-cluster/lkc-abc123".parse().unwrap())
}

fn jwt_header(key: &SigningKey, algorithm: Algorithm) -> Header {
    let mut header = Header::new(algorithm);
    header.typ = Some(keygate_token::API_KEY_TOKEN_TYPE.to_owned());
    header.kid = key.kid().map(|kid| kid.to_string());
    header
}

#[test]
fn installing_twice_is_harmless() {
    install();
    assert_eq!(install_jsonwebtoken_provider(), ProviderInstall::AlreadyInstalled);
}

#[test]
fn minted_bytes_equal_jsonwebtoken_encode() {
    install();
    let cases = [
        (
            hs256(),
            Algorithm::HS256,
            EncodingKey::from_secret(&fixtures::b64url(fixtures::RFC7515_A1_HMAC_KEY)),
        ),
        (
            rsa(SigningAlgorithm::RS256),
            Algorithm::RS256,
            EncodingKey::from_rsa_der(&fixtures::rfc7515_a2_rsa_pkcs1_der()),
        ),
        (
            ed25519(),
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(&fixtures::rfc8037_ed25519_pkcs8_der()),
        ),
    ];
    for (key, algorithm, encoding) in cases {
        let header = jwt_header(&key, algorithm);
        let theirs = jsonwebtoken::encode(&header, &claims(), &encoding).unwrap();
        let ours = Minter::new(Arc::new(key)).mint(&claims()).unwrap();
        assert_eq!(ours.expose(), theirs, "{algorithm:?}");
    }
}

#[test]
fn jsonwebtoken_decodes_every_algorithm_keygate_mints() {
    install();
    let mut keys: Vec<SigningKey> = [
        SigningAlgorithm::HS256,
        SigningAlgorithm::HS384,
        SigningAlgorithm::HS512,
        SigningAlgorithm::ES256,
        SigningAlgorithm::ES384,
        SigningAlgorithm::EdDSA,
    ]
    .into_iter()
    .map(|algorithm| SigningKey::generate(algorithm).unwrap())
    .collect();
    for algorithm in [
        SigningAlgorithm::RS256,
        SigningAlgorithm::RS384,
        SigningAlgorithm::RS512,
        SigningAlgorithm::PS256,
        SigningAlgorithm::PS384,
        SigningAlgorithm::PS512,
    ] {
        keys.push(rsa(algorithm));
    }
    for key in keys {
        let algorithm = key.algorithm();
        let decoding = if algorithm.is_symmetric() {
            DecodingKey::from_secret(key.private_bytes())
        } else {
            // Through keygate's JWK export, which jsonwebtoken imports.
            DecodingKey::from_jwk(&key.verification_key().to_jwk().unwrap()).unwrap()
        };
        let jwt_algorithm: Algorithm = algorithm.name().parse().unwrap();
        let token = Minter::new(Arc::new(key)).mint(&claims()).unwrap();
        let mut validation = Validation::new(jwt_algorithm);
        validation.set_audience(&["kafka-cluster/lkc-abc123"]);
        let decoded =
            jsonwebtoken::decode::<serde_json::Value>(token.expose(), &decoding, &validation)
                .unwrap_or_else(|error| panic!("{algorithm}: {error}"));
        assert_eq!(decoded.claims["sub"], "orders-service", "{algorithm}");
        assert_eq!(decoded.claims["kg_scope"], "kafka-cluster/lkc-abc123");
    }
}

#[test]
fn jsonwebtoken_on_ring_refuses_what_keygate_refuses_at_load() {
    install();
    let short = EncodingKey::from_secret(b"too short");
    assert!(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(), &short).is_err());
}
