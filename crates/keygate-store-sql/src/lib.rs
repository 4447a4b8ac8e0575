//! keygate's SQL stores: [`SqlStore`] implements every [`keygate_store`] trait on SQLite (the
//! embedded default, and the `keygate` command's) or PostgreSQL (the store a fleet of brokers
//! shares), and passes the whole conformance suite on both.
//!
//! This is the one keygate crate that does I/O: it opens files and connections, through sqlx.
//!
//! # Opening a store
//!
//! - [`SqlStore::open`]: a SQLite file, created if missing, in WAL mode with a busy timeout and
//!   foreign keys on.
//! - [`SqlStore::in_memory`]: a private SQLite database that lives as long as the store.
//! - [`SqlStore::connect`]: a `postgres://` (or `sqlite:`) URL, with a connection pool.
//!
//! Opening applies the embedded, versioned, forward-only migrations, each in its own
//! transaction. It refuses, with a clear error and without writing anything, a file that is
//! not a SQLite database, a database holding tables keygate did not create, and a schema newer
//! than this build knows. An unreachable server is [`StoreError::Unavailable`]; the other
//! refusals are [`StoreError::Backend`] whose source is an [`SqlError`].
//!
//! # How it keeps the contract
//!
//! Every mutation is one transaction that first locks the change feed's head row (`SELECT ...
//! FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), applies the rules of
//! [`keygate_store::backend`], appends its changes, and moves the head. Writers are therefore
//! serialised, sequence numbers follow commit order, and a reader tailing the feed never skips a
//! change. Nothing depends on advisory locks or extensions, so the SQL runs on
//! Postgres-compatible distributed databases too. A failed or interrupted mutation rolls back
//! whole: no partial principal, key or feed entry is ever visible.
//!
//! # Notifications
//!
//! [`ChangeFeed::watch`](keygate_store::ChangeFeed::watch) tells readers the feed moved, so a
//! replica hears of a revocation at once instead of at its next poll. On PostgreSQL each write
//! sends `NOTIFY` in its own transaction, delivered only when it commits, to one listening
//! connection per store, which is reconnected with backoff when lost (it calls itself
//! [`LISTENER_APPLICATION_NAME`] unless the URL names an application). On SQLite the
//! notifications reach only the stores opened on the same file in this process. Correctness
//! never rests on them: readers read the feed as always, and keep a slow poll for what a lost
//! notification did not say. A Postgres-compatible database without `pg_notify` opens as a store
//! that does not notify.
//!
//! The audit record a mutation is given is appended to `keygate_audit` in the same transaction:
//! a change that commits has its audit entry, and a failed append rolls the change back.
//!
//! Records are stored as JSON text beside the columns that are filtered, ordered or locked on;
//! id columns order bytewise, as the ids do in Rust. Private signing keys are stored only as
//! the [`Sealed`](keygate_store::Sealed) bytes a caller gives; stores of schema 2 kept them in
//! the clear, and [`SqlStore::seal_plaintext_signing_keys`] seals what such a store still holds.
//! A SQLite store is created readable by its owner only, and deleted content is overwritten
//! (`secure_delete`), so a sealed key leaves no plaintext behind in free pages.
//!
//! One code path serves both databases through sqlx's `Any` driver, which [`SqlStore`] installs
//! (SQLite and PostgreSQL) unless the embedder installed drivers first; the few statements that
//! differ are chosen per backend.
//!
//! # Features
//!
//! - `fault-injection`: `SqlStore::inject_fault`, which cuts a write off mid-transaction, for
//!   durability tests. Off by default; never enable it in production.
//!
//! # Example
//!
//! ```
//! use keygate_core::{Principal, PrincipalKind, Timestamp};
//! use keygate_store::{ChangeFeed, PrincipalStore, Seq};
//! use keygate_store_sql::SqlStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqlStore::in_memory().await?;
//! let now = Timestamp::from_unix(1_800_000_000)?;
//! store.create_principal(&Principal::new("orders".parse()?, PrincipalKind::ServiceAccount, now), None).await?;
//! assert_eq!(store.head().await?, Seq(1));
//! # Ok(())
//! # }
//! ```

mod audit;
mod codec;
mod dialect;
mod error;
#[cfg(feature = "fault-injection")]
mod fault;
mod feed;
mod import;
mod keys;
mod notify;
mod principals;
mod revocations;
mod schema;
mod signing;
mod store;
mod writer;

pub use dialect::Backend;
pub use error::SqlError;
#[cfg(feature = "fault-injection")]
pub use fault::Fault;
pub use notify::LISTENER_APPLICATION_NAME;
pub use schema::SCHEMA_VERSION;
pub use store::{SqlOptions, SqlStore, readable_by_others};

#[doc(no_inline)]
pub use keygate_store::StoreError;
