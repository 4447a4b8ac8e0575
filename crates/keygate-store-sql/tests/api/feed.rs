//! The change feed under writers on separate connections: a tailing reader sees every change,
//! gap-free and in order, and its replay equals the final state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keygate_core::{
    Description, DigestScheme, Expiry, KeyFormat, KeyId, KeyRecord, KeyState, KeyTemplate,
    Principal, PrincipalId, PrincipalKind, Scope, SecretDigest, SigningAlgorithm, SigningKeyId,
};
use keygate_revocation::Revocation;
use keygate_store::{
    ChangeEvent, ChangeFeed, KeyStore, PrincipalStore, Quota, RevocationStore, Seq,
    SigningKeyRecord, SigningKeyStatus, SigningKeyStore, VerificationMaterial,
};
use keygate_store_sql::{SqlOptions, SqlStore};
use keygate_testkit::{T0, t0_plus};

use super::support::postgres_url;

const WRITERS: u8 = 4;
const KEYS_EACH: u8 = 30;

/// What a reader rebuilds from the feed alone.
#[derive(Debug, Default, PartialEq)]
struct Replay {
    principals: BTreeMap<PrincipalId, Principal>,
    keys: BTreeMap<KeyId, KeyRecord>,
    revocations: Vec<Revocation>,
    signing_keys: BTreeMap<SigningKeyId, SigningKeyRecord>,
}

impl Replay {
    fn apply(&mut self, event: ChangeEvent) {
        match event {
            ChangeEvent::PrincipalCreated { principal } => {
                self.principals.insert(principal.id.clone(), principal);
            }
            ChangeEvent::PrincipalDeleted { id } => {
                self.principals.remove(&id);
            }
            ChangeEvent::KeyCreated { key } | ChangeEvent::KeyUpdated { key } => {
                self.keys.insert(key.id(), key);
            }
            ChangeEvent::KeyDeleted { key } => {
                self.keys.remove(&key.id());
            }
            ChangeEvent::Revoked { revocation } => self.revocations.push(revocation),
            ChangeEvent::SigningKeyChanged { key } => {
                self.signing_keys.insert(key.kid.clone(), key);
            }
            ChangeEvent::SigningKeyRemoved { kid } => {
                self.signing_keys.remove(&kid);
            }
            other => panic!("an event this test does not know: {other:?}"),
        }
    }
}

fn opaque_key(owner: &PrincipalId, w: u8, k: u8) -> KeyRecord {
    let template = KeyTemplate::new(
        owner.clone(),
        Scope::Global,
        KeyFormat::Opaque,
        Expiry::At(t0_plus(86_400)),
    );
    let digest = SecretDigest::new(DigestScheme::Sha256, [k; 32]);
    let mut id = [0; 10];
    id[0] = w;
    id[1] = k;
    KeyRecord::issue(template, KeyId::from_bytes(id), T0, Some(digest)).unwrap()
}

/// One writer's share: a principal and its keys, updated, revoked, deleted; revocations; for
/// writer 1 signing keys; and writer 0 deletes its principal at the end.
async fn write(store: Arc<SqlStore>, w: u8) {
    let owner: PrincipalId = format!("writer-{w}").parse().unwrap();
    let principal = Principal::new(owner.clone(), PrincipalKind::ServiceAccount, T0);
    store.create_principal(&principal, None).await.unwrap();
    for k in 0..KEYS_EACH {
        let key = opaque_key(&owner, w, k);
        store.insert_key(&key, Quota::unlimited(T0), None).await.unwrap();
        let at = t0_plus(u64::from(k));
        if k % 3 == 1 {
            let revoked = KeyState::Revoked { at, reason: Description::empty() };
            store
                .compare_and_set_state(key.id(), &KeyState::Active, &revoked, at, None)
                .await
                .unwrap();
        }
        if k % 5 == 2 {
            store.delete_key(key.id(), at, None).await.unwrap();
        }
        if k % 7 == 3 {
            let jti = Revocation::Jti { jti: format!("jti-{w}-{k}"), expires: Expiry::Never };
            store.add_revocation(&jti, at, None).await.unwrap();
        }
        if k % 10 == 4 {
            store
                .update_description(key.id(), &format!("d{k}").parse().unwrap(), at, None)
                .await
                .unwrap();
        }
        if w == 1 && k % 6 == 0 {
            let kid: SigningKeyId = format!("k{k:02}").parse().unwrap();
            let record = SigningKeyRecord::new(
                kid.clone(),
                SigningAlgorithm::EdDSA,
                SigningKeyStatus::Verifying,
                at,
                VerificationMaterial::PublicKey(vec![k; 32]),
            );
            store.add_signing_key(&record, None, at, None).await.unwrap();
            store.promote_signing_key(&kid, at, None).await.unwrap();
        }
    }
    if w == 0 {
        store.delete_principal(&owner, t0_plus(100), None).await.unwrap();
    }
}

/// Runs the writers, each on a store (and so a connection) of its own, beside a reader on
/// another, and checks the reader's replay against the final state.
async fn writers_and_a_tailing_reader(open: impl Fn() -> tokio::task::JoinHandle<SqlStore>) {
    let mut stores = Vec::new();
    for _ in 0..=WRITERS {
        stores.push(Arc::new(open().await.unwrap()));
    }
    let reader_store = stores.pop().unwrap();
    let finished = Arc::new(AtomicBool::new(false));
    let reader = {
        let finished = Arc::clone(&finished);
        let store = Arc::clone(&reader_store);
        tokio::spawn(async move {
            let mut replay = Replay::default();
            let mut cursor = Seq::ZERO;
            let mut reads = 0u32;
            loop {
                // Whether the writers were done before this read: then it sees everything.
                let done = finished.load(Ordering::SeqCst);
                let batch = store.changes_since(cursor, 7).await.unwrap();
                reads += 1;
                for change in &batch {
                    assert_eq!(change.seq, cursor.next(), "the reader skipped a change");
                    cursor = change.seq;
                    replay.apply(change.event.clone());
                }
                if done && batch.is_empty() {
                    return (replay, cursor, reads);
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut writers = tokio::task::JoinSet::new();
    for (w, store) in stores.into_iter().enumerate() {
        writers.spawn(write(store, w as u8));
    }
    while let Some(result) = writers.join_next().await {
        result.unwrap();
    }
    finished.store(true, Ordering::SeqCst);
    let (replay, cursor, reads) = reader.await.unwrap();

    let snapshot = reader_store.snapshot().await.unwrap();
    assert_eq!(cursor, snapshot.seq);
    let expected = Replay {
        principals: snapshot.principals.into_iter().map(|p| (p.id.clone(), p)).collect(),
        keys: snapshot.keys.into_iter().map(|k| (k.id(), k)).collect(),
        revocations: snapshot.revocations,
        signing_keys: snapshot.signing_keys.into_iter().map(|k| (k.kid.clone(), k)).collect(),
    };
    assert_eq!(replay, expected);
    assert_eq!(replay.principals.len(), usize::from(WRITERS) - 1);
    assert!(reads > 2, "the reader never read while writers wrote");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_writers_on_separate_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keygate.db");
    SqlStore::open(&path).await.unwrap();
    writers_and_a_tailing_reader(|| {
        let path = path.clone();
        tokio::spawn(async move {
            let options = SqlOptions::default().with_max_connections(1);
            SqlStore::open_with(path, options).await.unwrap()
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_writers_on_separate_connections() {
    let Some(url) = postgres_url().await else { return };
    SqlStore::connect(&url).await.unwrap();
    writers_and_a_tailing_reader(|| {
        let url = url.clone();
        tokio::spawn(async move {
            let options = SqlOptions::default().with_max_connections(1);
            SqlStore::connect_with(&url, options).await.unwrap()
        })
    })
    .await;
}
