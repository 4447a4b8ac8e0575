//! Pulsar compatibility, both ways: tokens and keys as `pulsar tokens` makes them verify here, and
//! tokens minted here with Pulsar's keys are byte-for-byte what Pulsar's tooling mints.

use std::sync::Arc;

use keygate_core::SigningAlgorithm;
use keygate_testkit::fixtures::pulsar;
use keygate_token::{Claims, Error, KeyValue, Minter, SigningKey, VerificationKey, VerifyOptions};

use super::support::{at, verifier_of, verify};

/// What a Pulsar broker checks by default: role in `sub`, tokens may lack `exp`.
fn broker() -> VerifyOptions {
    VerifyOptions::default().allow_no_expiry()
}

fn check(key: VerificationKey, token: &str, expires: Option<i64>) {
    let claims = verify(&verifier_of(key), token.trim(), &broker(), at(1_800_000_000)).unwrap();
    assert_eq!(claims.subject(), Some(pulsar::SUBJECT));
    assert_eq!(claims.expires, expires.map(at));
    assert_eq!(claims.jwt_id, None);
}

#[test]
fn hs256_tokens_from_a_secret_key() {
    for token in [pulsar::HS256_TOKEN_NO_EXPIRY, pulsar::HS256_TOKEN_WITH_EXPIRY] {
        let expires = (token == pulsar::HS256_TOKEN_WITH_EXPIRY).then_some(pulsar::EXPIRY);
        check(
            VerificationKey::from_bytes(SigningAlgorithm::HS256, pulsar::HS256_SECRET).unwrap(),
            token,
            expires,
        );
    }
}

#[test]
fn every_form_of_tokensecretkey_reads_the_same_key() {
    let base64 = pulsar::HS256_SECRET_BASE64.trim();
    for value in [
        format!("data:;base64,{base64}"),
        base64.to_owned(),
        format!("data:application/octet-stream;base64,{base64}"),
    ] {
        let KeyValue::Inline(bytes) = KeyValue::parse(&value).unwrap() else {
            panic!("{value} is not inline")
        };
        assert_eq!(bytes.as_slice(), pulsar::HS256_SECRET);
        check(
            VerificationKey::from_bytes(SigningAlgorithm::HS256, &bytes).unwrap(),
            pulsar::HS256_TOKEN_WITH_EXPIRY,
            Some(pulsar::EXPIRY),
        );
    }
}

#[test]
fn rs256_and_es256_tokens_from_a_key_pair() {
    for (token, expires) in [
        (pulsar::RS256_TOKEN_NO_EXPIRY, None),
        (pulsar::RS256_TOKEN_WITH_EXPIRY, Some(pulsar::EXPIRY)),
    ] {
        check(
            VerificationKey::from_bytes(SigningAlgorithm::RS256, pulsar::RS256_PUBLIC).unwrap(),
            token,
            expires,
        );
    }
    for (token, expires) in [
        (pulsar::ES256_TOKEN_NO_EXPIRY, None),
        (pulsar::ES256_TOKEN_WITH_EXPIRY, Some(pulsar::EXPIRY)),
    ] {
        check(
            VerificationKey::from_bytes(SigningAlgorithm::ES256, pulsar::ES256_PUBLIC).unwrap(),
            token,
            expires,
        );
    }
}

#[test]
fn tokens_without_exp_are_refused_unless_allowed() {
    let key = VerificationKey::from_bytes(SigningAlgorithm::HS256, pulsar::HS256_SECRET).unwrap();
    let result =
        verify(&verifier_of(key), pulsar::HS256_TOKEN_NO_EXPIRY, &VerifyOptions::default(), at(0));
    assert_eq!(result.unwrap_err(), Error::MissingClaim("exp".into()));
}

#[test]
fn minting_with_pulsars_keys_gives_pulsars_bytes() {
    // HS256 and RS256 are deterministic, so the same key and claims give the same token.
    let hs =
        Arc::new(SigningKey::from_bytes(SigningAlgorithm::HS256, pulsar::HS256_SECRET).unwrap());
    let rs =
        Arc::new(SigningKey::from_bytes(SigningAlgorithm::RS256, pulsar::RS256_PRIVATE).unwrap());
    for (key, without, with) in [
        (hs, pulsar::HS256_TOKEN_NO_EXPIRY, pulsar::HS256_TOKEN_WITH_EXPIRY),
        (rs, pulsar::RS256_TOKEN_NO_EXPIRY, pulsar::RS256_TOKEN_WITH_EXPIRY),
    ] {
        let minter = Minter::new(key).with_token_type(None);
        let plain = minter.mint(&Claims::new(pulsar::SUBJECT)).unwrap();
        assert_eq!(plain.expose(), without.trim());
        let expiring = minter
            .mint(&Claims::new(pulsar::SUBJECT).with_expires(Some(at(pulsar::EXPIRY))))
            .unwrap();
        assert_eq!(expiring.expose(), with.trim());
    }
}

#[test]
fn a_jdk_ec_private_key_without_its_public_key_is_refused_with_a_fix() {
    let error = SigningKey::from_bytes(SigningAlgorithm::ES256, pulsar::ES256_PRIVATE).unwrap_err();
    let Error::KeyRejected(reason) = error else { panic!("{error:?}") };
    assert!(reason.contains("openssl pkcs8 -topk8"), "{reason}");
}

#[test]
fn key_files_in_pem_load_too() {
    let rs = SigningKey::from_bytes(SigningAlgorithm::RS256, pulsar::RS256_PRIVATE).unwrap();
    let pem = rs.private_pem().unwrap();
    let reloaded = SigningKey::from_bytes(SigningAlgorithm::RS256, pem.as_bytes()).unwrap();
    let public_pem = reloaded.verification_key().to_pem().unwrap();
    check(
        VerificationKey::from_bytes(SigningAlgorithm::RS256, public_pem.as_bytes()).unwrap(),
        pulsar::RS256_TOKEN_NO_EXPIRY,
        None,
    );
    assert_eq!(reloaded.verification_key().to_spki_der().unwrap(), pulsar::RS256_PUBLIC);
}

#[test]
fn a_key_file_says_its_own_algorithm_and_a_mismatch_says_which_fit() {
    for algorithm in [SigningAlgorithm::ES256, SigningAlgorithm::ES384, SigningAlgorithm::EdDSA] {
        let key = SigningKey::generate(algorithm).unwrap();
        let public = key.verification_key();
        for bytes in [public.to_spki_der().unwrap(), public.to_pem().unwrap().into_bytes()] {
            let read = VerificationKey::from_public_bytes(&bytes, None).unwrap();
            assert_eq!(read.algorithm(), algorithm);
            let named = VerificationKey::from_public_bytes(&bytes, Some(algorithm)).unwrap();
            assert_eq!(named.algorithm(), algorithm);
        }
        let private = SigningKey::from_private_bytes(key.private_bytes(), None).unwrap();
        assert_eq!(private.algorithm(), algorithm);
        let pem = key.private_pem().unwrap();
        assert_eq!(
            SigningKey::from_private_bytes(pem.as_bytes(), None).unwrap().algorithm(),
            algorithm
        );
    }
    // The RSA key Pulsar's fixtures hold reads as RS256 unless PSS is asked for.
    let rsa = VerificationKey::from_public_bytes(pulsar::RS256_PUBLIC, None).unwrap();
    assert_eq!(rsa.algorithm(), SigningAlgorithm::RS256);
    let pss =
        VerificationKey::from_public_bytes(pulsar::RS256_PUBLIC, Some(SigningAlgorithm::PS256));
    assert_eq!(pss.unwrap().algorithm(), SigningAlgorithm::PS256);

    let es256 = SigningKey::generate(SigningAlgorithm::ES256).unwrap();
    let der = es256.verification_key().to_spki_der().unwrap();
    let mismatch =
        VerificationKey::from_public_bytes(&der, Some(SigningAlgorithm::RS256)).unwrap_err();
    assert_eq!(
        mismatch,
        Error::KeyAlgorithmMismatch {
            key: "an EC P-256 key",
            declared: SigningAlgorithm::RS256,
            suggested: "ES256"
        }
    );
    assert!(mismatch.to_string().contains("use ES256"), "{mismatch}");
    assert!(VerificationKey::from_public_bytes(&der, Some(SigningAlgorithm::HS256)).is_err());
    assert!(VerificationKey::from_public_bytes(b"", None).is_err());
    assert!(VerificationKey::from_public_bytes(b"not a key", None).is_err());
}
