//! The conformance suite: what every [`Store`] must do, as public async test cases.
//!
//! Each case takes a fresh, empty store and panics on the first violation, naming it. Run them
//! all with [`conformance_tests!`](crate::conformance_tests), which generates one test per case,
//! each on a new store from your factory, so a backend reports every failure by name:
//!
//! ```ignore
//! use std::sync::Arc;
//! use keygate_store::Store;
//!
//! async fn fresh_store() -> Arc<dyn Store> {
//!     Arc::new(MyStore::connect_to_an_empty_database().await)
//! }
//!
//! keygate_store::conformance_tests!(fresh_store);
//! ```
//!
//! The cases use fixed instants and ids, so failures reproduce; the concurrent ones run on a
//! multi-threaded runtime.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test cases report failures by panicking.

mod audit;
mod feed;
mod fixtures;
mod keys;
mod policy;
mod principals;
mod revocations;
mod signing;
mod watch;

pub use audit::*;
pub use feed::*;
pub use keys::*;
pub use policy::*;
pub use principals::*;
pub use revocations::*;
pub use signing::*;
pub use watch::*;

use std::sync::Arc;

use crate::Store;

/// What a factory given to [`conformance_tests!`](crate::conformance_tests) returns: the store
/// for one case, and whatever must live as long as the case does.
///
/// - `Arc<S>`: the store.
/// - `(guard, Arc<S>)`: the store, and a value dropped after the case (a temporary directory
///   holding the database file, say).
/// - `Option<F>`: `None` skips the case, for a backend that needs something outside the test
///   (a database server) that is missing. The factory should then say by name what it skipped,
///   so a skip is never silent.
pub trait Fixture {
    /// The store the cases run on.
    type Store: Store + ?Sized;

    /// The store, or `None` to skip the case.
    fn store(&self) -> Option<Arc<Self::Store>>;
}

impl<S: Store + ?Sized> Fixture for Arc<S> {
    type Store = S;

    fn store(&self) -> Option<Arc<S>> {
        Some(Arc::clone(self))
    }
}

impl<G, S: Store + ?Sized> Fixture for (G, Arc<S>) {
    type Store = S;

    fn store(&self) -> Option<Arc<S>> {
        Some(Arc::clone(&self.1))
    }
}

impl<F: Fixture> Fixture for Option<F> {
    type Store = F::Store;

    fn store(&self) -> Option<Arc<F::Store>> {
        self.as_ref().and_then(Fixture::store)
    }
}

/// Generates one `#[test]` per conformance case, each on a fresh store from `$factory`, an async
/// function (or closure returning a future) that returns a [`Fixture`]: `Arc<S>` for some
/// `S: Store`, or one of the forms that [`Fixture`] lists.
///
/// The tests run on a multi-threaded tokio runtime that this crate provides; the calling crate
/// needs no tokio dependency of its own.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            principal_create_get, principal_create_twice, principal_missing, principal_list_pages,
            principal_delete_cascades, principal_delete_missing, key_insert_get, key_insert_refusals,
            key_quota_counts_live_keys, key_quota_under_concurrent_inserts, key_list_filters,
            key_list_pages_stable_under_inserts, key_update_description, key_compare_and_set,
            key_concurrent_revokes, key_shorten_expiry, key_rotate, key_rotate_refusals, key_delete,
            key_missing, feed_records_every_mutation, feed_failed_mutations_record_nothing,
            feed_tailing_reader_under_concurrent_writers, feed_snapshot_is_consistent, feed_streamed_snapshot_is_consistent, feed_compaction,
            revocations, signing_keys, audit_every_mutation_appends_its_record,
            audit_failed_mutations_append_nothing, audit_under_concurrent_writers,
            policy_set_and_read, key_quota_per_resource, resource_keys_revoked_together,
            resource_keys_revoked_with_their_parts, resource_deletion_is_remembered_until_restored, role_bindings_follow_their_principals,
            key_names_are_unique_per_owner, principal_update, audit_query_filters,
            key_uses_move_forward, watch_announces_each_change_after_it_is_visible,
            watch_failed_mutations_announce_nothing, watch_every_watch_hears_concurrent_writers
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            $crate::__private::tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(async {
                    let fixture = ($factory)().await;
                    if let Some(store) = $crate::conformance::Fixture::store(&fixture) {
                        $crate::conformance::$case(store).await;
                    }
                    drop(fixture);
                });
        }
    )*};
}
