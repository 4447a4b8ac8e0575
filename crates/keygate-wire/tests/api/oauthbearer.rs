//! SASL/OAUTHBEARER.

use keygate::core::KeyFormat;
use keygate_wire::{
    CLIENT_ABORT, ERROR_CHALLENGE, InitialResponse, OAuthBearerServer, WireError,
    encode_initial_response,
};
use proptest::prelude::*;

use super::support::World;

#[tokio::test]
async fn a_jwt_api_key_authenticates_and_a_bad_one_goes_through_the_challenge() {
    let mut world = World::new().await;
    let key = world.key(KeyFormat::Jwt).await;
    let mut server = OAuthBearerServer::new();
    let message = encode_initial_response(key.secret.expose(), &[("traceId", "t-1")]);
    let response = server.initial(&message).unwrap();
    assert_eq!(response.extensions(), [("traceId", "t-1")]);
    let identity = world.authenticate(&response.credential()).unwrap();
    assert_eq!(identity.key_id(), Some(key.record.id()));

    // A tampered token: refused; the server challenges, the client aborts, the exchange ends.
    // The first character of the signature changed (the last one may carry no bits).
    let (body, signature) = key.secret.expose().rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{body}.{flipped}{}", &signature[1..]);
    let mut server = OAuthBearerServer::new();
    let message = encode_initial_response(&tampered, &[]);
    let response = server.initial(&message).unwrap();
    assert!(world.authenticate(&response.credential()).is_err());
    assert_eq!(server.reject(), ERROR_CHALLENGE);
    server.after_challenge(CLIENT_ABORT).unwrap();
}

#[test]
fn malformed_messages_are_refused_by_rule() {
    for message in [
        &b""[..],
        b"\x01",
        b"n,,\x01\x01",
        b"n,,\x01auth=Bearer t\x01",
        b"p=tls-unique,,\x01auth=Bearer t\x01\x01",
        b"n,,\x01auth=Basic dXNlcjpwYXNz\x01\x01",
        b"n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01",
        b"n,,\x01k9=v\x01auth=Bearer t\x01\x01",
        b"n,,\x01k=v\x01k=w\x01auth=Bearer t\x01\x01",
        b"n,,\x01auth=Bearer t t\x01\x01",
        b"n,,\x01k=\x7f\x01auth=Bearer t\x01\x01",
        b"n,,\x01\x01auth=Bearer t\x01\x01",
    ] {
        assert!(
            matches!(InitialResponse::parse(message), Err(WireError::Malformed { .. })),
            "{message:?}"
        );
    }
    let long = encode_initial_response(&"a".repeat(20_000), &[]);
    assert!(matches!(InitialResponse::parse(&long), Err(WireError::TooLong { .. })));
    let mut server = OAuthBearerServer::new();
    server.initial(&encode_initial_response("t", &[])).unwrap();
    server.reject();
    assert!(server.after_challenge(b"n,,\x01auth=Bearer t\x01\x01").is_err());
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/-]{1,300}={0,2}"
}

fn extensions() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map("[a-zA-Z]{1,12}", "[!-~ ]{0,40}", 0..5)
        .prop_map(|map| map.into_iter().filter(|(key, _)| key != "auth").collect())
}

proptest! {
    #[test]
    fn encoded_responses_parse_back(token in token(), extensions in extensions()) {
        let pairs: Vec<(&str, &str)> = extensions.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let message = encode_initial_response(&token, &pairs);
        let parsed = InitialResponse::parse(&message).unwrap();
        prop_assert_eq!(parsed.token(), token.as_str());
        prop_assert_eq!(parsed.extensions(), pairs.as_slice());
        prop_assert_eq!(parsed.authzid(), None);
    }

    #[test]
    fn any_bytes_are_parsed_or_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(parsed) = InitialResponse::parse(&bytes) {
            prop_assert!(!parsed.token().is_empty());
        }
    }
}
