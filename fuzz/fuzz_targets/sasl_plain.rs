//! SASL/PLAIN messages: never a panic; what parses re-encodes (authzid included) to a message
//! that parses the same.
#![no_main]

use keygate_wire::{PlainMessage, encode_plain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = PlainMessage::parse(data) {
        assert!(!message.username().is_empty() && !message.password().is_empty());
        let again = [
            message.authzid().as_bytes(),
            b"\0",
            message.username().as_bytes(),
            b"\0",
            message.password().as_bytes(),
        ]
        .concat();
        let reparsed = PlainMessage::parse(&again).expect("a re-encoded message parses");
        assert_eq!(reparsed, message);
        if message.authzid().is_empty() {
            let encoded = encode_plain(message.username(), message.password());
            assert_eq!(PlainMessage::parse(&encoded).expect("an encoded message parses"), message);
        }
    }
});
