//! Signing keys: one active at a time, promoted in one step, private halves as stored.

use std::sync::Arc;

use keygate_core::SigningAlgorithm;

use crate::{Sealed, SigningKeyRecord, SigningKeyStatus, Store, StoreError, VerificationMaterial};

use super::fixtures::*;

/// Signing keys: one active at a time, promotion in one step, private halves only as stored,
/// and the active key cannot be removed.
pub async fn signing_keys<S: Store + ?Sized>(store: Arc<S>) {
    let record = |kid: &str, status| {
        SigningKeyRecord::new(
            kid.parse().unwrap(),
            SigningAlgorithm::EdDSA,
            status,
            at(0),
            VerificationMaterial::PublicKey(vec![1, 2, 3]),
        )
    };
    let private = Sealed::new(vec![9; 48]);
    store
        .add_signing_key(&record("k1", SigningKeyStatus::Active), Some(&private), at(0), None)
        .await
        .unwrap();
    let second =
        store.add_signing_key(&record("k2", SigningKeyStatus::Active), None, at(1), None).await;
    assert!(matches!(second, Err(StoreError::Conflict { .. })), "{second:?}");
    store
        .add_signing_key(&record("k2", SigningKeyStatus::Verifying), None, at(1), None)
        .await
        .unwrap();
    assert!(matches!(
        store.add_signing_key(&record("k2", SigningKeyStatus::Verifying), None, at(1), None).await,
        Err(StoreError::AlreadyExists { .. })
    ));

    assert_eq!(store.signing_key_private(&"k1".parse().unwrap()).await.unwrap(), private);
    assert!(matches!(
        store.signing_key_private(&"k2".parse().unwrap()).await,
        Err(StoreError::NotFound { .. })
    ));

    let head = store.head().await.unwrap();
    store.promote_signing_key(&"k2".parse().unwrap(), at(2), None).await.unwrap();
    let statuses: Vec<(String, SigningKeyStatus)> = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid.to_string(), k.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("k1".to_owned(), SigningKeyStatus::Verifying),
            ("k2".to_owned(), SigningKeyStatus::Active)
        ]
    );
    assert_eq!(store.changes_since(head, 10).await.unwrap().len(), 2);

    assert!(matches!(
        store.remove_signing_key(&"k2".parse().unwrap(), at(3), None).await,
        Err(StoreError::Conflict { .. })
    ));
    store.remove_signing_key(&"k1".parse().unwrap(), at(3), None).await.unwrap();
    assert_eq!(store.signing_keys().await.unwrap().len(), 1);
    assert!(matches!(
        store.promote_signing_key(&"k1".parse().unwrap(), at(4), None).await,
        Err(StoreError::NotFound { .. })
    ));
    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(snapshot.signing_keys.len(), 1);
}
