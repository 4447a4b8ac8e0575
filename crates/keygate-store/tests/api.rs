//! keygate-store's own tests: the conformance suite on the in-memory store, directly and through
//! `Box<dyn Store>` and `Arc<dyn Store>`, and the fault-injecting wrapper.

// Tests may panic on setup failures; that is how they report them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use keygate_store::{InMemoryStore, Store};

mod direct {
    use super::*;
    keygate_store::conformance_tests!(|| async { Arc::new(InMemoryStore::new()) });
}

mod through_arc_dyn {
    use super::*;
    keygate_store::conformance_tests!(|| async {
        Arc::new(InMemoryStore::new()) as Arc<dyn Store>
    });
}

mod through_box_dyn {
    use super::*;
    keygate_store::conformance_tests!(|| async {
        Arc::new(Box::new(InMemoryStore::new()) as Box<dyn Store>)
    });
}

mod faults {
    use keygate_core::{Principal, PrincipalKind};
    use keygate_store::{
        ChangeFeed, FaultyStore, Operation, PrincipalStore, Seq, StoreError, When,
    };
    use keygate_testkit::T0;

    use super::*;

    fn alice() -> Principal {
        Principal::new("alice".parse().unwrap(), PrincipalKind::ServiceAccount, T0)
    }

    #[tokio::test]
    async fn a_fault_before_the_call_means_it_did_not_happen() {
        let store = FaultyStore::new(InMemoryStore::new());
        store.fail_next(Operation::CreatePrincipal, When::Before, 1);
        let error = store.create_principal(&alice(), None).await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert_eq!(store.head().await.unwrap(), Seq::ZERO);
        store.create_principal(&alice(), None).await.unwrap();
        assert_eq!(store.injected(), 1);
    }

    #[tokio::test]
    async fn a_fault_after_the_call_hides_that_it_happened() {
        let store = FaultyStore::new(InMemoryStore::new());
        store.fail_next(Operation::CreatePrincipal, When::After, 1);
        assert!(store.create_principal(&alice(), None).await.is_err());
        // It did happen: a retry finds it.
        assert!(matches!(
            store.create_principal(&alice(), None).await,
            Err(StoreError::AlreadyExists { .. })
        ));
    }

    #[tokio::test]
    async fn random_faults_are_reproducible_by_seed() {
        let outcomes = |seed| async move {
            let store = FaultyStore::new(InMemoryStore::new());
            store.fail_randomly(30, When::Before, seed);
            let mut outcomes = Vec::new();
            for _ in 0..64 {
                outcomes.push(store.head().await.is_ok());
            }
            outcomes
        };
        let first = outcomes(7).await;
        assert_eq!(first, outcomes(7).await);
        assert_ne!(first, outcomes(8).await);
        let failures = first.iter().filter(|ok| !**ok).count();
        assert!((5..=35).contains(&failures), "{failures} of 64 failed at 30%");
    }
}
