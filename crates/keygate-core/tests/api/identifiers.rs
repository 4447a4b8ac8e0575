//! Identifiers round-trip through text and JSON, and parsing arbitrary input never panics.

use keygate_core::{
    KeyId, Permissions, PrincipalId, ResourceRef, Scope, SecretDigest, SigningKeyId,
};
use keygate_testkit::{SeededRandom, strategy};
use proptest::prelude::*;

proptest! {
    #[test]
    fn key_ids_round_trip(id in strategy::key_id()) {
        let text = id.to_string();
        prop_assert_eq!(text.len(), KeyId::LEN);
        prop_assert_eq!(text.parse::<KeyId>().unwrap(), id);
        prop_assert_eq!(text.to_uppercase().parse::<KeyId>().unwrap(), id);
        prop_assert_eq!(serde_json::from_str::<KeyId>(&serde_json::to_string(&id).unwrap()).unwrap(), id);
    }

    #[test]
    fn key_id_order_is_text_order(a in strategy::key_id(), b in strategy::key_id()) {
        prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
    }

    #[test]
    fn principal_ids_and_resources_round_trip(id in strategy::principal_id(), resource in strategy::resource_ref(), scope in strategy::scope()) {
        prop_assert_eq!(id.to_string().parse::<PrincipalId>().unwrap(), id.clone());
        prop_assert_eq!(serde_json::from_value::<PrincipalId>(serde_json::to_value(&id).unwrap()).unwrap(), id);
        prop_assert_eq!(resource.to_string().parse::<ResourceRef>().unwrap(), resource);
        prop_assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope.clone());
        prop_assert_eq!(serde_json::from_value::<Scope>(serde_json::to_value(&scope).unwrap()).unwrap(), scope);
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,200}", bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = text.parse::<KeyId>();
        let _ = KeyId::parse_canonical(&bytes);
        let _ = text.parse::<PrincipalId>();
        let _ = text.parse::<ResourceRef>();
        let _ = text.parse::<Scope>();
        let _ = text.parse::<Permissions>();
        let _ = text.parse::<SigningKeyId>();
        let _ = text.parse::<SecretDigest>();
    }
}

#[test]
fn generated_key_ids_are_distinct_and_reproducible() {
    let random = SeededRandom::new(42);
    let ids: Vec<KeyId> = (0..10_000).map(|_| KeyId::generate(&random).unwrap()).collect();
    let distinct: std::collections::BTreeSet<&KeyId> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());

    let again = SeededRandom::new(42);
    let replay: Vec<KeyId> = (0..100).map(|_| KeyId::generate(&again).unwrap()).collect();
    assert_eq!(replay, ids[..100]);
}

#[test]
fn generation_reports_a_failed_random_source() {
    assert_eq!(
        KeyId::generate(&keygate_testkit::FailingRandom),
        Err(keygate_core::Error::RandomUnavailable)
    );
}
