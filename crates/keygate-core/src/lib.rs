//! The keygate model: who owns API keys, where keys are valid, what they may do, when they
//! expire, and how they are rotated, as plain data and pure rules.
//!
//! This crate does no I/O: no sockets, no files, no randomness of its own, no async, and no rule
//! reads the clock. Every rule is a function of its inputs and `now`; time comes in as a
//! [`Timestamp`] argument or through a [`Clock`] the embedder passes ([`SystemClock`] is the one
//! place that reads the system's, for embedders to pass), and randomness through
//! [`SecureRandom`]. It has no optional features.
//!
//! The pieces:
//!
//! - Identifiers, built by parsing so that an invalid one cannot exist: [`PrincipalId`],
//!   [`KeyId`], [`ResourceRef`] (`kind/id`), [`Permission`], [`SigningKeyId`].
//! - [`Principal`]: a service account or a user, the owner of keys.
//! - [`Scope`]: one resource, the management API (`cloud`), or everything.
//! - [`Permissions`]: an optional restriction that narrows and never widens.
//! - [`Timestamp`], [`Span`], [`Expiry`], [`Lifetime`], [`ExpiryPolicy`]: time, in whole seconds;
//!   [`Validity`]: the one rule for not-before and expiry, with leeway.
//! - [`KeyRecord`] and its lifecycle ([`KeyState`], [`Transition`], [`KeyStatus`]).
//! - [`KeyPolicy`]: quota, expiry bounds, user keys, default rotation overlap.
//! - [`rotation`]: planning a rotation, and the listings scheduled jobs need.
//!
//! Every record type implements serde with documented, stable field names, because stores
//! persist them and replicas ship them.
//!
//! ```
//! use keygate_core::{
//!     DigestScheme, Expiry, KeyFormat, KeyId, KeyPolicy, KeyRecord, KeyTemplate, Lifetime,
//!     Permission, Permissions, Principal, PrincipalKind, Scope, SecretDigest, Span, Timestamp,
//! };
//!
//! let now = Timestamp::from_unix(1_800_000_000)?;
//! let policy = KeyPolicy::default();
//! let owner = Principal::new("orders-service".parse()?, PrincipalKind::ServiceAccount, now);
//!
//! // A produce-only key for one Kafka cluster, expiring in 90 days.
//! let cluster = "kafka-cluster/lkc-abc123".parse()?;
//! let expires = policy.expiry.resolve("90d".parse::<Lifetime>()?, now)?;
//! let template = KeyTemplate::new(owner.id.clone(), Scope::Resource(cluster), KeyFormat::Opaque, expires)
//!     .with_permissions(Permissions::only([Permission::PRODUCE]));
//! policy.check_new_key(&owner, &template, now)?;
//!
//! // keygate-token generates the id and the secret; the record keeps only a digest.
//! let digest = SecretDigest::new(DigestScheme::Sha256, [0x5a; 32]);
//! let key = KeyRecord::issue(template, KeyId::from_bytes([7; 10]), now, Some(digest))?;
//!
//! let broker = "kafka-cluster/lkc-abc123".parse()?;
//! assert!(key.is_usable_at(now) && key.scope().admits(&broker));
//! assert!(key.permissions().permits(&Permission::PRODUCE));
//! assert!(!key.permissions().permits(&Permission::CONSUME));
//! assert!(!key.is_usable_at(now.checked_add(Span::days(90))?));
//! # Ok::<(), keygate_core::Error>(())
//! ```

pub mod base32;
mod error;
mod expiry;
mod key_id;
mod lifecycle;
mod permission;
mod policy;
mod principal;
mod random;
mod record;
mod resource;
mod role;
pub mod rotation;
mod scope;
mod signing;
mod span;
mod text;
mod timestamp;
mod validity;

pub use error::Error;
pub use expiry::{Expiry, ExpiryPolicy, Lifetime};
pub use key_id::KeyId;
pub use lifecycle::{KeyState, KeyStatus, Transition};
pub use permission::{Permission, Permissions};
pub use policy::KeyPolicy;
pub use principal::{Principal, PrincipalId, PrincipalKind};
pub use random::SecureRandom;
pub use record::{DigestScheme, KeyFormat, KeyRecord, KeyRecordParts, KeyTemplate, SecretDigest};
pub use resource::{ResourceKind, ResourceRef};
pub use role::{Role, RoleBinding};
pub use scope::Scope;
pub use signing::{SigningAlgorithm, SigningKeyId};
pub use span::Span;
pub use text::{Description, DisplayName, KeyName};
pub use timestamp::{Clock, ManualClock, SystemClock, Timestamp};
pub use validity::{DEFAULT_LEEWAY, Validity, ValidityError};
