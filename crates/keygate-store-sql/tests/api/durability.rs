//! A write cut off anywhere (an error, a dropped connection, a crashed process) leaves no
//! partial principal, key, feed or audit state: a change and its audit entry commit together
//! or not at all.

use std::sync::Arc;

use keygate_core::{
    DigestScheme, Expiry, KeyFormat, KeyId, KeyRecord, KeyTemplate, Principal, PrincipalKind,
    Scope, SecretDigest,
};
use keygate_store::{
    AuditEntry, AuditQuery, AuditRecord, KeyStore, PrincipalStore, Quota, Store, StoreError,
    StoreSnapshot,
};
use keygate_store_sql::{Fault, SqlStore};
use keygate_testkit::{T0, t0_plus};

use super::support::{postgres, sqlite_file, test_name};

const OWNER: &str = "orders";

fn key(n: u8, format: KeyFormat) -> KeyRecord {
    let template = KeyTemplate::new(
        OWNER.parse().unwrap(),
        Scope::Global,
        format,
        Expiry::At(t0_plus(86_400)),
    );
    let digest =
        (format == KeyFormat::Opaque).then(|| SecretDigest::new(DigestScheme::Sha256, [n; 32]));
    KeyRecord::issue(template, KeyId::from_bytes([n; 10]), T0, digest).unwrap()
}

/// A principal with four keys, two of each format: deleting it is the longest write there is.
async fn populate(store: &dyn Store) {
    let owner = Principal::new(OWNER.parse().unwrap(), PrincipalKind::ServiceAccount, T0);
    store.create_principal(&owner, None).await.unwrap();
    for (n, format) in
        [(1, KeyFormat::Opaque), (2, KeyFormat::Jwt), (3, KeyFormat::Opaque), (4, KeyFormat::Jwt)]
    {
        store.insert_key(&key(n, format), Quota::unlimited(T0), None).await.unwrap();
    }
}

/// Everything the store holds, the changes it has recorded, and its audit log.
async fn state(store: &dyn Store) -> (StoreSnapshot, usize, Vec<AuditEntry>) {
    let snapshot = store.snapshot().await.unwrap();
    let changes = store.changes_since(keygate_store::Seq::ZERO, 10_000).await.unwrap().len();
    let audit = store.audit_log(&AuditQuery::default()).await.unwrap();
    (snapshot, changes, audit)
}

/// The audit record the deletion carries.
fn deletion() -> AuditRecord {
    AuditRecord::new(t0_plus(60), r#"{"action":"principal_deleted"}"#.to_owned())
        .with_principal(OWNER.parse().unwrap())
}

/// Cuts the deletion of the principal off before each of its statements in turn: every cut
/// leaves the state exactly as it was, and once the fault comes too late to fire, the deletion
/// goes through whole. Returns the errors the cuts caused.
async fn cut_everywhere(store: &SqlStore, fault: fn(u32) -> Fault) -> Vec<StoreError> {
    populate(store).await;
    let before = state(store).await;
    let mut errors = Vec::new();
    for after in 0.. {
        store.inject_fault(fault(after));
        match store.delete_principal(&OWNER.parse().unwrap(), t0_plus(60), Some(&deletion())).await
        {
            Err(error) => {
                assert!(error.is_transient(), "cut after {after}: {error:?}");
                assert_eq!(state(store).await, before, "cut after {after} left a partial write");
                errors.push(error);
            }
            Ok(deleted) => {
                // 4 keys with 2 tombstones, the watermark, the principal, the audit entry filed
                // under 4 keys, and the feed head.
                assert!(after >= 15, "the deletion took only {after} statements");
                assert_eq!(deleted.keys.len(), 4);
                let (snapshot, _, audit) = state(store).await;
                assert!(snapshot.principals.is_empty() && snapshot.keys.is_empty());
                assert_eq!(snapshot.revocations.len(), 3);
                assert_eq!(audit.len(), 1, "the deletion's audit entry");
                assert_eq!(audit[0].record.keys.len(), 4);
                return errors;
            }
        }
    }
    unreachable!("the loop returns once the deletion goes through")
}

#[tokio::test]
async fn sqlite_errors_mid_transaction_leave_nothing_partial() {
    let store = SqlStore::in_memory().await.unwrap();
    cut_everywhere(&store, |after| Fault::Error { after }).await;
}

#[tokio::test]
async fn postgres_errors_mid_transaction_leave_nothing_partial() {
    let Some(store) = postgres().await else { return };
    cut_everywhere(&store, |after| Fault::Error { after }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_dropped_mid_transaction_leave_nothing_partial() {
    // The server terminates the writer's session mid-transaction each time; the pool replaces
    // the dead connection and the store goes on.
    let Some(store) = postgres().await else { return };
    let errors = cut_everywhere(&store, |after| Fault::Crash { after }).await;
    for error in errors {
        // The connection's end, as the driver saw it; not the hook's own error.
        let message = std::error::Error::source(&error).unwrap().to_string();
        assert!(!message.contains("injected"), "{message}");
    }
}

/// The process writing to a SQLite file aborts mid-transaction, at several points; the next
/// opener finds the state as it was before the write. The test runs itself as the child that
/// crashes.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_survives_a_crash_mid_transaction() {
    if let Ok(spec) = std::env::var("KEYGATE_CRASH_CHILD") {
        let (after, path) = spec.split_once(':').unwrap();
        let store = SqlStore::open(path).await.unwrap();
        store.inject_fault(Fault::Crash { after: after.parse().unwrap() });
        let result =
            store.delete_principal(&OWNER.parse().unwrap(), t0_plus(60), Some(&deletion())).await;
        // Unreachable when the fault fires: the process is gone.
        panic!("the crash did not happen: {result:?}");
    }

    let (dir, store) = sqlite_file().await;
    let path = dir.path().join("keygate.db");
    populate(&*store).await;
    let before = state(&*store).await;
    store.close().await;
    drop(store);

    for after in [0, 1, 3, 6, 9, 11, 14] {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([test_name().as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env("KEYGATE_CRASH_CHILD", format!("{after}:{}", path.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(6),
            "the child with a crash after {after} statements did not abort: {status}"
        );
        let reopened: Arc<SqlStore> = Arc::new(SqlStore::open(&path).await.unwrap());
        assert_eq!(state(&*reopened).await, before, "a crash after {after} left a partial write");
        reopened.close().await;
    }
}

#[tokio::test]
async fn a_rotation_cut_off_keeps_the_old_key_unshortened() {
    let store = SqlStore::in_memory().await.unwrap();
    populate(&store).await;
    let old = store.key(KeyId::from_bytes([1; 10])).await.unwrap();
    let mut template = KeyTemplate::new(
        OWNER.parse().unwrap(),
        Scope::Global,
        KeyFormat::Opaque,
        Expiry::At(t0_plus(90_000)),
    );
    template.replaces = Some(old.id());
    let digest = SecretDigest::new(DigestScheme::Sha256, [9; 32]);
    let replacement =
        KeyRecord::issue(template, KeyId::from_bytes([9; 10]), t0_plus(10), Some(digest)).unwrap();
    // The old key's update and its change are the first two statements; the replacement's
    // insert would be the third.
    store.inject_fault(Fault::Error { after: 2 });
    let error = store
        .rotate_key(&replacement, Expiry::At(t0_plus(3600)), Quota::unlimited(T0), None)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert_eq!(store.key(old.id()).await.unwrap(), old);
    assert!(matches!(store.key(replacement.id()).await, Err(StoreError::NotFound { .. })));
}
