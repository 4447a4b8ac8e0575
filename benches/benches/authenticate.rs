//! Authenticating through the Authenticator, as a broker does on every connection: an opaque key
//! among a million, and an HS256 JWT API key; beside the least work either could be.
//!
//! - `authenticate/opaque-1m/keygate`: a `kgk_…` key (format check, checksum, index lookup,
//!   SHA-256 digest and constant-time compare, revocation, scope) with 1M keys indexed.
//! - `authenticate/opaque-1m/floor`: SHA-256 of the secret and a std `HashMap` lookup of 1M
//!   digests: what any opaque-key scheme costs at least.
//! - `authenticate/hs256/keygate-cold`: a JWT API key (signature, claims, key record,
//!   revocation, scope) through an authenticator whose token cache is off, so every call does
//!   the whole verification; beside `jsonwebtoken::decode` of the same token
//!   (`authenticate/hs256/jsonwebtoken`) and ring's bare HMAC check of its signing input
//!   (`authenticate/hs256/ring`), the least any HS256 verifier can do.
//! - `authenticate/hs256/keygate-seen`: the same token through the default authenticator, which
//!   has seen it before: what every reconnection of a client costs.
//!
//! Run: `cargo bench -p keygate-benches --bench authenticate`.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use keygate::{AuthConfig, AuthContext, Credential};
use keygate_benches::NOW;
use keygate_benches::fleet::{cluster, fleet, fleet_with};
use keygate_benches::tokens::DecodedClaims;
use keygate_token::{ApiKey, install_jsonwebtoken_provider};

const KEYS: usize = 1_000_000;
const PRESENTED: usize = 1024;

fn authenticate(c: &mut Criterion) {
    install_jsonwebtoken_provider();
    let fleet = fleet(KEYS, PRESENTED);
    let resource = cluster();
    let context = AuthContext::new(&resource, NOW);
    let mut group = c.benchmark_group("authenticate");

    group.bench_function("opaque-1m/keygate", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % PRESENTED;
            let credential = Credential::ApiKey(&fleet.opaque[i]);
            black_box(fleet.authenticator.authenticate(&credential, &context).unwrap())
        })
    });

    // The floor: the presented keys' digests among a million in a std HashMap.
    let mut digests: HashMap<[u8; 10], [u8; 32]> = HashMap::with_capacity(KEYS);
    for n in 0..(KEYS - PRESENTED) as u64 {
        let mut id = [0xff; 10];
        id[2..].copy_from_slice(&n.to_be_bytes());
        digests.insert(id, [0; 32]);
    }
    let ids: Vec<[u8; 10]> =
        fleet.opaque.iter().map(|text| *ApiKey::parse(text).unwrap().key_id().as_bytes()).collect();
    for (id, text) in ids.iter().zip(&fleet.opaque) {
        digests.insert(*id, sha256(text.as_bytes()));
    }
    group.bench_function("opaque-1m/floor", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % PRESENTED;
            let digest = sha256(black_box(fleet.opaque[i].as_bytes()));
            black_box(digests.get(&ids[i]) == Some(&digest))
        })
    });

    let token = &fleet.hs256_token;
    group.bench_function("hs256/keygate-seen", |b| {
        b.iter(|| {
            black_box(
                fleet
                    .authenticator
                    .authenticate(&Credential::Bearer(black_box(token)), &context)
                    .unwrap(),
            )
        })
    });
    drop(fleet);
    let cold = fleet_with(KEYS, 1, AuthConfig::default().with_token_cache_slots(0));
    let token = &cold.hs256_token;
    group.bench_function("hs256/keygate-cold", |b| {
        b.iter(|| {
            black_box(
                cold.authenticator
                    .authenticate(&Credential::Bearer(black_box(token)), &context)
                    .unwrap(),
            )
        })
    });
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &cold.hs256_secret);
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    group.bench_function("hs256/ring", |b| {
        b.iter(|| {
            black_box(
                ring::hmac::verify(&key, black_box(signing_input.as_bytes()), &signature).is_ok(),
            )
        })
    });
    let decoding = DecodingKey::from_secret(&cold.hs256_secret);
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&[resource.as_str()]);
    validation.validate_exp = false;
    group.bench_function("hs256/jsonwebtoken", |b| {
        b.iter(|| {
            black_box(
                jsonwebtoken::decode::<DecodedClaims>(black_box(token), &decoding, &validation)
                    .unwrap(),
            )
        })
    });
    group.finish();
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().try_into().unwrap()
}

criterion_group!(benches, authenticate);
criterion_main!(benches);
