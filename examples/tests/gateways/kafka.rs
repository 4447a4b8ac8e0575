//! The Kafka gateway with kafka-python: SASL/PLAIN and SASL/OAUTHBEARER, wrong cluster,
//! missing permission, revocation of open connections.

use std::time::Duration;

use super::support::{Client, Gateway, Operator, python};

const CLUSTER: &str = "kafka-cluster/lkc-test";

#[test]
fn kafka_clients_produce_with_keygate_keys_until_they_are_revoked() {
    let Some(python) =
        python("gateways::kafka::kafka_clients_produce_with_keygate_keys_until_they_are_revoked")
    else {
        return;
    };
    let operator = Operator::new();
    operator.keygate(&["service-account", "create", "orders"]);
    operator.keygate(&["signing-key", "create"]);
    let (id, secret) = operator.api_key(&["--service-account", "orders", "--resource", CLUSTER]);
    let (other_id, other_secret) =
        operator.api_key(&["--service-account", "orders", "--resource", "kafka-cluster/lkc-other"]);
    let (reader_id, reader_secret) = operator.api_key(&[
        "--service-account",
        "orders",
        "--resource",
        CLUSTER,
        "--permission",
        "consume",
    ]);
    let (jwt_id, jwt) = operator.api_key(&[
        "--service-account",
        "orders",
        "--resource",
        CLUSTER,
        "--format",
        "jwt",
    ]);

    let store = operator.store();
    let mut gateway = Gateway::start("kafka_gateway", &["--store", &store, "--resource", CLUSTER]);
    let bootstrap = format!("127.0.0.1:{}", gateway.port);
    let plain = |id: &str, secret: &str| {
        Client::start(&python, "kafka_client.py", &[&bootstrap, "PLAIN", id, secret])
    };
    let bearer = |token: &str| {
        Client::start(&python, "kafka_client.py", &[&bootstrap, "OAUTHBEARER", token])
    };

    // SASL/PLAIN with the key id and the secret exactly as the CLI printed them.
    let mut producer = plain(&id, &secret);
    for _ in 0..2 {
        let answer = producer.ask("produce orders");
        assert_eq!(answer["ok"], true, "{answer}");
    }
    gateway.expect(&format!("authenticated as orders with key {id}"), Duration::from_secs(5));

    // A key for another cluster: refused at authentication.
    let answer = plain(&other_id, &other_secret).ask("produce orders");
    assert_eq!(answer["ok"], false, "{answer}");
    gateway.expect("not valid on kafka-cluster/lkc-test", Duration::from_secs(5));

    // A key that may not produce: authenticated, then refused per topic.
    let answer = plain(&reader_id, &reader_secret).ask("produce orders");
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("TopicAuthorizationFailed"), "{answer}");
    gateway.expect("produce refused", Duration::from_secs(5));

    // SASL/OAUTHBEARER with a JWT API key; a tampered one goes through the error challenge.
    let mut jwt_producer = bearer(&jwt);
    let answer = jwt_producer.ask("produce orders");
    assert_eq!(answer["ok"], true, "{answer}");
    gateway.expect(&format!("with key {jwt_id}"), Duration::from_secs(5));
    let (body, signature) = jwt.rsplit_once('.').unwrap();
    let tampered =
        format!("{body}.{}{}", if signature.starts_with('A') { 'B' } else { 'A' }, &signature[1..]);
    let answer = bearer(&tampered).ask("produce orders");
    assert_eq!(answer["ok"], false, "{answer}");
    gateway.expect("authentication failed", Duration::from_secs(5));

    // Revoke the opaque key: the producer's open connection is closed at the next sync, and it
    // cannot get back in.
    operator.keygate(&["api-key", "revoke", &id, "--reason", "leaked"]);
    gateway.expect(
        &format!("closed: the credential no longer holds: key {id} is revoked"),
        Duration::from_secs(5),
    );
    let answer = producer.ask("produce orders");
    assert_eq!(answer["ok"], false, "{answer}");
    let answer = plain(&id, &secret).ask("produce orders");
    assert_eq!(answer["ok"], false, "{answer}");

    // The same for the JWT key.
    operator.keygate(&["api-key", "revoke", &jwt_id]);
    gateway.expect(
        &format!("closed: the credential no longer holds: key {jwt_id} is revoked"),
        Duration::from_secs(5),
    );
    let answer = bearer(&jwt).ask("produce orders");
    assert_eq!(answer["ok"], false, "{answer}");
}

#[test]
fn kafka_clients_reauthenticate_before_their_session_ends() {
    let Some(python) =
        python("gateways::kafka::kafka_clients_reauthenticate_before_their_session_ends")
    else {
        return;
    };
    let operator = Operator::new();
    operator.keygate(&["service-account", "create", "orders"]);
    let (id, secret) = operator.api_key(&["--service-account", "orders", "--resource", CLUSTER]);
    let store = operator.store();
    let mut gateway = Gateway::start(
        "kafka_gateway",
        &["--store", &store, "--resource", CLUSTER, "--max-session", "2s"],
    );
    let bootstrap = format!("127.0.0.1:{}", gateway.port);
    let mut producer =
        Client::start(&python, "kafka_client.py", &[&bootstrap, "PLAIN", &id, &secret]);
    assert_eq!(producer.ask("produce orders")["ok"], true);
    gateway.expect("session lifetime 2000 ms", Duration::from_secs(5));
    // KIP-368: the client re-authenticates on its connection before 2 s are up, and the
    // connection carries on.
    let again = gateway.expect("re-authenticated as orders", Duration::from_secs(5));
    let connection = again.split(':').next().unwrap().to_owned();
    assert_eq!(producer.ask("produce orders")["ok"], true);
    assert!(
        !gateway.drain().iter().any(|line| line.starts_with(&format!("{connection}: closed"))),
        "the re-authenticated connection was closed"
    );
}
