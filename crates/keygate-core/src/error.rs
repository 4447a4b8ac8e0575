//! The one error type of keygate-core.

use crate::{KeyStatus, Span};

/// Everything that can go wrong in the model: a value that does not parse, time arithmetic that
/// leaves the supported range, a lifecycle transition that is not allowed, or a policy bound
/// that a new key would cross.
///
/// Messages are lowercase, name the bound that was crossed, and never repeat the rejected input
/// in full: identifiers can arrive from untrusted credentials, so a message points at the
/// offending byte instead of echoing the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value that must not be empty was empty.
    #[error("{what} is empty")]
    Empty {
        /// What was being parsed, e.g. "principal id".
        what: &'static str,
    },

    /// A number too large for what it counts.
    #[error("{what} is too large; the most is {max}")]
    TooLarge {
        /// What was being parsed.
        what: &'static str,
        /// The largest accepted, as text.
        max: &'static str,
    },

    /// A value is longer than its bound.
    #[error("{what} is {len} bytes long; the limit is {max}")]
    TooLong {
        /// What was being parsed.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The longest allowed length in bytes.
        max: usize,
    },

    /// A value holds a byte outside its alphabet.
    #[error("{what} has a character that is not allowed at byte {at}; allowed: {allowed}")]
    InvalidCharacter {
        /// What was being parsed.
        what: &'static str,
        /// Byte offset of the first offending character.
        at: usize,
        /// A description of the allowed alphabet.
        allowed: &'static str,
    },

    /// A value does not have the expected shape.
    #[error("{what} is malformed: expected {expected}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// The expected shape, e.g. "kind/id".
        expected: &'static str,
    },

    /// A timestamp outside 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z.
    #[error("timestamp {seconds} is outside the supported range 0..={max} (unix seconds)", max = crate::Timestamp::MAX.unix())]
    TimestampOutOfRange {
        /// The rejected value in unix seconds.
        seconds: i128,
    },

    /// Adding a span to a timestamp left the supported range.
    #[error("{span} after {at} is past the end of the supported time range")]
    TimeOverflow {
        /// The timestamp the span was added to, in unix seconds.
        at: i64,
        /// The span that was added.
        span: Span,
    },

    /// The randomness source could not produce bytes.
    #[error("the secure random source failed")]
    RandomUnavailable,

    /// A lifecycle transition that the key's current status does not allow.
    #[error("cannot {transition} a key that is {status}")]
    IllegalTransition {
        /// The attempted transition: "suspend", "resume", "revoke" or "rotate".
        transition: &'static str,
        /// The key's status when it was attempted.
        status: KeyStatus,
    },

    /// The principal already owns as many live keys as policy allows.
    #[error("key quota exceeded: the principal has {count} live keys and the limit is {limit}")]
    QuotaExceeded {
        /// Keys per principal allowed by policy.
        limit: u32,
        /// Live keys the principal holds now.
        count: u32,
    },

    /// A key that never expires was requested where policy requires an expiry.
    #[error("keys must expire under this policy (at most {max} after creation)")]
    NeverExpiryNotAllowed {
        /// The longest lifetime the policy allows, if it has one.
        max: crate::Lifetime,
    },

    /// The requested expiry is not after the time of creation.
    #[error("the expiry must be after the time of creation")]
    ExpiryNotInFuture,

    /// The requested lifetime is longer than policy allows.
    #[error("a lifetime of {requested} exceeds the policy maximum of {max}")]
    LifetimeTooLong {
        /// The lifetime that was requested.
        requested: Span,
        /// The policy maximum.
        max: Span,
    },

    /// The requested lifetime is shorter than policy allows.
    #[error("a lifetime of {requested} is below the policy minimum of {min}")]
    LifetimeTooShort {
        /// The lifetime that was requested.
        requested: Span,
        /// The policy minimum.
        min: Span,
    },

    /// Policy forbids keys owned by users; keys must belong to service accounts.
    #[error("policy allows keys for service accounts only, not for users")]
    UserKeysNotAllowed,

    /// A change would push a key's expiry later; expiries only move forward.
    #[error("a key's expiry can only be brought forward, never pushed back")]
    ExpiryWouldLengthen,

    /// A key record is internally inconsistent, e.g. an opaque key without a secret digest.
    #[error("inconsistent key record: {0}")]
    InconsistentRecord(&'static str),
}
