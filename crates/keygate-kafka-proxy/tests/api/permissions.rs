//! Each request is authorized by the key's permissions: what a key may not do gets the API's own
//! authorization error, and the connection carries on.

use std::time::Duration;

use super::support::{Tansu, client, externals, key, operator, proxy, scrape};

#[test]
fn each_request_needs_its_permission() {
    let Some((python, tansu)) = externals("api::permissions::each_request_needs_its_permission")
    else {
        return;
    };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (admin_id, admin_secret) = key(&operator, &["--permission", "admin"]);
    let (writer_id, writer_secret) = key(&operator, &["--permission", "produce"]);
    let (reader_id, reader_secret) = key(&operator, &["--permission", "consume"]);
    let metrics_port = super::support::free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let mut gateway = proxy(&operator, &tansu, &["--metrics", &metrics]);
    let port = gateway.port;

    // An admin key creates the topic; a produce-only key may not.
    let mut admin = client(&python, "kafka-python", port, &["PLAIN", &admin_id, &admin_secret]);
    assert_eq!(admin.ask("create payments")["ok"], true);
    for library in ["kafka-python", "confluent-kafka"] {
        let mut writer = client(&python, library, port, &["PLAIN", &writer_id, &writer_secret]);
        let answer = writer.ask("create refunds");
        assert_eq!(answer["ok"], false, "{library}: {answer}");
        assert_eq!(answer["code"], "TOPIC_AUTHORIZATION_FAILED", "{library}: {answer}");

        // It produces (describing the topic to find its partition is implied)...
        let answer = writer.ask(&format!("produce payments from-{library}"));
        assert_eq!(answer["ok"], true, "{library}: {answer}");
        // ...and may neither fetch nor join a group.
        let answer = writer.ask("fetch payments");
        assert_eq!(answer["code"], "TOPIC_AUTHORIZATION_FAILED", "{library}: {answer}");
        let answer = writer.ask("consume payments writers 1");
        assert_eq!(answer["code"], "GROUP_AUTHORIZATION_FAILED", "{library}: {answer}");

        // A consume-only key may not produce, and consumes what was produced.
        let mut reader = client(&python, library, port, &["PLAIN", &reader_id, &reader_secret]);
        let answer = reader.ask(&format!("produce payments from-{library}"));
        assert_eq!(answer["code"], "TOPIC_AUTHORIZATION_FAILED", "{library}: {answer}");
        let answer = reader.ask(&format!("consume payments readers-{library} 1"));
        assert_eq!(answer["ok"], true, "{library}: {answer}");
    }
    gateway.expect(&format!("CreateTopics refused: key {writer_id} of orders may not admin"), T);
    gateway.expect(&format!("Produce refused: key {reader_id} of orders may not produce"), T);

    let text = scrape(metrics_port);
    for line in [
        "keygate_proxy_requests_refused_total{api=\"CreateTopics\"} 2",
        "keygate_proxy_requests_refused_total{api=\"Produce\"} 2",
        "keygate_proxy_authentications_total{outcome=\"success\",reason=\"\"}",
        "keygate_proxy_bytes_total{direction=\"to_clients\"}",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    assert!(text.contains("keygate_proxy_requests_forwarded_total{api=\"Fetch\"}"), "{text}");
}

const T: Duration = Duration::from_secs(5);
