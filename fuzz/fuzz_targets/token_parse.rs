//! Token parsing: never a panic; where `UnverifiedToken::parse` (which leaves the payload for
//! verification to decode) and the operator's peek both read a token, they read the same
//! algorithm.
#![no_main]

use keygate_token::UnverifiedToken;
use keygate_token::dangerous::peek_unverified;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let peeked = peek_unverified(text);
    if let Ok(token) = UnverifiedToken::parse(text) {
        if let Ok((header, _)) = peeked {
            assert_eq!(header["alg"].as_str(), Some(token.algorithm().name()));
        }
        let _ = (token.kid(), token.token_type(), token.as_str());
    }
});
