//! Tokens from another issuer, as a Pulsar broker trusts tokens signed with its
//! `tokenSecretKey`: accepted through the same authenticator, revocable like the rest.

use std::sync::Arc;

use keygate::core::{Clock, Expiry, Permission, SigningAlgorithm};
use keygate::revocation::{Reason, Revocation, TokenDigest};
use keygate::token::{Claims, Minter, SigningKey, Verifier, VerifyOptions, token_digest};
use keygate::{AuthConfig, AuthContext, AuthError, Credential, CredentialId, ExternalTokens};
use keygate_testkit::fixtures::pulsar;
use keygate_testkit::t0_plus;

use super::support::{World, actor, resource};

fn world() -> World {
    let key =
        keygate::token::VerificationKey::from_bytes(SigningAlgorithm::HS256, pulsar::HS256_SECRET)
            .unwrap();
    let external = ExternalTokens::new(
        Verifier::new([Arc::new(key)]).unwrap(),
        VerifyOptions::default().allow_no_expiry(),
    );
    World::with_store(
        Arc::new(keygate::store::InMemoryStore::new()),
        AuthConfig::default().with_external_tokens(external),
    )
}

fn minter() -> Minter {
    Minter::new(Arc::new(
        SigningKey::from_bytes(SigningAlgorithm::HS256, pulsar::HS256_SECRET).unwrap(),
    ))
    .with_token_type(None)
}

#[tokio::test]
async fn pulsar_tokens_authenticate_and_can_be_revoked_by_digest() {
    let mut world = world();
    world.sync().await;
    let tenant = resource("pulsar-tenant/acme");
    let token = pulsar::HS256_TOKEN_NO_EXPIRY.trim();
    let context = AuthContext::new(&tenant, world.clock.now());
    let identity = world.authenticator.authenticate(&Credential::Bearer(token), &context).unwrap();
    assert_eq!(identity.principal().as_str(), pulsar::SUBJECT);
    assert_eq!(identity.expires(), Expiry::Never);
    assert!(matches!(identity.credential(), CredentialId::Token { jti: None, .. }));
    assert!(identity.permits(&Permission::ADMIN), "no keygate claims: the broker's ACLs decide");

    world
        .manager
        .revoke_credential(
            &actor(),
            Revocation::Token { digest: TokenDigest(token_digest(token)), expires: Expiry::Never },
        )
        .await
        .unwrap();
    world.sync().await;
    let context = AuthContext::new(&tenant, world.clock.now());
    assert_eq!(
        world.authenticator.authenticate(&Credential::Bearer(token), &context).unwrap_err(),
        AuthError::Revoked(Reason::Token)
    );
    // Its sibling with an expiry is a different token, unaffected.
    world
        .authenticator
        .authenticate(&Credential::Bearer(pulsar::HS256_TOKEN_WITH_EXPIRY.trim()), &context)
        .unwrap();
}

#[tokio::test]
async fn audience_scope_and_principal_watermarks_apply_to_external_tokens() {
    let mut world = world();
    world.sync().await;
    let tenant = resource("pulsar-tenant/acme");
    let context = AuthContext::new(&tenant, world.clock.now());
    let for_acme = minter()
        .mint(
            &Claims::new("alice")
                .with_audience("pulsar-tenant/acme")
                .with_issued_at(world.clock.now()),
        )
        .unwrap();
    let for_other =
        minter().mint(&Claims::new("alice").with_audience("pulsar-tenant/other")).unwrap();
    let scoped_elsewhere = minter()
        .mint(&Claims::new("alice").with_scope("pulsar-tenant/other".parse().unwrap()))
        .unwrap();
    world.authenticator.authenticate(&Credential::Bearer(for_acme.expose()), &context).unwrap();
    assert!(matches!(
        world.authenticator.authenticate(&Credential::Bearer(for_other.expose()), &context),
        Err(AuthError::BadToken(_))
    ));
    assert!(matches!(
        world.authenticator.authenticate(&Credential::Bearer(scoped_elsewhere.expose()), &context),
        Err(AuthError::WrongResource { .. })
    ));

    // "Sign out everywhere" for alice: tokens issued before now (and those with no iat) fail.
    world.clock.set(t0_plus(100));
    world
        .manager
        .revoke_credential(
            &actor(),
            Revocation::Principal {
                principal: "alice".parse().unwrap(),
                before: t0_plus(100),
                expires: Expiry::Never,
            },
        )
        .await
        .unwrap();
    world.sync().await;
    let context = AuthContext::new(&tenant, world.clock.now());
    assert!(matches!(
        world.authenticator.authenticate(&Credential::Bearer(for_acme.expose()), &context),
        Err(AuthError::Revoked(Reason::Principal { .. }))
    ));
    let fresh = minter().mint(&Claims::new("alice").with_issued_at(t0_plus(100))).unwrap();
    world.authenticator.authenticate(&Credential::Bearer(fresh.expose()), &context).unwrap();
}

#[tokio::test]
async fn without_a_trusted_issuer_foreign_tokens_are_refused() {
    let mut world = World::new();
    world.sync().await;
    let tenant = resource("pulsar-tenant/acme");
    let context = AuthContext::new(&tenant, world.clock.now());
    let error = world
        .authenticator
        .authenticate(&Credential::Bearer(pulsar::HS256_TOKEN_NO_EXPIRY.trim()), &context)
        .unwrap_err();
    assert!(matches!(error, AuthError::BadToken(_)), "{error}");
}
