//! KIP-368 session lifetimes.

use keygate::core::{Expiry, KeyFormat, Span};
use keygate_testkit::T0;
use keygate_wire::{PlainMessage, SessionLifetime, encode_plain};

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

    let unbounded = SessionLifetime::of(&identity, T0, None);
    assert_eq!(unbounded.session_lifetime_ms, to_expiry);
    assert_eq!(unbounded.ends, Expiry::At(expires));
    let capped = SessionLifetime::of(&identity, T0, Some(Span::hours(1)));
    assert_eq!(capped.session_lifetime_ms, 3_600_000);
    let generous = SessionLifetime::of(&identity, T0, Some(Span::days(5000)));
    assert_eq!(
        generous.session_lifetime_ms, to_expiry,
        "a maximum past the expiry extended the session"
    );
    // At the very end of the key's life, still a positive lifetime, never 0 ("forever").
    let last = SessionLifetime::of(&identity, expires, None);
    assert_eq!(last.session_lifetime_ms, 1);
}

#[tokio::test]
async fn pulsar_sessions_refresh_or_end_at_the_key_expiry() {
    use keygate_wire::pulsar::{SessionEnd, check_refresh, token_credential};

    let mut world = World::new().await;
    let key = world.key(KeyFormat::Jwt).await;
    let identity = world
        .authenticate(&token_credential("token", key.secret.expose().as_bytes()).unwrap())
        .unwrap();
    let Expiry::At(expires) = key.record.expires() else { panic!("the key never expires") };
    assert_eq!(SessionEnd::of(&identity, true), SessionEnd::Refresh(expires));
    assert_eq!(SessionEnd::of(&identity, false), SessionEnd::Disconnect(expires));
    assert_eq!(SessionEnd::of(&identity, false).at(), Some(expires));

    let opaque = world.key(KeyFormat::Opaque).await;
    let same_owner = world
        .authenticate(&token_credential("token", opaque.secret.expose().as_bytes()).unwrap())
        .unwrap();
    check_refresh(&identity, &same_owner).unwrap();
}
