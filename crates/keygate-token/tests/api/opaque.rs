//! Opaque API keys from the outside: every presentation, every refusal.

use keygate_testkit::SeededRandom;
use keygate_token::{API_KEY_LEN, ApiKey, Error, SecretHasher};
use proptest::prelude::*;

#[test]
fn the_grammar_matches_the_documented_pattern() {
    let random = SeededRandom::new(1);
    for _ in 0..100 {
        let text = ApiKey::generate(&random).unwrap().expose();
        assert_eq!(text.len(), API_KEY_LEN);
        let (prefix, rest) = text.split_at(4);
        assert_eq!(prefix, "kgk_");
        let (id, rest) = rest.split_at(16);
        let (separator, secret_and_checksum) = rest.split_at(1);
        assert_eq!(separator, "_");
        for part in [id, secret_and_checksum] {
            assert!(
                part.bytes().all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)),
                "{part}"
            );
        }
        assert_eq!(secret_and_checksum.len(), 59);
    }
}

#[test]
fn garbage_is_refused_before_any_lookup() {
    for bad in ["", "kgk_", "ghp_0123456789abcdefghijklmnopqrstuvwxyz", &"kgk_".repeat(20)] {
        assert!(
            matches!(ApiKey::parse(bad), Err(Error::MalformedApiKey(_) | Error::ApiKeyChecksum)),
            "{bad:?}"
        );
    }
    let text = ApiKey::generate(&SeededRandom::new(3)).unwrap().expose();
    let mut swapped = text.as_bytes().to_vec();
    swapped.swap(30, 31);
    if swapped != text.as_bytes() {
        assert_eq!(
            ApiKey::parse(std::str::from_utf8(&swapped).unwrap()).unwrap_err(),
            Error::ApiKeyChecksum
        );
    }
    assert!(ApiKey::parse(&text.to_uppercase()).is_err());
    assert!(ApiKey::parse(&format!(" {}", &text[..79])).is_err());
}

proptest! {
    #[test]
    fn keys_round_trip_and_verify(seed in any::<u64>()) {
        let key = ApiKey::generate(&SeededRandom::new(seed)).unwrap();
        let text = key.expose();
        let parsed = ApiKey::parse(&text).unwrap();
        prop_assert_eq!(parsed.key_id(), key.key_id());
        let hasher = SecretHasher::sha256();
        let stored = hasher.digest(&key);
        prop_assert!(hasher.verify(&parsed, &stored).is_ok());
        let pair = ApiKey::from_pair(&key.key_id().to_string(), &text).unwrap();
        prop_assert!(hasher.verify(&pair, &stored).is_ok());
    }

    #[test]
    fn parsing_never_panics(text in "\\PC{0,100}", bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let _ = ApiKey::parse(&text);
        let _ = ApiKey::from_pair(&text, &text);
        let _ = ApiKey::parse(&String::from_utf8_lossy(&bytes));
    }
}
