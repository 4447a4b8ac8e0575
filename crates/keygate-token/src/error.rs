//! The one error type of keygate-token.

use std::borrow::Cow;

use keygate_core::{SigningAlgorithm, Timestamp, ValidityError};

/// Everything that can go wrong when loading keys, minting, or verifying credentials.
///
/// The variants fall in three groups, kept apart so callers can tell them apart:
///
/// - **The presented credential is bad** (untrusted input, the client's problem): malformed
///   tokens and API keys, signatures that do not verify, and claims that fail a check.
///   Cryptographic failures are coarse ([`Error::InvalidSignature`], never why); time and policy
///   failures are rich ([`Error::Expired`] says when).
/// - **Key material is bad** (the operator's problem): [`Error::KeyRejected`] and
///   [`Error::KeyFormat`], raised when keys are loaded, never on the hot path.
/// - **The environment failed**: no randomness, or a signing operation that failed.
///
/// No message contains a secret, a whole token, key material, or an untrusted string from the
/// token (such as a `kid` or an `aud` value): only names, instants and configured values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is longer than the configured limit; nothing was decoded.
    #[error("token is {len} bytes long; the limit is {max}")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// The token is not a well-formed compact JWS, for the reason given.
    #[error("malformed token: {0}")]
    Malformed(Malformed),

    /// The header names `alg: none`, which never verifies.
    #[error("unsecured tokens (alg none) are never accepted")]
    AlgorithmNone,

    /// The header names an algorithm keygate does not implement.
    #[error("the token's algorithm is not supported")]
    UnsupportedAlgorithm,

    /// The header carries a parameter keygate refuses outright (`crit`, a key or key URL, or
    /// JWE and compression parameters).
    #[error("tokens with a {0} header are not accepted")]
    UnsupportedHeader(&'static str),

    /// No configured verification key has the token's `kid`.
    #[error("no verification key matches the token's kid")]
    UnknownKeyId,

    /// The token has no `kid` and there is no key to use without one.
    #[error("the token has no kid, and no single key is configured to verify tokens without one")]
    MissingKeyId,

    /// The token's `alg` is not the one algorithm its key is bound to.
    #[error("the token is signed with {presented}, but its key is bound to {expected}")]
    AlgorithmMismatch {
        /// The algorithm of the key.
        expected: SigningAlgorithm,
        /// The algorithm in the token's header.
        presented: SigningAlgorithm,
    },

    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,

    /// The token has expired.
    #[error("the token expired at {at} (now {now})")]
    Expired {
        /// Its `exp`.
        at: Timestamp,
        /// The time of the check.
        now: Timestamp,
    },

    /// The token is not valid yet.
    #[error("the token is not valid before {at} (now {now})")]
    NotYetValid {
        /// Its `nbf`.
        at: Timestamp,
        /// The time of the check.
        now: Timestamp,
    },

    /// The token claims to have been issued in the future.
    #[error("the token was issued in the future, at {at} (now {now})")]
    IssuedInFuture {
        /// Its `iat`.
        at: Timestamp,
        /// The time of the check.
        now: Timestamp,
    },

    /// A required claim is absent.
    #[error("the token has no {0} claim")]
    MissingClaim(Cow<'static, str>),

    /// A claim has the wrong JSON type or an unacceptable value.
    #[error("the token's {0} claim is invalid")]
    InvalidClaim(Cow<'static, str>),

    /// A claim appears twice.
    #[error("the token's {0} claim appears more than once")]
    DuplicateClaim(Cow<'static, str>),

    /// The audience does not include what this verifier requires.
    #[error("the token's audience does not include {expected}")]
    WrongAudience {
        /// The audience the verifier requires (one of them, if several are accepted).
        expected: String,
    },

    /// The token names an audience, and this verifier is not configured with one.
    #[error("the token is addressed to an audience, and this verifier accepts none")]
    UnexpectedAudience,

    /// The issuer is not one the verifier accepts.
    #[error("the token's issuer is not accepted")]
    WrongIssuer,

    /// The header's `typ` is not the one the verifier requires.
    #[error("the token's type is not {expected}")]
    WrongType {
        /// The required `typ`.
        expected: String,
    },

    /// An opaque API key is not in keygate's format.
    #[error("malformed API key: {0}")]
    MalformedApiKey(&'static str),

    /// An opaque API key's checksum does not match: a typo, a truncation, or not a keygate key.
    #[error("the API key's checksum does not match")]
    ApiKeyChecksum,

    /// The secret does not match the stored digest.
    #[error("the secret does not match")]
    SecretMismatch,

    /// The key id presented beside an API key is not the one embedded in it.
    #[error("the key id does not match the API key")]
    KeyIdMismatch,

    /// Key material was refused when loading it, for the stated reason.
    #[error("key rejected: {0}")]
    KeyRejected(&'static str),

    /// The key is of another kind than the algorithm it was declared for.
    #[error("{key} cannot be used with {declared}; use {suggested}")]
    KeyAlgorithmMismatch {
        /// What the key is, in words ("an EC P-256 key").
        key: &'static str,
        /// The algorithm it was declared for.
        declared: SigningAlgorithm,
        /// The algorithms that fit it.
        suggested: &'static str,
    },

    /// Key material is in a format keygate does not read.
    #[error("unrecognised key format: {0}")]
    KeyFormat(&'static str),

    /// The operation needs something the key cannot do, e.g. exporting a public JWK of an HMAC
    /// secret.
    #[error("{0}")]
    Unsupported(&'static str),

    /// Signing failed inside the cryptographic library.
    #[error("signing failed")]
    Signing,

    /// A model rule failed, or the random source did.
    #[error(transparent)]
    Core(#[from] keygate_core::Error),
}

impl From<ValidityError> for Error {
    fn from(error: ValidityError) -> Error {
        match error {
            ValidityError::Expired { at, now } => Error::Expired { at, now },
            ValidityError::NotYetValid { at, now } => Error::NotYetValid { at, now },
        }
    }
}

/// Which rule of the compact JWS form a token broke: the reason of [`Error::Malformed`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// It does not have exactly three dot-separated segments.
    #[error("a compact JWS has exactly three segments")]
    Segments,
    /// The header is not unpadded, canonical base64url.
    #[error("the header is not unpadded base64url")]
    HeaderEncoding,
    /// The payload is not unpadded, canonical base64url.
    #[error("the payload is not unpadded base64url")]
    PayloadEncoding,
    /// The signature is not unpadded, canonical base64url.
    #[error("the signature is not unpadded base64url")]
    SignatureEncoding,
    /// The header is not a JSON object.
    #[error("the header is not a JSON object")]
    HeaderNotObject,
    /// The header is not JSON at all (only tools that show unverified tokens say this).
    #[error("the header is not JSON")]
    HeaderNotJson,
    /// The header names `alg` twice.
    #[error("the header has two alg members")]
    TwoAlgs,
    /// The header's `alg` is not a string.
    #[error("the header's alg is not a string")]
    AlgNotString,
    /// The header repeats a member keygate reads.
    #[error("the header repeats a member")]
    RepeatedHeaderMember,
    /// A header member keygate reads (`kid`, `typ`, `cty`) is not a string.
    #[error("a header member is not a string")]
    HeaderMemberNotString,
    /// The header has no `alg`.
    #[error("the header has no alg")]
    NoAlg,
    /// The header's `kid` has characters outside keygate's alphabet.
    #[error("the header's kid has characters keygate does not accept")]
    KidCharacters,
    /// The claims are not a JSON object.
    #[error("the claims are not a JSON object")]
    ClaimsNotObject,
    /// The claims are not JSON at all (only tools that show unverified tokens say this).
    #[error("the claims are not JSON")]
    ClaimsNotJson,
    /// A member is malformed, or nests arrays and objects more than 32 levels deep.
    #[error("a member is malformed or nests more than 32 levels deep")]
    TooDeep,
}
