//! How keygate's verifier relates to jsonwebtoken 11's `decode`, for code moving from one to
//! the other.
//!
//! Configured alike (one key bound to one algorithm, `exp` and `sub` required, `nbf` checked, the
//! same leeway and audience), the two agree on every token but in the cases below, where keygate
//! refuses on purpose what jsonwebtoken accepts. jsonwebtoken never refuses what keygate
//! accepts. The differential test and fuzz target hold both to this.

use std::borrow::Cow;

use crate::{Error, Malformed};

/// Why keygate refused, with `error`, a token that jsonwebtoken 11 accepts, if that is one of
/// the deliberate differences; `None` if it is not (a disagreement to report).
pub fn stricter_than_jsonwebtoken(error: &Error) -> Option<&'static str> {
    let claim = |name: &Cow<'static, str>| name.to_string();
    match error {
        Error::TooLarge { .. } => Some("tokens over 8 KiB are refused before anything is decoded"),
        Error::UnsupportedHeader(_) => Some(
            "crit, jku, jwk, x5u, x5c, enc and zip headers are refused: keys and key locations in a token are never trusted, critical extensions are not implemented, JWE and compression are not JWS",
        ),
        Error::UnknownKeyId => Some(
            "jsonwebtoken leaves key selection to its caller; keygate refuses a kid it has no key for",
        ),
        Error::Malformed(Malformed::KidCharacters) => {
            Some("a kid must be in keygate's alphabet (no paths, whitespace or control characters)")
        }
        Error::Malformed(Malformed::TooDeep) => Some(
            "members nesting deeper than 32 levels are refused (jsonwebtoken skips unknown claims without a limit)",
        ),
        Error::InvalidClaim(name) if ["exp", "nbf"].contains(&claim(name).as_str()) => Some(
            "a NumericDate must be a non-negative integer no later than 9999-12-31; jsonwebtoken rounds floats, accepts any u64, and reads null as absent",
        ),
        Error::InvalidClaim(name)
            if ["iat", "jti", "iss", "aud", "kg_scope", "kg_permissions"]
                .contains(&claim(name).as_str()) =>
        {
            Some(
                "claims jsonwebtoken does not type-check when unconfigured must still have their registered type",
            )
        }
        Error::DuplicateClaim(name)
            if ["iat", "jti", "kg_scope", "kg_permissions"].contains(&claim(name).as_str()) =>
        {
            Some(
                "a claim keygate reads may appear only once (jsonwebtoken keeps the last of claims it does not validate)",
            )
        }
        Error::InvalidClaim(name) if claim(name) == "sub" => {
            Some("an empty subject names no principal; jsonwebtoken accepts any string")
        }
        Error::IssuedInFuture { .. } => Some(
            "an iat later than now plus the leeway is refused; jsonwebtoken does not look at iat",
        ),
        _ => None,
    }
}
