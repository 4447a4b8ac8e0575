//! The proxy reaches a cluster that requires TLS: stunnel (Debian's stunnel4) terminates TLS in
//! front of Tansu with a certificate from a CA the test makes; the proxy verifies it, and
//! refuses at start a cluster whose certificate it cannot trust or whose name is not the one
//! it expects.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keygate_testkit::process::{certificates, free_port};

use super::support::{CLUSTER, Gateway, Tansu, client, externals, key, operator};

/// stunnel, or `None` (having said so) without it. `scripts/test` installs it.
fn stunnel(test: &str) -> Option<String> {
    keygate_testkit::external("KEYGATE_STUNNEL", test)
}

/// stunnel terminating TLS on `port` with `cert` and `key`, forwarding to `upstream`.
struct Terminator(Child);

impl Terminator {
    fn start(
        stunnel: &str,
        dir: &Path,
        port: u16,
        upstream: u16,
        cert: &str,
        key: &str,
    ) -> Terminator {
        let config = dir.join("stunnel.conf");
        std::fs::write(
            &config,
            format!(
                "foreground = yes\npid =\n[kafka]\naccept = 127.0.0.1:{port}\n\
                 connect = 127.0.0.1:{upstream}\ncert = {cert}\nkey = {key}\n"
            ),
        )
        .unwrap();
        let child = Command::new(stunnel)
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "stunnel did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Terminator(child)
    }
}

impl Drop for Terminator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_proxy_reaches_a_cluster_over_tls_and_refuses_one_it_cannot_trust() {
    let test =
        "api::upstream::the_proxy_reaches_a_cluster_over_tls_and_refuses_one_it_cannot_trust";
    let Some((python, tansu)) = externals(test) else { return };
    let Some(stunnel) = stunnel(test) else { return };
    let operator = operator();
    let (id, secret) = key(&operator, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, private) = certificates(&python, dir.path());
    let (tls_port, tansu_port) = (free_port(), free_port());
    // Tansu tells clients its brokers are where stunnel listens.
    let _tansu = Tansu::start_advertising(&tansu, tansu_port, tls_port);
    let _terminator =
        Terminator::start(&stunnel, dir.path(), tls_port, tansu_port, &cert, &private);
    let store = operator.store();
    let upstream = format!("127.0.0.1:{tls_port}");
    let proxy = Path::new(env!("CARGO_BIN_EXE_keygate-kafka-proxy"));
    let args = |extra: &[&str]| {
        let mut args = vec!["--store", &store, "--resource", CLUSTER, "--upstream", &upstream];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };

    let gateway = Gateway::start(
        proxy,
        &args(&["--upstream-tls", "--upstream-ca", &ca])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let mut producer = client(&python, "confluent-kafka", gateway.port, &["PLAIN", &id, &secret]);
    assert_eq!(producer.ask("create tls-upstream")["ok"], true);
    assert_eq!(producer.ask("produce tls-upstream over-tls")["ok"], true);
    let mut consumer = client(&python, "kafka-python", gateway.port, &["PLAIN", &id, &secret]);
    let answer = consumer.ask("consume tls-upstream tls-group 1");
    assert_eq!(answer["records"], serde_json::json!([[0, "over-tls"]]), "{answer}");
    drop(gateway);

    // A CA that did not sign the brokers' certificate, and a name they do not carry: refused
    // at start, quickly, saying why.
    let other = tempfile::tempdir().unwrap();
    let (other_ca, ..) = certificates(&python, other.path());
    for (extra, why) in [
        (vec!["--upstream-tls", "--upstream-ca", other_ca.as_str()], "invalid peer certificate"),
        (
            vec![
                "--upstream-tls",
                "--upstream-ca",
                ca.as_str(),
                "--upstream-server-name",
                "kafka.example.com",
            ],
            "not valid for name",
        ),
    ] {
        let started = Instant::now();
        let port = free_port().to_string();
        let mut all = args(&extra);
        all.extend([
            "--listen".to_owned(),
            format!("127.0.0.1:{port}"),
            "--upstream-timeout".to_owned(),
            "20".to_owned(),
        ]);
        let output = Command::new(proxy).args(&all).output().unwrap();
        let said = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "started with {extra:?}");
        assert!(
            said.contains("with the upstream broker") && said.contains(why),
            "{extra:?}: {said}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited out a certificate that will not verify"
        );
    }
}

#[test]
fn with_the_first_bootstrap_address_dead_the_next_one_serves() {
    let test = "api::upstream::with_the_first_bootstrap_address_dead_the_next_one_serves";
    let Some((python, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (id, secret) = key(&operator, &[]);
    // Nothing listens on the first address.
    let dead = format!("127.0.0.1:{}", free_port());
    let upstream = format!("{dead},{}", tansu.address());
    let store = operator.store();
    let proxy = Path::new(env!("CARGO_BIN_EXE_keygate-kafka-proxy"));
    let gateway =
        Gateway::start(proxy, &["--store", &store, "--resource", CLUSTER, "--upstream", &upstream]);
    let mut producer = client(&python, "confluent-kafka", gateway.port, &["PLAIN", &id, &secret]);
    assert_eq!(producer.ask("create bootstrap-orders")["ok"], true);
    assert_eq!(producer.ask("produce bootstrap-orders one")["ok"], true);
}

#[test]
fn readiness_says_when_the_upstream_is_gone() {
    use std::io::{Read, Write};

    let test = "api::upstream::readiness_says_when_the_upstream_is_gone";
    let Some((_, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let metrics_port = free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let _gateway = super::support::proxy(&operator, &tansu, &["--metrics", &metrics]);
    let get = |path: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    };
    assert!(get("/readyz").starts_with("HTTP/1.1 200"));
    drop(tansu);
    let gone = get("/readyz");
    assert!(gone.starts_with("HTTP/1.1 503"), "{gone}");
    assert!(gone.contains("no bootstrap address of the upstream answers"), "{gone}");
    assert!(get("/healthz").starts_with("HTTP/1.1 200"), "the process is still up");
}

#[test]
fn the_proxy_logs_in_to_an_authenticating_upstream_with_plain_and_oauthbearer() {
    let test =
        "api::upstream::the_proxy_logs_in_to_an_authenticating_upstream_with_plain_and_oauthbearer";
    let Some((python, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let proxy_binary = Path::new(env!("CARGO_BIN_EXE_keygate-kafka-proxy"));
    // The authenticating upstream: a second keygate proxy, with a store of its own in which
    // the front proxy is a service account.
    let back = keygate_testkit::process::Operator::new();
    back.keygate(&["service-account", "create", "front-proxy"]);
    back.keygate(&["signing-key", "create"]);
    let back_cluster = "kafka-cluster/lkc-back";
    let (plain_id, plain_secret) =
        back.api_key(&["--service-account", "front-proxy", "--resource", back_cluster]);
    let (_, token) = back.api_key(&[
        "--service-account",
        "front-proxy",
        "--resource",
        back_cluster,
        "--format",
        "jwt",
    ]);
    let back_store = back.store();
    let upstream = tansu.address();
    let mut back_proxy = Gateway::start(
        proxy_binary,
        &["--store", &back_store, "--resource", back_cluster, "--upstream", &upstream],
    );
    let back_address = format!("127.0.0.1:{}", back_proxy.port);

    let front = operator();
    let (id, secret) = key(&front, &[]);
    let front_store = front.store();
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, format!("{plain_secret}\n")).unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &token).unwrap();
    let password = format!("file://{}", password.display());
    let token_file = format!("file://{}", token_file.display());
    for (mechanism, credentials, logged) in [
        (
            "PLAIN",
            vec![
                "--upstream-username",
                plain_id.as_str(),
                "--upstream-password",
                password.as_str(),
            ],
            plain_id.as_str(),
        ),
        ("OAUTHBEARER", vec!["--upstream-token", token_file.as_str()], "with key"),
    ] {
        let mut args =
            vec!["--store", &front_store, "--resource", CLUSTER, "--upstream", &back_address];
        args.extend(["--upstream-sasl", mechanism]);
        args.extend(credentials);
        let gateway = Gateway::start(proxy_binary, &args);
        let mut producer =
            client(&python, "confluent-kafka", gateway.port, &["PLAIN", &id, &secret]);
        let topic = format!("through-two-{}", mechanism.to_lowercase());
        assert_eq!(producer.ask(&format!("create {topic}"))["ok"], true, "{mechanism}");
        assert_eq!(
            producer.ask(&format!("produce {topic} twice-proxied"))["ok"],
            true,
            "{mechanism}"
        );
        let mut consumer = client(&python, "kafka-python", gateway.port, &["PLAIN", &id, &secret]);
        let answer = consumer.ask(&format!("consume {topic} group-{topic} 1"));
        assert_eq!(
            answer["records"],
            serde_json::json!([[0, "twice-proxied"]]),
            "{mechanism}: {answer}"
        );
        // The back proxy saw the front proxy's own identity, not the client's.
        let line = back_proxy.expect("authenticated as front-proxy", Duration::from_secs(5));
        assert!(line.contains(logged), "{mechanism}: {line}");
    }

    // A password the upstream refuses: the start fails, saying so, and never shows it.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "kgk_not-the-password").unwrap();
    let wrong = format!("file://{}", wrong.display());
    let listen = format!("127.0.0.1:{}", free_port());
    let output = Command::new(proxy_binary)
        .args(["--store", &front_store, "--resource", CLUSTER, "--upstream", &back_address])
        .args(["--upstream-sasl", "PLAIN", "--upstream-username", &plain_id])
        .args(["--upstream-password", &wrong, "--upstream-timeout", "2", "--listen", &listen])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(said.contains("refused the proxy's PLAIN login"), "{said}");
    assert!(!said.contains("not-the-password") && !said.contains(&plain_secret), "{said}");
}

#[test]
fn sigterm_stops_accepting_and_drains_open_connections() {
    let test = "api::upstream::sigterm_stops_accepting_and_drains_open_connections";
    let Some((_, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (id, secret) = key(&operator, &[]);
    let mut gateway = super::support::proxy(&operator, &tansu, &["--drain-timeout", "20"]);
    let open = super::support::authenticate(gateway.port, &id, &secret);
    let status = Command::new("kill").args(["-TERM", &gateway.pid().to_string()]).status().unwrap();
    assert!(status.success());
    gateway.expect("draining 1 connection(s)", Duration::from_secs(5));
    // No new connection is accepted meanwhile.
    let refused = std::net::TcpStream::connect(("127.0.0.1", gateway.port));
    assert!(
        refused.is_err()
            || super::support::closed_within(&mut refused.unwrap(), Duration::from_secs(2)),
        "a connection was accepted while draining"
    );
    // The client leaves; the proxy stops without cutting anyone off, well before the bound.
    let started = Instant::now();
    drop(open);
    let line = gateway.expect("keygate-kafka-proxy: stopped", Duration::from_secs(10));
    assert!(!line.contains("cut off"), "{line}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
