//! The policy kept in the store, the per-resource quota, and revoking a resource's keys.

use std::sync::Arc;

use keygate_core::{Description, Expiry, KeyPolicy, KeyState, ResourceRef, Span};

use crate::{AuditQuery, AuditRecord, ChangeEvent, KeyUse, Quota, Store, StoreError};

use super::fixtures::*;

/// No policy until one is set; a set policy reads back equal, with its audit entry, and adds
/// nothing to the feed.
pub async fn policy_set_and_read<S: Store + ?Sized>(store: Arc<S>) {
    assert_eq!(store.policy().await.unwrap(), None);
    let head = store.head().await.unwrap();
    let policy = KeyPolicy::default()
        .with_max_keys_per_principal(3)
        .with_max_keys_per_resource(Some(5))
        .with_rotation_period(Some(Span::days(90)));
    let record = AuditRecord::new(at(1), r#"{"action":"policy_changed"}"#.to_owned());
    store.set_policy(&policy, Some(&record)).await.unwrap();
    assert_eq!(store.policy().await.unwrap(), Some(policy.clone()));
    let changed = KeyPolicy::default().with_allow_user_keys(false);
    store.set_policy(&changed, None).await.unwrap();
    assert_eq!(store.policy().await.unwrap(), Some(changed));
    assert_eq!(store.head().await.unwrap(), head, "policy is not in the feed");
    let audit = store.audit_log(&AuditQuery::default()).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].record, record);
    let too_long = AuditRecord::new(at(2), "x".repeat(AuditRecord::MAX_EVENT_LEN + 1));
    assert!(store.set_policy(&policy, Some(&too_long)).await.is_err());
    assert_ne!(store.policy().await.unwrap(), Some(policy), "a refused audit let a policy in");
}

/// A key scoped to a resource counts toward that resource's quota, whoever owns it; keys of
/// other scopes and keys that no longer count do not.
pub async fn key_quota_per_resource<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    with_principal(&*store, "bob").await;
    let quota = Quota::unlimited(at(0)).with_per_resource(Some(2));
    store.insert_key(&opaque("alice", 1, 0), quota, None).await.unwrap();
    store.insert_key(&opaque("bob", 2, 0), quota, None).await.unwrap();
    store.insert_key(&jwt("bob", 3, 0), quota, None).await.unwrap(); // global: not counted
    let head = store.head().await.unwrap();
    let full = store.insert_key(&opaque("alice", 4, 0), quota, None).await;
    assert!(
        matches!(&full, Err(StoreError::ResourceQuotaExceeded { limit: 2, count: 2, resource }) if resource == "kafka-cluster/lkc-1"),
        "{full:?}"
    );
    assert_eq!(store.head().await.unwrap(), head);
    store
        .compare_and_set_state(key_id(2), &KeyState::Active, &revoked(1), at(1), None)
        .await
        .unwrap();
    store.insert_key(&opaque("alice", 4, 0), quota, None).await.unwrap();
}

/// A resource's keys are revoked in one step, each with a `KeyUpdated` change and the audit
/// record filed under each; keys elsewhere and keys revoked already are left as they are.
pub async fn resource_keys_revoked_together<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    for n in 1..=3 {
        store.insert_key(&opaque("alice", n, 0), unlimited(), None).await.unwrap();
    }
    store.insert_key(&jwt("alice", 4, 0), unlimited(), None).await.unwrap();
    store
        .compare_and_set_state(key_id(3), &KeyState::Active, &revoked(1), at(1), None)
        .await
        .unwrap();
    let head = store.head().await.unwrap();
    let reason: Description = "cluster deleted".parse().unwrap();
    let record = AuditRecord::new(at(2), r#"{"action":"resource_deleted"}"#.to_owned());
    let resource = "kafka-cluster/lkc-1".parse().unwrap();
    let done = store.delete_resource(&resource, &reason, at(2), Some(&record)).await.unwrap();
    let ids: Vec<_> = done.iter().map(|key| key.id()).collect();
    assert_eq!(ids, [key_id(1), key_id(2)]);
    for id in [key_id(1), key_id(2)] {
        let key = store.key(id).await.unwrap();
        assert_eq!(key.state(), &KeyState::Revoked { at: at(2), reason: reason.clone() });
    }
    assert_eq!(store.key(key_id(3)).await.unwrap().state(), &revoked(1));
    assert_eq!(store.key(key_id(4)).await.unwrap().state(), &KeyState::Active);
    let changes = store.changes_since(head, 10).await.unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|change| matches!(change.event, ChangeEvent::KeyUpdated { .. })));
    let about = store.audit_log(&AuditQuery::default().about_key(key_id(2))).await.unwrap();
    assert_eq!(about.len(), 1);
    let none = store
        .delete_resource(&"kafka-cluster/none".parse().unwrap(), &reason, at(3), None)
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(store.key(key_id(4)).await.unwrap().expires(), Expiry::At(at(3600)));
}

/// Revoking a Pulsar tenant's keys revokes those of its namespaces too, and of no other tenant
/// (not even one whose name starts the same, or has a character LIKE would read as a wildcard).
pub async fn resource_keys_revoked_with_their_parts<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let resources = [
        "pulsar-tenant/a_c",
        "pulsar-namespace/a_c/orders",
        "pulsar-namespace/a_c/billing",
        "pulsar-namespace/abc/orders",
        "pulsar-namespace/a_c2/orders",
        "pulsar-tenant/a_c2",
        "kafka-cluster/a_c",
    ];
    for (n, resource) in (1..).zip(resources) {
        store.insert_key(&scoped("alice", n, resource), unlimited(), None).await.unwrap();
    }
    let reason: Description = "tenant deleted".parse().unwrap();
    let tenant = "pulsar-tenant/a_c".parse().unwrap();
    let done = store.delete_resource(&tenant, &reason, at(2), None).await.unwrap();
    let mut ids: Vec<_> = done.iter().map(|key| key.id()).collect();
    ids.sort();
    assert_eq!(ids, [key_id(1), key_id(2), key_id(3)]);
    for n in 4..=7 {
        assert_eq!(store.key(key_id(n)).await.unwrap().state(), &KeyState::Active, "key {n}");
    }
    // A namespace has no parts: only its own keys.
    let namespace = "pulsar-namespace/a_c2/orders".parse().unwrap();
    let done = store.delete_resource(&namespace, &reason, at(3), None).await.unwrap();
    assert_eq!(done.iter().map(|key| key.id()).collect::<Vec<_>>(), [key_id(5)]);
}

/// A deleted resource is remembered: no new key is scoped to it, or to a part of it, until it
/// is restored; restoring leaves the revoked keys revoked and adds nothing to the feed.
pub async fn resource_deletion_is_remembered_until_restored<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&scoped("alice", 1, "pulsar-tenant/acme"), unlimited(), None).await.unwrap();
    assert!(store.deleted_resources().await.unwrap().is_empty());
    let reason: Description = "tenant deleted".parse().unwrap();
    let tenant: ResourceRef = "pulsar-tenant/acme".parse().unwrap();
    store.delete_resource(&tenant, &reason, at(2), None).await.unwrap();
    // Deleting again keeps the first time.
    store.delete_resource(&tenant, &reason, at(5), None).await.unwrap();
    assert_eq!(store.deleted_resources().await.unwrap(), [(tenant.clone(), at(2))]);

    let head = store.head().await.unwrap();
    for (n, resource) in [(2, "pulsar-tenant/acme"), (3, "pulsar-namespace/acme/orders")] {
        let refused = store.insert_key(&scoped("alice", n, resource), unlimited(), None).await;
        assert!(
            matches!(&refused, Err(StoreError::ResourceDeleted { resource }) if resource == "pulsar-tenant/acme"),
            "{resource}: {refused:?}"
        );
    }
    assert_eq!(store.head().await.unwrap(), head, "a refused insert wrote to the feed");
    // Other tenants, and tenants whose name starts the same, are not deleted.
    store
        .insert_key(&scoped("alice", 4, "pulsar-namespace/acme2/orders"), unlimited(), None)
        .await
        .unwrap();

    let record = AuditRecord::new(at(6), r#"{"action":"resource_restored"}"#.to_owned());
    assert!(store.restore_resource(&tenant, Some(&record)).await.unwrap());
    assert!(!store.restore_resource(&tenant, None).await.unwrap());
    assert!(store.deleted_resources().await.unwrap().is_empty());
    assert_eq!(store.head().await.unwrap(), head.next(), "a restore wrote to the feed");
    store
        .insert_key(&scoped("alice", 5, "pulsar-namespace/acme/orders"), unlimited(), None)
        .await
        .unwrap();
    assert!(store.key(key_id(1)).await.unwrap().state().is_revoked(), "a restore revived a key");
}

/// Last uses are recorded in a batch, move forward only, and touch neither the feed nor the
/// audit log.
pub async fn key_uses_move_forward<S: Store + ?Sized>(store: Arc<S>) {
    assert!(store.key_uses().await.unwrap().is_empty());
    let head = store.head().await.unwrap();
    let here = Some("kafka-cluster/lkc-1".parse().unwrap());
    let there = Some("kafka-cluster/lkc-2".parse().unwrap());
    store
        .record_key_uses(&[
            KeyUse::new(key_id(2), at(10), here.clone()),
            KeyUse::new(key_id(1), at(20), here.clone()),
        ])
        .await
        .unwrap();
    store
        .record_key_uses(&[
            KeyUse::new(key_id(1), at(15), there.clone()),
            KeyUse::new(key_id(2), at(30), there.clone()),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.key_uses().await.unwrap(),
        [KeyUse::new(key_id(1), at(20), here), KeyUse::new(key_id(2), at(30), there.clone())]
    );
    assert_eq!(
        store.key_uses_of(&[key_id(9), key_id(2)]).await.unwrap(),
        [KeyUse::new(key_id(2), at(30), there)],
        "the uses of some keys: only those, and only those used"
    );
    assert!(store.key_uses_of(&[]).await.unwrap().is_empty());
    assert_eq!(store.head().await.unwrap(), head);
    assert!(store.audit_log(&AuditQuery::default()).await.unwrap().is_empty());
    store.record_key_uses(&[]).await.unwrap();
}
