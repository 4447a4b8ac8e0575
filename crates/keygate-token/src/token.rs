//! Compact JWS tokens before their signature is checked.

use std::fmt;

use keygate_core::SigningAlgorithm;

use crate::jose::{self, Header, SegmentBuffer, Segments};
use crate::{Error, Malformed, json};

/// The largest token [`UnverifiedToken::parse`] accepts: 8 KiB, far above any API key and well
/// below what would let a client make the server decode megabytes.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// A compact JWS split into its parts, with its header read, and nothing trusted.
///
/// Parsing checks the size cap before decoding anything, then that there are exactly three
/// segments, then the header: unpadded base64url of a JSON object with a known `alg`, an
/// optional `kid` in keygate's alphabet and an optional `typ`. The header is only a name to look
/// up among configured keys; nothing in it is trusted, and a header that carries key material or
/// key locations (`jwk`, `jku`, `x5u`, `x5c`) or critical extensions (`crit`) is refused.
///
/// The claims cannot be read from an `UnverifiedToken`: only a
/// [`Verifier`](crate::Verifier) produces a [`VerifiedToken`](crate::VerifiedToken) that has them.
///
/// ```
/// use keygate_token::{Error, UnverifiedToken};
///
/// // RFC 7515 appendix A.5: an unsecured JWS.
/// let unsecured = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";
/// assert_eq!(UnverifiedToken::parse(unsecured).unwrap_err(), Error::AlgorithmNone);
/// ```
#[derive(Clone)]
pub struct UnverifiedToken<'a> {
    text: &'a str,
    segments: Segments<'a>,
    header: Header,
}

impl<'a> UnverifiedToken<'a> {
    /// Parses `text`, refusing it unread if it is longer than [`DEFAULT_MAX_TOKEN_LEN`].
    pub fn parse(text: &'a str) -> Result<UnverifiedToken<'a>, Error> {
        if text.len() > DEFAULT_MAX_TOKEN_LEN {
            return Err(Error::TooLarge { len: text.len(), max: DEFAULT_MAX_TOKEN_LEN });
        }
        let segments = jose::split(text)?;
        let mut buffer = SegmentBuffer::<256>::new();
        let decoded = jose::decode_segment_into(
            segments.header,
            buffer.get(segments.header.len()),
            Malformed::HeaderEncoding,
        )?;
        let header = json::parse_header(decoded)?;
        Ok(UnverifiedToken { text, segments, header })
    }

    /// The algorithm the header names.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.header.algorithm
    }

    /// The header's `kid`, if any: checked against keygate's kid alphabet, as
    /// [`SigningKeyId`](keygate_core::SigningKeyId) checks it.
    pub fn kid(&self) -> Option<&str> {
        self.header.kid.as_ref().map(jose::ShortText::as_str)
    }

    /// The header's `typ`, if any.
    pub fn token_type(&self) -> Option<&str> {
        self.header.token_type.as_ref().map(jose::ShortText::as_str)
    }

    /// The whole token text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    pub(crate) fn segments(&self) -> &Segments<'a> {
        &self.segments
    }
}

impl fmt::Debug for UnverifiedToken<'_> {
    /// Shows the header only: a whole token is a credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("algorithm", &self.header.algorithm)
            .field("kid", &self.header.kid)
            .field("typ", &self.header.token_type)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn header(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn parse_header(json: &str) -> Result<SigningAlgorithm, Error> {
        let token = format!("{}.e30.c2ln", header(json));
        UnverifiedToken::parse(&token).map(|t| t.algorithm())
    }

    #[test]
    fn reads_the_header() {
        let token = format!(
            "{}.e30.c2ln",
            header(r#"{"alg":"ES256","kid":"k-1","typ":"kg+jwt","custom":[1,{"x":2}]}"#)
        );
        let parsed = UnverifiedToken::parse(&token).unwrap();
        assert_eq!(parsed.algorithm(), SigningAlgorithm::ES256);
        assert_eq!(parsed.kid(), Some("k-1"));
        assert_eq!(parsed.token_type(), Some("kg+jwt"));
        assert_eq!(parsed.segments().signing_input, &token[..token.len() - 5]);
        assert!(!format!("{parsed:?}").contains("c2ln"));
    }

    #[test]
    fn refuses_bad_structure() {
        let good = header(r#"{"alg":"HS256"}"#);
        assert!(UnverifiedToken::parse(&format!("{good}.e30.c2ln")).is_ok());
        for bad in [
            String::new(),
            "a.b".to_owned(),
            format!("{good}.e30.c2ln.extra"),
            format!("{good}.e30"),
            format!("{good}=.e30.c2ln"),
            format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode("[]")),
            format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode("{\"alg\":\"HS256\"} x")),
        ] {
            let result = UnverifiedToken::parse(&bad);
            assert!(matches!(result, Err(Error::Malformed(_))), "{bad:?}: {result:?}");
        }
    }

    #[test]
    fn size_cap_comes_first() {
        let huge = "x".repeat(DEFAULT_MAX_TOKEN_LEN + 1);
        assert_eq!(
            UnverifiedToken::parse(&huge).unwrap_err(),
            Error::TooLarge { len: huge.len(), max: DEFAULT_MAX_TOKEN_LEN }
        );
    }

    #[test]
    fn header_rules() {
        assert_eq!(parse_header(r#"{"alg":"none"}"#), Err(Error::AlgorithmNone));
        assert_eq!(parse_header(r#"{"alg":"HS1"}"#), Err(Error::UnsupportedAlgorithm));
        assert_eq!(parse_header(r#"{"alg":"hs256"}"#), Err(Error::UnsupportedAlgorithm));
        assert!(matches!(parse_header(r#"{"typ":"JWT"}"#), Err(Error::Malformed(_))));
        assert!(matches!(parse_header(r#"{"alg":256}"#), Err(Error::Malformed(_))));
        assert!(matches!(
            parse_header(r#"{"alg":"HS256","alg":"none"}"#),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            parse_header(r#"{"alg":"HS256","kid":"../../k"}"#),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            parse_header(r#"{"alg":"HS256","kid":"k\u0000"}"#),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(parse_header(r#"{"alg":"HS256","kid":7}"#), Err(Error::Malformed(_))));
        assert!(matches!(parse_header(r#"{"alg":"HS256","cty":[]}"#), Err(Error::Malformed(_))));
        for refused in ["crit", "jku", "jwk", "x5u", "x5c", "enc", "zip"] {
            let json = format!(r#"{{"alg":"HS256","{refused}":"x"}}"#);
            assert_eq!(parse_header(&json), Err(Error::UnsupportedHeader(refused)), "{refused}");
        }
        assert_eq!(
            parse_header(r#"{"alg":"HS256","kid":null,"typ":null}"#),
            Ok(SigningAlgorithm::HS256)
        );
        assert_eq!(parse_header(r#"{"alg":"H\u0053256"}"#), Ok(SigningAlgorithm::HS256));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!(r#"{{"alg":"HS256","x":{}{}}}"#, "[".repeat(2500), "]".repeat(2500));
        let token = format!("{}.e30.c2ln", header(&deep));
        assert!(token.len() < DEFAULT_MAX_TOKEN_LEN);
        let result = UnverifiedToken::parse(&token);
        assert!(matches!(result, Err(Error::Malformed(_))), "{result:?}");
    }
}
