//! Keys that do not hold are refused at SASL, and revoking a key closes the connections open
//! with it.

use std::time::{Duration, Instant};

use super::support::{Tansu, client, externals, free_port, key, operator, proxy, scrape};

#[test]
fn keys_that_do_not_hold_are_refused_at_authentication() {
    let test = "api::revocation::keys_that_do_not_hold_are_refused_at_authentication";
    let Some((python, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (good_id, good_secret) = key(&operator, &[]);
    let (other_id, other_secret) =
        operator.api_key(&["--service-account", "orders", "--resource", "kafka-cluster/lkc-other"]);
    let (revoked_id, revoked_secret) = key(&operator, &[]);
    let (suspended_id, suspended_secret) = key(&operator, &[]);
    operator.keygate(&["api-key", "revoke", &revoked_id]);
    operator.keygate(&["api-key", "suspend", &suspended_id]);
    let metrics_port = free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let mut gateway = proxy(&operator, &tansu, &["--metrics", &metrics]);
    let port = gateway.port;
    // A secret that fails its checksum, and a well-formed one that is not the key's.
    let broken = format!("{}x", &good_secret[..good_secret.len() - 1]);
    let random = keygate::token::SystemRandom::new();
    let forged = keygate::token::ApiKey::generate_for(good_id.parse().unwrap(), &random).unwrap();
    let forged = forged.expose().to_string();

    for library in ["kafka-python", "confluent-kafka"] {
        for (id, secret, logged) in [
            (&other_id, &other_secret, "not valid on kafka-cluster/lkc-proxy"),
            (&revoked_id, &revoked_secret, "revoked"),
            (&suspended_id, &suspended_secret, "suspended"),
            (&good_id, &broken, "malformed"),
            (&good_id, &forged, "authentication failed"),
        ] {
            // Clients retry; what the last one's retries logged is not this one's.
            gateway.drain();
            let mut refused = client(&python, library, port, &["PLAIN", id, secret]);
            // Clients retry a refused authentication until they give up; no need to wait long.
            refused.ask("timeout 3");
            let answer = refused.ask("produce orders never");
            assert_eq!(answer["ok"], false, "{library} {logged}: {answer}");
            let line = gateway.expect(logged, T);
            assert!(line.contains("closed: authentication failed"), "{library}: {line}");
            assert!(!line.contains(secret.as_str()), "a secret in the log: {line}");
            drop(refused);
        }
    }
    // The good key still works after all that.
    let mut good = client(&python, "kafka-python", port, &["PLAIN", &good_id, &good_secret]);
    assert_eq!(good.ask("create orders")["ok"], true);
    assert_eq!(good.ask("produce orders fine")["ok"], true);

    let text = scrape(metrics_port);
    for reason in ["wrong_resource", "revoked", "suspended", "malformed", "bad_secret"] {
        let line = format!(
            "keygate_proxy_authentications_total{{outcome=\"failure\",reason=\"{reason}\"}}"
        );
        assert!(text.contains(&line), "no {line} in\n{text}");
    }
}

#[test]
fn revoking_a_key_closes_its_consumer_s_connections_within_a_second() {
    let test = "api::revocation::revoking_a_key_closes_its_consumer_s_connections_within_a_second";
    let Some((python, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let mut gateway = proxy(&operator, &tansu, &[]);
    for library in ["kafka-python", "confluent-kafka"] {
        let topic = format!("revoked-{library}");
        let (id, secret) = key(&operator, &[]);
        let mut producer = client(&python, library, gateway.port, &["PLAIN", &id, &secret]);
        assert_eq!(producer.ask(&format!("create {topic}"))["ok"], true);
        assert_eq!(producer.ask(&format!("produce {topic} one"))["ok"], true);
        let mut consumer = client(&python, library, gateway.port, &["PLAIN", &id, &secret]);
        let answer = consumer.ask(&format!("consume {topic} watchers 1"));
        assert_eq!(answer["ok"], true, "{answer}");
        gateway.drain();

        operator.keygate(&["api-key", "revoke", &id]);
        let revoked = Instant::now();
        // The consumer (and the producer) are connected; each of their connections is closed.
        let line = gateway.expect("closed: the credential no longer holds", Duration::from_secs(1));
        assert!(line.contains("revoked"), "{line}");
        eprintln!("{library}: closed {:?} after the revoke command returned", revoked.elapsed());
        // And it cannot come back.
        let answer = producer.ask(&format!("produce-again {topic} two"));
        assert_eq!(answer["ok"], false, "{library}: {answer}");
    }
}

const T: Duration = Duration::from_secs(10);
