//! Random sequences of manager operations and clock advances. After each sync, `authenticate`
//! agrees with a model built only from what the manager returned: which keys exist, their state
//! and expiry, and where and for what they are valid.

use std::collections::BTreeMap;

use keygate::core::{
    Clock, Description, Expiry, KeyFormat, KeyId, Lifetime, Permission, Permissions, PrincipalId,
    ResourceRef, Scope, Span, Timestamp,
};
use keygate::{IssuedKey, NewKey, NewPrincipal, Revoked};
use proptest::prelude::*;

use super::support::{World, actor};

#[derive(Clone, Debug)]
enum Op {
    CreatePrincipal(u8),
    DeletePrincipal(u8),
    CreateKey { owner: u8, scope: u8, jwt: bool, permissions: u8, lifetime: u8 },
    Revoke(u8),
    Suspend(u8),
    Resume(u8),
    Rotate(u8, u16),
    Delete(u8),
    Advance(u16),
    Sync,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0u8..3).prop_map(Op::CreatePrincipal),
        1 => (0u8..3).prop_map(Op::DeletePrincipal),
        4 => (0u8..3, 0u8..4, any::<bool>(), 0u8..3, 0u8..3).prop_map(|(owner, scope, jwt, permissions, lifetime)| Op::CreateKey { owner, scope, jwt, permissions, lifetime }),
        2 => any::<u8>().prop_map(Op::Revoke),
        1 => any::<u8>().prop_map(Op::Suspend),
        1 => any::<u8>().prop_map(Op::Resume),
        2 => (any::<u8>(), 0u16..180).prop_map(|(k, overlap)| Op::Rotate(k, overlap)),
        1 => any::<u8>().prop_map(Op::Delete),
        2 => (1u16..2000).prop_map(Op::Advance),
        3 => Just(Op::Sync),
    ]
}

/// What the model knows of a key.
#[derive(Debug)]
struct Expected {
    owner: PrincipalId,
    scope: Scope,
    permissions: Permissions,
    not_before: Timestamp,
    expires: Expiry,
    suspended: bool,
    revoked: bool,
    deleted: bool,
}

impl Expected {
    fn usable(
        &self,
        now: Timestamp,
        resource: &ResourceRef,
        permission: Option<&Permission>,
    ) -> bool {
        !self.deleted
            && !self.suspended
            && !self.revoked
            && now >= self.not_before
            && !self.expires.has_passed(now)
            && self.scope.admits(resource)
            && permission.is_none_or(|p| self.permissions.permits(p))
    }
}

fn principal(n: u8) -> PrincipalId {
    format!("p{n}").parse().unwrap()
}

fn pick(keys: &[IssuedKey], n: u8) -> Option<&IssuedKey> {
    (!keys.is_empty()).then(|| &keys[usize::from(n) % keys.len()])
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut world = World::new();
    world.signing_key().await;
    let mut keys: Vec<IssuedKey> = Vec::new();
    let mut model: BTreeMap<KeyId, Expected> = BTreeMap::new();
    let resources: Vec<ResourceRef> = ["kafka-cluster/lkc-1", "kafka-cluster/lkc-2", "cloud/api"]
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();

    for op in ops {
        let now = world.clock.now();
        match op {
            Op::CreatePrincipal(n) => {
                let _ = world
                    .manager
                    .create_principal(&actor(), NewPrincipal::service_account(principal(n)))
                    .await;
            }
            Op::DeletePrincipal(n) => {
                if let Ok(deleted) = world.manager.delete_principal(&actor(), &principal(n)).await {
                    for key in deleted.keys {
                        if let Some(expected) = model.get_mut(&key.id()) {
                            expected.deleted = true;
                        }
                    }
                }
            }
            Op::CreateKey { owner, scope, jwt, permissions, lifetime } => {
                let scope = match scope {
                    0 => Scope::Global,
                    1 => Scope::Cloud,
                    2 => Scope::Resource(resources[0].clone()),
                    _ => Scope::Resource(resources[1].clone()),
                };
                let permissions = match permissions {
                    0 => Permissions::Unrestricted,
                    1 => Permissions::only([Permission::PRODUCE]),
                    _ => Permissions::only([Permission::CONSUME, Permission::DESCRIBE]),
                };
                let lifetime = Lifetime::Span(
                    [Span::hours(1), Span::days(1), Span::days(7)][usize::from(lifetime)],
                );
                let request = NewKey::new(principal(owner), scope)
                    .with_permissions(permissions)
                    .with_lifetime(lifetime)
                    .with_format(if jwt { KeyFormat::Jwt } else { KeyFormat::Opaque });
                if let Ok(issued) = world.manager.create_key(&actor(), request).await {
                    let r = &issued.record;
                    model.insert(
                        r.id(),
                        Expected {
                            owner: r.owner().clone(),
                            scope: r.scope().clone(),
                            permissions: r.permissions().clone(),
                            not_before: r.not_before(),
                            expires: r.expires(),
                            suspended: false,
                            revoked: false,
                            deleted: false,
                        },
                    );
                    keys.push(issued);
                }
            }
            Op::Revoke(n) => {
                if let Some(key) = pick(&keys, n)
                    && let Ok(Revoked::Now(_)) =
                        world.manager.revoke(&actor(), key.record.id(), Description::empty()).await
                {
                    model.get_mut(&key.record.id()).unwrap().revoked = true;
                }
            }
            Op::Suspend(n) => {
                if let Some(key) = pick(&keys, n)
                    && world.manager.suspend(&actor(), key.record.id()).await.is_ok()
                {
                    model.get_mut(&key.record.id()).unwrap().suspended = true;
                }
            }
            Op::Resume(n) => {
                if let Some(key) = pick(&keys, n)
                    && world.manager.resume(&actor(), key.record.id()).await.is_ok()
                {
                    model.get_mut(&key.record.id()).unwrap().suspended = false;
                }
            }
            Op::Rotate(n, overlap) => {
                if let Some(key) = pick(&keys, n) {
                    let id = key.record.id();
                    if let Ok(rotation) = world
                        .manager
                        .rotate(&actor(), id, Some(Span::minutes(u64::from(overlap))))
                        .await
                    {
                        let old = model.get_mut(&id).unwrap();
                        prop_assert!(
                            rotation.old.expires().is_no_later_than(old.expires),
                            "rotation extended the old key"
                        );
                        old.expires = rotation.old.expires();
                        let r = &rotation.new.record;
                        prop_assert_eq!(r.owner(), &old.owner);
                        model.insert(
                            r.id(),
                            Expected {
                                owner: r.owner().clone(),
                                scope: r.scope().clone(),
                                permissions: r.permissions().clone(),
                                not_before: r.not_before(),
                                expires: r.expires(),
                                suspended: false,
                                revoked: false,
                                deleted: false,
                            },
                        );
                        keys.push(rotation.new);
                    }
                }
            }
            Op::Delete(n) => {
                if let Some(key) = pick(&keys, n)
                    && world.manager.delete_key(&actor(), key.record.id()).await.is_ok()
                {
                    let expected = model.get_mut(&key.record.id()).unwrap();
                    prop_assert!(
                        expected.revoked || expected.expires.has_passed(now),
                        "a key in force was deleted"
                    );
                    expected.deleted = true;
                }
            }
            Op::Advance(minutes) => world.advance(Span::minutes(u64::from(minutes))),
            Op::Sync => {
                world.sync().await;
                let now = world.clock.now();
                for key in &keys {
                    let expected = &model[&key.record.id()];
                    for resource in &resources {
                        for permission in [None, Some(&Permission::PRODUCE)] {
                            let accepted = world.auth(key, resource.as_str(), permission).is_ok();
                            prop_assert_eq!(
                                accepted,
                                expected.usable(now, resource, permission),
                                "key {} ({:?}) at {} for {:?}",
                                key.record.id(),
                                expected,
                                resource,
                                permission
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn authenticate_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(ops))?;
    }
}
