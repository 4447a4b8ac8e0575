//! Wycheproof vectors through keygate's signature layer ([`VerificationKey::verify_signature`]):
//! ECDSA P-256 in P1363 form (ES256), Ed25519, RSA PKCS#1 v1.5 with SHA-256 (RS256) and
//! HMAC-SHA256 (HS256).

use keygate_core::SigningAlgorithm;
use keygate_token::{Error, VerificationKey};
use wycheproof::TestResult;

/// Checks one outcome: valid must verify, invalid must not, acceptable may go either way.
fn expect(result: TestResult, outcome: Result<(), Error>, id: &str) {
    match result {
        TestResult::Valid => assert!(outcome.is_ok(), "{id}: a valid signature was refused"),
        TestResult::Invalid => assert!(outcome.is_err(), "{id}: an invalid signature verified"),
        TestResult::Acceptable => {}
    }
}

#[test]
fn ecdsa_p256_sha256_p1363() {
    let set =
        wycheproof::ecdsa::TestSet::load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363)
            .unwrap();
    let mut checked = 0;
    for group in set.test_groups {
        let key = VerificationKey::from_spki_der(SigningAlgorithm::ES256, &group.der).unwrap();
        for test in group.tests {
            expect(
                test.result,
                key.verify_signature(&test.msg, &test.sig),
                &format!("ecdsa #{}", test.tc_id),
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} vectors");
}

#[test]
fn ed25519() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut checked = 0;
    for group in set.test_groups {
        let key = VerificationKey::from_spki_der(SigningAlgorithm::EdDSA, &group.der).unwrap();
        for test in group.tests {
            expect(
                test.result,
                key.verify_signature(&test.msg, &test.sig),
                &format!("ed25519 #{}", test.tc_id),
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} vectors");
}

#[test]
fn rsa_pkcs1_sha256() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut checked = 0;
    for name in [TestName::Rsa2048Sha256, TestName::Rsa3072Sha256, TestName::Rsa4096Sha256] {
        for group in TestSet::load(name).unwrap().test_groups {
            let key = VerificationKey::from_spki_der(SigningAlgorithm::RS256, &group.der).unwrap();
            for test in group.tests {
                expect(
                    test.result,
                    key.verify_signature(&test.msg, &test.sig),
                    &format!("{name:?} #{}", test.tc_id),
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} vectors");
}

#[test]
fn hmac_sha256() {
    let set = wycheproof::mac::TestSet::load(wycheproof::mac::TestName::HmacSha256).unwrap();
    let (mut checked, mut refused_keys, mut refused_tags) = (0, 0, 0);
    for group in set.test_groups {
        for test in group.tests {
            let id = format!("hmac #{}", test.tc_id);
            let key = VerificationKey::hmac(SigningAlgorithm::HS256, &test.key);
            if test.key.len() < 32 {
                // Keys shorter than the hash are refused at load (RFC 7518 section 3.2).
                assert!(key.is_err(), "{id}: a {}-byte key was loaded", test.key.len());
                refused_keys += 1;
                continue;
            }
            let outcome = key.unwrap().verify_signature(&test.msg, &test.tag);
            if group.tag_size != 256 {
                // JWS needs the whole tag; a truncated one never verifies, even a correct prefix.
                assert!(outcome.is_err(), "{id}: a truncated tag verified");
                refused_tags += 1;
            } else {
                expect(test.result, outcome, &id);
                checked += 1;
            }
        }
    }
    assert!(
        checked > 10 && refused_keys > 0 && refused_tags > 0,
        "{checked} {refused_keys} {refused_tags}"
    );
}
