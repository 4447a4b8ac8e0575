//! SASL/PLAIN messages: never a panic; what parses re-encodes to a message that parses the same.
#![no_main]

use keygate_wire::{PlainMessage, encode_plain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = PlainMessage::parse(data) {
        assert!(!message.username().is_empty() && !message.password().is_empty());
        let again = encode_plain(message.username(), message.password());
        let reparsed = PlainMessage::parse(&again).expect("an encoded message parses");
        assert_eq!(reparsed, message);
    }
});
