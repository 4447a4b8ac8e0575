//! Golden vectors: fixed keys, claims and seed give byte-stable tokens and API keys. A change
//! here changes what every deployed verifier sees; it has to be deliberate.

use std::sync::Arc;

use keygate_core::{
    Expiry, KeyFormat, KeyId, KeyRecord, KeyTemplate, Permission, Permissions, Scope,
};
use keygate_testkit::SeededRandom;
use keygate_token::{ApiKey, Minter, SecretHasher};

use super::support::{at, ed25519, hs256};

fn record() -> KeyRecord {
    let template = KeyTemplate::new(
        "orders-service".parse().unwrap(),
        Scope::Resource("kafka-cluster/lkc-abc123".parse().unwrap()),
        KeyFormat::Jwt,
        Expiry::At(at(1_807_776_000)),
    )
    .with_permissions(Permissions::only([Permission::PRODUCE, Permission::DESCRIBE]));
    KeyRecord::issue(template, KeyId::from_bytes([7; 10]), at(1_800_000_000), None).unwrap()
}

#[test]
fn hs256_api_key_token() {
    let token = Minter::new(Arc::new(hs256())).mint_api_key(&record(), at(1_800_000_000)).unwrap();
    assert_eq!(
        token.expose(),
        // Header {"typ":"kg+jwt","alg":"HS256","kid":"k1"}; claims sub, jti, iat, nbf, exp, aud,
        // kg_scope, kg_permissions in that order. The signature was checked with Python's hmac.
        "eyJ0eXAiOiJrZytqd3QiLCJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJvcmRlcnMtc2VydmljZSIsImp0aSI6IjB3M2dlMXI3MHczZ2UxcjciLCJpYXQiOjE4MDAwMDAwMDAsIm5iZiI6MTgwMDAwMDAwMCwiZXhwIjoxODA3Nzc2MDAwLCJhdWQiOiJrYWZrYS1jbHVzdGVyL2xrYy1hYmMxMjMiLCJrZ19zY29wZSI6ImthZmthLWNsdXN0ZXIvbGtjLWFiYzEyMyIsImtnX3Blcm1pc3Npb25zIjpbImRlc2NyaWJlIiwicHJvZHVjZSJdfQ.q1P8w8lXSA2qBFwz0dJGE-2JBXReAUgqV5FZxyHABzI"
    );
}

#[test]
fn eddsa_api_key_token() {
    let token = Minter::new(Arc::new(ed25519()))
        .with_issuer("keygate")
        .mint_api_key(&record(), at(1_800_000_000))
        .unwrap();
    assert_eq!(
        token.expose(),
        "eyJ0eXAiOiJrZytqd3QiLCJhbGciOiJFZERTQSIsImtpZCI6ImVkIn0.eyJzdWIiOiJvcmRlcnMtc2VydmljZSIsImp0aSI6IjB3M2dlMXI3MHczZ2UxcjciLCJpYXQiOjE4MDAwMDAwMDAsIm5iZiI6MTgwMDAwMDAwMCwiZXhwIjoxODA3Nzc2MDAwLCJpc3MiOiJrZXlnYXRlIiwiYXVkIjoia2Fma2EtY2x1c3Rlci9sa2MtYWJjMTIzIiwia2dfc2NvcGUiOiJrYWZrYS1jbHVzdGVyL2xrYy1hYmMxMjMiLCJrZ19wZXJtaXNzaW9ucyI6WyJkZXNjcmliZSIsInByb2R1Y2UiXX0.iR8JH8ACG2sK3nVwCbxiyeNdUvGyE9uix0o4-hbHbuk-rjXLYHDj2ezobnQH66BUUSwBQNPAlWejrsqO1xptBA"
    );
}

#[test]
fn opaque_api_key_string_and_digest() {
    let key = ApiKey::generate(&SeededRandom::new(2026)).unwrap();
    // The last seven characters are CRC-32 of the first 73, as zlib computes it.
    assert_eq!(
        key.expose().as_str(),
        "kgk_4e6s94crapedpqa5_htwe5kbn3vbtnwg4m7arn4w0c94zz6073teadjg3b9j7cwd0ypwgfycqxw0"
    );
    assert_eq!(
        SecretHasher::sha256().digest(&key).to_string(),
        "sha256:f8c42916007b3d0668921cc85fb2ec6d3e84d095e3ec11da10b63bf3d9a67511"
    );
}
