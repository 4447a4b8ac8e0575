//! Negative vectors: each bad token fails with its own specific error.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::SigningAlgorithm;
use keygate_testkit::fixtures;
use keygate_token::{
    Error, Malformed, SigningKey, UnverifiedToken, VerificationKey, VerifyOptions,
};

use super::support::{at, hs256, rsa, sign_raw, verifier, verifier_of, verify};

const NOW: i64 = 1_800_000_000;
const HEADER: &str = r#"{"alg":"HS256","kid":"k1"}"#;

fn options() -> VerifyOptions {
    VerifyOptions::default()
}

/// An HS256 token with these claims, signed with the fixture key.
fn token(claims: &str) -> String {
    sign_raw(&hs256(), HEADER, claims)
}

fn check(claims: &str) -> Result<keygate_token::Claims<'static>, Error> {
    verify(&verifier(&[&hs256()]), &token(claims), &options(), at(NOW))
}

fn good() -> String {
    token(r#"{"sub":"alice","exp":1800003600}"#)
}

#[test]
fn the_baseline_verifies() {
    assert_eq!(check(r#"{"sub":"alice","exp":1800003600}"#).unwrap().subject(), Some("alice"));
}

#[test]
fn alg_none_never_verifies() {
    let unsecured = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(r#"{"sub":"a"}"#)
    );
    assert_eq!(UnverifiedToken::parse(&unsecured).unwrap_err(), Error::AlgorithmNone);
    let with_signature = format!("{unsecured}c2ln");
    assert_eq!(UnverifiedToken::parse(&with_signature).unwrap_err(), Error::AlgorithmNone);
}

#[test]
fn algorithm_confusion_is_refused_before_any_crypto() {
    // An attacker signs HS256 with the bytes of the verifier's RSA public key as the secret.
    let rsa = rsa(SigningAlgorithm::RS256);
    for public_bytes in [
        rsa.verification_key().to_spki_der().unwrap(),
        rsa.verification_key().to_pem().unwrap().into_bytes(),
    ] {
        let forger = SigningKey::from_secret(SigningAlgorithm::HS256, &public_bytes).unwrap();
        let forged = sign_raw(
            &forger,
            r#"{"alg":"HS256","kid":"rsa"}"#,
            r#"{"sub":"admin","exp":1800003600}"#,
        );
        assert_eq!(
            verify(&verifier(&[&rsa]), &forged, &options(), at(NOW)).unwrap_err(),
            Error::AlgorithmMismatch {
                expected: SigningAlgorithm::RS256,
                presented: SigningAlgorithm::HS256
            }
        );
    }
    // The same with an EC key, and with no kid at all (the only key is chosen, then refused).
    let ec = SigningKey::generate(SigningAlgorithm::ES256).unwrap();
    let forger = SigningKey::from_secret(
        SigningAlgorithm::HS256,
        &ec.verification_key().to_spki_der().unwrap(),
    )
    .unwrap();
    let forged = sign_raw(&forger, r#"{"alg":"HS256"}"#, r#"{"sub":"admin","exp":1800003600}"#);
    assert_eq!(
        verify(&verifier(&[&ec]), &forged, &options(), at(NOW)).unwrap_err(),
        Error::AlgorithmMismatch {
            expected: SigningAlgorithm::ES256,
            presented: SigningAlgorithm::HS256
        }
    );
    // And a public key can never be loaded as an HMAC key in the first place.
    assert!(
        VerificationKey::from_spki_der(
            SigningAlgorithm::HS256,
            &ec.verification_key().to_spki_der().unwrap()
        )
        .is_err()
    );
}

#[test]
fn unknown_and_missing_kid() {
    let other =
        sign_raw(&hs256(), r#"{"alg":"HS256","kid":"k2"}"#, r#"{"sub":"a","exp":1800003600}"#);
    assert_eq!(
        verify(&verifier(&[&hs256()]), &other, &options(), at(NOW)).unwrap_err(),
        Error::UnknownKeyId
    );
    // Two keys: a token without a kid cannot pick one.
    let second =
        SigningKey::generate(SigningAlgorithm::HS256).unwrap().with_kid("k2".parse().unwrap());
    let no_kid = sign_raw(&hs256(), r#"{"alg":"HS256"}"#, r#"{"sub":"a","exp":1800003600}"#);
    assert_eq!(
        verify(&verifier(&[&hs256(), &second]), &no_kid, &options(), at(NOW)).unwrap_err(),
        Error::MissingKeyId
    );
}

#[test]
fn kid_with_path_or_control_characters() {
    for kid in [r#""../../etc/passwd""#, r#""k1\u0000""#, r#""k1\n""#, r#""a\\b""#, r#""k 1""#] {
        let header = format!(r#"{{"alg":"HS256","kid":{kid}}}"#);
        let token = sign_raw(&hs256(), &header, r#"{"sub":"a","exp":1800003600}"#);
        assert_eq!(
            UnverifiedToken::parse(&token).unwrap_err(),
            Error::Malformed(Malformed::KidCharacters),
            "{kid}"
        );
    }
}

#[test]
fn tampering_with_any_segment_breaks_the_signature() {
    let good = good();
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();

    let other_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k1","x":1}"#);
    let other_payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"admin","exp":1800003600}"#);
    let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
    flipped[0] ^= 1;
    for tampered in [
        format!("{other_header}.{payload}.{signature}"),
        format!("{header}.{other_payload}.{signature}"),
        format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(&flipped)),
        format!(
            "{header}.{payload}.{}",
            URL_SAFE_NO_PAD.encode(&URL_SAFE_NO_PAD.decode(signature).unwrap()[..30])
        ),
        format!("{header}.{payload}."),
    ] {
        assert_eq!(
            verify(&verifier(&[&hs256()]), &tampered, &options(), at(NOW)).unwrap_err(),
            Error::InvalidSignature
        );
    }
    // Cutting the text itself leaves a length no base64 encoding has.
    let cut = format!("{header}.{payload}.{}", &signature[..signature.len() - 2]);
    assert_eq!(
        verify(&verifier(&[&hs256()]), &cut, &options(), at(NOW)).unwrap_err(),
        Error::Malformed(Malformed::SignatureEncoding)
    );
}

#[test]
fn structural_damage() {
    let good = good();
    let malformed =
        |token: &str| verify(&verifier(&[&hs256()]), token, &options(), at(NOW)).unwrap_err();
    let (input, signature) = good.rsplit_once('.').unwrap();

    assert_eq!(malformed(input), Error::Malformed(Malformed::Segments));
    assert_eq!(malformed(&format!("{good}.extra")), Error::Malformed(Malformed::Segments));
    assert_eq!(malformed(&format!("{good}=")), Error::Malformed(Malformed::SignatureEncoding));
    assert_eq!(
        malformed(&format!("{input}.{signature}!")),
        Error::Malformed(Malformed::SignatureEncoding)
    );
    // A 32-byte HMAC tag is 43 characters whose last one carries two unused bits; setting one
    // gives a non-canonical encoding of the same bytes.
    let last =
        BASE64URL.iter().position(|&b| char::from(b) == signature.chars().last().unwrap()).unwrap();
    assert_eq!(last & 0b11, 0);
    let noncanonical =
        format!("{input}.{}{}", &signature[..signature.len() - 1], char::from(BASE64URL[last | 1]));
    assert_eq!(malformed(&noncanonical), Error::Malformed(Malformed::SignatureEncoding));
    let (header, payload) = input.split_once('.').unwrap();
    assert_eq!(
        malformed(&format!("{header}=.{payload}.{signature}")),
        Error::Malformed(Malformed::HeaderEncoding)
    );
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[test]
fn oversized_and_huge_and_deep() {
    let huge_claim = format!(r#"{{"sub":"a","exp":1800003600,"pad":"{}"}}"#, "x".repeat(7000));
    let oversized = token(&huge_claim);
    assert!(matches!(
        UnverifiedToken::parse(&oversized).unwrap_err(),
        Error::TooLarge { max: 8192, .. }
    ));
    // Within the cap, a large but flat token is fine.
    assert!(
        check(&format!(r#"{{"sub":"a","exp":1800003600,"pad":"{}"}}"#, "x".repeat(4000))).is_ok()
    );
    // Deep nesting in an ignored claim is refused, not recursed into.
    let deep =
        format!(r#"{{"sub":"a","exp":1800003600,"x":{}1{}}}"#, "[".repeat(40), "]".repeat(40));
    assert_eq!(check(&deep).unwrap_err(), Error::Malformed(Malformed::TooDeep));
    let shallow =
        format!(r#"{{"sub":"a","exp":1800003600,"x":{}1{}}}"#, "[".repeat(30), "]".repeat(30));
    assert!(check(&shallow).is_ok());
}

#[test]
fn duplicate_claims() {
    for (claims, name) in [
        (r#"{"sub":"a","sub":"b","exp":1800003600}"#, "sub"),
        (r#"{"sub":"a","exp":1800003600,"exp":1900000000}"#, "exp"),
        (r#"{"sub":"a","exp":1800003600,"jti":"x","jti":"y"}"#, "jti"),
        (r#"{"sub":"a","exp":1800003600,"aud":"x","aud":"y"}"#, "aud"),
    ] {
        assert_eq!(
            check(claims).unwrap_err(),
            Error::DuplicateClaim(Cow::Borrowed(name)),
            "{claims}"
        );
    }
}

#[test]
fn numeric_dates_of_the_wrong_type() {
    for (claims, name) in [
        (r#"{"sub":"a","exp":"1800003600"}"#, "exp"),
        (r#"{"sub":"a","exp":1800003600.5}"#, "exp"),
        (r#"{"sub":"a","exp":1.8e9}"#, "exp"),
        (r#"{"sub":"a","exp":-1}"#, "exp"),
        (r#"{"sub":"a","exp":null}"#, "exp"),
        (r#"{"sub":"a","exp":true}"#, "exp"),
        (r#"{"sub":"a","exp":99999999999999999999}"#, "exp"),
        (r#"{"sub":"a","exp":253402300800}"#, "exp"),
        (r#"{"sub":"a","exp":1800003600,"nbf":"0"}"#, "nbf"),
        (r#"{"sub":"a","exp":1800003600,"nbf":-5}"#, "nbf"),
        (r#"{"sub":"a","exp":1800003600,"iat":1.5}"#, "iat"),
        (r#"{"sub":"a","exp":1800003600,"iat":[1]}"#, "iat"),
    ] {
        assert_eq!(
            check(claims).unwrap_err(),
            Error::InvalidClaim(Cow::Borrowed(name)),
            "{claims}"
        );
    }
}

#[test]
fn other_claims_of_the_wrong_type() {
    for (claims, name) in [
        (r#"{"sub":7,"exp":1800003600}"#, "sub"),
        (r#"{"sub":["a"],"exp":1800003600}"#, "sub"),
        (r#"{"sub":"a","exp":1800003600,"aud":7}"#, "aud"),
        (r#"{"sub":"a","exp":1800003600,"aud":["x",7]}"#, "aud"),
        (r#"{"sub":"a","exp":1800003600,"iss":{}}"#, "iss"),
        (r#"{"sub":"a","exp":1800003600,"jti":1}"#, "jti"),
        (r#"{"sub":"a","exp":1800003600,"kg_scope":"everywhere"}"#, "kg_scope"),
        (r#"{"sub":"a","exp":1800003600,"kg_permissions":"produce"}"#, "kg_permissions"),
        (r#"{"sub":"a","exp":1800003600,"kg_permissions":["Produce"]}"#, "kg_permissions"),
    ] {
        assert_eq!(
            check(claims).unwrap_err(),
            Error::InvalidClaim(Cow::Borrowed(name)),
            "{claims}"
        );
    }
}

#[test]
fn missing_claims() {
    assert_eq!(check(r#"{"sub":"a"}"#).unwrap_err(), Error::MissingClaim(Cow::Borrowed("exp")));
    assert_eq!(
        check(r#"{"exp":1800003600}"#).unwrap_err(),
        Error::MissingClaim(Cow::Borrowed("sub"))
    );
    let with_issuer = options().with_issuer("keygate");
    let token = token(r#"{"sub":"a","exp":1800003600}"#);
    assert_eq!(
        verify(&verifier(&[&hs256()]), &token, &with_issuer, at(NOW)).unwrap_err(),
        Error::MissingClaim(Cow::Borrowed("iss"))
    );
}

#[test]
fn time_window() {
    let claims = r#"{"sub":"a","exp":1800000100,"nbf":1799999900,"iat":1799999900}"#;
    let verifier = verifier(&[&hs256()]);
    let token = token(claims);
    let exact = options().with_leeway(keygate_core::Span::ZERO);
    assert!(verify(&verifier, &token, &exact, at(1_799_999_900)).is_ok());
    assert!(verify(&verifier, &token, &exact, at(1_800_000_099)).is_ok());
    assert_eq!(
        verify(&verifier, &token, &exact, at(1_800_000_100)).unwrap_err(),
        Error::Expired { at: at(1_800_000_100), now: at(1_800_000_100) }
    );
    assert_eq!(
        verify(&verifier, &token, &exact, at(1_799_999_899)).unwrap_err(),
        Error::NotYetValid { at: at(1_799_999_900), now: at(1_799_999_899) }
    );
    let future_iat = self::token(r#"{"sub":"a","exp":1900000000,"iat":1800000100}"#);
    assert_eq!(
        verify(&verifier, &future_iat, &options(), at(NOW)).unwrap_err(),
        Error::IssuedInFuture { at: at(1_800_000_100), now: at(NOW) }
    );
    // The default 30 s leeway covers clock skew on both ends.
    assert!(verify(&verifier, &token, &options(), at(1_800_000_129)).is_ok());
    assert!(verify(&verifier, &token, &options(), at(1_800_000_130)).is_err());
    assert!(verify(&verifier, &token, &options(), at(1_799_999_870)).is_ok());
}

#[test]
fn audience_issuer_and_type() {
    let verifier = verifier(&[&hs256()]);
    let for_cluster = token(r#"{"sub":"a","exp":1800003600,"aud":"kafka-cluster/lkc-1"}"#);
    let for_both = token(
        r#"{"sub":"a","exp":1800003600,"aud":["kafka-cluster/lkc-2","kafka-cluster/lkc-1"]}"#,
    );
    let cluster = options().with_audience("kafka-cluster/lkc-1");
    let other = options().with_audience("kafka-cluster/lkc-9");

    assert!(verify(&verifier, &for_cluster, &cluster, at(NOW)).is_ok());
    assert!(verify(&verifier, &for_both, &cluster, at(NOW)).is_ok());
    assert_eq!(
        verify(&verifier, &for_cluster, &other, at(NOW)).unwrap_err(),
        Error::WrongAudience { expected: "kafka-cluster/lkc-9".to_owned() }
    );
    assert_eq!(
        verify(&verifier, &for_cluster, &options(), at(NOW)).unwrap_err(),
        Error::UnexpectedAudience
    );
    assert_eq!(
        verify(&verifier, &good(), &cluster, at(NOW)).unwrap_err(),
        Error::WrongAudience { expected: "kafka-cluster/lkc-1".to_owned() }
    );
    assert!(verify(&verifier, &for_cluster, &options().without_audience_check(), at(NOW)).is_ok());
    let if_present = options().with_audience_if_present("kafka-cluster/lkc-1");
    assert!(verify(&verifier, &for_cluster, &if_present, at(NOW)).is_ok());
    assert!(verify(&verifier, &good(), &if_present, at(NOW)).is_ok(), "no aud at all is fine");
    assert!(matches!(
        verify(
            &verifier,
            &for_cluster,
            &options().with_audience_if_present("kafka-cluster/lkc-9"),
            at(NOW)
        ),
        Err(Error::WrongAudience { .. })
    ));

    let issued = token(r#"{"sub":"a","exp":1800003600,"iss":"someone-else"}"#);
    assert_eq!(
        verify(&verifier, &issued, &options().with_issuer("keygate"), at(NOW)).unwrap_err(),
        Error::WrongIssuer
    );

    let typed = sign_raw(
        &hs256(),
        r#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#,
        r#"{"sub":"a","exp":1800003600}"#,
    );
    let api_keys = options().with_token_type("kg+jwt");
    assert_eq!(
        verify(&verifier, &typed, &api_keys, at(NOW)).unwrap_err(),
        Error::WrongType { expected: "kg+jwt".to_owned() }
    );
    assert_eq!(
        verify(&verifier, &good(), &api_keys, at(NOW)).unwrap_err(),
        Error::WrongType { expected: "kg+jwt".to_owned() }
    );
    let right = sign_raw(
        &hs256(),
        r#"{"alg":"HS256","kid":"k1","typ":"KG+JWT"}"#,
        r#"{"sub":"a","exp":1800003600}"#,
    );
    assert!(verify(&verifier, &right, &api_keys, at(NOW)).is_ok());
}

#[test]
fn a_renamed_subject_claim_reads_lists_as_pulsar_does() {
    let verifier = verifier(&[&hs256()]);
    let role = options().with_subject_claim("role");
    let listed = token(r#"{"role":["tenant-admin","other"],"sub":"ignored","exp":1800003600}"#);
    assert_eq!(verify(&verifier, &listed, &role, at(NOW)).unwrap().subject(), Some("tenant-admin"));
    let empty = token(r#"{"role":[],"exp":1800003600}"#);
    assert_eq!(
        verify(&verifier, &empty, &role, at(NOW)).unwrap_err(),
        Error::InvalidClaim(Cow::Borrowed("role"))
    );
    let missing = token(r#"{"sub":"a","exp":1800003600}"#);
    assert_eq!(
        verify(&verifier, &missing, &role, at(NOW)).unwrap_err(),
        Error::MissingClaim(Cow::Borrowed("role"))
    );
}

#[test]
fn errors_never_echo_untrusted_text_or_secrets() {
    let verifier = verifier(&[&hs256()]);
    let nasty = token(r#"{"sub":"a","exp":1800003600,"aud":"ATTACKER-TEXT"}"#);
    for error in [
        verify(&verifier, &nasty, &options(), at(NOW)).unwrap_err(),
        verify(&verifier, &nasty, &options().with_audience("x"), at(NOW)).unwrap_err(),
    ] {
        assert!(!error.to_string().contains("ATTACKER"), "{error}");
    }
    let secret = fixtures::RFC7515_A1_HMAC_KEY;
    assert!(!format!("{:?}", hs256()).contains(&secret[..8]));
    let _ = verifier_of;
}

#[test]
fn an_empty_subject_is_neither_minted_nor_verified() {
    assert_eq!(
        check(r#"{"sub":"","exp":1800003600}"#).unwrap_err(),
        Error::InvalidClaim(Cow::Borrowed("sub"))
    );
    let without_requirement = options().allow_no_subject();
    let refused = verify(
        &verifier(&[&hs256()]),
        &token(r#"{"sub":"","exp":1800003600}"#),
        &without_requirement,
        at(NOW),
    );
    assert_eq!(refused.unwrap_err(), Error::InvalidClaim(Cow::Borrowed("sub")));

    let minter = keygate_token::Minter::new(std::sync::Arc::new(hs256()));
    let nobody = keygate_token::Claims::new("");
    assert_eq!(minter.mint(&nobody).unwrap_err(), Error::InvalidClaim(Cow::Borrowed("sub")));
}
