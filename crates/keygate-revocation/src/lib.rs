//! keygate's revocation list: versioned, lock-free, and bounded by what is still alive.
//!
//! This crate does no I/O and reads no clock; every check and update takes `now`. It has no
//! optional features.
//!
//! # What it holds
//!
//! A [`Revocation`] names a credential one of five ways: a keygate key id (which is also the `jti`
//! of keygate's JWTs), a `jti` minted elsewhere, the SHA-256 of a whole token (for tokens with no
//! `jti`, such as Pulsar's), a principal watermark (everything of a principal issued before an
//! instant, and its credentials with no issue time), or a signing key id. Each entry remembers
//! when the credential it revokes expires.
//!
//! # Versions
//!
//! A list is at a version. [`Snapshot`] carries every entry at one version; a [`Delta`] carries
//! what was added from version `a` to version `b`. Applying a delta that does not start at the
//! current version is refused ([`Error::OutOfOrder`], whose
//! [`needs_resync`](Error::needs_resync) tells the caller to restore a snapshot); applying one
//! already applied changes nothing; consecutive deltas compose. Deltas only ever add, so a
//! revocation stays in force until it is pruned.
//!
//! # Pruning
//!
//! [`RevocationSet::pruned`] drops entries whose credentials expired more than a leeway ago, so
//! memory is bounded by live revoked credentials, not by history. With a leeway at least the one
//! verifiers give expiry, a credential that any verifier could still accept keeps its entry.
//! Pruning is local: it does not change the version.
//!
//! # Freshness
//!
//! A set records when it was last synced. A check is given a [`Freshness`]: past its bound, the
//! answer is [`Error::StatusUnknown`] and the credential is refused. Accepting a stale list takes
//! the named [`Freshness::accept_stale`].
//!
//! # Concurrency
//!
//! [`RevocationSet`] is immutable and cheap to clone (its maps are copy-on-write shards): an
//! update builds the next set beside the current one, copying only the shards it touches, and
//! the embedder publishes it with one atomic pointer swap (the keygate facade swaps its whole
//! authenticator state, keys and revocations together), so many threads check at once, never
//! block, and never see half a delta.
//!
//! ```
//! use keygate_core::{Expiry, KeyId, Timestamp};
//! use keygate_revocation::{CredentialFacts, Delta, Error, Freshness, Reason, Revocation, RevocationSet};
//!
//! let now = Timestamp::from_unix(1_800_000_000)?;
//! let leaked = KeyId::from_bytes([7; 10]);
//!
//! let delta = Delta::new(0, 1, vec![Revocation::Key { id: leaked, expires: Expiry::Never }])?;
//! let list = RevocationSet::new().with_delta(&delta, now)?.ok_or("already applied")?;
//!
//! let facts = CredentialFacts::new().with_key_id(leaked);
//! assert_eq!(
//!     list.check(&facts, &Freshness::default(), now).unwrap_err(),
//!     Error::Revoked(Reason::Key(leaked)),
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod delta;
mod entry;
mod error;
mod freshness;
mod key_map;
mod set;
mod shard;

pub use delta::{Delta, Snapshot};
pub use entry::{CredentialFacts, MAX_JTI_LEN, Reason, Revocation, TokenDigest};
pub use error::Error;
pub use freshness::{DEFAULT_MAX_STALENESS, Freshness};
pub use key_map::KeyIdMap;
pub use set::{NotRevoked, RevocationSet};
