//! Sessions: KIP-368 lifetimes, Pulsar's refresh, and the finish step of every mechanism.

use keygate::core::{Expiry, KeyFormat, Span};
use keygate::{AuthConfig, Credential};
use keygate_testkit::T0;
use keygate_wire::pulsar::TokenAuth;
use keygate_wire::{InitialResponse, PlainMessage, SessionLifetime, WireError, encode_plain};

use super::support::World;

#[tokio::test]
async fn the_lifetime_ends_at_the_key_expiry_or_the_broker_maximum_whichever_is_sooner() {
    let mut world = World::new().await;
    let key = world.key(KeyFormat::Opaque).await;
    let message = encode_plain(&key.record.id().to_string(), key.secret.expose());
    let identity =
        world.authenticate(&PlainMessage::parse(&message).unwrap().credential()).unwrap();
    let Expiry::At(expires) = key.record.expires() else { panic!("the key never expires") };
    let to_expiry = (expires.unix() - T0.unix()) * 1000;

    let unbounded = SessionLifetime::of(&identity, T0);
    assert_eq!(unbounded.session_lifetime_ms, to_expiry);
    assert_eq!(unbounded.ends, Expiry::At(expires));
    // At the very end of the key's life, still a positive lifetime, never 0 ("forever").
    let last = SessionLifetime::of(&identity, expires);
    assert_eq!(last.session_lifetime_ms, 1);

    // The session cap is the authenticator's, and never extends a session past its key.
    for (cap, expected) in [(Span::hours(1), 3_600_000), (Span::days(5000), to_expiry)] {
        let mut capped = World::with_config(AuthConfig::default().with_max_session(cap)).await;
        let key = capped.key(KeyFormat::Opaque).await;
        let identity = capped.authenticate(&Credential::ApiKey(key.secret.expose()));
        let lifetime = SessionLifetime::of(&identity.unwrap(), T0);
        assert_eq!(lifetime.session_lifetime_ms, expected, "cap {cap}");
    }
}

#[tokio::test]
async fn finishing_applies_the_authzid_and_same_principal_rules_for_every_mechanism() {
    let mut world = World::new().await;
    let opaque = world.key(KeyFormat::Opaque).await;
    let jwt = world.key(KeyFormat::Jwt).await;
    let id = opaque.record.id().to_string();
    let secret = opaque.secret.expose();

    // PLAIN: the authzid may be empty, the username or the principal; nothing else.
    for (authzid, accepted) in [("", true), (id.as_str(), true), ("orders", true), ("admin", false)]
    {
        let message = [authzid.as_bytes(), b"\0", id.as_bytes(), b"\0", secret.as_bytes()].concat();
        let plain = PlainMessage::parse(&message).unwrap();
        let identity = world.authenticate(&plain.credential()).unwrap();
        let finished = plain.finish(identity, None);
        assert_eq!(finished.is_ok(), accepted, "authzid {authzid:?}");
        if !accepted {
            assert_eq!(finished.unwrap_err(), WireError::AuthzidMismatch);
        }
    }

    // OAUTHBEARER: the authzid, when given, must be the token's principal.
    for (authzid, accepted) in [(None, true), (Some("orders"), true), (Some("admin"), false)] {
        let header = authzid.map_or_else(|| "n,,".to_owned(), |a| format!("n,a={a},"));
        let message = format!("{header}\u{1}auth=Bearer {}\u{1}\u{1}", jwt.secret.expose());
        let initial = InitialResponse::parse(message.as_bytes()).unwrap();
        let identity = world.authenticate(&initial.credential()).unwrap();
        assert_eq!(initial.finish(identity, None).is_ok(), accepted, "authzid {authzid:?}");
    }

    // Every mechanism: a re-authentication keeps the principal.
    let other = world.key_of("billing", KeyFormat::Jwt).await;
    let before = world.authenticate(&Credential::Bearer(jwt.secret.expose())).unwrap();
    let auth = TokenAuth::parse("token", other.secret.expose().as_bytes()).unwrap();
    let someone_else = world.authenticate(&auth.credential()).unwrap();
    assert_eq!(auth.finish(someone_else, Some(&before)).unwrap_err(), WireError::PrincipalChanged);
    let same = TokenAuth::parse("token", secret.as_bytes()).unwrap();
    let again = world.authenticate(&same.credential()).unwrap();
    assert!(same.finish(again, Some(&before)).is_ok());
}

#[tokio::test]
async fn pulsar_sessions_refresh_or_end_at_the_key_expiry() {
    use keygate_wire::pulsar::SessionEnd;

    let mut world = World::new().await;
    let key = world.key(KeyFormat::Jwt).await;
    let identity = world
        .authenticate(
            &TokenAuth::parse("token", key.secret.expose().as_bytes()).unwrap().credential(),
        )
        .unwrap();
    let Expiry::At(expires) = key.record.expires() else { panic!("the key never expires") };
    assert_eq!(SessionEnd::of(&identity, true), SessionEnd::Refresh(expires));
    assert_eq!(SessionEnd::of(&identity, false), SessionEnd::Disconnect(expires));
    assert_eq!(SessionEnd::of(&identity, false).at(), Some(expires));

    let opaque = world.key(KeyFormat::Opaque).await;
    let auth = TokenAuth::parse("token", opaque.secret.expose().as_bytes()).unwrap();
    let same_owner = world.authenticate(&auth.credential()).unwrap();
    auth.finish(same_owner, Some(&identity)).unwrap();
}
