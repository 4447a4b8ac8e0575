//! The two faces of an authentication failure, and failing closed.

use keygate::core::{Clock, KeyFormat, Span};
use keygate::{AuthConfig, AuthContext, AuthError, Authenticator, Credential};
use keygate_testkit::T0;

use super::support::{World, resource};

#[tokio::test]
async fn failures_before_proof_of_possession_look_the_same_to_the_client() {
    let mut world = World::new();
    world.service_account("svc").await;
    world.signing_key().await;
    let key = world.key("svc", "global", KeyFormat::Opaque).await;
    let jwt = world.key("svc", "global", KeyFormat::Jwt).await;
    world.sync().await;

    let text = key.secret.expose();
    let id = key.record.id().to_string();
    // A valid-looking key for an id that does not exist, with a correct checksum.
    let unknown =
        keygate::token::ApiKey::generate(&keygate_testkit::SeededRandom::new(99)).unwrap().expose();
    let wrong_secret = keygate::token::ApiKey::generate_for(
        key.record.id(),
        &keygate_testkit::SeededRandom::new(5),
    )
    .unwrap()
    .expose();
    // Change one character in the middle of the signature.
    let mut tampered_jwt = jwt.secret.expose().as_bytes().to_vec();
    let middle = tampered_jwt.len() - 20;
    tampered_jwt[middle] = if tampered_jwt[middle] == b'Q' { b'R' } else { b'Q' };
    let tampered_jwt = String::from_utf8(tampered_jwt).unwrap();

    let garbage_secret = "x".repeat(52);
    let resource = resource("kafka-cluster/lkc-1");
    let context = AuthContext::new(&resource, world.clock.now());
    let attempts = [
        Credential::ApiKey("kgk_not-a-key"),
        Credential::ApiKey(&text[..79]),
        Credential::ApiKey(&unknown),
        Credential::ApiKey(&wrong_secret),
        Credential::KeyAndSecret { key_id: &id, secret: &garbage_secret },
        Credential::Bearer("a.b.c"),
        Credential::Bearer(&tampered_jwt),
        Credential::Bearer("eyJhbGciOiJub25lIn0.e30."),
    ];
    let mut kinds = Vec::new();
    for attempt in attempts {
        let error = world.authenticator.authenticate(&attempt, &context).unwrap_err();
        assert_eq!(
            error.client_message(),
            AuthError::GENERIC,
            "{error:?} tells the client too much"
        );
        assert!(!error.to_string().contains(&text[21..]), "the secret is in the operator message");
        kinds.push(error.kind());
    }
    // The operator side still tells them apart.
    assert!(kinds.contains(&keygate::AuthFailure::UnknownKey));
    assert!(kinds.contains(&keygate::AuthFailure::BadSecret));
    assert!(kinds.contains(&keygate::AuthFailure::Malformed));
    assert!(kinds.contains(&keygate::AuthFailure::InvalidSignature));
}

#[tokio::test]
async fn an_authenticator_that_never_synced_refuses_everything() {
    let world = World::new();
    world.service_account("svc").await;
    let key = world.key("svc", "global", KeyFormat::Opaque).await;
    assert!(matches!(
        world.auth(&key, "cloud/api", None),
        Err(AuthError::StatusUnknown { synced_at: None, .. })
    ));
}

#[tokio::test]
async fn stale_state_fails_closed_unless_the_embedder_opts_out() {
    let mut world = World::new();
    world.service_account("svc").await;
    let key = world.key("svc", "global", KeyFormat::Opaque).await;
    world.sync().await;
    world.advance(Span::seconds(60));
    world.auth(&key, "cloud/api", None).unwrap();
    world.advance(Span::seconds(1));
    let stale = world.auth(&key, "cloud/api", None).unwrap_err();
    assert!(matches!(stale, AuthError::StatusUnknown { synced_at: Some(at), .. } if at == T0));
    assert_eq!(stale.client_message(), "authentication is temporarily unavailable");
    // A sync that finds nothing new still counts as fresh.
    world.sync().await;
    world.auth(&key, "cloud/api", None).unwrap();

    let lenient = Authenticator::new(AuthConfig::default().accept_stale_state());
    let mut replica = keygate::Replica::new(lenient.clone(), world.clock.clone());
    replica.sync_once(&*world.store).await.unwrap();
    world.advance(Span::days(30));
    let resource = resource("cloud/api");
    lenient
        .authenticate(
            &Credential::ApiKey(key.secret.expose()),
            &AuthContext::new(&resource, world.clock.now()),
        )
        .unwrap();
}

#[tokio::test]
async fn expiry_and_not_before_come_from_the_record() {
    let mut world = World::new();
    world.service_account("svc").await;
    let key = world
        .manager
        .create_key(
            &super::support::actor(),
            keygate::NewKey::new("svc".parse().unwrap(), keygate::core::Scope::Global)
                .with_lifetime("1h".parse().unwrap()),
        )
        .await
        .unwrap();
    world.sync().await;
    world.advance(Span::minutes(59));
    world.sync().await;
    world.auth(&key, "cloud/api", None).unwrap();
    world.advance(Span::minutes(1));
    world.sync().await;
    let expired = world.auth(&key, "cloud/api", None).unwrap_err();
    assert!(matches!(expired, AuthError::Expired { .. }), "{expired}");
    assert_eq!(expired.client_message(), "the credential has expired");
}
