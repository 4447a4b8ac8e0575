//! Principals: created, read, listed, deleted with their keys.

use std::collections::BTreeSet;
use std::sync::Arc;

use keygate_core::{Description, DisplayName, KeyId, KeyRecord};
use keygate_revocation::Revocation;

use crate::{ChangeEvent, KeyFilter, PageRequest, Seq, Store, StoreError};

use super::fixtures::*;

/// A principal created is read back equal.
pub async fn principal_create_get<S: Store + ?Sized>(store: Arc<S>) {
    let alice = principal("alice").with_description("ingest".parse().unwrap());
    let seq = store.create_principal(&alice, None).await.unwrap();
    assert!(seq > Seq::ZERO, "create_principal returned Seq(0)");
    assert_eq!(store.principal(&pid("alice")).await.unwrap(), alice);
}

/// Creating a principal twice fails with `AlreadyExists` and changes nothing.
pub async fn principal_create_twice<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let head = store.head().await.unwrap();
    let again = store
        .create_principal(&principal("alice").with_description("other".parse().unwrap()), None)
        .await;
    assert!(matches!(again, Err(StoreError::AlreadyExists { kind: "principal", .. })), "{again:?}");
    assert_eq!(store.principal(&pid("alice")).await.unwrap().description, Description::empty());
    assert_eq!(store.head().await.unwrap(), head);
}

/// A missing principal is `NotFound`.
pub async fn principal_missing<S: Store + ?Sized>(store: Arc<S>) {
    assert!(matches!(
        store.principal(&pid("nobody")).await,
        Err(StoreError::NotFound { kind: "principal", .. })
    ));
}

/// Principals list in id order, page by page, with no gaps or repeats.
pub async fn principal_list_pages<S: Store + ?Sized>(store: Arc<S>) {
    for name in ["carol", "alice", "eve", "bob", "dave"] {
        with_principal(&*store, name).await;
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let result = store.list_principals(&page).await.unwrap();
        assert!(result.items.len() <= 2);
        seen.extend(result.items.iter().map(|p| p.id.to_string()));
        match result.next {
            Some(cursor) => page = PageRequest::after(cursor, 2),
            None => break,
        }
    }
    assert_eq!(seen, ["alice", "bob", "carol", "dave", "eve"]);
}

/// Deleting a principal deletes its keys in the same step, records a change for each, a
/// tombstone for each live JWT key and a watermark for the principal, and leaves others alone.
pub async fn principal_delete_cascades<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    with_principal(&*store, "bob").await;
    store.insert_key(&opaque("alice", 1, 0), unlimited(), None).await.unwrap();
    store.insert_key(&jwt("alice", 2, 0), unlimited(), None).await.unwrap();
    store.insert_key(&opaque("bob", 3, 0), unlimited(), None).await.unwrap();
    let before = store.head().await.unwrap();

    let deleted = store.delete_principal(&pid("alice"), at(100), None).await.unwrap();
    assert_eq!(deleted.principal.id, pid("alice"));
    let mut ids: Vec<KeyId> = deleted.keys.iter().map(KeyRecord::id).collect();
    ids.sort();
    assert_eq!(ids, [key_id(1), key_id(2)]);

    assert!(matches!(store.principal(&pid("alice")).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.key(key_id(1)).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.key(key_id(2)).await, Err(StoreError::NotFound { .. })));
    assert!(store.key(key_id(3)).await.is_ok(), "another principal's key went too");
    let alice_keys = store
        .list_keys(&KeyFilter::all().with_owner(pid("alice")), &PageRequest::first(10))
        .await
        .unwrap();
    assert!(alice_keys.items.is_empty());

    let changes = store.changes_since(before, 100).await.unwrap();
    let deleted_keys: BTreeSet<KeyId> = changes
        .iter()
        .filter_map(|c| match &c.event {
            ChangeEvent::KeyDeleted { key } => Some(key.id()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted_keys, BTreeSet::from([key_id(1), key_id(2)]));
    assert!(changes.iter().any(|c| matches!(&c.event, ChangeEvent::Revoked { revocation: Revocation::Key { id, .. } } if *id == key_id(2))));
    assert!(!changes.iter().any(|c| matches!(&c.event, ChangeEvent::Revoked { revocation: Revocation::Key { id, .. } } if *id == key_id(1))), "an opaque key got a tombstone");
    assert!(changes.iter().any(|c| matches!(&c.event, ChangeEvent::Revoked { revocation: Revocation::Principal { principal, before, .. } } if *principal == pid("alice") && *before == at(100))));
    assert!(
        matches!(&changes.last().unwrap().event, ChangeEvent::PrincipalDeleted { id } if *id == pid("alice"))
    );

    let snapshot = store.snapshot().await.unwrap();
    assert!(snapshot.principals.iter().all(|p| p.id != pid("alice")));
    assert!(snapshot.keys.iter().all(|k| k.owner() != &pid("alice")));
    // A principal of the same name can be created again, with keys of its own.
    with_principal(&*store, "alice").await;
    store.insert_key(&opaque("alice", 4, 200), unlimited(), None).await.unwrap();
}

/// Deleting a missing principal is `NotFound` and records nothing.
pub async fn principal_delete_missing<S: Store + ?Sized>(store: Arc<S>) {
    let head = store.head().await.unwrap();
    assert!(matches!(
        store.delete_principal(&pid("nobody"), at(1), None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.head().await.unwrap(), head);
}

/// Role bindings: added once, listed in order, removed, audited, never in the feed, and gone
/// with their principal, or with the service account they make someone the owner of.
pub async fn role_bindings_follow_their_principals<S: Store + ?Sized>(store: Arc<S>) {
    use keygate_core::{Role, RoleBinding};

    use crate::AuditRecord;

    for name in ["ops-bot", "orders", "alice"] {
        with_principal(&*store, name).await;
    }
    let head = store.head().await.unwrap();
    let owner = Role::ServiceAccountOwner(pid("orders"));
    let bindings = [
        RoleBinding::new(pid("ops-bot"), Role::OrganizationAdmin, at(1)),
        RoleBinding::new(pid("alice"), owner.clone(), at(2)),
        RoleBinding::new(pid("alice"), Role::Viewer, at(3)),
    ];
    for binding in &bindings {
        let record = AuditRecord::new(at(1), r#"{"action":"role_bound"}"#.to_owned());
        store.add_role_binding(binding, Some(&record)).await.unwrap();
    }
    let again = store.add_role_binding(&bindings[0], None).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists { .. })), "{again:?}");
    let nobody = RoleBinding::new(pid("nobody"), Role::Viewer, at(4));
    let missing = store.add_role_binding(&nobody, None).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
    let of_nothing = RoleBinding::new(pid("alice"), Role::ServiceAccountOwner(pid("ghost")), at(4));
    let missing = store.add_role_binding(&of_nothing, None).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");

    let all = store.role_bindings(None).await.unwrap();
    assert_eq!(all, [bindings[1].clone(), bindings[2].clone(), bindings[0].clone()]);
    let alices = store.role_bindings(Some(&pid("alice"))).await.unwrap();
    assert_eq!(alices, [bindings[1].clone(), bindings[2].clone()]);
    assert_eq!(store.head().await.unwrap(), head, "role bindings entered the feed");

    let removed = store.remove_role_binding(&pid("alice"), &Role::Viewer, None).await.unwrap();
    assert_eq!(removed, bindings[2]);
    let twice = store.remove_role_binding(&pid("alice"), &Role::Viewer, None).await;
    assert!(matches!(twice, Err(StoreError::NotFound { .. })), "{twice:?}");

    // Deleting the owned account takes alice's ownership of it; deleting ops-bot its own.
    store.delete_principal(&pid("orders"), at(5), None).await.unwrap();
    store.delete_principal(&pid("ops-bot"), at(5), None).await.unwrap();
    assert!(store.role_bindings(None).await.unwrap().is_empty());
}

/// Updating a principal replaces its description (and its display name, when given), keeps
/// the rest, records `PrincipalUpdated`, and finds no principal that does not exist.
pub async fn principal_update<S: Store + ?Sized>(store: Arc<S>) {
    with_principal(&*store, "alice").await;
    let head = store.head().await.unwrap();
    let description: Description = "order pipeline".parse().unwrap();
    let updated =
        store.update_principal(&pid("alice"), None, &description, at(5), None).await.unwrap();
    assert_eq!(updated.description, description);
    assert_eq!(updated.display_name, principal("alice").display_name);
    assert_eq!(updated.created_at, at(0));
    assert_eq!(store.principal(&pid("alice")).await.unwrap(), updated);
    let changes = store.changes_since(head, 10).await.unwrap();
    assert!(
        matches!(&changes[..], [change] if change.event == ChangeEvent::PrincipalUpdated { principal: updated.clone() }),
        "{changes:?}"
    );

    let display: DisplayName = "Alice's jobs".parse().unwrap();
    let renamed = store
        .update_principal(&pid("alice"), Some(&display), &Description::empty(), at(6), None)
        .await
        .unwrap();
    assert_eq!(renamed.display_name, display);
    assert!(renamed.description.is_empty());

    let missing = store.update_principal(&pid("nobody"), None, &description, at(7), None).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
}
