//! keygate's wire adapters: what brokers and gateways need between the bytes a client sends
//! and the [`Credential`](keygate::Credential) an [`Authenticator`](keygate::Authenticator)
//! checks. I/O-free: parsers take bytes and return borrowed views; the broker owns the socket.
//!
//! - [`PlainMessage`]: SASL/PLAIN (RFC 4616), the key id as username and the secret as password.
//! - [`OAuthBearerServer`] and [`InitialResponse`]: SASL/OAUTHBEARER (RFC 7628) as Kafka speaks
//!   it, with KIP-342 extensions and the error challenge a refused token gets.
//! - [`SessionLifetime`]: the `session_lifetime_ms` of Kafka re-authentication (KIP-368), never
//!   past the credential's expiry.
//! - [`HttpCredential`]: `Authorization: Bearer` (RFC 6750) and `Basic` (RFC 7617).
//! - [`pulsar`]: Pulsar token auth data ([`pulsar::TokenAuth`]), what a broker does when a
//!   session's token runs out (PIP-55 refresh, or disconnection for clients that cannot
//!   refresh), and, with the `pulsar-proto` feature, the binary protocol's frames and the
//!   commands a broker needs to authenticate.
//!
//! Every SASL and Pulsar mechanism has one shape: **parse** the client's message, hand its
//! **credential** to the authenticator, then **finish** with the identity it returned. `finish`
//! applies the rules that are not the credential's: the authorization identity the client asked
//! for must be the credential's (a key never acts for another principal), and a
//! re-authentication keeps the connection's principal. The session's lifetime is the identity's
//! session deadline, capped in one place, `AuthConfig::max_session`.
//!
//! Every parser refuses oversized input first, then anything its grammar does not allow, with a
//! [`WireError`] that names the rule and never the input. Each is fuzzed (`fuzz/`) and
//! round-trips against the encoder beside it.
//!
//! ```
//! use keygate::Credential;
//! use keygate_wire::{PlainMessage, encode_plain};
//!
//! let message = encode_plain("5x7k2m9q4w8n6p1r", "kgk_5x7k2m9q4w8n6p1r_…");
//! let plain = PlainMessage::parse(&message)?;
//! assert!(matches!(plain.credential(), Credential::KeyAndSecret { key_id: "5x7k2m9q4w8n6p1r", .. }));
//! // The broker authenticates `plain.credential()`, then calls `plain.finish(identity, None)`.
//! # Ok::<(), keygate_wire::WireError>(())
//! ```

mod error;
mod http;
mod kafka;
mod oauthbearer;
mod plain;
pub mod pulsar;
mod session;

pub use error::WireError;
pub use http::{AUTHORIZATION_MAX_LEN, HttpCredential, WWW_AUTHENTICATE, encode_basic};
pub use kafka::SessionLifetime;
pub use oauthbearer::{
    CLIENT_ABORT, ERROR_CHALLENGE, InitialResponse, OAUTHBEARER_MAX_MESSAGE, OAuthBearerServer,
    encode_initial_response,
};
pub use plain::{PLAIN_MAX_FIELD, PlainMessage, encode_plain};
