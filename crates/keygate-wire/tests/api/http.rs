//! HTTP Authorization headers.

use keygate::Credential;
use keygate::core::KeyFormat;
use keygate_wire::{HttpCredential, WireError, encode_basic};
use proptest::prelude::*;

use super::support::World;

#[tokio::test]
async fn every_form_of_a_key_authenticates() {
    let mut world = World::new().await;
    let opaque = world.key(KeyFormat::Opaque).await;
    let jwt = world.key(KeyFormat::Jwt).await;
    let basic = encode_basic(&opaque.record.id().to_string(), opaque.secret.expose());
    for header in [
        format!("Bearer {}", opaque.secret.expose()),
        format!("bearer  {}", jwt.secret.expose()),
        basic.to_string(),
    ] {
        let parsed = HttpCredential::parse(&header).unwrap();
        world.authenticate(&parsed.credential()).unwrap();
    }
    assert!(matches!(
        HttpCredential::parse(&format!("Bearer {}", opaque.secret.expose())).unwrap().credential(),
        Credential::ApiKey(_)
    ));
}

#[test]
fn malformed_headers_are_refused_by_rule() {
    for header in [
        "",
        "Bearer",
        "Bearer ",
        "Basic",
        "Basic !!!",
        "Basic dXNlcg==",
        "Basic OnBhc3M=",
        "Basic dXNlcjo=",
        "Bearer a\"b",
    ] {
        assert!(
            matches!(HttpCredential::parse(header), Err(WireError::Malformed { .. })),
            "{header:?}"
        );
    }
    assert_eq!(HttpCredential::parse("Negotiate abc"), Err(WireError::UnsupportedScheme));
    assert!(matches!(HttpCredential::parse(&"a".repeat(20_000)), Err(WireError::TooLong { .. })));
}

proptest! {
    #[test]
    fn basic_credentials_round_trip(username in "[^:\\p{Cc}]{1,40}", password in "[^\\p{Cc}]{1,80}") {
        let header = encode_basic(&username, &password);
        match HttpCredential::parse(&header).unwrap() {
            HttpCredential::Basic { username: u, password: p } => {
                prop_assert_eq!(u, username);
                prop_assert_eq!(p.as_str(), password.as_str());
            }
            other => prop_assert!(false, "parsed as {:?}", other),
        }
    }

    #[test]
    fn any_text_is_parsed_or_refused_without_panicking(text in "\\PC{0,200}") {
        let _ = HttpCredential::parse(&text);
    }
}
