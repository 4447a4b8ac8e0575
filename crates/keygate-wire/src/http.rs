//! HTTP `Authorization` headers: `Bearer` (RFC 6750) and `Basic` (RFC 7617).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keygate::Credential;
use zeroize::Zeroizing;

use crate::WireError;
use crate::error::malformed;
use crate::oauthbearer::is_b64token;

/// The longest `Authorization` value accepted, in bytes.
pub const AUTHORIZATION_MAX_LEN: usize = 16 * 1024;

/// The `WWW-Authenticate` value of a 401 response from a keygate-protected endpoint.
pub const WWW_AUTHENTICATE: &str =
    r#"Bearer realm="keygate", Basic realm="keygate", charset="UTF-8""#;

const HEADER: &str = "Authorization header";

/// The credential in an `Authorization` header. `Debug` shows the scheme and the username only.
#[derive(PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpCredential<'a> {
    /// `Bearer <token>`: a keygate API key (`kgk_…`) or a JWT.
    Bearer(&'a str),
    /// `Basic base64(user:password)`: a key id and its secret.
    Basic {
        /// The user-id: the key id.
        username: String,
        /// The password: the secret.
        password: Zeroizing<String>,
    },
}

impl<'a> HttpCredential<'a> {
    /// Parses an `Authorization` value. The scheme is case-insensitive; a bearer token is an
    /// RFC 6750 `b64token`; a Basic value is padded base64 of UTF-8 `user:password` with a
    /// non-empty user-id and password and no control characters.
    pub fn parse(value: &'a str) -> Result<HttpCredential<'a>, WireError> {
        if value.len() > AUTHORIZATION_MAX_LEN {
            return Err(WireError::TooLong {
                what: HEADER,
                len: value.len(),
                max: AUTHORIZATION_MAX_LEN,
            });
        }
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        let (scheme, rest) =
            value.split_once(' ').ok_or(malformed(HEADER, "no credentials after the scheme"))?;
        let rest = rest.trim_start_matches(' ');
        if scheme.eq_ignore_ascii_case("bearer") {
            if !is_b64token(rest) {
                return Err(malformed(
                    HEADER,
                    "the bearer token has characters a token cannot have",
                ));
            }
            return Ok(HttpCredential::Bearer(rest));
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(WireError::UnsupportedScheme);
        }
        let decoded = Zeroizing::new(
            STANDARD
                .decode(rest)
                .map_err(|_| malformed(HEADER, "Basic credentials are not base64"))?,
        );
        let text = std::str::from_utf8(&decoded)
            .map_err(|_| malformed(HEADER, "Basic credentials are not UTF-8"))?;
        if text.chars().any(char::is_control) {
            return Err(malformed(HEADER, "Basic credentials hold control characters"));
        }
        let (username, password) =
            text.split_once(':').ok_or(malformed(HEADER, "Basic credentials have no ':'"))?;
        if username.is_empty() || password.is_empty() {
            return Err(malformed(HEADER, "an empty Basic username or password"));
        }
        Ok(HttpCredential::Basic {
            username: username.to_owned(),
            password: Zeroizing::new(password.to_owned()),
        })
    }

    /// The credential to authenticate: a `kgk_…` bearer value is an opaque API key, any other
    /// a JWT; Basic is a key id and secret.
    pub fn credential(&self) -> Credential<'_> {
        match self {
            HttpCredential::Bearer(token) if token.starts_with(keygate::token::API_KEY_PREFIX) => {
                Credential::ApiKey(token)
            }
            HttpCredential::Bearer(token) => Credential::Bearer(token),
            HttpCredential::Basic { username, password } => {
                Credential::KeyAndSecret { key_id: username, secret: password }
            }
        }
    }
}

impl fmt::Debug for HttpCredential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpCredential::Bearer(_) => f.write_str("Bearer(..)"),
            HttpCredential::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).finish_non_exhaustive()
            }
        }
    }
}

/// The `Authorization` value for HTTP Basic with `username` and `password`.
pub fn encode_basic(username: &str, password: &str) -> Zeroizing<String> {
    let joined = Zeroizing::new(format!("{username}:{password}"));
    Zeroizing::new(format!("Basic {}", STANDARD.encode(joined.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7617_example_parses() {
        let parsed = HttpCredential::parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap();
        assert!(matches!(&parsed, HttpCredential::Basic { username, password }
            if username == "Aladdin" && password.as_str() == "open sesame"));
        assert!(!format!("{parsed:?}").contains("sesame"));
    }

    #[test]
    fn schemes_are_case_insensitive_and_others_refused() {
        assert_eq!(
            HttpCredential::parse("bearer abc.def").unwrap(),
            HttpCredential::Bearer("abc.def")
        );
        assert_eq!(HttpCredential::parse("Digest x=1"), Err(WireError::UnsupportedScheme));
        assert!(HttpCredential::parse("Bearer a b").is_err());
        assert!(HttpCredential::parse("Bearer").is_err());
    }
}
