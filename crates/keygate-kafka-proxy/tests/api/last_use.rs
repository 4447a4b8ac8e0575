//! The proxy writes back when each key was last used, and `keygate` shows it.

use std::time::{Duration, Instant};

use super::support::{CLUSTER, Tansu, authenticate, key, operator, proxy, tansu};

#[test]
fn the_last_use_of_a_key_reaches_the_store_and_the_operator() {
    let test = "api::last_use::the_last_use_of_a_key_reaches_the_store_and_the_operator";
    let Some(tansu) = tansu(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (used_id, used_secret) = key(&operator, &[]);
    let (idle_id, _) = key(&operator, &[]);
    let gateway = proxy(&operator, &tansu, &["--last-use-interval", "1"]);
    let _stream = authenticate(gateway.port, &used_id, &used_secret);
    let describe = |id: &str| {
        let text = operator.keygate(&["api-key", "describe", id, "--output", "json"]);
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    // Written back within a second or two; the bound only keeps a broken build from hanging.
    let started = Instant::now();
    let described = loop {
        let described = describe(&used_id);
        if !described["last_used"].is_null() || started.elapsed() > Duration::from_secs(15) {
            break described;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let at = described["last_used"].as_str().expect("no last use written back");
    assert!(at.parse::<keygate::core::Timestamp>().is_ok(), "{at}");
    assert_eq!(described["last_used_on"], CLUSTER);
    assert!(describe(&idle_id)["last_used"].is_null());
    let table = operator.keygate(&["api-key", "list"]);
    let row = table.lines().find(|line| line.starts_with(&used_id)).unwrap();
    assert!(row.contains(at), "{row}");
}
