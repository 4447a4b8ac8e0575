//! Verifying and minting one token per algorithm, beside the peers a user would otherwise pick,
//! in the same run: jsonwebtoken 11 (`decode` and `encode`, on keygate's ring provider), and
//! ring's bare signature check as the floor under any verifier.
//!
//! - `verify/<alg>/keygate-cold`: `Verifier::verify_str` with the signature cache off:
//!   parse, signature and claims.
//! - `verify/<alg>/keygate-warm`: the same with the cache hit (asymmetric algorithms): the
//!   token recognised by its text, and its claims checked again.
//! - `verify/<alg>/jsonwebtoken`: `jsonwebtoken::decode` of the same token into a struct.
//! - `verify/<alg>/ring`: the signature alone.
//! - `mint/<alg>/keygate` and `mint/<alg>/jsonwebtoken`: the same claims signed.
//!
//! Run: `cargo bench -p keygate-benches --bench tokens`.

// Bench setup panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{EncodingKey, Header};
use keygate_benches::NOW;
use keygate_benches::tokens::{
    ALGORITHMS, DecodedClaims, claims, jsonwebtoken, options, ring_floor, signing_key, token,
    verifier,
};
use keygate_core::SigningAlgorithm;
use keygate_testkit::fixtures;
use keygate_token::{ClaimsBuffer, Minter, install_jsonwebtoken_provider};

fn verify(c: &mut Criterion) {
    install_jsonwebtoken_provider();
    for algorithm in ALGORITHMS {
        let key = signing_key(algorithm);
        let token = token(&key);
        let options = options();
        let mut group = c.benchmark_group(format!("verify/{algorithm}"));

        let cold = verifier(&key, false);
        group.bench_function("keygate-cold", |b| {
            b.iter(|| {
                let mut buffer = ClaimsBuffer::new();
                let verified = cold.verify_str(black_box(&token), &options, NOW, &mut buffer);
                black_box(verified.unwrap().claims().key_id())
            })
        });
        let warm = verifier(&key, true);
        warm.verify_str(&token, &options, NOW, &mut ClaimsBuffer::new()).unwrap();
        group.bench_function("keygate-warm", |b| {
            b.iter(|| {
                let mut buffer = ClaimsBuffer::new();
                let verified = warm.verify_str(black_box(&token), &options, NOW, &mut buffer);
                black_box(verified.unwrap().claims().key_id())
            })
        });
        let (decoding, validation) = jsonwebtoken(&key);
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                black_box(
                    jsonwebtoken::decode::<DecodedClaims>(
                        black_box(&token),
                        &decoding,
                        &validation,
                    )
                    .unwrap(),
                )
            })
        });
        let floor = ring_floor(&key, &token);
        assert!(floor(), "the floor does not verify the token");
        group.bench_function("ring", |b| b.iter(|| black_box(floor())));
        group.finish();
    }
}

fn mint(c: &mut Criterion) {
    install_jsonwebtoken_provider();
    for algorithm in ALGORITHMS {
        let key = signing_key(algorithm);
        let minter = Minter::new(key.clone());
        let claims = claims();
        let encoding = match algorithm {
            SigningAlgorithm::HS256 => EncodingKey::from_secret(key.private_bytes()),
            SigningAlgorithm::RS256 => {
                EncodingKey::from_rsa_der(&fixtures::rfc7515_a2_rsa_pkcs1_der())
            }
            SigningAlgorithm::ES256 => EncodingKey::from_ec_der(key.private_bytes()),
            _ => EncodingKey::from_ed_der(key.private_bytes()),
        };
        let mut header = Header::new(algorithm.name().parse().unwrap());
        header.typ = Some(keygate_token::API_KEY_TOKEN_TYPE.to_owned());
        header.kid = Some("bench".to_owned());
        let mut group = c.benchmark_group(format!("mint/{algorithm}"));
        group.bench_function("keygate", |b| {
            b.iter(|| black_box(minter.mint(black_box(&claims)).unwrap()))
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                black_box(jsonwebtoken::encode(&header, black_box(&claims), &encoding).unwrap())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, verify, mint);
criterion_main!(benches);
