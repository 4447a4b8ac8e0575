//! Reading a token without verifying it, for operators' tools only.
//!
//! `keygate token show` prints what a token says so that an operator can see why it fails.
//! Nothing read here may be used to make a decision: the signature has not been checked.

use serde_json::Value;

use crate::Error;
use crate::token::{DEFAULT_MAX_TOKEN_LEN, decode_segment};

/// The header and claims of `token` as JSON, **not verified**. The same size cap and segment
/// rules as [`UnverifiedToken::parse`](crate::UnverifiedToken::parse) apply, but the header's
/// algorithm is not checked, so even `alg: none` tokens can be shown.
pub fn peek_unverified(token: &str) -> Result<(Value, Value), Error> {
    if token.len() > DEFAULT_MAX_TOKEN_LEN {
        return Err(Error::TooLarge { len: token.len(), max: DEFAULT_MAX_TOKEN_LEN });
    }
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(Error::Malformed("a compact JWS has exactly three segments"));
    };
    let header = decode_segment(header, Error::Malformed("the header is not unpadded base64url"))?;
    let payload =
        decode_segment(payload, Error::Malformed("the payload is not unpadded base64url"))?;
    let header =
        serde_json::from_slice(&header).map_err(|_| Error::Malformed("the header is not JSON"))?;
    let claims = serde_json::from_slice(&payload)
        .map_err(|_| Error::Malformed("the claims are not JSON"))?;
    Ok((header, claims))
}
