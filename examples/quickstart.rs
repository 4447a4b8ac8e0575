//! keygate in five minutes: a service account, an opaque key and a JWT API key, a broker that
//! authenticates them, a rotation with overlap, and a revocation that reaches the open
//! connection.
//!
//! Run it with `cargo run -p keygate-examples --example quickstart`.

use std::error::Error;
use std::sync::Arc;

use keygate::core::{
    Clock, KeyFormat, ManualClock, Permission, Permissions, ResourceRef, Scope, SigningAlgorithm,
    Span, SystemClock,
};
use keygate::store::InMemoryStore;
use keygate::token::MasterKey;
use keygate::{
    Actor, AuthConfig, AuthContext, Authenticator, Credential, KeyManager, NewKey, NewPrincipal,
    Replica, SessionId, SessionRegistry,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    // A clock we can move, so the example can show expiry without waiting.
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let store = Arc::new(InMemoryStore::new());
    let operator = Actor::new("user:ops@example.com")?;
    // The key-encryption key that seals private signing keys before they reach the store. The
    // `keygate` command keeps one in a file beside a SQLite store; this one lives as long as
    // the in-memory store does.
    let master_key = Arc::new(MasterKey::generate()?);
    let manager =
        KeyManager::new(store.clone()).with_clock(clock.clone()).with_master_key(master_key);

    println!("1. The control plane creates a service account, a signing key, and two keys.");
    manager
        .create_principal(&operator, NewPrincipal::service_account("orders-service".parse()?))
        .await?;
    manager.create_signing_key(&operator, SigningAlgorithm::EdDSA, None).await?;
    let cluster: ResourceRef = "kafka-cluster/lkc-abc123".parse()?;
    let produce_only = Permissions::only([Permission::PRODUCE]);
    let owner: keygate::core::PrincipalId = "orders-service".parse()?;
    let new_key = || NewKey::new(owner.clone(), Scope::Resource(cluster.clone()));
    let opaque =
        manager.create_key(&operator, new_key().with_permissions(produce_only.clone())).await?;
    let jwt = manager
        .create_key(&operator, new_key().with_permissions(produce_only).with_format(KeyFormat::Jwt))
        .await?;
    // The secret is returned this once; a real tool prints it to the operator. Here, only its
    // public part and length.
    println!(
        "   opaque key {}: kgk_{}_… ({} characters)",
        opaque.record.id(),
        opaque.record.id(),
        opaque.secret.expose().len()
    );
    println!(
        "   JWT key    {}: a {}-byte token signed by the signing key",
        jwt.record.id(),
        jwt.secret.expose().len()
    );

    println!("2. A broker's authenticator syncs from the store and checks what clients present.");
    let authenticator = Authenticator::new(AuthConfig::default());
    let mut replica = Replica::new(authenticator.clone(), clock.clone());
    replica.sync_once(&*store).await?;
    let other: ResourceRef = "kafka-cluster/lkc-zzz999".parse()?;
    let check = |credential: Credential<'_>, resource: &ResourceRef, permission: &Permission| {
        let context = AuthContext::new(resource, clock.now()).with_permission(permission);
        match authenticator.authenticate(&credential, &context) {
            Ok(identity) => format!("ok, as {}", identity.principal()),
            Err(error) => format!("refused: {error} (client sees: {:?})", error.client_message()),
        }
    };
    let opaque_key = Credential::ApiKey(opaque.secret.expose());
    let jwt_key = Credential::Bearer(jwt.secret.expose());
    println!(
        "   opaque, produce on {cluster}: {}",
        check(opaque_key, &cluster, &Permission::PRODUCE)
    );
    println!("   JWT,    produce on {cluster}: {}", check(jwt_key, &cluster, &Permission::PRODUCE));
    println!("   opaque, produce on {other}: {}", check(opaque_key, &other, &Permission::PRODUCE));
    println!(
        "   opaque, consume on {cluster}: {}",
        check(opaque_key, &cluster, &Permission::CONSUME)
    );
    println!(
        "   a guessed key: {}",
        check(Credential::ApiKey("kgk_0000000000000000_guess"), &cluster, &Permission::PRODUCE)
    );

    let sessions = SessionRegistry::new();
    let context = AuthContext::new(&cluster, clock.now());
    sessions.register(SessionId(1), authenticator.authenticate(&jwt_key, &context)?);

    println!("3. Rotate the opaque key with an hour of overlap.");
    let rotation = manager.rotate(&operator, opaque.record.id(), Some(Span::hours(1))).await?;
    replica.sync_once(&*store).await?;
    println!(
        "   new key {} replaces it; the old one now expires {}",
        rotation.new.record.id(),
        rotation.old.expires()
    );
    println!(
        "   old key during the overlap: {}",
        check(opaque_key, &cluster, &Permission::PRODUCE)
    );
    clock.advance(Span::hours(1));
    replica.sync_once(&*store).await?;
    println!(
        "   old key after the overlap:  {}",
        check(opaque_key, &cluster, &Permission::PRODUCE)
    );
    let new_key = Credential::ApiKey(rotation.new.secret.expose());
    println!("   new key after the overlap:  {}", check(new_key, &cluster, &Permission::PRODUCE));

    println!("4. Revoke the JWT key: the next sync refuses it and names the connection to close.");
    manager.revoke(&operator, jwt.record.id(), "leaked in a CI log".parse()?).await?;
    let report = replica.sync_once(&*store).await?;
    println!("   JWT key now: {}", check(jwt_key, &cluster, &Permission::PRODUCE));
    for (session, reason) in sessions.review(&authenticator, &report, clock.now()).close {
        println!("   close session {session}: {reason}");
    }
    Ok(())
}
