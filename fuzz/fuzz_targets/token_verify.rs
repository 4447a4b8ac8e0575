//! Verification with fixed keys: never a panic, whether the input is a whole token or a header
//! and claims that get a valid HS256 signature (so the claim checks are reached); what verifies
//! has a subject, and is within its validity window.
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::{SigningAlgorithm, Timestamp};
use keygate_token::{SigningKey, UnverifiedToken, Verifier, VerifyOptions};
use libfuzzer_sys::fuzz_target;

struct Keys {
    hs256: SigningKey,
    verifier: Verifier,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let hs256 = SigningKey::from_secret(SigningAlgorithm::HS256, &[7; 32]).unwrap();
        let ed25519 =
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap().with_kid("ed".parse().unwrap());
        let verifier = Verifier::new([
            Arc::clone(hs256.verification_key()),
            Arc::clone(ed25519.verification_key()),
        ])
        .unwrap_or_else(|_| Verifier::new([Arc::clone(hs256.verification_key())]).unwrap());
        Keys { hs256, verifier }
    })
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    let now = Timestamp::from_unix(1_800_000_000).unwrap();
    let options = VerifyOptions::default().allow_no_expiry();
    // The input as a token.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(token) = UnverifiedToken::parse(text)
    {
        let _ = keys.verifier.verify(&token, &options, now);
    }
    // The input as header and claims, signed.
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (header, claims) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims));
    let signature = keys.hs256.sign(token.as_bytes()).unwrap();
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    if let Ok(parsed) = UnverifiedToken::parse(&token)
        && let Ok(verified) = keys.verifier.verify(&parsed, &options, now)
    {
        let claims = verified.claims();
        assert!(claims.subject().is_some());
        assert!(claims.expires.is_none_or(|exp| exp.unix() + 30 > now.unix()));
    }
});
