//! What a sync means for open connections, and the limits on connections.

use std::time::Duration;

use keygate::AuthError;
use keygate::core::Span;
use keygate_tokio::{Ending, Event, FrameReader, Limits};
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, timeout};

use super::support::{World, established};

/// Long enough for several syncs, short enough for a test.
const SOON: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_revoked_key_closes_its_connections_and_no_other() {
    let world = World::new().await;
    let (revoked, kept) = (world.key().await, world.key().await);
    let server = world.server(Limits::default()).await;
    let mut doomed = established(&server, &revoked);
    let mut other = established(&server, &kept);

    world
        .manager
        .revoke(&world.operator, revoked.record.id(), "leaked".parse().unwrap())
        .await
        .unwrap();
    let (_client, socket) = tokio::io::duplex(64);
    let ending = timeout(SOON, doomed.next(&mut FrameReader::new(socket))).await.unwrap();
    assert!(matches!(ending, Err(Ending::Refused(AuthError::Revoked(_)))), "{ending:?}");

    let (_client, socket) = tokio::io::duplex(64);
    let mut frames = FrameReader::new(socket);
    let untouched = timeout(Duration::from_millis(300), other.next(&mut frames)).await;
    assert!(untouched.is_err(), "the other key's connection was told something");
}

#[tokio::test]
async fn a_suspension_between_authentication_and_registration_is_not_missed() {
    let world = World::new().await;
    let key = world.key().await;
    let server = world.server(Limits::default()).await;
    let mut connection = server.admit().unwrap();
    let identity =
        server.authenticate(&keygate::Credential::ApiKey(key.secret.expose()), None).unwrap();
    // The key is suspended, and the sync's review runs, before the connection registers.
    world.manager.suspend(&world.operator, key.record.id()).await.unwrap();
    let deadline = Instant::now() + SOON;
    while server.authenticate(&keygate::Credential::ApiKey(key.secret.expose()), None).is_ok() {
        assert!(Instant::now() < deadline, "the suspension never reached the server");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(matches!(connection.established(identity), Err(AuthError::Suspended(_))));
}

#[tokio::test]
async fn a_rotation_brings_the_session_deadline_forward() {
    let world = World::new().await;
    let key = world.key().await;
    let server = world.server(Limits::default()).await;
    let mut connection = established(&server, &key);
    let before = connection.deadline().unwrap();

    // The old key now lives one more second: the session must end by then.
    world.manager.rotate(&world.operator, key.record.id(), Some(Span::seconds(1))).await.unwrap();
    let (_client, socket) = tokio::io::duplex(64);
    let mut frames = FrameReader::new(socket);
    let event = timeout(Duration::from_secs(4), connection.next(&mut frames)).await.unwrap();
    // Either the earlier deadline fires, or a sync that runs in the same second as the old
    // key's expiry finds it expired first and closes the connection: both end the session by
    // the new expiry, long before the old deadline.
    let ended = matches!(event, Ok(Event::SessionExpired))
        || matches!(event, Err(Ending::Refused(AuthError::Expired { .. })));
    assert!(ended, "{event:?}");
    assert!(Instant::now() < before);
}

#[tokio::test]
async fn the_cap_refuses_connections_until_one_closes() {
    let world = World::new().await;
    let server = world.server(Limits::default().with_max_connections(2)).await;
    let first = server.admit().unwrap();
    let _second = server.admit().unwrap();
    assert!(server.admit().is_none());
    assert_eq!(server.open_connections(), 2);
    drop(first);
    assert!(server.admit().is_some());
}

#[tokio::test]
async fn strangers_get_small_frames_and_a_deadline_and_clients_get_neither() {
    let world = World::new().await;
    let key = world.key().await;
    let limits = Limits::default()
        .with_auth_deadline(Duration::from_millis(200))
        .with_max_frame_before_auth(16);
    let server = world.server(limits).await;

    // Before authenticating: a 17-byte frame is refused, and silence ends at the deadline.
    let mut stranger = server.admit().unwrap();
    let (mut client, socket) = tokio::io::duplex(64);
    let mut frames = FrameReader::new(socket);
    client.write_all(&17u32.to_be_bytes()).await.unwrap();
    let refused = stranger.next(&mut frames).await;
    assert!(matches!(refused, Err(Ending::Frame(_))), "{refused:?}");
    let mut silent = server.admit().unwrap();
    let (_client, socket) = tokio::io::duplex(64);
    let started = Instant::now();
    let ending = silent.next(&mut FrameReader::new(socket)).await;
    assert!(matches!(ending, Err(Ending::AuthDeadline(_))), "{ending:?}");
    assert!(started.elapsed() >= Duration::from_millis(150));

    // Authenticated: the same frame is read, and the deadline no longer applies.
    let mut connection = established(&server, &key);
    let (mut client, socket) = tokio::io::duplex(64);
    let mut frames = FrameReader::new(socket);
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.write_all(&17u32.to_be_bytes()).await.unwrap();
    client.write_all(&[7; 17]).await.unwrap();
    let event = connection.next(&mut frames).await;
    assert!(matches!(&event, Ok(Event::Frame(frame)) if frame.len() == 17), "{event:?}");
}

#[tokio::test]
async fn a_store_that_cannot_be_opened_fails_the_start() {
    let resource = super::support::CLUSTER.parse().unwrap();
    let config = keygate_tokio::ServerConfig::default();
    let error = keygate_tokio::Server::open("mysql://u@localhost/db", resource, config).await;
    assert!(matches!(error, Err(keygate_tokio::StartError::Store(_))), "{error:?}");
}
