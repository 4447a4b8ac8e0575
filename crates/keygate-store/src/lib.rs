//! keygate's storage: object-safe async traits for principals, keys, revocations, signing keys,
//! the audit log and the change feed; [`InMemoryStore`]; [`FaultyStore`] for testing the layers above; and,
//! behind the `conformance` feature, the suite every backend runs.
//!
//! This crate does no I/O of its own and reads no clock: mutations take the instant they happen
//! at. Backends (the in-memory one here, SQLite and PostgreSQL in keygate-store-sql) do the
//! I/O.
//!
//! # The contract
//!
//! The traits ([`PrincipalStore`], [`KeyStore`], [`RevocationStore`], [`SigningKeyStore`],
//! [`AuditLog`], [`ChangeFeed`], together [`Store`]) are small, and each method documents its atomicity and its
//! errors. The races are part of the contract, as in object_store's conditional writes:
//!
//! - create-if-absent: creating a principal or key that exists is `AlreadyExists`;
//! - quota and insert in one step: concurrent inserts for one principal never exceed the quota;
//! - compare-and-set on a key's state: of many concurrent revocations, exactly one happens;
//! - cascade delete of a principal and its keys in one step;
//! - rotation (insert the replacement, shorten the old key) in one step;
//! - every mutation appends its change to the feed in the same atomic step, with sequence
//!   numbers in commit order, so a reader tailing [`ChangeFeed::changes_since`] never skips one;
//! - every mutation appends the [`AuditRecord`] it is given to the audit log in that same step:
//!   a change is never without its audit event, and a failed append fails the change;
//! - private signing keys are stored [`Sealed`] only, never in the clear.
//!
//! A store that can tell readers its feed moved hands out a [`ChangeWatch`] from
//! [`ChangeFeed::watch`], raised through a [`ChangeSignal`] after each commit; readers then read
//! the feed as always, so a lost notification costs freshness, never a change.
//!
//! Errors ([`StoreError`]) come in categories a caller can act on: not found, already exists,
//! conflict (with the current value), quota exceeded (with limit and count), compacted,
//! unavailable and backend (with their sources). They never hold secrets.
//!
//! The rules every backend must apply identically (tombstones on deletion, state changes,
//! rotation checks) are pure functions in [`backend`].
//!
//! # Running the conformance suite on a backend
//!
//! With the `conformance` feature, the `conformance` module has one public async function per case and
//! `conformance_tests!` generates one `#[test]` per case, each on a fresh store:
//!
//! ```toml
//! [dev-dependencies]
//! keygate-store = { version = "0.1", features = ["conformance"] }
//! ```
//!
//! ```ignore
//! async fn fresh() -> std::sync::Arc<MyStore> { std::sync::Arc::new(MyStore::empty().await) }
//! keygate_store::conformance_tests!(fresh);
//! ```
//!
//! # Example
//!
//! ```
//! use keygate_core::{Principal, PrincipalKind, Timestamp};
//! use keygate_store::{ChangeEvent, ChangeFeed, InMemoryStore, PrincipalStore, Seq};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = InMemoryStore::new();
//! let now = Timestamp::from_unix(1_800_000_000)?;
//! let orders = Principal::new("orders".parse()?, PrincipalKind::ServiceAccount, now);
//! store.create_principal(&orders, None).await?;
//!
//! let changes = store.changes_since(Seq::ZERO, 10).await?;
//! assert!(matches!(&changes[0].event, ChangeEvent::PrincipalCreated { principal } if principal.id == orders.id));
//! # Ok(())
//! # }
//! ```

mod audit;
pub mod backend;
mod change;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod faulty;
mod memory;
mod query;
mod signing;
mod traits;
mod watch;

pub use audit::{AuditEntry, AuditQuery, AuditRecord, is_action_name};
pub use change::{Change, ChangeEvent, Seq, SnapshotSink, StoreSnapshot};
pub use error::StoreError;
pub use faulty::{FaultyStore, Operation, When};
pub use memory::InMemoryStore;
pub use query::{DeletedPrincipal, KeyFilter, KeyUse, Page, PageRequest, Quota, Rotated};
pub use signing::{Sealed, SecretBytes, SigningKeyRecord, SigningKeyStatus, VerificationMaterial};
pub use traits::{
    AuditLog, ChangeFeed, KeyStore, PolicyStore, PrincipalStore, RevocationStore, RoleBindingStore,
    SigningKeyStore, Store, UsageStore,
};
pub use watch::{ChangeSignal, ChangeWatch, Notice, Reach};

#[doc(hidden)]
#[cfg(feature = "conformance")]
pub mod __private {
    pub use tokio;
}
