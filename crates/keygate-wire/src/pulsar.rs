//! Pulsar token authentication: what the auth data of a CONNECT or AUTH_RESPONSE is, and what a
//! broker does when a session's credential runs out (PIP-55 authentication refresh);
//! [`topic`]: topic names in every form Pulsar accepts, and whether an identity may produce to or
//! consume from a topic. With the `pulsar-proto` feature, `proto` has the binary protocol's
//! frames and commands.

#[cfg(feature = "pulsar-proto")]
pub mod proto;
pub mod topic;

use keygate::core::{Expiry, Timestamp};
use keygate::token::API_KEY_PREFIX;
use keygate::{Credential, Identity};

use crate::WireError;
use crate::error::malformed;

/// The `auth_method_name` of token authentication.
pub const TOKEN_METHOD: &str = "token";

/// The auth data of a broker's AUTH_CHALLENGE asking a client to refresh its token, as Pulsar
/// brokers send it.
pub const REFRESH_CHALLENGE: &[u8] = b"refresh";

/// The longest auth data accepted, in bytes.
pub const PULSAR_MAX_AUTH_DATA: usize = 16 * 1024;

const MECHANISM: &str = "Pulsar token auth";

/// Token auth data from a CONNECT or an AUTH_RESPONSE, checked: `auth_method_name` must be
/// `token` and the data the token itself, as `AuthenticationToken` sends it. A keygate opaque
/// key (`kgk_…`) works as a token too; anything else is treated as a JWT.
///
/// `Debug` leaves the token out.
#[derive(Clone, Copy)]
pub struct TokenAuth<'a> {
    credential: Credential<'a>,
}

impl<'a> TokenAuth<'a> {
    /// Parses the auth method and data of a CONNECT or AUTH_RESPONSE.
    pub fn parse(method: &str, data: &'a [u8]) -> Result<TokenAuth<'a>, WireError> {
        if method != TOKEN_METHOD {
            return Err(malformed(MECHANISM, "the auth method is not token"));
        }
        if data.len() > PULSAR_MAX_AUTH_DATA {
            return Err(WireError::TooLong {
                what: "Pulsar auth data",
                len: data.len(),
                max: PULSAR_MAX_AUTH_DATA,
            });
        }
        let token = std::str::from_utf8(data)
            .map_err(|_| malformed(MECHANISM, "the token is not UTF-8"))?;
        if token.is_empty() {
            return Err(malformed(MECHANISM, "the token is empty"));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(malformed(MECHANISM, "the token has spaces or control characters"));
        }
        let credential = if token.starts_with(API_KEY_PREFIX) {
            Credential::ApiKey(token)
        } else {
            Credential::Bearer(token)
        };
        Ok(TokenAuth { credential })
    }

    /// The credential to authenticate.
    pub fn credential(&self) -> Credential<'a> {
        self.credential
    }

    /// The session, once the authenticator has accepted [`credential`](Self::credential) as
    /// `identity`: a refresh (`previous`, the connection's identity so far) must keep the
    /// principal, as Pulsar's brokers require.
    pub fn finish(
        &self,
        identity: Identity,
        previous: Option<&Identity>,
    ) -> Result<Identity, WireError> {
        crate::session::finish(identity, None, None, previous)
    }
}

impl std::fmt::Debug for TokenAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.credential {
            Credential::ApiKey(_) => "api key",
            _ => "bearer token",
        };
        f.debug_struct("TokenAuth").field("kind", &kind).finish_non_exhaustive()
    }
}

/// What a Pulsar broker does when a session's credential runs out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEnd {
    /// Nothing: the credential never expires (and no session cap applies).
    Never,
    /// At this instant, send AUTH_CHALLENGE and accept an AUTH_RESPONSE with a fresh token; a
    /// client that does not answer, or answers with a token that fails, is disconnected.
    Refresh(Timestamp),
    /// At this instant, disconnect: the client did not advertise `supports_auth_refresh`.
    Disconnect(Timestamp),
}

impl SessionEnd {
    /// What to do for a session authenticated as `identity`, by a client that did or did not
    /// advertise `supports_auth_refresh` in its CONNECT. The instant is the identity's session
    /// deadline: never past the credential's expiry.
    pub fn of(identity: &Identity, supports_auth_refresh: bool) -> SessionEnd {
        match identity.session_deadline() {
            Expiry::Never => SessionEnd::Never,
            Expiry::At(at) if supports_auth_refresh => SessionEnd::Refresh(at),
            Expiry::At(at) => SessionEnd::Disconnect(at),
        }
    }

    /// The instant something happens, if ever.
    pub fn at(self) -> Option<Timestamp> {
        match self {
            SessionEnd::Never => None,
            SessionEnd::Refresh(at) | SessionEnd::Disconnect(at) => Some(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_by_their_shape() {
        let credential = |method, data| TokenAuth::parse(method, data).map(|a| a.credential());
        assert!(matches!(credential("token", b"eyJ.a.b"), Ok(Credential::Bearer("eyJ.a.b"))));
        assert!(matches!(credential("token", b"kgk_x"), Ok(Credential::ApiKey("kgk_x"))));
        assert!(credential("tls", b"eyJ.a.b").is_err());
        assert!(credential("token", b"").is_err());
        assert!(credential("token", b"a b").is_err());
        assert!(credential("token", b"\xff").is_err());
        assert!(!format!("{:?}", TokenAuth::parse("token", b"eyJ.a.b").unwrap()).contains("eyJ"));
        assert!(matches!(
            credential("token", &vec![b'a'; PULSAR_MAX_AUTH_DATA + 1]),
            Err(WireError::TooLong { .. })
        ));
    }
}
