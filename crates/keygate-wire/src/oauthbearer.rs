//! SASL/OAUTHBEARER (RFC 7628) as Kafka speaks it, server side, with KIP-342 extensions.

use std::borrow::Cow;
use std::fmt;

use keygate::{Credential, Identity};

use crate::WireError;
use crate::error::malformed;

/// The longest client initial response accepted, in bytes: room for a large JWT and its
/// extensions, far below what would let a client make the broker buffer much.
pub const OAUTHBEARER_MAX_MESSAGE: usize = 16 * 1024;

/// The server's error challenge after a refused token (RFC 7628 §3.2.2), as Kafka sends it.
/// The client answers it with [`CLIENT_ABORT`] and the exchange fails.
pub const ERROR_CHALLENGE: &[u8] = br#"{"status":"invalid_token"}"#;

/// The client's reply to an error challenge: a lone `%x01` (RFC 7628 §3.2.3).
pub const CLIENT_ABORT: &[u8] = b"\x01";

const MECHANISM: &str = "SASL/OAUTHBEARER";
const KVSEP: char = '\u{1}';

/// A client's initial response: the bearer token, the optional authorization identity, and the
/// SASL extensions (KIP-342) it carried. `Debug` leaves the token out.
#[derive(Clone, PartialEq, Eq)]
pub struct InitialResponse<'a> {
    authzid: Option<Cow<'a, str>>,
    token: &'a str,
    extensions: Vec<(&'a str, &'a str)>,
}

impl<'a> InitialResponse<'a> {
    /// Parses `gs2-header %x01 *(key=value %x01) %x01`, where one pair is
    /// `auth=Bearer <token>`: the GS2 header without channel binding (`n` or `y`), an optional
    /// `a=` authzid, keys of letters only, values of visible characters and spaces, no key twice,
    /// and a token of RFC 6750 `b64token` characters.
    pub fn parse(message: &'a [u8]) -> Result<InitialResponse<'a>, WireError> {
        if message.len() > OAUTHBEARER_MAX_MESSAGE {
            return Err(WireError::TooLong {
                what: "SASL/OAUTHBEARER message",
                len: message.len(),
                max: OAUTHBEARER_MAX_MESSAGE,
            });
        }
        let text = std::str::from_utf8(message).map_err(|_| malformed(MECHANISM, "not UTF-8"))?;
        let (header, rest) =
            text.split_once(KVSEP).ok_or(malformed(MECHANISM, "no key-value separator"))?;
        let authzid = gs2_authzid(header)?;
        // Each pair ends with a separator, and one more ends the list.
        let body = rest
            .strip_suffix("\u{1}\u{1}")
            .ok_or(malformed(MECHANISM, "the pairs do not end with two separators"))?;
        let mut token = None;
        let mut extensions: Vec<(&str, &str)> = Vec::new();
        for pair in body.split(KVSEP) {
            let (key, value) =
                pair.split_once('=').ok_or(malformed(MECHANISM, "a pair without '='"))?;
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(malformed(MECHANISM, "a key that is not letters only"));
            }
            if !value.bytes().all(|b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n')) {
                return Err(malformed(
                    MECHANISM,
                    "a value with characters RFC 7628 does not allow",
                ));
            }
            if key == "auth" {
                if token.is_some() {
                    return Err(malformed(MECHANISM, "auth given twice"));
                }
                token = Some(bearer_token(value)?);
            } else {
                if extensions.iter().any(|(k, _)| *k == key) {
                    return Err(malformed(MECHANISM, "an extension given twice"));
                }
                extensions.push((key, value));
            }
        }
        let token = token.ok_or(malformed(MECHANISM, "no auth=Bearer pair"))?;
        Ok(InitialResponse { authzid, token, extensions })
    }

    /// The authorization identity, if the client named one; a broker refuses it unless it is
    /// the principal the token authenticates.
    pub fn authzid(&self) -> Option<&str> {
        self.authzid.as_deref()
    }

    /// The bearer token. Handle with care.
    pub fn token(&self) -> &'a str {
        self.token
    }

    /// The SASL extensions, in the order sent.
    pub fn extensions(&self) -> &[(&'a str, &'a str)] {
        &self.extensions
    }

    /// The credential to authenticate.
    pub fn credential(&self) -> Credential<'a> {
        Credential::Bearer(self.token)
    }

    /// The session, once the authenticator has accepted [`credential`](Self::credential) as
    /// `identity`: refused if the authzid names anyone but the token's principal, or if a
    /// re-authentication (`previous`, the connection's identity so far) changes the principal.
    pub fn finish(
        &self,
        identity: Identity,
        previous: Option<&Identity>,
    ) -> Result<Identity, WireError> {
        crate::session::finish(identity, self.authzid(), None, previous)
    }
}

impl fmt::Debug for InitialResponse<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitialResponse")
            .field("authzid", &self.authzid)
            .field("extensions", &self.extensions)
            .finish_non_exhaustive()
    }
}

/// The client initial response Kafka clients send for `token`, with `extensions`.
pub fn encode_initial_response(token: &str, extensions: &[(&str, &str)]) -> Vec<u8> {
    let mut message = String::from("n,,\u{1}");
    for (key, value) in extensions {
        message.push_str(key);
        message.push('=');
        message.push_str(value);
        message.push(KVSEP);
    }
    message.push_str("auth=Bearer ");
    message.push_str(token);
    message.push(KVSEP);
    message.push(KVSEP);
    message.into_bytes()
}

/// Where a server is in an OAUTHBEARER exchange.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Waiting for the client's initial response.
    Initial,
    /// The token was refused and the error challenge sent; waiting for the client's `%x01`.
    Challenged,
    /// Over: authenticated, or failed.
    Done,
}

/// The server side of one OAUTHBEARER exchange. The broker authenticates the token itself;
/// this keeps the order of messages right:
///
/// 1. [`initial`](OAuthBearerServer::initial) parses the client's first message;
/// 2. if the token is accepted, the exchange is over; if not,
///    [`reject`](OAuthBearerServer::reject) gives the error challenge to send, and
/// 3. [`after_challenge`](OAuthBearerServer::after_challenge) checks the client's `%x01`, after
///    which the broker reports the failure.
#[derive(Debug)]
pub struct OAuthBearerServer {
    step: Step,
}

impl Default for OAuthBearerServer {
    fn default() -> OAuthBearerServer {
        OAuthBearerServer::new()
    }
}

impl OAuthBearerServer {
    /// A new exchange.
    pub fn new() -> OAuthBearerServer {
        OAuthBearerServer { step: Step::Initial }
    }

    /// The client's initial response. A malformed one ends the exchange.
    pub fn initial<'m>(&mut self, message: &'m [u8]) -> Result<InitialResponse<'m>, WireError> {
        if self.step != Step::Initial {
            return Err(WireError::UnexpectedMessage { mechanism: MECHANISM });
        }
        self.step = Step::Done;
        InitialResponse::parse(message)
    }

    /// The token was refused: the error challenge to send the client.
    pub fn reject(&mut self) -> &'static [u8] {
        self.step = Step::Challenged;
        ERROR_CHALLENGE
    }

    /// Whether the exchange is waiting for the client's reply to an error challenge.
    pub fn is_challenged(&self) -> bool {
        self.step == Step::Challenged
    }

    /// The client's reply to the error challenge: `%x01` as RFC 7628 requires, after which the
    /// exchange has failed (the broker says so); anything else is a protocol error.
    pub fn after_challenge(&mut self, message: &[u8]) -> Result<(), WireError> {
        let expected = self.step == Step::Challenged;
        self.step = Step::Done;
        if !expected {
            return Err(WireError::UnexpectedMessage { mechanism: MECHANISM });
        }
        if message != CLIENT_ABORT {
            return Err(malformed(MECHANISM, "the reply to an error challenge is not %x01"));
        }
        Ok(())
    }
}

/// The authzid of a GS2 header `n,[a=name],` (or `y,…`), with `=2C` and `=3D` decoded.
fn gs2_authzid(header: &str) -> Result<Option<Cow<'_, str>>, WireError> {
    let rest = header.strip_prefix("n,").or_else(|| header.strip_prefix("y,")).ok_or(malformed(
        MECHANISM,
        "the GS2 header must start with n, or y, (no channel binding)",
    ))?;
    let name =
        rest.strip_suffix(',').ok_or(malformed(MECHANISM, "the GS2 header must end with ','"))?;
    if name.is_empty() {
        return Ok(None);
    }
    let name =
        name.strip_prefix("a=").ok_or(malformed(MECHANISM, "a GS2 header field other than a="))?;
    if name.is_empty() || name.contains(',') {
        return Err(malformed(MECHANISM, "an empty or unescaped authzid"));
    }
    if !name.contains('=') {
        return Ok(Some(Cow::Borrowed(name)));
    }
    let mut decoded = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('=') {
        decoded.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3);
        match escape {
            Some("=2C") => decoded.push(','),
            Some("=3D") => decoded.push('='),
            _ => return Err(malformed(MECHANISM, "an authzid escape other than =2C or =3D")),
        }
        rest = &rest[at + 3..];
    }
    decoded.push_str(rest);
    Ok(Some(Cow::Owned(decoded)))
}

/// The token of `Bearer <b64token>` (RFC 6750 §2.1; the scheme is case-insensitive).
pub(crate) fn bearer_token(value: &str) -> Result<&str, WireError> {
    let (scheme, token) =
        value.split_once(' ').ok_or(malformed(MECHANISM, "auth is not 'Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed(MECHANISM, "auth is not 'Bearer <token>'"));
    }
    let token = token.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err(malformed(MECHANISM, "the token has characters a bearer token cannot have"));
    }
    Ok(token)
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(crate) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7628_example_parses() {
        // RFC 7628 §4.1, without the host and port pairs' line breaks.
        let message = b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01";
        let response = InitialResponse::parse(message).unwrap();
        assert_eq!(response.authzid(), Some("user@example.com"));
        assert_eq!(response.token(), "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
        assert_eq!(response.extensions(), [("host", "server.example.com"), ("port", "143")]);
    }

    #[test]
    fn authzid_escapes_are_decoded() {
        let response = InitialResponse::parse(b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01").unwrap();
        assert_eq!(response.authzid(), Some("a,b=c"));
        assert!(InitialResponse::parse(b"n,a=a=2Xb,\x01auth=Bearer t\x01\x01").is_err());
    }

    #[test]
    fn the_exchange_fails_through_the_challenge() {
        let mut server = OAuthBearerServer::new();
        server.initial(&encode_initial_response("t0k3n", &[])).unwrap();
        assert_eq!(server.reject(), ERROR_CHALLENGE);
        assert!(server.is_challenged());
        server.after_challenge(CLIENT_ABORT).unwrap();
        assert!(server.after_challenge(CLIENT_ABORT).is_err());
        assert!(server.initial(&encode_initial_response("t0k3n", &[])).is_err());
    }

    #[test]
    fn debug_hides_the_token() {
        let message = encode_initial_response("s3cr3t-token", &[("traceId", "abc")]);
        let response = InitialResponse::parse(&message).unwrap();
        assert!(!format!("{response:?}").contains("s3cr3t"));
    }
}
