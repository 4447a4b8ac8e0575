//! The SASL exchange of one connection: SaslHandshake, then SaslAuthenticate with PLAIN or
//! OAUTHBEARER, first and again on KIP-368 re-authentication.
//!
//! SaslHandshake v1 is followed by SaslAuthenticate requests. v0, which older clients (kcat
//! and librdkafka before 1.0 in some builds, the Java client's legacy path) still send, is
//! followed by the SASL tokens themselves, each framed by its 4-byte length and no request
//! header, answered the same way; a refused token is answered by closing the connection, as
//! Kafka does. Both go through one exchange.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use keygate::core::Expiry;
use keygate::{AuthError, Identity};
use keygate_tokio::Connection;
use keygate_wire::{OAuthBearerServer, PlainMessage, SessionLifetime, WireError};
use tokio::time::Instant;

use crate::ProxyError;
use crate::codec::{Request, response};

const NONE: i16 = 0;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const ILLEGAL_SASL_STATE: i16 = 34;
const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// The mechanisms offered, in the order SaslHandshake lists them.
const MECHANISMS: [&str; 2] = ["PLAIN", "OAUTHBEARER"];

/// Where a connection is in authenticating.
#[derive(Debug, Default)]
pub(crate) struct Sasl {
    exchange: Exchange,
    /// The handshake was v0: the tokens come raw, not in SaslAuthenticate requests.
    raw: bool,
}

#[derive(Debug, Default)]
enum Exchange {
    /// No exchange under way.
    #[default]
    Idle,
    /// SaslHandshake chose a mechanism; SaslAuthenticate comes next.
    Started(Mechanism),
    /// An OAUTHBEARER token was refused and the error challenge sent; the client's %x01 and the
    /// failure come next (RFC 7628).
    Challenged(OAuthBearerServer, Refusal),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mechanism {
    Plain,
    OAuthBearer,
}

/// What a SASL request led to.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this and carry on.
    Reply(Bytes),
    /// Authenticated (or re-authenticated, when `again`): send this and carry on.
    Authenticated { reply: Bytes, identity: Identity, again: bool, lifetime_ms: i64 },
    /// Send this, then close: the client may not carry on.
    Refused { reply: Bytes, refusal: Refusal },
}

/// Why authentication failed: the message was refused before any credential was checked, or
/// the credential was.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The SASL message or the exchange was wrong.
    Wire(WireError),
    /// The credential was refused.
    Auth(AuthError),
    /// A mechanism other than PLAIN and OAUTHBEARER, or a handshake out of turn.
    Handshake(i16),
}

impl Refusal {
    fn client_message(&self) -> &'static str {
        match self {
            Refusal::Wire(error) => error.client_message(),
            Refusal::Auth(error) => error.client_message(),
            Refusal::Handshake(_) => "unsupported SASL mechanism or state",
        }
    }

    /// A short stable label for metrics.
    pub(crate) fn reason(&self) -> String {
        match self {
            Refusal::Wire(_) => "malformed".to_owned(),
            Refusal::Auth(error) => snake_case(&format!("{:?}", error.kind())),
            Refusal::Handshake(_) => "mechanism".to_owned(),
        }
    }
}

/// `WrongResource` as `wrong_resource`, for a metric label.
fn snake_case(name: &str) -> String {
    let mut label = String::with_capacity(name.len() + 4);
    for (at, c) in name.char_indices() {
        if c.is_ascii_uppercase() && at > 0 {
            label.push('_');
        }
        label.push(c.to_ascii_lowercase());
    }
    label
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Wire(error) => error.fmt(f),
            Refusal::Auth(error) => error.fmt(f),
            Refusal::Handshake(code) => write!(f, "SaslHandshake refused with error {code}"),
        }
    }
}

impl Sasl {
    /// Whether a re-authentication is under way: no other request may come in between.
    pub(crate) fn in_exchange(&self) -> bool {
        !matches!(self.exchange, Exchange::Idle)
    }

    /// Whether the next frame is a raw SASL token, after a SaslHandshake v0.
    pub(crate) fn expects_raw_token(&self) -> bool {
        self.raw && self.in_exchange()
    }

    /// Answers a SaslHandshake.
    pub(crate) fn handshake(&mut self, request: &Request) -> Result<Step, ProxyError> {
        let handshake: SaslHandshakeRequest = request.decode()?;
        let mechanism = match handshake.mechanism.as_str() {
            "PLAIN" => Some(Mechanism::Plain),
            "OAUTHBEARER" => Some(Mechanism::OAuthBearer),
            _ => None,
        };
        let error = match mechanism {
            _ if self.in_exchange() => ILLEGAL_SASL_STATE,
            None => UNSUPPORTED_SASL_MECHANISM,
            Some(mechanism) => {
                self.exchange = Exchange::Started(mechanism);
                self.raw = request.version == 0;
                NONE
            }
        };
        let answer = SaslHandshakeResponse::default()
            .with_error_code(error)
            .with_mechanisms(MECHANISMS.map(StrBytes::from_static_str).to_vec());
        let reply = response(request.api, request.version, request.correlation, &answer)?;
        Ok(if error == NONE {
            Step::Reply(reply)
        } else {
            Step::Refused { reply, refusal: Refusal::Handshake(error) }
        })
    }

    /// Answers a SaslAuthenticate: checks the credential and, if it holds, records the
    /// connection as established and sets its session deadline.
    pub(crate) fn authenticate(
        &mut self,
        request: &Request,
        connection: &mut Connection,
    ) -> Result<Step, ProxyError> {
        let authenticate: SaslAuthenticateRequest = request.decode()?;
        let frame = |answer: SaslAuthenticateResponse| {
            response(request.api, request.version, request.correlation, &answer)
        };
        Ok(match self.exchange(&authenticate.auth_bytes, connection)? {
            Exchanged::Challenge(challenge) => {
                Step::Reply(frame(SaslAuthenticateResponse::default().with_auth_bytes(challenge))?)
            }
            Exchanged::Authenticated { identity, again, lifetime_ms } => {
                let mut answer = SaslAuthenticateResponse::default();
                if request.version >= 1 {
                    answer = answer.with_session_lifetime_ms(lifetime_ms);
                }
                Step::Authenticated { reply: frame(answer)?, identity, again, lifetime_ms }
            }
            Exchanged::Refused(refusal) => {
                let answer = SaslAuthenticateResponse::default()
                    .with_error_code(SASL_AUTHENTICATION_FAILED)
                    .with_error_message(Some(StrBytes::from_static_str(refusal.client_message())));
                Step::Refused { reply: frame(answer)?, refusal }
            }
        })
    }

    /// Answers a raw SASL token, after a SaslHandshake v0: a raw token back (empty once the
    /// client is authenticated), or, refused, nothing: the connection closes, as Kafka's does.
    pub(crate) fn authenticate_raw(
        &mut self,
        token: &[u8],
        connection: &mut Connection,
    ) -> Result<Step, ProxyError> {
        let raw = |bytes: &[u8]| {
            let mut framed = Vec::with_capacity(4 + bytes.len());
            framed.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(0).to_be_bytes());
            framed.extend_from_slice(bytes);
            Bytes::from(framed)
        };
        Ok(match self.exchange(token, connection)? {
            Exchanged::Challenge(challenge) => Step::Reply(raw(&challenge)),
            Exchanged::Authenticated { identity, again, lifetime_ms } => {
                self.raw = false;
                Step::Authenticated { reply: raw(&[]), identity, again, lifetime_ms }
            }
            Exchanged::Refused(refusal) => {
                self.raw = false;
                Step::Refused { reply: Bytes::new(), refusal }
            }
        })
    }

    /// One step of the exchange under way, on the client's `auth_bytes`.
    fn exchange(
        &mut self,
        auth_bytes: &[u8],
        connection: &mut Connection,
    ) -> Result<Exchanged, ProxyError> {
        let exchange = std::mem::take(&mut self.exchange);
        let previous = connection.identity().cloned();
        let server = connection.server().clone();
        let outcome = match exchange {
            Exchange::Idle => {
                return Err(ProxyError::Protocol("SaslAuthenticate without SaslHandshake"));
            }
            Exchange::Started(Mechanism::Plain) => {
                PlainMessage::parse(auth_bytes).map_err(Refusal::Wire).and_then(|plain| {
                    let identity =
                        server.authenticate(&plain.credential(), None).map_err(Refusal::Auth)?;
                    plain.finish(identity, previous.as_ref()).map_err(Refusal::Wire)
                })
            }
            Exchange::Started(Mechanism::OAuthBearer) => {
                let mut bearer = OAuthBearerServer::new();
                let result =
                    bearer.initial(auth_bytes).map_err(Refusal::Wire).and_then(|initial| {
                        let identity = server
                            .authenticate(&initial.credential(), None)
                            .map_err(Refusal::Auth)?;
                        initial.finish(identity, previous.as_ref()).map_err(Refusal::Wire)
                    });
                if let Err(refusal) = result {
                    // RFC 7628: the error challenge first; the failure after the client's %x01.
                    let challenge = Bytes::from_static(bearer.reject());
                    self.exchange = Exchange::Challenged(bearer, refusal);
                    return Ok(Exchanged::Challenge(challenge));
                }
                result
            }
            Exchange::Challenged(mut bearer, refusal) => {
                // Whatever the client answers, the exchange has failed.
                let _ = bearer.after_challenge(auth_bytes);
                Err(refusal)
            }
        };
        let outcome = outcome.and_then(|identity| {
            connection.established(identity.clone()).map_err(Refusal::Auth)?;
            Ok(identity)
        });
        Ok(match outcome {
            Ok(identity) => {
                let lifetime = SessionLifetime::of(&identity, server.now());
                // The client is told the lifetime to the millisecond; the session ends then.
                if let Expiry::At(_) = lifetime.ends {
                    let ms = u64::try_from(lifetime.session_lifetime_ms).unwrap_or(0);
                    connection.set_deadline(Some(Instant::now() + Duration::from_millis(ms)));
                }
                Exchanged::Authenticated {
                    identity,
                    again: previous.is_some(),
                    lifetime_ms: lifetime.session_lifetime_ms,
                }
            }
            Err(refusal) => Exchanged::Refused(refusal),
        })
    }
}

/// Where one step of an exchange left it.
enum Exchanged {
    /// The mechanism has more to say: this challenge.
    Challenge(Bytes),
    /// The credential holds.
    Authenticated { identity: Identity, again: bool, lifetime_ms: i64 },
    /// It does not.
    Refused(Refusal),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_kinds_are_metric_labels() {
        assert_eq!(snake_case("WrongResource"), "wrong_resource");
        assert_eq!(snake_case("Revoked"), "revoked");
    }
}
