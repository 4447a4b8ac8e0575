//! A driver for profilers: authenticates one credential kind in a loop against a loaded
//! authenticator, with no statistics in the way, and prints the mean time per call.
//!
//! ```text
//! cargo build --release -p keygate-benches --example profile
//! perf record -e cpu-clock target/release/examples/profile opaque 1000000 30000000
//! valgrind --tool=callgrind --toggle-collect='*Authenticator::authenticate*' \
//!     target/release/examples/profile opaque 10000 200000
//! ```
//!
//! Arguments: `opaque`, `jwt` (an HS256 JWT API key the authenticator has seen before),
//! `jwt-cold` (the same through an authenticator whose token cache is off) or `es256-warm` (an
//! ES256 token verified with the signature cache hit, through the Verifier alone), the number of keys indexed (default 10,000), and the number
//! of calls (default 200,000). The setup is left out of callgrind's count by `--toggle-collect`, and
//! of perf's by `perf report --time 50%-100%` on a long enough run.

// A profiling driver panics on failure; there is nobody to report an error to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use keygate::{AuthConfig, AuthContext, Credential};
use keygate_benches::NOW;
use keygate_benches::fleet::{cluster, fleet_with};
use keygate_benches::tokens::{options, signing_key, token, verifier};
use keygate_core::SigningAlgorithm;

const PRESENTED: usize = 1024;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "opaque".to_owned());
    let keys: usize = args.next().map_or(10_000, |n| n.parse().expect("a number of keys"));
    let calls: usize = args.next().map_or(200_000, |n| n.parse().expect("a number of calls"));

    if kind == "es256-warm" {
        warm_es256(calls);
    }
    let config = match kind.as_str() {
        "jwt-cold" => AuthConfig::default().with_token_cache_slots(0),
        _ => AuthConfig::default(),
    };
    let fleet = fleet_with(keys, PRESENTED, config);
    let resource = cluster();
    let context = AuthContext::new(&resource, NOW);
    let started = Instant::now();
    for i in 0..calls {
        let credential = match kind.as_str() {
            "jwt" | "jwt-cold" => Credential::Bearer(&fleet.hs256_token),
            _ => Credential::ApiKey(&fleet.opaque[i % PRESENTED]),
        };
        black_box(fleet.authenticator.authenticate(&credential, &context).unwrap());
    }
    let per_call = started.elapsed() / u32::try_from(calls.max(1)).unwrap_or(u32::MAX);
    println!("{kind}, {keys} keys: {per_call:?} per call over {calls} calls");
    // Dropping a million keys would only add noise to a profile.
    std::process::exit(0);
}

fn warm_es256(calls: usize) -> ! {
    let key = signing_key(SigningAlgorithm::ES256);
    let token = token(&key);
    let (verifier, options) = (verifier(&key, true), options());
    let started = Instant::now();
    for _ in 0..calls {
        let mut buffer = keygate_token::ClaimsBuffer::new();
        let verified = verifier.verify_str(black_box(&token), &options, NOW, &mut buffer);
        black_box(verified.unwrap().claims().key_id());
    }
    let per_call = started.elapsed() / u32::try_from(calls.max(1)).unwrap_or(u32::MAX);
    println!("es256-warm: {per_call:?} per call over {calls} calls");
    std::process::exit(0);
}
