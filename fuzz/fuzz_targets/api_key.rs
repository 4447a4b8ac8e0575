//! Opaque API keys: never a panic; a key that parses prints back to a key that parses the same,
//! and as a pair with its own id it is the same key.
#![no_main]

use keygate_token::ApiKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = ApiKey::parse(text) {
        let printed = key.expose();
        let again = ApiKey::parse(&printed).expect("a printed key parses");
        assert_eq!(again.key_id(), key.key_id());
        assert_eq!(*again.expose(), *printed);
        let pair = ApiKey::from_pair(&key.key_id().to_string(), &printed).expect("its own pair");
        assert_eq!(*pair.expose(), *printed);
    }
    // The same text as a SASL/PLAIN password for some key id.
    let _ = ApiKey::from_pair("5x7k2m9q4w8n6p1r", text);
});
