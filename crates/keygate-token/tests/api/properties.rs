//! Properties: mint → verify round-trips for every algorithm, any flipped byte fails, and
//! verification succeeds exactly inside [nbf, exp) widened by the leeway.

use std::sync::{Arc, OnceLock};

use keygate_core::{SigningAlgorithm, Span, Timestamp};
use keygate_token::{Claims, Minter, SigningKey, UnverifiedToken, Verifier, VerifyOptions};
use proptest::prelude::*;

use super::support::{hs256, rsa};

/// One key per algorithm, made once: RSA keys come from the fixtures, the rest are generated.
fn keys() -> &'static [(Arc<SigningKey>, Verifier)] {
    static KEYS: OnceLock<Vec<(Arc<SigningKey>, Verifier)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        SigningAlgorithm::ALL
            .into_iter()
            .map(|algorithm| {
                let key = match algorithm {
                    SigningAlgorithm::HS256 => hs256(),
                    a if a.name().starts_with('R') || a.name().starts_with('P') => rsa(a),
                    a => SigningKey::generate(a).unwrap().with_kid("gen".parse().unwrap()),
                };
                let key = Arc::new(key);
                let verifier = Verifier::new([Arc::clone(key.verification_key())])
                    .unwrap()
                    .with_cache_slots(0);
                (key, verifier)
            })
            .collect()
    })
}

fn instant() -> impl Strategy<Value = Timestamp> {
    (1_000_000_000i64..3_000_000_000).prop_map(|s| Timestamp::from_unix(s).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mint_then_verify_round_trips(which in 0usize..12, subject in "[a-z][a-z0-9-]{0,20}", jti in "[a-z0-9]{1,16}", now in instant()) {
        let (key, verifier) = &keys()[which];
        let claims = Claims::new(subject.clone()).with_jwt_id(jti.clone()).with_issued_at(now).with_expires(Some(now.saturating_add(Span::hours(1))));
        let token = Minter::new(Arc::clone(key)).mint(&claims).unwrap();
        let verified = verifier.verify(&UnverifiedToken::parse(token.expose()).unwrap(), &VerifyOptions::default(), now).unwrap();
        prop_assert_eq!(verified.claims().subject(), Some(subject.as_str()));
        prop_assert_eq!(verified.claims().jwt_id(), Some(jti.as_str()));
        prop_assert_eq!(verified.algorithm(), key.algorithm());
    }

    #[test]
    fn any_single_flipped_byte_fails(which in 0usize..12, position in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (key, verifier) = &keys()[which];
        let now = Timestamp::from_unix(2_000_000_000).unwrap();
        let token = Minter::new(Arc::clone(key)).mint(&Claims::new("alice").with_expires(Some(now.saturating_add(Span::hours(1))))).unwrap();
        let mut bytes = token.expose().as_bytes().to_vec();
        let at = position.index(bytes.len());
        bytes[at] ^= 1 << bit;
        // A flip may make the text invalid UTF-8; such a token cannot even be presented.
        if let Ok(text) = String::from_utf8(bytes) {
            let result = UnverifiedToken::parse(&text).and_then(|t| verifier.verify(&t, &VerifyOptions::default(), now).map(|_| ()));
            prop_assert!(result.is_err(), "flipping bit {} of byte {} still verified", bit, at);
        }
    }

    #[test]
    fn valid_exactly_inside_the_window(nbf in 1_500_000_000i64..1_600_000_000, length in 1i64..1_000_000, offset in -2_000_000i64..2_000_000, leeway in 0u64..120) {
        let (key, verifier) = &keys()[0];
        let not_before = Timestamp::from_unix(nbf).unwrap();
        let expires = Timestamp::from_unix(nbf + length).unwrap();
        let now = Timestamp::from_unix(nbf + offset).unwrap();
        let token = Minter::new(Arc::clone(key)).mint(&Claims::new("alice").with_not_before(not_before).with_expires(Some(expires))).unwrap();
        let options = VerifyOptions::default().with_leeway(Span::seconds(leeway));
        let accepted = verifier.verify(&UnverifiedToken::parse(token.expose()).unwrap(), &options, now).is_ok();
        let leeway = leeway as i64;
        let inside = nbf - leeway <= nbf + offset && nbf + offset < nbf + length + leeway;
        prop_assert_eq!(accepted, inside);
    }
}

#[test]
fn cached_verification_still_checks_time() {
    let key = Arc::new(SigningKey::generate(SigningAlgorithm::ES256).unwrap());
    let verifier = Verifier::new([Arc::clone(key.verification_key())]).unwrap();
    let now = Timestamp::from_unix(2_000_000_000).unwrap();
    let token = Minter::new(key)
        .mint(&Claims::new("alice").with_expires(Some(now.saturating_add(Span::seconds(10)))))
        .unwrap();
    let verify = |at| {
        let mut buffer = keygate_token::ClaimsBuffer::new();
        let verified =
            verifier.verify_str(token.expose(), &VerifyOptions::default(), at, &mut buffer);
        verified.map(|v| v.claims().subject().map(str::to_owned))
    };
    // First call fills the cache, the second hits it; both pass.
    for _ in 0..2 {
        assert_eq!(verify(now).unwrap().as_deref(), Some("alice"));
    }
    let later = now.saturating_add(Span::seconds(60));
    assert!(matches!(verify(later), Err(keygate_token::Error::Expired { .. })));
}

#[test]
fn verifying_text_answers_as_parsing_first_does_cached_or_not() {
    let key = Arc::new(
        SigningKey::generate(SigningAlgorithm::EdDSA).unwrap().with_kid("ed".parse().unwrap()),
    );
    let verifier = Verifier::new([Arc::clone(key.verification_key())]).unwrap();
    let uncached = Verifier::new([Arc::clone(key.verification_key())]).unwrap().with_cache_slots(0);
    let now = Timestamp::from_unix(2_000_000_000).unwrap();
    let claims = Claims::new("alice").with_expires(Some(now.saturating_add(Span::seconds(10))));
    let token = Minter::new(Arc::clone(&key)).mint(&claims).unwrap();
    let text = token.expose();
    let typed = VerifyOptions::default().with_token_type("kg-test");
    let later = now.saturating_add(Span::seconds(60));
    let mut tampered = text.to_owned();
    tampered.pop();
    tampered.push(if text.ends_with('A') { 'B' } else { 'A' });

    let subject = |v: &keygate_token::VerifiedToken<'_>| v.claims().subject().map(str::to_owned);
    let by_text = |verifier: &Verifier, text: &str, options: &VerifyOptions, at| {
        let mut buffer = keygate_token::ClaimsBuffer::new();
        verifier.verify_str(text, options, at, &mut buffer).map(|v| subject(&v))
    };
    let by_parse = |verifier: &Verifier, text: &str, options: &VerifyOptions, at| {
        UnverifiedToken::parse(text)
            .and_then(|parsed| verifier.verify(&parsed, options, at))
            .map(|v| subject(&v))
    };
    // Twice each, so that the second of each asks the cache; the uncached verifier and the
    // parse-first path are the references.
    for _ in 0..2 {
        for (options, at) in
            [(&VerifyOptions::default(), now), (&typed, now), (&VerifyOptions::default(), later)]
        {
            let expected = by_parse(&uncached, text, options, at);
            assert_eq!(by_text(&verifier, text, options, at), expected);
            assert_eq!(by_parse(&verifier, text, options, at), expected);
        }
        assert!(by_text(&verifier, &tampered, &VerifyOptions::default(), now).is_err());
    }
    assert_eq!(
        by_text(&verifier, text, &VerifyOptions::default(), now).unwrap().as_deref(),
        Some("alice")
    );
    let long = format!("{text}{}", "A".repeat(keygate_token::DEFAULT_MAX_TOKEN_LEN));
    assert!(matches!(
        by_text(&verifier, &long, &VerifyOptions::default(), now),
        Err(keygate_token::Error::TooLarge { .. })
    ));
}

#[test]
fn a_cached_token_read_with_another_subject_claim_names_that_claims_principal() {
    let key = Arc::new(SigningKey::generate(SigningAlgorithm::ES256).unwrap());
    let verifier = Verifier::new([Arc::clone(key.verification_key())]).unwrap();
    let now = Timestamp::from_unix(2_000_000_000).unwrap();
    let claims = r#"{"sub":"alice","role":"admin","exp":2000000100}"#;
    let token = super::support::sign_raw(&key, r#"{"alg":"ES256"}"#, claims);
    let by_role = VerifyOptions::default().with_subject_claim("role");
    let subject = |v: &keygate_token::VerifiedToken<'_>| v.claims().subject().map(str::to_owned);
    let parsed = UnverifiedToken::parse(&token).unwrap();
    // Each reading twice, the second from the cache, alternating, by text and parsed first.
    for _ in 0..2 {
        for (options, principal) in [(&VerifyOptions::default(), "alice"), (&by_role, "admin")] {
            let mut buffer = keygate_token::ClaimsBuffer::new();
            let by_text = verifier.verify_str(&token, options, now, &mut buffer).unwrap();
            assert_eq!(subject(&by_text).as_deref(), Some(principal));
            let parsed_first = verifier.verify(&parsed, options, now).unwrap();
            assert_eq!(subject(&parsed_first).as_deref(), Some(principal));
        }
    }
}
