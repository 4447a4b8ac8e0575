//! SASL/PLAIN (RFC 4616), server side: the key id and secret a Kafka client sends.

use std::fmt;

use keygate::token::API_KEY_PREFIX;
use keygate::{Credential, Identity};

use crate::WireError;
use crate::error::malformed;

/// The longest authzid, authcid or password RFC 4616 allows, in bytes.
pub const PLAIN_MAX_FIELD: usize = 255;

const MECHANISM: &str = "SASL/PLAIN";

/// A client's SASL/PLAIN message, `[authzid] NUL authcid NUL passwd`, checked. The username
/// (authcid) is a keygate key id and the password its secret: the `kgk_…` single-string key as
/// `keygate api-key create` prints it, or its bare secret part.
///
/// `Debug` shows the username only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PlainMessage<'a> {
    authzid: &'a str,
    username: &'a str,
    password: &'a str,
}

impl<'a> PlainMessage<'a> {
    /// Parses and checks a client message: valid UTF-8; exactly two NULs; a non-empty username
    /// and password of at most 255 bytes each; and a password that, when it is a keygate API
    /// key, embeds the username as its key id. The authzid is checked by
    /// [`finish`](PlainMessage::finish), once the principal is known.
    pub fn parse(message: &'a [u8]) -> Result<PlainMessage<'a>, WireError> {
        let max = 3 * PLAIN_MAX_FIELD + 2;
        if message.len() > max {
            return Err(WireError::TooLong { what: "SASL/PLAIN message", len: message.len(), max });
        }
        let text = std::str::from_utf8(message).map_err(|_| malformed(MECHANISM, "not UTF-8"))?;
        let mut parts = text.split('\0');
        let (Some(authzid), Some(username), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(MECHANISM, "it needs exactly two NUL separators"));
        };
        for (field, value) in [("authzid", authzid), ("username", username), ("password", password)]
        {
            if value.len() > PLAIN_MAX_FIELD {
                return Err(WireError::TooLong {
                    what: field,
                    len: value.len(),
                    max: PLAIN_MAX_FIELD,
                });
            }
        }
        if username.is_empty() {
            return Err(malformed(MECHANISM, "the username is empty"));
        }
        if password.is_empty() {
            return Err(malformed(MECHANISM, "the password is empty"));
        }
        if let Some(embedded) = embedded_key_id(password)
            && !embedded.eq_ignore_ascii_case(username)
        {
            return Err(WireError::KeyIdMismatch);
        }
        Ok(PlainMessage { authzid, username, password })
    }

    /// The username: the key id.
    pub fn username(&self) -> &'a str {
        self.username
    }

    /// The password: the secret. Handle with care.
    pub fn password(&self) -> &'a str {
        self.password
    }

    /// The authorization identity the client asked to act as; empty for "the one I
    /// authenticate as", which is what Kafka clients send.
    pub fn authzid(&self) -> &'a str {
        self.authzid
    }

    /// The credential to authenticate.
    pub fn credential(&self) -> Credential<'a> {
        Credential::KeyAndSecret { key_id: self.username, secret: self.password }
    }

    /// The session, once the authenticator has accepted [`credential`](Self::credential) as
    /// `identity`: refused if the authzid is neither empty, the username, nor the principal (a
    /// key cannot act for another principal), or if a re-authentication (`previous`, the
    /// connection's identity so far) changes the principal.
    pub fn finish(
        &self,
        identity: Identity,
        previous: Option<&Identity>,
    ) -> Result<Identity, WireError> {
        crate::session::finish(identity, Some(self.authzid), Some(self.username), previous)
    }
}

impl fmt::Debug for PlainMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainMessage").field("username", &self.username).finish_non_exhaustive()
    }
}

/// A client's SASL/PLAIN message for `username` and `password` with an empty authzid, as
/// Kafka clients send it.
pub fn encode_plain(username: &str, password: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(username.len() + password.len() + 2);
    message.push(0);
    message.extend_from_slice(username.as_bytes());
    message.push(0);
    message.extend_from_slice(password.as_bytes());
    message
}

/// The key id inside a password that has the shape of a keygate API key.
fn embedded_key_id(password: &str) -> Option<&str> {
    let rest = password.strip_prefix(API_KEY_PREFIX)?;
    rest.get(..16).filter(|_| rest.as_bytes().get(16) == Some(&b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_4616_examples_parse() {
        let message = PlainMessage::parse(b"\0tim\0tanstaaftanstaaf").unwrap();
        assert_eq!((message.username(), message.password()), ("tim", "tanstaaftanstaaf"));
        let message = PlainMessage::parse(b"Ursel\0Kurt\0pass").unwrap();
        assert_eq!((message.authzid(), message.username()), ("Ursel", "Kurt"));
    }

    #[test]
    fn debug_hides_the_password() {
        let message = PlainMessage::parse(b"\0key\0hunter2").unwrap();
        assert!(!format!("{message:?}").contains("hunter2"));
    }
}
