//! What a sync means for open connections, and the limits on connections.

use std::sync::Arc;
use std::time::Duration;

use keygate::AuthError;
use keygate::core::Span;
use keygate_tokio::{AdmitError, Ending, Event, FrameReader, Limits};
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, timeout};

use super::support::{PEER, World, established};

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
    let mut connection = server.admit(PEER).unwrap();
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
    let first = server.admit(PEER).unwrap();
    let _second = server.admit(PEER).unwrap();
    assert!(matches!(server.admit(PEER), Err(AdmitError::Full { max: 2 })));
    assert_eq!(server.open_connections(), 2);
    drop(first);
    assert!(server.admit(PEER).is_ok());
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
    let mut stranger = server.admit(PEER).unwrap();
    let (mut client, socket) = tokio::io::duplex(64);
    let mut frames = FrameReader::new(socket);
    client.write_all(&17u32.to_be_bytes()).await.unwrap();
    let refused = stranger.next(&mut frames).await;
    assert!(matches!(refused, Err(Ending::Frame(_))), "{refused:?}");
    let mut silent = server.admit(PEER).unwrap();
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

#[tokio::test]
async fn one_address_cannot_hold_every_place_for_strangers() {
    let world = World::new().await;
    let key = world.key().await;
    let limits = Limits::default().with_max_strangers(10).with_max_strangers_per_address(3);
    let server = world.server(limits).await;
    let attacker: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let held: Vec<_> = (0..3).map(|_| server.admit(attacker).unwrap()).collect();
    assert!(matches!(server.admit(attacker), Err(AdmitError::Address { max: 3, .. })));
    // Another address still gets in, and authenticates.
    let good = established(&server, &key);
    assert_eq!((server.open_connections(), server.strangers()), (4, 3));
    drop((held, good));
    assert_eq!((server.open_connections(), server.strangers()), (0, 0));
}

#[tokio::test]
async fn open_sessions_end_when_the_state_is_older_than_the_staleness_bound() {
    use keygate::store::{FaultyStore, InMemoryStore, Operation, When};

    let inner = Arc::new(InMemoryStore::new());
    let store = Arc::new(FaultyStore::new(Arc::clone(&inner)));
    let manager = keygate::KeyManager::new(inner.clone());
    let operator = keygate::Actor::new("test:operator").unwrap();
    let orders = keygate::NewPrincipal::service_account("orders".parse().unwrap());
    manager.create_principal(&operator, orders).await.unwrap();
    let scope = keygate::core::Scope::Resource(super::support::CLUSTER.parse().unwrap());
    let new = keygate::NewKey::new("orders".parse().unwrap(), scope);
    let key = manager.create_key(&operator, new).await.unwrap();
    let config = keygate_tokio::ServerConfig::default()
        .with_sync_interval(Duration::from_millis(20))
        .with_auth(keygate::AuthConfig::default().with_max_staleness(Span::seconds(2)));
    let server = keygate_tokio::Server::start(
        store.clone(),
        super::support::CLUSTER.parse().unwrap(),
        config,
    )
    .await
    .unwrap();
    let mut connection = established(&server, &key);

    // The store goes away; the key is revoked meanwhile, which the server cannot learn.
    store.fail_next(Operation::ChangesSince, When::Before, usize::MAX);
    manager.revoke(&operator, key.record.id(), "leaked".parse().unwrap()).await.unwrap();
    let started = Instant::now();
    let (_client, socket) = tokio::io::duplex(64);
    let ending = timeout(Duration::from_secs(6), connection.next(&mut FrameReader::new(socket)))
        .await
        .expect("the session outlived the staleness bound");
    assert!(matches!(ending, Err(Ending::Refused(AuthError::StatusUnknown { .. }))), "{ending:?}");
    assert!(started.elapsed() >= Duration::from_millis(900), "ended before the bound");
}

#[tokio::test]
async fn a_store_that_is_not_there_is_refused_not_made() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("kyegate.db");
    let resource: keygate::core::ResourceRef = "kafka-cluster/lkc-1".parse().unwrap();
    let location = typo.display().to_string();
    let config = keygate_tokio::ServerConfig::default();
    let error = keygate_tokio::Server::open(&location, resource, config).await;
    assert!(matches!(&error, Err(keygate_tokio::StartError::NoStore(path)) if *path == typo));
    assert!(error.err().unwrap().to_string().contains("there is no store at"));
    assert!(!typo.exists(), "an empty store was made");
}
