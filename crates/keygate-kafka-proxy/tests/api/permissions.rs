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

/// Refusals of the APIs whose responses carry only per-item errors, as librdkafka (through
/// confluent-kafka's AdminClient) receives them: one result per item asked about, each with
/// its authorization error, and no abort. Each call runs in a process of its own, so an abort
/// (librdkafka's `Assertion 'rko_result' failed`) is seen in its exit status.
#[test]
fn librdkafka_gets_an_authorization_error_for_every_item_it_asked_about() {
    let test =
        "api::permissions::librdkafka_gets_an_authorization_error_for_every_item_it_asked_about";
    let Some((python, tansu)) = externals(test) else {
        return;
    };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (id, secret) = key(&operator, &["--permission", "produce"]);
    let (admin_id, admin_secret) = key(&operator, &["--permission", "admin"]);
    let gateway = proxy(&operator, &tansu, &[]);
    let bootstrap = format!("127.0.0.1:{}", gateway.port);
    // The topics exist, so that the refusal, not their absence, is what the client sees.
    let mut admin =
        client(&python, "kafka-python", gateway.port, &["PLAIN", &admin_id, &admin_secret]);
    for topic in ["orders", "refunds"] {
        assert_eq!(admin.ask(&format!("create {topic}"))["ok"], true);
    }
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/admin_refusals.py");
    // The APIs of issue's list that Tansu serves (the proxy offers an API only where the
    // cluster does): DeleteAcls, AlterConfigs and CreatePartitions are held to one result per
    // item by the refusal unit tests alone.
    let expected: &[(&str, &[&str])] = &[
        ("create_acls", &["CLUSTER_AUTHORIZATION_FAILED"; 2]),
        ("delete_consumer_groups", &["GROUP_AUTHORIZATION_FAILED"; 2]),
        ("delete_records", &["TOPIC_AUTHORIZATION_FAILED"; 2]),
        ("incremental_alter_configs", &["TOPIC_AUTHORIZATION_FAILED"; 2]),
        ("describe_user_scram_credentials", &["CLUSTER_AUTHORIZATION_FAILED"; 2]),
        ("alter_user_scram_credentials", &["CLUSTER_AUTHORIZATION_FAILED"; 2]),
        ("alter_consumer_group_offsets", &["GROUP_AUTHORIZATION_FAILED"]),
        // A produce-only key starts a transaction, and may not commit a group's offsets in it.
        ("send_offsets_to_transaction", &["GROUP_AUTHORIZATION_FAILED"]),
    ];
    let mut failures = Vec::new();
    for &(call, codes) in expected {
        let output = std::process::Command::new(&python)
            .arg(&script)
            .args([&bootstrap, &id, &secret, call])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let answer: Option<serde_json::Value> =
            stdout.lines().last().and_then(|line| serde_json::from_str(line).ok());
        let want = serde_json::json!({ "codes": codes });
        if !output.status.success() || answer.as_ref() != Some(&want) {
            failures.push(format!(
                "{call}: exit {:?}, answered {answer:?}, wanted {want}\n{stderr}",
                output.status
            ));
        }
    }
    assert!(failures.is_empty(), "librdkafka:\n{}", failures.join("\n"));
}
