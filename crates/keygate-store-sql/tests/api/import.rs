//! Moving a store's contents into an empty store: SQLite to PostgreSQL, and between SQLite
//! stores; a store that holds anything is refused and left as it was.

use std::sync::Arc;

use keygate_core::{
    DigestScheme, Expiry, KeyFormat, KeyId, KeyRecord, KeyTemplate, Principal, PrincipalKind,
    Scope, SecretDigest,
};
use keygate_revocation::Revocation;
use keygate_store::{ChangeFeed, KeyStore, PrincipalStore, Quota, RevocationStore, StoreError};
use keygate_store_sql::SqlStore;
use keygate_testkit::{T0, t0_plus};

use super::support::{postgres, sqlite_file};

/// Two service accounts, one deleted (leaving its watermark), six keys, and a revocation of a
/// token minted elsewhere.
async fn populate(store: &SqlStore) {
    for name in ["orders", "billing"] {
        let principal = Principal::new(name.parse().unwrap(), PrincipalKind::ServiceAccount, T0);
        store.create_principal(&principal, None).await.unwrap();
    }
    for n in 0..6u8 {
        let owner = if n % 2 == 0 { "orders" } else { "billing" };
        let template = KeyTemplate::new(
            owner.parse().unwrap(),
            Scope::Resource("kafka-cluster/lkc-import".parse().unwrap()),
            KeyFormat::Opaque,
            Expiry::Never,
        );
        let digest = SecretDigest::new(DigestScheme::Sha256, [n; 32]);
        let key = KeyRecord::issue(template, KeyId::from_bytes([n; 10]), T0, Some(digest)).unwrap();
        store.insert_key(&key, Quota::unlimited(T0), None).await.unwrap();
    }
    let revocation = Revocation::jti("minted-elsewhere", Expiry::Never).unwrap();
    store.add_revocation(&revocation, t0_plus(1), None).await.unwrap();
    store.delete_principal(&"billing".parse().unwrap(), t0_plus(2), None).await.unwrap();
}

async fn copies_into(source: &SqlStore, target: &SqlStore) {
    populate(source).await;
    let snapshot = source.snapshot().await.unwrap();
    let head = target.import(&snapshot).await.unwrap();

    let copied = target.snapshot().await.unwrap();
    assert_eq!(copied.seq, head);
    assert!(head.0 >= snapshot.revocations.len() as u64);
    assert_eq!(copied.principals, snapshot.principals);
    assert_eq!(copied.keys, snapshot.keys);
    assert_eq!(copied.revocations, snapshot.revocations);
    assert_eq!(copied.signing_keys, snapshot.signing_keys);

    // A second import is refused, and changes nothing.
    let refused = target.import(&snapshot).await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    assert_eq!(target.snapshot().await.unwrap(), copied);

    // Readers start from the snapshot; writes go on from the imported position.
    assert!(matches!(
        target.changes_since(keygate_store::Seq::ZERO, 10).await,
        Err(StoreError::ChangesCompacted { .. })
    ));
    let later = Principal::new("later".parse().unwrap(), PrincipalKind::ServiceAccount, T0);
    assert_eq!(target.create_principal(&later, None).await.unwrap(), head.next());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_moves_into_postgres() {
    let Some(target) = postgres().await else { return };
    let (_dir, source) = sqlite_file().await;
    copies_into(&source, &target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_in_memory_moves_into_a_sqlite_file() {
    let source = Arc::new(SqlStore::in_memory().await.unwrap());
    let (_dir, target) = sqlite_file().await;
    copies_into(&source, &target).await;
}

/// A snapshot larger than the chunks a store reads it in comes back whole and in order.
async fn streams_back_whole(store: &SqlStore) {
    let source = SqlStore::in_memory().await.unwrap();
    let owner = Principal::new("orders".parse().unwrap(), PrincipalKind::ServiceAccount, T0);
    let keys: Vec<KeyRecord> = (0..2500u32)
        .map(|n| {
            let template =
                KeyTemplate::new(owner.id.clone(), Scope::Global, KeyFormat::Opaque, Expiry::Never);
            let mut id = [0; 10];
            id[..4].copy_from_slice(&n.to_be_bytes());
            let digest = SecretDigest::new(DigestScheme::Sha256, [1; 32]);
            KeyRecord::issue(template, KeyId::from_bytes(id), T0, Some(digest)).unwrap()
        })
        .collect();
    let revocations: Vec<Revocation> = (0..1200)
        .map(|n| Revocation::jti(&format!("token-{n:05}"), Expiry::Never).unwrap())
        .collect();
    let mut snapshot = source.snapshot().await.unwrap();
    snapshot.principals = vec![owner];
    snapshot.keys = keys;
    snapshot.keys.sort_by_key(KeyRecord::id);
    snapshot.revocations = revocations;
    store.import(&snapshot).await.unwrap();

    let read = store.snapshot().await.unwrap();
    assert_eq!(read.keys, snapshot.keys);
    assert_eq!(read.revocations, snapshot.revocations);
    assert_eq!(read.principals, snapshot.principals);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_store_streams_back_whole_from_sqlite() {
    let (_dir, store) = sqlite_file().await;
    streams_back_whole(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_store_streams_back_whole_from_postgres() {
    let Some(store) = postgres().await else { return };
    streams_back_whole(&store).await;
}
