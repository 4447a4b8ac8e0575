//! keygate: the API-key layer a Kafka- or Pulsar-compatible broker (or a gateway in front of
//! one) links in.
//!
//! Two planes:
//!
//! - The control plane, [`KeyManager`]: principals and keys through their whole life (create,
//!   list, describe, suspend, resume, revoke, rotate, delete), signing keys for JWT API keys,
//!   policy enforced, an audit event ([`AuditEvent`]) for every change. Async, over the
//!   [`keygate_store::Store`] traits.
//! - The data plane, [`Authenticator`]: checks a [`Credential`] presented to a resource and
//!   returns an [`Identity`] or an [`AuthError`]. Synchronous, no I/O, no locks on the read
//!   path; it reads an immutable snapshot that a [`Replica`] keeps current from the store's
//!   change feed. A [`SessionRegistry`] turns each sync into the list of open connections that
//!   must close (their key was revoked or suspended) or re-authenticate sooner.
//!
//! The core of this crate does no I/O and reads the clock only through the [`Clock`](keygate_core::Clock) it is
//! given. The optional `tokio` feature adds `Replica::spawn`, a background sync loop.
//!
//! The whole flow, on the in-memory store:
//!
//! ```
//! use std::sync::Arc;
//! use keygate::{Actor, AuthConfig, AuthContext, Authenticator, Credential, KeyManager, NewKey, NewPrincipal, Replica, Revoked};
//! use keygate::core::{Clock, ManualClock, Permission, Permissions, Scope, Timestamp};
//! use keygate::store::InMemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix(1_800_000_000)?));
//! let store = Arc::new(InMemoryStore::new());
//! let manager = KeyManager::new(store.clone()).with_clock(clock.clone());
//! let operator = Actor::new("user:ops@example.com")?;
//!
//! // Control plane: a service account and a produce-only key for one cluster.
//! manager.create_principal(&operator, NewPrincipal::service_account("orders".parse()?)).await?;
//! let cluster = "kafka-cluster/lkc-abc123".parse()?;
//! let issued = manager
//!     .create_key(&operator, NewKey::new("orders".parse()?, Scope::Resource(cluster))
//!         .with_permissions(Permissions::only([Permission::PRODUCE])))
//!     .await?;
//! let secret = issued.secret.expose(); // shown to the operator once
//!
//! // Data plane: a broker's authenticator, kept current by a replica.
//! let authenticator = Authenticator::new(AuthConfig::default());
//! let mut replica = Replica::new(authenticator.clone(), clock.clone());
//! replica.sync_once(&*store).await?;
//!
//! let broker = "kafka-cluster/lkc-abc123".parse()?;
//! let context = AuthContext::new(&broker, clock.now()).with_permission(&Permission::PRODUCE);
//! let identity = authenticator.authenticate(&Credential::ApiKey(secret), &context)?;
//! assert_eq!(identity.principal().as_str(), "orders");
//!
//! // Revoked: refused after the next sync.
//! let revoked = manager.revoke(&operator, issued.record.id(), "leaked".parse()?).await?;
//! assert!(matches!(revoked, Revoked::Now(_)));
//! replica.sync_once(&*store).await?;
//! assert!(authenticator.authenticate(&Credential::ApiKey(secret), &context).is_err());
//! # Ok(())
//! # }
//! ```

mod audit;
mod authenticator;
mod credential;
mod error;
mod identity;
mod manager;
mod replica;
mod session;
mod state;

pub use audit::{Actor, AuditAction, AuditEvent, AuditSink, MemoryAudit, NoAudit};
pub use authenticator::{AuthConfig, Authenticator, ExternalTokens};
pub use credential::{AuthContext, Credential};
pub use error::{AuthError, AuthFailure, ManagerError, SyncError};
pub use identity::{CredentialId, Identity};
pub use manager::{IssuedKey, IssuedSecret, KeyManager, NewKey, NewPrincipal, Revoked, Rotation};
pub use replica::Replica;
pub use session::{SessionId, SessionRegistry, SessionReview};
pub use state::SyncReport;

/// The model: keygate-core, re-exported.
pub use keygate_core as core;
/// Revocation lists: keygate-revocation, re-exported.
pub use keygate_revocation as revocation;
/// Storage traits and the in-memory store: keygate-store, re-exported.
pub use keygate_store as store;
/// Credentials: keygate-token, re-exported.
pub use keygate_token as token;
