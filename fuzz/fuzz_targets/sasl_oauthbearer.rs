//! SASL/OAUTHBEARER initial responses and the exchange around them: never a panic; what
//! parses re-encodes to a response that parses the same.
#![no_main]

use keygate_wire::{CLIENT_ABORT, InitialResponse, OAuthBearerServer, encode_initial_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut server = OAuthBearerServer::new();
    match server.initial(data) {
        Ok(response) => {
            let again = encode_initial_response(response.token(), response.extensions());
            let reparsed = InitialResponse::parse(&again).expect("an encoded response parses");
            assert_eq!(reparsed.token(), response.token());
            assert_eq!(reparsed.extensions(), response.extensions());
        }
        Err(_) => {
            server.reject();
            let _ = server.after_challenge(data);
            let _ = server.after_challenge(CLIENT_ABORT);
        }
    }
});
