//! Reading a token without verifying it, for operators' tools only.
//!
//! `keygate token show` prints what a token says so that an operator can see why it fails.
//! Nothing read here may be used to make a decision: the signature has not been checked.

use serde_json::Value;

use crate::token::DEFAULT_MAX_TOKEN_LEN;
use crate::{Error, Malformed, jose};

/// The header and claims of `token` as JSON, **not verified**. The same size cap and segment
/// rules as [`UnverifiedToken::parse`](crate::UnverifiedToken::parse) apply, but the header's
/// algorithm is not checked, so even `alg: none` tokens can be shown.
pub fn peek_unverified(token: &str) -> Result<(Value, Value), Error> {
    if token.len() > DEFAULT_MAX_TOKEN_LEN {
        return Err(Error::TooLarge { len: token.len(), max: DEFAULT_MAX_TOKEN_LEN });
    }
    let segments = jose::split(token)?;
    let header = jose::decode_segment(segments.header, Malformed::HeaderEncoding)?;
    let payload = jose::decode_segment(segments.payload, Malformed::PayloadEncoding)?;
    let header =
        serde_json::from_slice(&header).map_err(|_| Error::Malformed(Malformed::HeaderNotJson))?;
    let claims =
        serde_json::from_slice(&payload).map_err(|_| Error::Malformed(Malformed::ClaimsNotJson))?;
    Ok((header, claims))
}
