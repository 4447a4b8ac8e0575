//! Cursor pagination: `page_size` (1 to 1000, 100 by default), an opaque `page_token`, and the
//! `next_page_token` of each page.
//!
//! A token holds the cursor (the last id of the page before) and a check over the cursor and
//! the listing's filters, so a token altered in transit, or replayed against other filters, is
//! refused with 400 rather than silently listing something else. The check is a digest, not a
//! secret: tokens stay valid across every server over one store, and forging one gains nothing,
//! since a cursor only says where in a listing the caller may already read to start.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};

use crate::problem::Problem;

/// The page size when none is given.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The largest page.
pub const MAX_PAGE_SIZE: usize = 1000;

const CHECK_LEN: usize = 12;
const DOMAIN: &[u8] = b"keygate page token v1\0";

/// The page size asked for, within bounds.
pub(crate) fn size(page_size: Option<u32>) -> Result<usize, Problem> {
    match page_size {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(size) if (1..=MAX_PAGE_SIZE as u32).contains(&size) => Ok(size as usize),
        Some(_) => {
            Err(Problem::field("page_size", format!("page_size is from 1 to {MAX_PAGE_SIZE}")))
        }
    }
}

/// The token of the page after `cursor`, in the listing `filters` describes.
pub(crate) fn encode(cursor: &str, filters: &str) -> String {
    let mut bytes = Vec::with_capacity(cursor.len() + CHECK_LEN);
    bytes.extend_from_slice(cursor.as_bytes());
    bytes.extend_from_slice(&check(cursor, filters));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The cursor in `token`, if it is a token of the listing `filters` describes.
pub(crate) fn decode(token: &str, filters: &str) -> Result<String, Problem> {
    let refused = || {
        Problem::field(
            "page_token",
            "page_token is not a token this listing gave; start again without it",
        )
    };
    if token.len() > 1024 {
        return Err(refused());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refused())?;
    if bytes.len() <= CHECK_LEN {
        return Err(refused());
    }
    let (cursor, given) = bytes.split_at(bytes.len() - CHECK_LEN);
    let cursor = std::str::from_utf8(cursor).map_err(|_| refused())?;
    if given != check(cursor, filters) {
        return Err(refused());
    }
    Ok(cursor.to_owned())
}

fn check(cursor: &str, filters: &str) -> [u8; CHECK_LEN] {
    let mut input = Vec::with_capacity(DOMAIN.len() + cursor.len() + filters.len() + 1);
    input.extend_from_slice(DOMAIN);
    input.extend_from_slice(filters.as_bytes());
    input.push(0);
    input.extend_from_slice(cursor.as_bytes());
    let mut out = [0; CHECK_LEN];
    out.copy_from_slice(&digest(&SHA256, &input).as_ref()[..CHECK_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gives_back_its_cursor_for_its_own_filters_only() {
        let token = encode("ygz2x35nbrvs1738", "owner=orders");
        assert_eq!(decode(&token, "owner=orders").unwrap(), "ygz2x35nbrvs1738");
        assert!(decode(&token, "owner=billing").is_err());
    }

    #[test]
    fn every_altered_byte_is_refused() {
        let token = encode("ygz2x35nbrvs1738", "");
        for at in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered != token {
                assert!(decode(&altered, "").is_err(), "byte {at} altered and accepted");
            }
        }
        for junk in ["", "x", "%%%", &"A".repeat(5000)] {
            assert!(decode(junk, "").is_err(), "{junk:?}");
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(size(Some(1000)).unwrap(), 1000);
        assert!(size(Some(0)).is_err());
        assert!(size(Some(1001)).is_err());
    }
}
