//! Pulsar topic names: never a panic; what is read prints back to a name that reads the same,
//! and its tenant and namespace are in Pulsar's alphabet.
#![no_main]

use keygate_wire::pulsar::topic::Topic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else { return };
    if let Ok(topic) = Topic::parse(name) {
        let printed = topic.to_string();
        assert_eq!(Topic::parse(&printed).expect("a printed name reads"), topic);
        for part in [topic.tenant(), topic.namespace()] {
            assert!(!part.is_empty() && !part.contains('/'));
        }
        assert!(!topic.local_name().is_empty());
    }
});
