//! keygate: the API-key layer a Kafka- or Pulsar-compatible broker (or a gateway in front of
//! one) links in.
//!
//! A broker author's whole job, with `keygate-tokio` for the server side and `keygate-wire` for
//! the SASL mechanisms: a store, an authenticator kept current from it, SASL/PLAIN and
//! OAUTHBEARER authentication, and the connections of a revoked key closed.
//!
//! ```
//! use std::sync::Arc;
//! use keygate::core::{KeyFormat, ResourceRef, Scope, SigningAlgorithm};
//! use keygate::{Actor, KeyManager, NewKey, NewPrincipal, store::InMemoryStore};
//! use keygate::token::MasterKey;
//! use keygate_tokio::{Ending, FrameReader, Server, ServerConfig};
//! use keygate_wire::{InitialResponse, PlainMessage, encode_initial_response, encode_plain};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The control plane, as the `keygate` command does it: a service account and two keys.
//! let store = Arc::new(InMemoryStore::new()); // or keygate_store_sql::SqlStore::open_location
//! // Seals private signing keys before they reach the store; the broker below never needs it.
//! let master_key = Arc::new(MasterKey::generate()?);
//! let manager = KeyManager::new(store.clone()).with_master_key(master_key);
//! let ops = Actor::new("user:ops")?;
//! manager.create_principal(&ops, NewPrincipal::service_account("orders".parse()?)).await?;
//! manager.create_signing_key(&ops, SigningAlgorithm::EdDSA, None).await?;
//! let cluster: ResourceRef = "kafka-cluster/lkc-abc123".parse()?;
//! let new_key = || NewKey::new("orders".parse().unwrap(), Scope::Resource(cluster.clone()));
//! let opaque = manager.create_key(&ops, new_key()).await?;
//! let jwt = manager.create_key(&ops, new_key().with_format(KeyFormat::Jwt)).await?;
//!
//! // The broker: an authenticator synced from the store now and every 100 ms after.
//! let server = Server::start(store, cluster, ServerConfig::default()).await?;
//!
//! // SASL/PLAIN on one connection: parse, authenticate, finish, establish.
//! let peer = std::net::Ipv4Addr::LOCALHOST.into();
//! let mut plain_connection = server.admit(peer)?;
//! let message = encode_plain(&opaque.record.id().to_string(), opaque.secret.expose());
//! let plain = PlainMessage::parse(&message)?;
//! let identity = server.authenticate(&plain.credential(), None)?;
//! plain_connection.established(plain.finish(identity, None)?)?;
//!
//! // SASL/OAUTHBEARER with the JWT API key on another, the same way.
//! let mut bearer_connection = server.admit(peer)?;
//! let message = encode_initial_response(jwt.secret.expose(), &[]);
//! let initial = InitialResponse::parse(&message)?;
//! let identity = server.authenticate(&initial.credential(), None)?;
//! bearer_connection.established(initial.finish(identity, None)?)?;
//! assert_eq!(bearer_connection.identity().map(|i| i.principal().as_str()), Some("orders"));
//!
//! // Revoke the opaque key: its connection's task hears it at the next sync, and closes.
//! manager.revoke(&ops, opaque.record.id(), "leaked".parse()?).await?;
//! let (_client, socket) = tokio::io::duplex(64); // the connection's socket
//! let ending = plain_connection.next(&mut FrameReader::new(socket)).await.unwrap_err();
//! assert!(matches!(ending, Ending::Refused(_)), "{ending}");
//! # Ok(())
//! # }
//! ```
//!
//! Two planes:
//!
//! - The control plane, [`KeyManager`]: principals and keys through their whole life (create,
//!   list, describe, suspend, resume, revoke, rotate, delete), signing keys for JWT API keys,
//!   policy enforced, an audit event ([`AuditEvent`]) for every change, committed with it in the
//!   store's audit log. Private signing keys reach the store sealed under a master key
//!   ([`KeyManager::with_master_key`]) that the store never holds. Async, over the
//!   [`keygate_store::Store`] traits.
//! - The data plane, [`Authenticator`]: checks a [`Credential`] presented to a resource and
//!   returns an [`Identity`] or an [`AuthError`]. Synchronous, no I/O, no locks on the read
//!   path; it reads an immutable snapshot that a [`Replica`] keeps current from the store's
//!   change feed. A [`SessionRegistry`] turns each sync into the list of open connections that
//!   must close (their key was revoked or suspended) or re-authenticate sooner. It needs no
//!   private material: opaque keys are checked against digests and asymmetric JWT API keys
//!   against public keys; only HMAC-signed keys need the master key
//!   ([`AuthConfig::with_master_key`]).
//!
//! This crate does no I/O, spawns no task and reads the clock only through the
//! [`Clock`](keygate_core::Clock) it is given; `keygate-tokio` runs the replica's sync task and the
//! connections for servers on tokio.
//!
//! The two planes alone, with no server around them, on the in-memory store:
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
mod index;
mod manager;
mod profile;
mod replica;
mod session;
mod state;

pub use audit::{Actor, AuditAction, AuditEvent, AuditSink, MemoryAudit, NoAudit, Origin};
pub use authenticator::{AuthConfig, Authenticator, ExternalTokens, StateVersion};
pub use credential::{AuthContext, Credential};
pub use error::{AuthError, AuthFailure, ManagerError, SyncError, TokenRejection};
pub use identity::{CredentialId, Identity};
pub use manager::{
    IssuedKey, IssuedSecret, KeyManager, NewKey, NewPrincipal, Revoked, RevokedToken, Rotation,
    TokenRevocation,
};
pub use profile::Profile;
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
