//! keygate's verifier against jsonwebtoken 11's `decode` on validly signed tokens with fuzzed
//! headers and claims: they agree, except where keygate is stricter on purpose
//! (`keygate_token::compat`); jsonwebtoken never refuses what keygate accepts.
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use keygate_core::{SigningAlgorithm, Timestamp};
use keygate_token::compat::stricter_than_jsonwebtoken;
use keygate_token::{
    SigningKey, UnverifiedToken, Verifier, VerifyOptions, install_jsonwebtoken_provider,
};
use libfuzzer_sys::fuzz_target;

struct Pair {
    key: SigningKey,
    ours: Verifier,
    theirs: DecodingKey,
}

fn pair() -> &'static Pair {
    static PAIR: OnceLock<Pair> = OnceLock::new();
    PAIR.get_or_init(|| {
        install_jsonwebtoken_provider();
        let key = SigningKey::from_secret(SigningAlgorithm::HS256, &[7; 32]).unwrap();
        let ours = Verifier::new([Arc::clone(key.verification_key())]).unwrap();
        let theirs = DecodingKey::from_secret(&[7; 32]);
        Pair { key, ours, theirs }
    })
}

fuzz_target!(|data: &[u8]| {
    let pair = pair();
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (header, claims) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims));
    let signature = pair.key.sign(token.as_bytes()).unwrap();
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));

    // jsonwebtoken reads the wall clock itself, so keygate is asked at the second before and
    // the second after its decode, and one of the two answers has to agree with it.
    let ours = |now: Timestamp| {
        UnverifiedToken::parse(&token).and_then(|parsed| {
            let verified = pair.ours.verify(&parsed, &VerifyOptions::default(), now)?;
            Ok(verified.claims().subject().map(str::to_owned))
        })
    };
    let before = wall_clock();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let theirs = jsonwebtoken::decode::<serde_json::Value>(&token, &pair.theirs, &validation);
    let after = wall_clock();
    let agrees = |ours: &Result<Option<String>, keygate_token::Error>| match (ours, &theirs) {
        (Ok(subject), Ok(decoded)) => subject.as_deref() == decoded.claims["sub"].as_str(),
        (Err(_), Err(_)) => true,
        (Err(error), Ok(_)) => stricter_than_jsonwebtoken(error).is_some(),
        (Ok(_), Err(_)) => false,
    };
    let (at_before, at_after) = (ours(before), ours(after));
    assert!(
        agrees(&at_before) || agrees(&at_after),
        "keygate said {at_before:?} then {at_after:?}; jsonwebtoken said {:?}",
        theirs.as_ref().map(|_| "accepted").map_err(ToString::to_string)
    );
});

fn wall_clock() -> Timestamp {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    Timestamp::from_unix(i64::try_from(seconds).unwrap_or(i64::MAX))
        .expect("the clock reads a valid time")
}
