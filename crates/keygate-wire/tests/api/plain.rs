//! SASL/PLAIN.

use keygate::core::KeyFormat;
use keygate_wire::{PLAIN_MAX_FIELD, PlainMessage, WireError, encode_plain};
use proptest::prelude::*;

use super::support::World;

#[tokio::test]
async fn a_key_made_by_the_manager_authenticates_as_the_cli_prints_it() {
    let mut world = World::new().await;
    let key = world.key(KeyFormat::Opaque).await;
    let id = key.record.id().to_string();
    let message = encode_plain(&id, key.secret.expose());
    let plain = PlainMessage::parse(&message).unwrap();
    let identity = world.authenticate(&plain.credential()).unwrap();
    assert_eq!(identity.principal().as_str(), "orders");

    // The bare secret part works too; another key's id in the password does not.
    let bare = &key.secret.expose()[21..73];
    world
        .authenticate(&PlainMessage::parse(&encode_plain(&id, bare)).unwrap().credential())
        .unwrap();
    let other = world.key(KeyFormat::Opaque).await;
    assert_eq!(
        PlainMessage::parse(&encode_plain(&other.record.id().to_string(), key.secret.expose())),
        Err(WireError::KeyIdMismatch)
    );
    // A right-shaped secret of the wrong key is the Authenticator's to refuse.
    let wrong_message = encode_plain(&id, &other.secret.expose()[21..73]);
    let wrong = PlainMessage::parse(&wrong_message).unwrap();
    assert!(world.authenticate(&wrong.credential()).is_err());
}

#[test]
fn malformed_messages_are_refused_by_rule() {
    let refuse = |message: &[u8]| PlainMessage::parse(message).unwrap_err();
    assert!(matches!(refuse(b"user\0pass"), WireError::Malformed { .. }));
    assert!(matches!(refuse(b"\0user\0pass\0extra"), WireError::Malformed { .. }));
    assert!(matches!(refuse(b"\0\0pass"), WireError::Malformed { .. }));
    assert!(matches!(refuse(b"\0user\0"), WireError::Malformed { .. }));
    assert!(matches!(refuse(b"\0us\xffer\0pass"), WireError::Malformed { .. }));
    let long = "p".repeat(PLAIN_MAX_FIELD + 1);
    assert!(matches!(
        refuse(&encode_plain("user", &long)),
        WireError::TooLong { what: "password", .. }
    ));
    assert!(matches!(refuse(&vec![b'a'; 4096]), WireError::TooLong { .. }));
}

fn field() -> impl Strategy<Value = String> {
    "[^\u{0}]{1,60}".prop_filter("at most 255 bytes", |s| s.len() <= PLAIN_MAX_FIELD)
}

proptest! {
    #[test]
    fn encoded_messages_parse_back(username in field(), password in field()) {
        prop_assume!(!password.starts_with("kgk_"));
        let message = encode_plain(&username, &password);
        let parsed = PlainMessage::parse(&message).unwrap();
        prop_assert_eq!(parsed.username(), username.as_str());
        prop_assert_eq!(parsed.password(), password.as_str());
        // The same with the username repeated as authzid.
        let mut with_authzid = username.as_bytes().to_vec();
        with_authzid.extend_from_slice(&message);
        prop_assert_eq!(PlainMessage::parse(&with_authzid).unwrap().username(), username.as_str());
    }

    #[test]
    fn any_bytes_are_parsed_or_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..900)) {
        if let Ok(parsed) = PlainMessage::parse(&bytes) {
            prop_assert!(!parsed.username().is_empty() && !parsed.password().is_empty());
        }
    }
}
