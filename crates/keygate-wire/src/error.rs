//! The one error type of keygate-wire.

/// Why a message from a client was refused before any credential was checked. Messages say
/// which rule the input broke, never what it held: the input is a credential.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message is longer than the mechanism allows.
    #[error("the {what} is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message does not follow the mechanism's grammar.
    #[error("malformed {mechanism} message: {reason}")]
    Malformed {
        /// The mechanism or header.
        mechanism: &'static str,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// The client asked to act as an identity other than the one its credential speaks for.
    #[error("the authorization identity differs from the authentication identity")]
    AuthzidMismatch,
    /// A re-authentication presented a credential of another principal than the connection's.
    #[error("re-authentication must keep the connection's principal")]
    PrincipalChanged,
    /// The password is a keygate API key whose embedded key id is not the username.
    #[error("the password is an API key of another key id than the username")]
    KeyIdMismatch,
    /// An HTTP `Authorization` scheme other than `Bearer` and `Basic`.
    #[error("unsupported authorization scheme; use Bearer or Basic")]
    UnsupportedScheme,
    /// A step of an exchange that is not expected now.
    #[error("unexpected {mechanism} message in this state of the exchange")]
    UnexpectedMessage {
        /// The mechanism.
        mechanism: &'static str,
    },
}

impl WireError {
    /// What to tell the client: the rule its message broke, which says nothing about any key
    /// (the input is never echoed, and no credential has been checked yet, or the client has
    /// proven it holds the one it presented).
    pub fn client_message(&self) -> &'static str {
        match self {
            WireError::TooLong { .. } => "the authentication message is too long",
            WireError::Malformed { reason, .. } => reason,
            WireError::AuthzidMismatch => {
                "the authorization identity is not the credential's principal"
            }
            WireError::KeyIdMismatch => "the password is an API key of another key id",
            WireError::UnsupportedScheme => "unsupported authorization scheme; use Bearer or Basic",
            WireError::UnexpectedMessage { .. } => "unexpected authentication message",
            WireError::PrincipalChanged => "re-authentication must keep the principal",
        }
    }
}

/// A `Malformed` error.
pub(crate) fn malformed(mechanism: &'static str, reason: &'static str) -> WireError {
    WireError::Malformed { mechanism, reason }
}
