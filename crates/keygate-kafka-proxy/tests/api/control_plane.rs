//! The control plane driving the data path: an infrastructure-as-code tool (Python, over HTTP)
//! makes a service account and a key through `keygate serve`, a real Kafka client uses the key
//! through the proxy in front of Tansu, and a rotation and a revocation made through the API
//! reach the proxy, which closes the client's connection.

use std::path::Path;
use std::time::Duration;

use keygate_testkit::process::keygate_binary;

use super::support::{CLUSTER, Client, Gateway, Tansu, client, externals, operator, proxy};

#[test]
fn an_iac_tool_makes_rotates_and_revokes_a_key_that_a_real_client_uses() {
    let test =
        "api::control_plane::an_iac_tool_makes_rotates_and_revokes_a_key_that_a_real_client_uses";
    let Some((python, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    // The bootstrap the README shows: the first admin is made with the store in hand.
    let (admin_id, admin_secret) = operator.organization_admin("ops-bot");
    let store = operator.store();
    let mut server = Gateway::start(&keygate_binary(), &["serve", "--store", &store]);
    let mut gateway = proxy(&operator, &tansu, &[]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/iac.py");
    let mut iac = Client::start(&python, &script, &[&base, &admin_id, &admin_secret]);

    // Applying the same definition twice gives the same account.
    let first = iac.ask("apply-account orders-iac the orders pipeline");
    assert_eq!(
        (first["ok"].as_bool(), first["status"].as_u64()),
        (Some(true), Some(201)),
        "{first}"
    );
    let again = iac.ask("apply-account orders-iac the orders pipeline");
    assert_eq!(again["status"], 200, "{again}");
    assert_eq!(again["account"], first["account"]);

    // The tool makes its key once, and finds it by name the next time.
    let made = iac.ask(&format!("ensure-key orders-iac {CLUSTER} producer"));
    assert_eq!((made["ok"].as_bool(), made["made"].as_bool()), (Some(true), Some(true)), "{made}");
    let id = made["key"]["key_id"].as_str().unwrap().to_owned();
    let secret = made["secret"].as_str().unwrap().to_owned();
    let found = iac.ask(&format!("ensure-key orders-iac {CLUSTER} producer"));
    assert_eq!(
        (found["made"].as_bool(), found["key"]["key_id"].as_str()),
        (Some(false), Some(id.as_str())),
        "{found}"
    );
    assert!(found.get("secret").is_none() && found["key"].get("secret").is_none(), "{found}");

    // A real client (librdkafka) uses it through the proxy.
    let mut producer = client(&python, "confluent-kafka", gateway.port, &["PLAIN", &id, &secret]);
    assert_eq!(producer.ask("create iac-orders")["ok"], true);
    assert_eq!(producer.ask("produce iac-orders one")["ok"], true);

    // Rotated through the API: the replacement works at once, under the same name.
    let rotated = iac.ask(&format!("rotate {id}"));
    assert_eq!(rotated["status"], 201, "{rotated}");
    let new_id = rotated["new"]["key_id"].as_str().unwrap().to_owned();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    let found = iac.ask("find-key orders-iac producer");
    assert_eq!(found["key"]["key_id"].as_str(), Some(new_id.as_str()), "{found}");
    let mut rotated_producer =
        client(&python, "confluent-kafka", gateway.port, &["PLAIN", &new_id, &new_secret]);
    assert_eq!(rotated_producer.ask("produce iac-orders two")["ok"], true);

    // Revoked through the API: the proxy closes the connection open with it.
    gateway.drain();
    let revoked = iac.ask(&format!("revoke {new_id} rotated out by the pipeline"));
    assert_eq!(revoked["key"]["status"], "revoked", "{revoked}");
    let line = gateway.expect("closed: the credential no longer holds", Duration::from_secs(5));
    assert!(line.contains("revoked"), "{line}");
    let answer = rotated_producer.ask("produce-again iac-orders three");
    assert_eq!(answer["ok"], false, "{answer}");

    let lines = server.drain();
    assert!(
        lines.iter().all(|line| !line.contains(&admin_secret) && !line.contains(&new_secret)),
        "a secret in the server's log: {lines:#?}"
    );
    drop(producer);
}
