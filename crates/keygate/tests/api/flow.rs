//! End to end on the in-memory store: a service account, an opaque key and a JWT key,
//! authenticated where they are valid and refused where they are not; a rotation with overlap;
//! a revocation that reaches open sessions; and deleting the principal.

use keygate::core::{
    Clock, Description, Expiry, KeyFormat, KeyStatus, Permission, Permissions, Scope, Span,
};
use keygate::revocation::Reason;
use keygate::{
    AuditAction, AuthError, Credential, CredentialId, ManagerError, NewKey, Revoked, SessionId,
    SessionRegistry,
};

use super::support::{World, actor};

#[tokio::test]
async fn the_whole_life_of_two_keys() {
    let mut world = World::new();
    world.service_account("orders").await;
    world.signing_key().await;
    let produce_only = Permissions::only([Permission::PRODUCE]);
    let opaque = world
        .manager
        .create_key(
            &actor(),
            NewKey::new("orders".parse().unwrap(), "kafka-cluster/lkc-1".parse().unwrap())
                .with_permissions(produce_only.clone()),
        )
        .await
        .unwrap();
    let jwt = world
        .manager
        .create_key(
            &actor(),
            NewKey::new("orders".parse().unwrap(), "kafka-cluster/lkc-1".parse().unwrap())
                .with_permissions(produce_only)
                .with_format(KeyFormat::Jwt),
        )
        .await
        .unwrap();
    assert!(opaque.secret.expose().starts_with("kgk_"));
    assert_eq!(jwt.secret.expose().split('.').count(), 3);
    assert!(
        !format!("{opaque:?}").contains(opaque.secret.expose()),
        "the secret leaked into Debug"
    );
    world.sync().await;

    for key in [&opaque, &jwt] {
        // The right resource: accepted, as the owner, with the key's limits.
        let identity = world.auth(key, "kafka-cluster/lkc-1", Some(&Permission::PRODUCE)).unwrap();
        assert_eq!(identity.principal().as_str(), "orders");
        assert_eq!(identity.credential(), &CredentialId::ApiKey(key.record.id()));
        assert!(identity.permits(&Permission::PRODUCE) && !identity.permits(&Permission::CONSUME));
        assert_eq!(identity.session_deadline(), key.record.expires());
        // Another resource: the key is valid, not here.
        assert!(matches!(
            world.auth(key, "kafka-cluster/lkc-2", None),
            Err(AuthError::WrongResource { .. })
        ));
        // Without the permission.
        assert_eq!(
            world.auth(key, "kafka-cluster/lkc-1", Some(&Permission::CONSUME)).unwrap_err(),
            AuthError::PermissionDenied { permission: Permission::CONSUME }
        );
    }

    // The opaque key also works as a pair, as SASL/PLAIN presents it.
    let id = opaque.record.id().to_string();
    let resource = "kafka-cluster/lkc-1".parse().unwrap();
    let context = keygate::AuthContext::new(&resource, world.clock.now());
    let pair = Credential::KeyAndSecret { key_id: &id, secret: opaque.secret.expose() };
    world.authenticator.authenticate(&pair, &context).unwrap();

    // Open sessions on both keys.
    let sessions = SessionRegistry::new();
    sessions.register(SessionId(1), world.auth(&opaque, "kafka-cluster/lkc-1", None).unwrap());
    sessions.register(SessionId(2), world.auth(&jwt, "kafka-cluster/lkc-1", None).unwrap());

    // Rotate the opaque key with an hour of overlap: both work during it, the old one not after.
    world.advance(Span::days(30));
    let rotation =
        world.manager.rotate(&actor(), opaque.record.id(), Some(Span::hours(1))).await.unwrap();
    assert_eq!(rotation.new.record.replaces(), Some(opaque.record.id()));
    assert_eq!(
        rotation.old.expires(),
        Expiry::At(world.clock.now().saturating_add(Span::hours(1)))
    );
    let report = world.sync().await;
    let review = sessions.review(&world.authenticator, &report, world.clock.now());
    assert_eq!(
        review.reauthenticate.len(),
        1,
        "the old key's session must re-authenticate before the overlap ends"
    );
    assert_eq!(review.reauthenticate[0].0, SessionId(1));
    world.auth(&opaque, "kafka-cluster/lkc-1", None).unwrap();
    world.auth(&rotation.new, "kafka-cluster/lkc-1", None).unwrap();
    world.advance(Span::hours(1));
    world.sync().await;
    assert!(matches!(
        world.auth(&opaque, "kafka-cluster/lkc-1", None),
        Err(AuthError::Expired { .. })
    ));
    world.auth(&rotation.new, "kafka-cluster/lkc-1", None).unwrap();
    assert_eq!(sessions.due(world.clock.now()), [SessionId(1)]);
    sessions.unregister(SessionId(1));

    // Revoke the JWT key: it works until the next sync, fails after, and its session is named.
    let revoked = world
        .manager
        .revoke(&actor(), jwt.record.id(), "leaked in a CI log".parse().unwrap())
        .await
        .unwrap();
    assert!(matches!(revoked, Revoked::Now(_)));
    assert!(world.auth(&jwt, "kafka-cluster/lkc-1", None).is_ok(), "refused before any sync");
    let report = world.sync().await;
    assert_eq!(report.revoked_keys, [jwt.record.id()]);
    assert_eq!(
        world.auth(&jwt, "kafka-cluster/lkc-1", None).unwrap_err(),
        AuthError::Revoked(Reason::Key(jwt.record.id()))
    );
    let review = sessions.review(&world.authenticator, &report, world.clock.now());
    assert_eq!(review.close.len(), 1);
    assert_eq!(review.close[0].0, SessionId(2));
    assert!(sessions.is_empty());
    // Revoking again succeeds and says so.
    assert!(matches!(
        world.manager.revoke(&actor(), jwt.record.id(), Description::empty()).await.unwrap(),
        Revoked::Already(_)
    ));

    // Delete the principal: every key of it fails.
    sessions
        .register(SessionId(3), world.auth(&rotation.new, "kafka-cluster/lkc-1", None).unwrap());
    let deleted =
        world.manager.delete_principal(&actor(), &"orders".parse().unwrap()).await.unwrap();
    assert_eq!(deleted.keys.len(), 3);
    let report = world.sync().await;
    for key in [&opaque, &jwt, &rotation.new] {
        assert!(
            world.auth(key, "kafka-cluster/lkc-1", None).is_err(),
            "{} still works",
            key.record.id()
        );
    }
    assert!(matches!(
        world.auth(&rotation.new, "kafka-cluster/lkc-1", None),
        Err(AuthError::UnknownKey(_))
    ));
    let review = sessions.review(&world.authenticator, &report, world.clock.now());
    assert_eq!(review.close.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [SessionId(3)]);

    // The audit trail says what happened, and how many keys went with the principal.
    let actions: Vec<AuditAction> =
        world.audit.events().into_iter().map(|event| event.action).collect();
    assert!(actions.iter().any(|a| matches!(a, AuditAction::KeyRotated { .. })));
    assert!(
        actions.iter().any(|a| matches!(a, AuditAction::PrincipalDeleted { keys_deleted: 3, .. }))
    );
    let trail = serde_json::to_string(&world.audit.events()).unwrap();
    assert!(
        !trail.contains(opaque.secret.expose()) && !trail.contains(jwt.secret.expose()),
        "a secret in the audit trail"
    );
}

#[tokio::test]
async fn suspension_is_undone_by_resume() {
    let mut world = World::new();
    world.service_account("svc").await;
    let key = world.key("svc", "global", KeyFormat::Opaque).await;
    world.manager.suspend(&actor(), key.record.id()).await.unwrap();
    world.sync().await;
    assert_eq!(
        world.auth(&key, "kafka-cluster/any", None).unwrap_err(),
        AuthError::Suspended(key.record.id())
    );
    assert!(world.manager.suspend(&actor(), key.record.id()).await.is_err(), "suspending twice");
    world.manager.resume(&actor(), key.record.id()).await.unwrap();
    world.sync().await;
    world.auth(&key, "kafka-cluster/any", None).unwrap();
}

#[tokio::test]
async fn deleting_needs_a_revoked_or_expired_key() {
    let mut world = World::new();
    world.service_account("svc").await;
    let key = world.key("svc", "global", KeyFormat::Opaque).await;
    let refused = world.manager.delete_key(&actor(), key.record.id()).await.unwrap_err();
    assert!(
        matches!(refused, ManagerError::KeyStillInForce { status: KeyStatus::Active, .. }),
        "{refused}"
    );
    world.manager.revoke(&actor(), key.record.id(), Description::empty()).await.unwrap();
    world.manager.delete_key(&actor(), key.record.id()).await.unwrap();
    world.sync().await;
    assert!(matches!(world.auth(&key, "cloud/api", None), Err(AuthError::UnknownKey(_))));
}

#[tokio::test]
async fn cloud_keys_open_the_management_api_only() {
    let mut world = World::new();
    world.service_account("svc").await;
    let key = world.key("svc", "cloud", KeyFormat::Opaque).await;
    world.sync().await;
    world.auth(&key, "cloud/api", None).unwrap();
    assert!(matches!(
        world.auth(&key, "kafka-cluster/lkc-1", None),
        Err(AuthError::WrongResource { scope: Scope::Cloud, .. })
    ));
}

#[tokio::test]
async fn policy_is_enforced_at_creation() {
    let mut world = World::new();
    world.service_account("svc").await;
    world.manager = world.manager.with_policy(
        keygate::core::KeyPolicy::default()
            .with_max_keys_per_principal(1)
            .with_allow_user_keys(false),
    );
    world
        .manager
        .create_principal(&actor(), keygate::NewPrincipal::user("dev".parse().unwrap()))
        .await
        .unwrap();
    world.key("svc", "global", KeyFormat::Opaque).await;
    let over = world
        .manager
        .create_key(&actor(), NewKey::new("svc".parse().unwrap(), Scope::Global))
        .await
        .unwrap_err();
    assert!(over.to_string().contains("quota"), "{over}");
    let user = world
        .manager
        .create_key(&actor(), NewKey::new("dev".parse().unwrap(), Scope::Global))
        .await
        .unwrap_err();
    assert!(matches!(user, ManagerError::Rule(keygate::core::Error::UserKeysNotAllowed)), "{user}");
    let never = world
        .manager
        .create_key(
            &actor(),
            NewKey::new("svc".parse().unwrap(), Scope::Global)
                .with_lifetime(keygate::core::Lifetime::Never),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(never, ManagerError::Rule(keygate::core::Error::NeverExpiryNotAllowed { .. })),
        "{never}"
    );
    let missing = world
        .manager
        .create_key(&actor(), NewKey::new("nobody".parse().unwrap(), Scope::Global))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ManagerError::Store(keygate::store::StoreError::NotFound { .. })),
        "{missing}"
    );
    let no_signing_key = world
        .manager
        .create_key(
            &actor(),
            NewKey::new("dev".parse().unwrap(), Scope::Global).with_format(KeyFormat::Jwt),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(no_signing_key, ManagerError::Rule(_) | ManagerError::NoSigningKey),
        "{no_signing_key}"
    );
}

#[tokio::test]
async fn listings_for_scheduled_jobs() {
    let mut world = World::new();
    world.service_account("svc").await;
    let short = world
        .manager
        .create_key(
            &actor(),
            NewKey::new("svc".parse().unwrap(), Scope::Global).with_lifetime("7d".parse().unwrap()),
        )
        .await
        .unwrap();
    let long = world.key("svc", "global", KeyFormat::Opaque).await;
    world.advance(Span::days(3));
    let expiring: Vec<_> = world
        .manager
        .expiring_within(Span::days(5))
        .await
        .unwrap()
        .iter()
        .map(|k| k.id())
        .collect();
    assert_eq!(expiring, [short.record.id()]);
    let due: Vec<_> = world
        .manager
        .due_for_rotation(Span::days(2))
        .await
        .unwrap()
        .iter()
        .map(|k| k.id())
        .collect();
    assert_eq!(due.len(), 2);
    world.manager.rotate(&actor(), long.record.id(), None).await.unwrap();
    let due: Vec<_> = world
        .manager
        .due_for_rotation(Span::days(2))
        .await
        .unwrap()
        .iter()
        .map(|k| k.id())
        .collect();
    assert_eq!(due, [short.record.id()], "a rotated key is not due again");
    world.sync().await;
}

#[tokio::test]
async fn a_snapshot_loaded_out_of_band_is_tailed_from_its_position() {
    let mut world = World::new();
    world.service_account("orders").await;
    let before = world.key("orders", "kafka-cluster/lkc-1", KeyFormat::Opaque).await;
    let snapshot = keygate::store::ChangeFeed::snapshot(&*world.store).await.unwrap();
    let report = world.replica.load_snapshot(snapshot).unwrap();
    assert!(report.bootstrapped);
    world.auth(&before, "kafka-cluster/lkc-1", None).unwrap();

    let after = world.key("orders", "kafka-cluster/lkc-1", KeyFormat::Opaque).await;
    assert!(world.auth(&after, "kafka-cluster/lkc-1", None).is_err(), "seen before any sync");
    let report = world.sync().await;
    assert!(!report.bootstrapped, "the sync started over instead of tailing");
    world.auth(&after, "kafka-cluster/lkc-1", None).unwrap();
}

#[tokio::test]
async fn a_snapshot_older_than_the_state_is_refused_and_changes_nothing() {
    let mut world = World::new();
    world.service_account("orders").await;
    let key = world.key("orders", "kafka-cluster/lkc-1", KeyFormat::Opaque).await;
    let old = keygate::store::ChangeFeed::snapshot(&*world.store).await.unwrap();
    world.manager.revoke(&actor(), key.record.id(), "leaked".parse().unwrap()).await.unwrap();
    world.sync().await;
    assert!(world.auth(&key, "kafka-cluster/lkc-1", None).is_err());

    // Loading the snapshot from before the revocation would un-revoke the key.
    let refused = world.replica.load_snapshot(old).unwrap_err();
    assert!(matches!(refused, keygate::SyncError::StaleSnapshot { .. }), "{refused}");
    assert!(world.auth(&key, "kafka-cluster/lkc-1", None).is_err(), "the key came back");
}
