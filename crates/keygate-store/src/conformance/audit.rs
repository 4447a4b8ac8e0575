//! The audit log: appended in the same atomic step as the change it records.

use std::sync::Arc;

use keygate_core::{
    Description, DigestScheme, Expiry, KeyFormat, KeyPolicy, KeyRecord, KeyState, KeyTemplate,
    SecretDigest, SigningAlgorithm,
};
use keygate_revocation::Revocation;

use crate::{
    AuditEntry, AuditQuery, AuditRecord, Quota, SigningKeyRecord, SigningKeyStatus, Store,
    StoreError, VerificationMaterial,
};

use super::fixtures::*;

/// A record whose event is `name`, at `at(seconds)`.
fn event(name: &str, seconds: i64) -> AuditRecord {
    AuditRecord::new(at(seconds), format!("{{\"action\":\"{name}\"}}"))
}

fn actions(entries: &[AuditEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| {
            let event = &entry.record.event;
            event.trim_start_matches("{\"action\":\"").trim_end_matches("\"}").to_owned()
        })
        .collect()
}

async fn everything<S: Store + ?Sized>(store: &S) -> Vec<AuditEntry> {
    store.audit_log(&AuditQuery::default()).await.unwrap()
}

/// Every mutation appends the record it is given, in commit order, at positions from 1, filed
/// under the principal and keys it names; deleting a principal also files it under each key
/// the deletion removed.
pub async fn audit_every_mutation_appends_its_record<S: Store + ?Sized>(store: Arc<S>) {
    let alice = pid("alice");
    let signing = SigningKeyRecord::new(
        "k1".parse().unwrap(),
        SigningAlgorithm::EdDSA,
        SigningKeyStatus::Active,
        at(0),
        VerificationMaterial::PublicKey(vec![1, 2, 3]),
    );
    let verifying = SigningKeyRecord { kid: "k2".parse().unwrap(), ..signing.clone() };
    let verifying = SigningKeyRecord { status: SigningKeyStatus::Verifying, ..verifying };
    let (k1, k2, k3) = (opaque("alice", 1, 0), opaque("alice", 2, 0), jwt("alice", 3, 0));
    let rotated = {
        let template =
            KeyTemplate::new(alice.clone(), resource("lkc-1"), KeyFormat::Opaque, Expiry::Never)
                .with_replaces(key_id(2));
        let digest = SecretDigest::new(DigestScheme::Sha256, [4; 32]);
        KeyRecord::issue(template, key_id(4), at(5), Some(digest)).unwrap()
    };
    store
        .create_principal(
            &principal("alice"),
            Some(&event("create", 0).with_principal(alice.clone())),
        )
        .await
        .unwrap();
    let filed =
        |name, seconds, key| event(name, seconds).with_principal(alice.clone()).with_keys([key]);
    store.insert_key(&k1, unlimited(), Some(&filed("insert", 1, k1.id()))).await.unwrap();
    store.insert_key(&k2, unlimited(), Some(&filed("insert", 1, k2.id()))).await.unwrap();
    store.insert_key(&k3, unlimited(), Some(&filed("insert", 1, k3.id()))).await.unwrap();
    let text: Description = "renamed".parse().unwrap();
    store
        .update_description(k1.id(), &text, at(2), Some(&filed("describe", 2, k1.id())))
        .await
        .unwrap();
    let suspended = KeyState::Suspended { at: at(3) };
    store
        .compare_and_set_state(
            k1.id(),
            &KeyState::Active,
            &suspended,
            at(3),
            Some(&filed("suspend", 3, k1.id())),
        )
        .await
        .unwrap();
    store
        .shorten_expiry(k1.id(), Expiry::At(at(100)), at(4), Some(&filed("shorten", 4, k1.id())))
        .await
        .unwrap();
    store
        .rotate_key(&rotated, Expiry::At(at(200)), unlimited(), Some(&filed("rotate", 5, k2.id())))
        .await
        .unwrap();
    store
        .compare_and_set_state(
            k1.id(),
            &suspended,
            &revoked(6),
            at(6),
            Some(&filed("revoke", 6, k1.id())),
        )
        .await
        .unwrap();
    store.delete_key(k1.id(), at(7), Some(&filed("delete", 7, k1.id()))).await.unwrap();
    let watermark = Revocation::jti("a-token", Expiry::At(at(9000))).unwrap();
    store.add_revocation(&watermark, at(8), Some(&event("revocation", 8))).await.unwrap();
    store.add_signing_key(&signing, None, at(9), Some(&event("add_signing", 9))).await.unwrap();
    store.add_signing_key(&verifying, None, at(9), Some(&event("add_signing", 9))).await.unwrap();
    store.promote_signing_key(&verifying.kid, at(10), Some(&event("promote", 10))).await.unwrap();
    store.remove_signing_key(&signing.kid, at(11), Some(&event("remove", 11))).await.unwrap();
    store
        .delete_principal(
            &alice,
            at(12),
            Some(&event("delete_principal", 12).with_principal(alice.clone())),
        )
        .await
        .unwrap();

    let all = everything(&*store).await;
    assert_eq!(
        actions(&all),
        [
            "create",
            "insert",
            "insert",
            "insert",
            "describe",
            "suspend",
            "shorten",
            "rotate",
            "revoke",
            "delete",
            "revocation",
            "add_signing",
            "add_signing",
            "promote",
            "remove",
            "delete_principal"
        ]
    );
    let positions: Vec<u64> = all.iter().map(|entry| entry.position).collect();
    assert_eq!(positions, (1..=16).collect::<Vec<u64>>(), "positions count from 1 in order");
    assert_eq!(all[4].record, filed("describe", 2, k1.id()), "a record is kept as given");

    let about = |query: AuditQuery| {
        let store = Arc::clone(&store);
        async move { actions(&store.audit_log(&query).await.unwrap()) }
    };
    assert_eq!(
        about(AuditQuery::default().about_key(k1.id())).await,
        ["insert", "describe", "suspend", "shorten", "revoke", "delete"]
    );
    // The principal's deletion removed k3 and the replacement: it is filed under both.
    assert_eq!(
        about(AuditQuery::default().about_key(k3.id())).await,
        ["insert", "delete_principal"]
    );
    assert_eq!(about(AuditQuery::default().about_key(key_id(4))).await, ["delete_principal"]);
    assert_eq!(about(AuditQuery::default().about_principal(alice.clone())).await.len(), 11);
    assert_eq!(
        about(AuditQuery::default().since(at(10))).await,
        ["promote", "remove", "delete_principal"]
    );
    assert_eq!(
        about(AuditQuery::default().with_limit(2)).await,
        ["remove", "delete_principal"],
        "a limit keeps the newest entries, oldest first"
    );
    assert!(about(AuditQuery::default().with_limit(0)).await.is_empty());
}

/// A mutation that fails appends nothing to the audit log, and a record the store refuses (an
/// empty event, or one over the limit) fails its mutation: neither the change nor its feed
/// entry is written.
pub async fn audit_failed_mutations_append_nothing<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 1, 0), Quota::new(1, at(0)), None).await.unwrap();
    let record = event("should not be kept", 1);
    let _ = store.create_principal(&principal("alice"), Some(&record)).await;
    let _ = store.insert_key(&opaque("alice", 2, 0), Quota::new(1, at(0)), Some(&record)).await;
    let _ = store.insert_key(&opaque("nobody", 3, 0), unlimited(), Some(&record)).await;
    let suspended = KeyState::Suspended { at: at(0) };
    let _ =
        store.compare_and_set_state(key_id(1), &suspended, &revoked(1), at(1), Some(&record)).await;
    let _ = store.shorten_expiry(key_id(1), Expiry::Never, at(1), Some(&record)).await;
    let _ = store.delete_key(key_id(9), at(1), Some(&record)).await;
    let _ = store.delete_principal(&pid("nobody"), at(1), Some(&record)).await;
    let _ = store.remove_signing_key(&"none".parse().unwrap(), at(1), Some(&record)).await;
    let _ = store.promote_signing_key(&"none".parse().unwrap(), at(1), Some(&record)).await;
    assert!(everything(&*store).await.is_empty(), "failed mutations appended audit entries");

    let head = store.head().await.unwrap();
    let too_long = AuditRecord::new(at(2), "x".repeat(AuditRecord::MAX_EVENT_LEN + 1));
    let empty = AuditRecord::new(at(2), String::new());
    for refused in [&too_long, &empty] {
        let created = store.create_principal(&principal("bob"), Some(refused)).await;
        assert!(matches!(created, Err(StoreError::Invalid(_))), "{created:?}");
        let inserted = store.insert_key(&opaque("alice", 4, 0), unlimited(), Some(refused)).await;
        assert!(matches!(inserted, Err(StoreError::Invalid(_))), "{inserted:?}");
        let revoking = store
            .compare_and_set_state(key_id(1), &KeyState::Active, &revoked(2), at(2), Some(refused))
            .await;
        assert!(matches!(revoking, Err(StoreError::Invalid(_))), "{revoking:?}");
        let deleting = store.delete_principal(&pid("alice"), at(2), Some(refused)).await;
        assert!(matches!(deleting, Err(StoreError::Invalid(_))), "{deleting:?}");
    }
    assert!(matches!(store.principal(&pid("bob")).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.key(key_id(4)).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.key(key_id(1)).await.unwrap().state(), &KeyState::Active);
    assert!(store.principal(&pid("alice")).await.is_ok());
    assert_eq!(store.head().await.unwrap(), head, "a refused audit record let its change through");
    assert!(everything(&*store).await.is_empty());
}

/// Concurrent writers: every successful mutation has exactly one entry, at distinct positions
/// from 1 with no gap, and no failed one has any.
pub async fn audit_under_concurrent_writers<S: Store + ?Sized + 'static>(store: Arc<S>) {
    const TASKS: u32 = 8;
    with_principal(&*store, "alice").await;
    let tasks: Vec<_> = (0..TASKS)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let key = opaque("alice", n, 0);
                let record = event(&format!("insert {n}"), 1).with_keys([key.id()]);
                store.insert_key(&key, Quota::new(TASKS / 2, at(0)), Some(&record)).await.is_ok()
            })
        })
        .collect();
    let mut inserted = 0;
    for task in tasks {
        inserted += u64::from(task.await.unwrap());
    }
    assert_eq!(inserted, u64::from(TASKS / 2));
    let all = everything(&*store).await;
    let positions: Vec<u64> = all.iter().map(|entry| entry.position).collect();
    assert_eq!(positions, (1..=inserted).collect::<Vec<u64>>());
    for entry in &all {
        let key = entry.record.keys[0];
        assert!(store.key(key).await.is_ok(), "an entry for key {key} that was not inserted");
    }
}

/// The log is read by action, by a window of instants (`since` inclusive, `until` exclusive),
/// and a page at a time, newest first, by position.
pub async fn audit_query_filters<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    for n in 1..=6 {
        let action = if n % 2 == 0 { "key_created" } else { "key_revoked" };
        let record = event(action, i64::from(n)).with_action(action);
        // Any audited mutation will do; setting the policy touches nothing else.
        store.set_policy(&KeyPolicy::default(), Some(&record)).await.unwrap();
    }
    let read = |query: AuditQuery| {
        let store = Arc::clone(&store);
        async move { store.audit_log(&query).await.unwrap() }
    };
    let created = read(AuditQuery::default().of_action("key_created")).await;
    assert_eq!(actions(&created), ["key_created"; 3]);
    assert!(created.iter().all(|e| e.record.action.as_deref() == Some("key_created")));

    let window = read(AuditQuery::default().since(at(2)).until(at(5))).await;
    assert_eq!(window.iter().map(|e| e.record.at).collect::<Vec<_>>(), [at(2), at(3), at(4)]);

    let first = read(AuditQuery::default().with_limit(4)).await;
    assert_eq!(first.len(), 4);
    let oldest_of_first = first[0].position;
    let second = read(AuditQuery::default().with_limit(4).before(oldest_of_first)).await;
    assert_eq!(second.len(), 2, "the second page holds the two oldest");
    assert!(second.iter().all(|e| e.position < oldest_of_first));

    let bad = event("x", 9).with_action("Not An Action");
    let bad = store.set_policy(&KeyPolicy::default(), Some(&bad)).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
}
