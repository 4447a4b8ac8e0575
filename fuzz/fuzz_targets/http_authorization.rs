//! HTTP Authorization values: never a panic; what parses re-encodes to a value that parses the
//! same.
#![no_main]

use keygate_wire::{HttpCredential, encode_basic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match HttpCredential::parse(text) {
        Ok(HttpCredential::Bearer(token)) => {
            let again = format!("Bearer {token}");
            assert_eq!(HttpCredential::parse(&again), Ok(HttpCredential::Bearer(token)));
        }
        Ok(HttpCredential::Basic { username, password }) => {
            let again = encode_basic(&username, &password);
            assert_eq!(
                HttpCredential::parse(&again),
                Ok(HttpCredential::Basic { username, password })
            );
        }
        Ok(_) | Err(_) => {}
    }
});
