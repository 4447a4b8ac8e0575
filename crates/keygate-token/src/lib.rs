//! keygate's credentials: JWT API keys minted and verified on ring, and opaque key-id + secret
//! API keys.
//!
//! This crate does no I/O and reads no clock: verification takes `now`, key files arrive as
//! bytes ([`KeyValue`] names a file for the caller to read), and randomness comes through
//! [`keygate_core::SecureRandom`] ([`SystemRandom`] is the OS-backed default). It has no
//! optional features.
//!
//! # JWT API keys
//!
//! - [`SigningKey`] and [`VerificationKey`] are each bound to one algorithm (HS256/384/512,
//!   RS256/384/512, PS256/384/512, ES256/384, EdDSA) and an optional `kid` when loaded, from
//!   raw secrets, PEM, DER (PKCS#8, SubjectPublicKeyInfo, PKCS#1), JWK, or the value forms Pulsar
//!   accepts ([`KeyValue`]). Weak or mismatched keys are refused then, not at first use.
//! - [`Minter`] mints with one signing key; [`KeyRing`] rotates signing keys and publishes JWKS.
//! - [`Verifier::verify_str`] is a server's one call per token: the text in, a [`VerifiedToken`]
//!   out, after the signature (on ring, or recognised in the verifier's cache) and every check
//!   of [`VerifyOptions`]; the claims can be read from nothing else. [`UnverifiedToken::parse`]
//!   reads a token's header for tools, and [`Verifier::verify`] verifies what it parsed.
//! - [`install_jsonwebtoken_provider`] runs jsonwebtoken 11 itself on ring, for code that calls
//!   jsonwebtoken directly. jsonwebtoken's `decode` is the reference keygate's verifier is
//!   tested against; the cases where keygate is deliberately stricter are in [`compat`].
//!
//! Claim names: `sub` (the principal; configurable like Pulsar's `tokenAuthClaim`), `jti` (the
//! key id), `iat`, `nbf`, `exp` (absent means never, as in Pulsar tokens), `iss`, `aud`, and
//! keygate's [`SCOPE_CLAIM`] (`kg_scope`) and [`PERMISSIONS_CLAIM`] (`kg_permissions`). API-key
//! tokens carry the header `typ` [`API_KEY_TOKEN_TYPE`] (`kg+jwt`).
//!
//! ```
//! use std::sync::Arc;
//! use keygate_core::{SigningAlgorithm, Timestamp};
//! use keygate_token::{Claims, ClaimsBuffer, Minter, SigningKey, Verifier, VerifyOptions};
//!
//! let key = Arc::new(SigningKey::generate(SigningAlgorithm::EdDSA)?.with_kid("k1".parse()?));
//! let now = Timestamp::from_unix(1_800_000_000)?;
//!
//! let minter = Minter::new(Arc::clone(&key));
//! let token = minter.mint(
//!     &Claims::new("orders-service")
//!         .with_jwt_id("5x7k2m9q4w8n6p1r")
//!         .with_issued_at(now)
//!         .with_expires(Some(Timestamp::from_unix(1_800_003_600)?))
//!         .with_audience("kafka-cluster/lkc-abc123"),
//! )?;
//!
//! let verifier = Verifier::new([Arc::clone(key.verification_key())])?;
//! let options = VerifyOptions::default().with_audience("kafka-cluster/lkc-abc123");
//! let mut buffer = ClaimsBuffer::new();
//! let verified = verifier.verify_str(token.expose(), &options, now, &mut buffer)?;
//! assert_eq!(verified.claims().subject(), Some("orders-service"));
//!
//! // An hour later it has expired.
//! let later = Timestamp::from_unix(1_800_003_700)?;
//! let mut buffer = ClaimsBuffer::new();
//! assert!(verifier.verify_str(token.expose(), &options, later, &mut buffer).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Opaque API keys
//!
//! [`ApiKey`] is a public key id and a 256-bit secret, presented as a pair (SASL/PLAIN, HTTP
//! Basic) or as one checksummed string starting with `kgk_`. Only a digest is stored
//! ([`SecretHasher`]), compared in constant time.
//!
//! # Secrets
//!
//! Signing keys, HMAC verification keys, API keys and minted tokens print nothing secret in
//! `Debug`, are not `Clone`, and zeroize their bytes on drop. No error message carries key
//! material, a whole token, or untrusted text from a token.

mod algorithm;
mod cache;
mod claims;
pub mod compat;
mod ct;
pub mod dangerous;
mod der;
mod error;
mod flat;
mod jose;
mod json;
mod key_value;
mod keyring;
mod mint;
mod opaque;
mod pem;
mod provider;
mod random;
pub mod seal;
mod signing_key;
mod token;
mod verification_key;
mod verify;

pub use claims::{API_KEY_TOKEN_TYPE, Audience, Claims, PERMISSIONS_CLAIM, SCOPE_CLAIM};
pub use error::{Error, Malformed};
pub use key_value::KeyValue;
pub use keyring::{DEFAULT_SIGNING_ALGORITHM, KeyRing, verification_keys_from_jwks};
pub use mint::{MintedToken, Minter};
pub use opaque::{API_KEY_LEN, API_KEY_PREFIX, ApiKey, SecretHasher, token_digest};
pub use provider::{ProviderInstall, install_jsonwebtoken_provider};
pub use random::SystemRandom;
pub use seal::{MasterKey, SealError};
pub use signing_key::{PrivateFormat, SigningKey};
pub use token::{DEFAULT_MAX_TOKEN_LEN, UnverifiedToken};
pub use verification_key::VerificationKey;
pub use verify::{
    AudienceCheck, ClaimsBuffer, DEFAULT_CACHE_SLOTS, VerifiedToken, Verifier, VerifyOptions,
};

/// jsonwebtoken's JWK types, which keygate uses for JWK and JWKS.
pub use jsonwebtoken::jwk;
