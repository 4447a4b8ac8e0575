//! Every client with every mechanism: produce through the proxy, consume the same records back
//! with a consumer group, and see them at the offsets the broker gave them.

use std::time::Duration;

use serde_json::{Value, json};

use super::support::{Tansu, client, externals, key, operator, proxy};

const LIBRARIES: [&str; 2] = ["kafka-python", "confluent-kafka"];

#[test]
fn every_client_and_mechanism_produces_and_consumes_through_the_proxy() {
    let test = "api::clients::every_client_and_mechanism_produces_and_consumes_through_the_proxy";
    let Some((python, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    operator.keygate(&["signing-key", "create"]);
    let (plain_id, secret) = key(&operator, &[]);
    let (jwt_id, jwt) = key(&operator, &["--format", "jwt"]);
    let mut gateway = proxy(&operator, &tansu, &[]);

    let plain: [&str; 3] = ["PLAIN", &plain_id, &secret];
    let bearer: [&str; 2] = ["OAUTHBEARER", &jwt];
    let mut matrix = Vec::new();
    for library in LIBRARIES {
        for (mechanism, credentials, key_id) in
            [("PLAIN", &plain[..], &plain_id), ("OAUTHBEARER", &bearer[..], &jwt_id)]
        {
            let topic = format!("orders-{library}-{mechanism}").to_lowercase();
            let mut producer = client(&python, library, gateway.port, credentials);
            let answer = producer.ask(&format!("create {topic}"));
            assert_eq!(answer["ok"], true, "{library} {mechanism} create: {answer}");
            for (n, value) in ["first", "second"].into_iter().enumerate() {
                let answer = producer.ask(&format!("produce {topic} {value}"));
                assert_eq!(answer["ok"], true, "{library} {mechanism} produce: {answer}");
                assert_eq!(answer["offset"], n, "{library} {mechanism}: {answer}");
            }
            let mut consumer = client(&python, library, gateway.port, credentials);
            let answer = consumer.ask(&format!("consume {topic} group-{topic} 2"));
            assert_eq!(answer["ok"], true, "{library} {mechanism} consume: {answer}");
            assert_eq!(
                answer["records"],
                json!([[0, "first"], [1, "second"]]),
                "{library} {mechanism}"
            );
            gateway.expect(&format!("authenticated as orders with key {key_id}"), SECONDS_5);
            matrix.push(format!("{library} × {mechanism}: create, produce, consume in a group"));
        }
    }
    // The committed offsets are the broker's: a second consumer of the group starts after them.
    let mut late = client(&python, "kafka-python", gateway.port, &plain);
    let answer = late.ask("produce orders-kafka-python-plain third");
    assert_eq!(answer["offset"], 2, "{answer}");
    let mut again = client(&python, "confluent-kafka", gateway.port, &plain);
    let answer: Value =
        again.ask("consume orders-kafka-python-plain group-orders-kafka-python-plain 1");
    assert_eq!(answer["records"], json!([[2, "third"]]), "{answer}");
    eprintln!("{}", matrix.join("\n"));
}

const SECONDS_5: Duration = Duration::from_secs(5);
