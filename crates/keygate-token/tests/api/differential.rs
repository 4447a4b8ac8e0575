//! Differential test: keygate's verifier against jsonwebtoken 11's `decode` (on keygate's ring
//! provider), over the vectors and over generated, mutated and random tokens.
//!
//! Both are configured alike: one key bound to one algorithm, `exp` and `sub` required, `nbf`
//! checked, a 30-second leeway, and no audience configured (so a token naming one is refused).
//! They must agree, with one exception: keygate may refuse a token jsonwebtoken accepts when the
//! reason is one of the cases `keygate_token::compat` lists. jsonwebtoken refusing a token that
//! keygate accepts is always a failure.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use keygate_core::{Clock, SigningAlgorithm, SystemClock, Timestamp};
use keygate_testkit::fixtures;
use keygate_token::compat::stricter_than_jsonwebtoken;
use keygate_token::{
    Error, SigningKey, UnverifiedToken, Verifier, VerifyOptions, install_jsonwebtoken_provider,
};
use proptest::prelude::*;

use super::support::{ed25519, hs256, rsa, sign_raw};

struct Pair {
    key: Arc<SigningKey>,
    ours: Verifier,
    theirs: DecodingKey,
    algorithm: Algorithm,
}

fn pairs() -> &'static [Pair] {
    static PAIRS: OnceLock<Vec<Pair>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        install_jsonwebtoken_provider();
        let es256 =
            SigningKey::generate(SigningAlgorithm::ES256).unwrap().with_kid("k1".parse().unwrap());
        [hs256(), rsa(SigningAlgorithm::RS256), ed25519(), es256]
            .into_iter()
            .map(|key| {
                let theirs = if key.algorithm().is_symmetric() {
                    DecodingKey::from_secret(key.private_bytes())
                } else {
                    DecodingKey::from_jwk(&key.verification_key().to_jwk().unwrap()).unwrap()
                };
                let algorithm: Algorithm = key.algorithm().name().parse().unwrap();
                let key = Arc::new(key);
                let ours = Verifier::new([Arc::clone(key.verification_key())])
                    .unwrap()
                    .with_cache_slots(0);
                Pair { key, ours, theirs, algorithm }
            })
            .collect()
    })
}

fn ours(pair: &Pair, token: &str, now: Timestamp) -> Result<serde_json::Value, Error> {
    let parsed = UnverifiedToken::parse(token)?;
    let verified = pair.ours.verify(&parsed, &VerifyOptions::default(), now)?;
    let claims = verified.claims();
    Ok(serde_json::json!({ "sub": claims.subject(), "exp": claims.expires.map(|t| t.unix()) }))
}

fn theirs(pair: &Pair, token: &str) -> Result<serde_json::Value, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(pair.algorithm);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    jsonwebtoken::decode::<serde_json::Value>(token, &pair.theirs, &validation)
        .map(|data| serde_json::json!({ "sub": data.claims["sub"], "exp": data.claims["exp"] }))
}

/// Compares the two on one token; panics with the token's description on a disagreement.
fn compare(pair: &Pair, token: &str) {
    let now = SystemClock.now();
    match (ours(pair, token, now), theirs(pair, token)) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "claims differ for {}", describe(token)),
        (Err(_), Err(_)) => {}
        (Err(error), Ok(_)) => assert!(
            stricter_than_jsonwebtoken(&error).is_some(),
            "keygate refused ({error:?}) what jsonwebtoken accepted, and that is not a listed case: {}",
            describe(token)
        ),
        (Ok(_), Err(error)) => {
            panic!("keygate accepted what jsonwebtoken refused ({error}): {}", describe(token))
        }
    }
}

/// A readable form of a token for failure messages: decoded header and payload.
fn describe(token: &str) -> String {
    let mut parts = token.splitn(3, '.');
    let show = |part: Option<&str>| {
        part.and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|| "?".into())
    };
    format!("header {} payload {} ({} bytes)", show(parts.next()), show(parts.next()), token.len())
}

fn now() -> i64 {
    SystemClock.now().unix()
}

/// Header fragments: each is either empty or a `"name":value` member.
fn header_fragments(alg: &'static str) -> Vec<Vec<String>> {
    let alg_member = format!(r#""alg":"{alg}""#);
    vec![
        vec![
            alg_member.clone(),
            r#""alg":"HS384""#.into(),
            r#""alg":"none""#.into(),
            r#""alg":5"#.into(),
            String::new(),
        ],
        vec![
            String::new(),
            r#""kid":"k1""#.into(),
            r#""kid":"other""#.into(),
            r#""kid":"a/b""#.into(),
            r#""kid":null"#.into(),
            r#""kid":7"#.into(),
        ],
        vec![
            String::new(),
            r#""typ":"JWT""#.into(),
            r#""typ":"kg+jwt""#.into(),
            r#""typ":5"#.into(),
        ],
        vec![
            String::new(),
            r#""crit":["exp"]"#.into(),
            r#""jku":"https://attacker.example/jwks""#.into(),
            r#""x5t":"abc""#.into(),
            r#""x5t":1"#.into(),
            r#""cty":"JWT""#.into(),
            r#""enc":"A128GCM""#.into(),
            r#""b64":false"#.into(),
            format!(r#""deep":{}1{}"#, "[".repeat(40), "]".repeat(40)),
            alg_member,
        ],
    ]
}

/// Claim fragments, relative to now.
fn claim_fragments() -> Vec<Vec<String>> {
    let now = now();
    vec![
        vec![
            r#""sub":"alice""#.into(),
            r#""sub":7"#.into(),
            r#""sub":["alice"]"#.into(),
            r#""sub":null"#.into(),
            String::new(),
        ],
        vec![
            format!(r#""exp":{}"#, now + 86_400),
            format!(r#""exp":{}"#, now - 86_400),
            format!(r#""exp":{}.5"#, now + 86_400),
            format!(r#""exp":"{}""#, now + 86_400),
            r#""exp":-1"#.into(),
            r#""exp":18446744073709551615"#.into(),
            r#""exp":null"#.into(),
            String::new(),
        ],
        vec![
            String::new(),
            format!(r#""nbf":{}"#, now - 86_400),
            format!(r#""nbf":{}"#, now + 86_400),
            r#""nbf":1.5"#.into(),
            r#""nbf":null"#.into(),
        ],
        vec![
            String::new(),
            format!(r#""iat":{}"#, now),
            format!(r#""iat":{}"#, now + 86_400),
            r#""iat":"yesterday""#.into(),
        ],
        vec![
            String::new(),
            r#""aud":"kafka-cluster/lkc-1""#.into(),
            r#""aud":[]"#.into(),
            r#""aud":7"#.into(),
            r#""aud":null"#.into(),
        ],
        vec![
            String::new(),
            r#""iss":"keygate""#.into(),
            r#""iss":7"#.into(),
            r#""jti":"5x7k2m9q4w8n6p1r""#.into(),
            r#""jti":1"#.into(),
        ],
        vec![
            String::new(),
            r#""kg_scope":"global""#.into(),
            r#""kg_scope":"nowhere""#.into(),
            format!(r#""x":{}0{}"#, "{\"a\":".repeat(10), "}".repeat(10)),
            format!(r#""x":{}0{}"#, "[".repeat(50), "]".repeat(50)),
            r#""sub":"mallory""#.into(),
            format!(r#""exp":{}"#, now + 100),
            r#""jti":"a""#.into(),
        ],
        vec![String::new(), r#""jti":"b""#.into(), r#""iat":0"#.into()],
    ]
}

fn object(members: impl IntoIterator<Item = String>) -> String {
    let members: Vec<String> = members.into_iter().filter(|m| !m.is_empty()).collect();
    format!("{{{}}}", members.join(","))
}

fn pick(fragments: &[Vec<String>], choices: &[usize]) -> String {
    object(fragments.iter().zip(choices).map(|(options, &i)| options[i % options.len()].clone()))
}

#[test]
fn agrees_on_the_vectors() {
    let now = now();
    for pair in pairs() {
        let alg = pair.key.algorithm().name();
        let valid = format!(r#"{{"sub":"alice","exp":{}}}"#, now + 3600);
        let vectors = [
            sign_raw(&pair.key, &format!(r#"{{"alg":"{alg}","kid":"k1"}}"#), &valid),
            sign_raw(&pair.key, &format!(r#"{{"alg":"{alg}"}}"#), &valid),
            fixtures::RFC7515_A1_TOKEN.to_owned(),
            fixtures::RFC7515_A2_TOKEN.to_owned(),
            fixtures::RFC7515_A3_TOKEN.to_owned(),
            fixtures::RFC7515_A5_TOKEN.to_owned(),
            fixtures::RFC8037_A4_TOKEN.to_owned(),
            fixtures::pulsar::HS256_TOKEN_WITH_EXPIRY.trim().to_owned(),
            String::new(),
            "..".to_owned(),
        ];
        for token in vectors {
            compare(pair, &token);
        }
    }
}

#[test]
fn every_listed_case_really_occurs() {
    // Each stricter case is exercised here, so the list does not grow stale: a case that no
    // longer makes jsonwebtoken and keygate disagree would fail the first assertion.
    let pair = &pairs()[0];
    let now = now();
    let cases = [
        (
            r#"{"alg":"HS256","crit":["exp"]}"#.to_owned(),
            format!(r#"{{"sub":"a","exp":{}}}"#, now + 60),
        ),
        (
            r#"{"alg":"HS256","kid":"other"}"#.to_owned(),
            format!(r#"{{"sub":"a","exp":{}}}"#, now + 60),
        ),
        (
            r#"{"alg":"HS256","kid":"a/b"}"#.to_owned(),
            format!(r#"{{"sub":"a","exp":{}}}"#, now + 60),
        ),
        (r#"{"alg":"HS256"}"#.to_owned(), format!(r#"{{"sub":"a","exp":{}.5}}"#, now + 60)),
        (r#"{"alg":"HS256"}"#.to_owned(), format!(r#"{{"sub":"a","exp":{},"iat":"x"}}"#, now + 60)),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            format!(r#"{{"sub":"a","exp":{},"jti":"x","jti":"y"}}"#, now + 60),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            format!(r#"{{"sub":"a","exp":{},"iat":{}}}"#, now + 600, now + 300),
        ),
        (
            r#"{"alg":"HS256"}"#.to_owned(),
            format!(
                r#"{{"sub":"a","exp":{},"x":{}1{}}}"#,
                now + 60,
                "[".repeat(40),
                "]".repeat(40)
            ),
        ),
    ];
    for (header, claims) in cases {
        let token = sign_raw(&pair.key, &header, &claims);
        let ours = ours(pair, &token, SystemClock.now()).unwrap_err();
        assert!(theirs(pair, &token).is_ok(), "jsonwebtoken refused {header} {claims}");
        assert!(stricter_than_jsonwebtoken(&ours).is_some(), "{ours:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn agrees_on_generated_tokens(which in 0usize..4, header in proptest::collection::vec(0usize..16, 4), claims in proptest::collection::vec(0usize..16, 8)) {
        let pair = &pairs()[which];
        let header = pick(&header_fragments(pair.key.algorithm().name()), &header);
        let claims = pick(&claim_fragments(), &claims);
        compare(pair, &sign_raw(&pair.key, &header, &claims));
    }

    #[test]
    fn agrees_on_mutated_tokens(which in 0usize..4, mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4)) {
        let pair = &pairs()[which];
        let alg = pair.key.algorithm().name();
        let token = sign_raw(&pair.key, &format!(r#"{{"alg":"{alg}","kid":"k1"}}"#), &format!(r#"{{"sub":"alice","exp":{}}}"#, now() + 3600));
        let mut bytes = token.into_bytes();
        for (at, byte, kind) in mutations {
            let at = at.index(bytes.len().max(1));
            match kind {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.insert(at.min(bytes.len()), byte),
                _ if !bytes.is_empty() => { bytes.remove(at); }
                _ => {}
            }
        }
        if let Ok(text) = String::from_utf8(bytes) {
            compare(pair, &text);
        }
    }

    #[test]
    fn agrees_on_random_text(text in "[A-Za-z0-9_.=-]{0,200}") {
        compare(&pairs()[0], &text);
    }
}
