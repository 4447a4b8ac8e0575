//! Pulsar auth data: never a panic; what is accepted is a token of visible ASCII, read as an
//! opaque key or a JWT by its shape.
#![no_main]

use keygate::Credential;
use keygate_wire::pulsar::{TOKEN_METHOD, TokenAuth};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (method, token) = match data.split_first() {
        Some((0, rest)) => ("tls", rest),
        Some((_, rest)) => (TOKEN_METHOD, rest),
        None => (TOKEN_METHOD, data),
    };
    match TokenAuth::parse(method, token).map(|auth| auth.credential()) {
        Ok(Credential::ApiKey(text)) | Ok(Credential::Bearer(text)) => {
            assert_eq!(method, TOKEN_METHOD);
            assert_eq!(text.as_bytes(), token);
            assert!(text.bytes().all(|b| b.is_ascii_graphic()));
        }
        Ok(_) => panic!("token auth data read as a key id and secret"),
        Err(_) => {}
    }
});
