//! KIP-368: sessions end when `--max-session` (or the key) says, clients re-authenticate on the
//! same connection, and a re-authentication may not change the principal.

use std::time::Duration;

use super::support::{
    Tansu, authenticate, client, closed_within, externals, key, operator, proxy, sasl_plain,
    still_served, tansu,
};

#[test]
fn clients_re_authenticate_within_the_session_cap_and_keep_producing() {
    let test = "api::sessions::clients_re_authenticate_within_the_session_cap_and_keep_producing";
    let Some((python, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (id, secret) = key(&operator, &[]);
    let mut gateway = proxy(&operator, &tansu, &["--max-session", "3s"]);
    let mut producer = client(&python, "confluent-kafka", gateway.port, &["PLAIN", &id, &secret]);
    assert_eq!(producer.ask("create sessions")["ok"], true);
    assert_eq!(producer.ask("produce sessions one")["ok"], true);
    let line = gateway.expect(&format!("authenticated as orders with key {id}"), T);
    assert!(line.contains("session lifetime 3000 ms"), "{line}");
    // librdkafka re-authenticates before the 3 s are up, on the same connection.
    gateway.expect(&format!("re-authenticated as orders with key {id}"), T);
    std::thread::sleep(Duration::from_secs(1));
    let answer = producer.ask("produce-again sessions two");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["offset"], 1, "{answer}");
}

#[test]
fn a_session_that_is_not_renewed_ends_and_a_new_principal_is_refused() {
    let test = "api::sessions::a_session_that_is_not_renewed_ends_and_a_new_principal_is_refused";
    let Some(tansu) = tansu(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    operator.keygate(&["service-account", "create", "billing"]);
    let (id, secret) = key(&operator, &[]);
    let (other_id, other_secret) =
        operator.api_key(&["--service-account", "billing", "--resource", super::support::CLUSTER]);
    let mut gateway = proxy(&operator, &tansu, &["--max-session", "2s"]);

    // Re-authenticating with the same principal's key is fine; with another's it is refused,
    // and the connection closed.
    let mut stream = authenticate(gateway.port, &id, &secret);
    still_served(&mut stream, 3);
    let again = sasl_plain(&mut stream, &id, &secret, 4);
    assert_eq!(again.error_code, 0, "{:?}", again.error_message);
    let changed = sasl_plain(&mut stream, &other_id, &other_secret, 6);
    assert_eq!(changed.error_code, 58, "SASL_AUTHENTICATION_FAILED");
    assert!(closed_within(&mut stream, T));
    gateway.expect("closed: authentication failed", T);

    // A client that does not re-authenticate is closed when its session ends.
    let mut quiet = authenticate(gateway.port, &id, &secret);
    assert!(closed_within(&mut quiet, Duration::from_secs(4)), "a session outlived its cap");
    gateway.expect("the session expired without re-authenticating", T);
}

const T: Duration = Duration::from_secs(10);
