//! kcat, Debian's Kafka command-line client (librdkafka of its own), logs in and produces and
//! consumes through the proxy; a key that does not hold is refused with a reason it prints.

use std::io::Write;
use std::process::{Command, Stdio};

use super::support::{Tansu, client, externals, key, operator, proxy};

/// The kcat binary, or `None` (having said so) without one. `scripts/test` installs it.
fn kcat(test: &str) -> Option<String> {
    keygate_testkit::external("KEYGATE_KCAT", test)
}

/// Runs kcat against the proxy at `port` as key `id` with `secret`, with `args`, feeding
/// `input`: its exit status, stdout and stderr.
fn run(
    kcat: &str,
    port: u16,
    id: &str,
    secret: &str,
    args: &[&str],
    input: &str,
) -> (bool, String, String) {
    let mut child = Command::new(kcat)
        .args(["-b", &format!("127.0.0.1:{port}")])
        .args(["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN"])
        .args(["-X", &format!("sasl.username={id}"), "-X", &format!("sasl.password={secret}")])
        .args(["-m", "10"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn kcat_produces_and_consumes_through_the_proxy() {
    let test = "api::kcat::kcat_produces_and_consumes_through_the_proxy";
    let Some((python, tansu)) = externals(test) else { return };
    let Some(kcat) = kcat(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (id, secret) = key(&operator, &[]);
    let gateway = proxy(&operator, &tansu, &[]);
    // kcat makes no topics; another client does, through the proxy.
    let mut admin = client(&python, "confluent-kafka", gateway.port, &["PLAIN", &id, &secret]);
    assert_eq!(admin.ask("create kcat-orders")["ok"], true);

    let (ok, _, stderr) =
        run(&kcat, gateway.port, &id, &secret, &["-P", "-t", "kcat-orders"], "one\ntwo\n");
    assert!(ok, "kcat could not produce: {stderr}");
    let (ok, stdout, stderr) = run(
        &kcat,
        gateway.port,
        &id,
        &secret,
        &["-C", "-t", "kcat-orders", "-o", "beginning", "-c", "2", "-e"],
        "",
    );
    assert!(ok, "kcat could not consume: {stderr}");
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["one", "two"], "{stderr}");

    let wrong = format!("{}x", &secret[..secret.len() - 1]);
    let (ok, _, stderr) = run(&kcat, gateway.port, &id, &wrong, &["-L"], "");
    assert!(!ok, "kcat listed metadata with a wrong secret");
    assert!(stderr.contains("uthentication failed"), "kcat was not told why: {stderr}");
    assert!(!stderr.contains(&secret[8..]), "the secret in kcat's output");
}

#[test]
fn after_a_v0_handshake_the_sasl_tokens_come_raw() {
    use std::io::Read;

    use kafka_protocol::messages::{ApiKey, SaslHandshakeRequest, SaslHandshakeResponse};
    use kafka_protocol::protocol::{Decodable, StrBytes};

    use super::support::{closed_within, connect, receive, send, still_served};

    let test = "api::kcat::after_a_v0_handshake_the_sasl_tokens_come_raw";
    let Some((_, tansu)) = externals(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    let (id, secret) = key(&operator, &[]);
    let mut gateway = proxy(&operator, &tansu, &[]);
    let handshake = |stream: &mut std::net::TcpStream| {
        let request =
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN"));
        send(stream, ApiKey::SaslHandshake, 0, 1, &request);
        let answer = SaslHandshakeResponse::decode(&mut receive(stream), 0).unwrap();
        assert_eq!(answer.error_code, 0);
    };
    let raw = |stream: &mut std::net::TcpStream, token: &[u8]| {
        let mut frame = u32::try_from(token.len()).unwrap().to_be_bytes().to_vec();
        frame.extend_from_slice(token);
        stream.write_all(&frame).unwrap();
    };

    // The right key: an empty token back, then requests as usual.
    let mut stream = connect(gateway.port);
    handshake(&mut stream);
    raw(&mut stream, &keygate_wire::encode_plain(&id, &secret));
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    assert_eq!(u32::from_be_bytes(size), 0, "the answer to a good token is empty");
    still_served(&mut stream, 2);
    gateway.expect(
        &format!("authenticated as orders with key {id}"),
        std::time::Duration::from_secs(5),
    );

    // A wrong secret: the connection closes, as Kafka closes it.
    let mut refused = connect(gateway.port);
    handshake(&mut refused);
    raw(&mut refused, &keygate_wire::encode_plain(&id, "kgk_wrong"));
    assert!(closed_within(&mut refused, std::time::Duration::from_secs(5)));
    gateway.expect("authentication failed", std::time::Duration::from_secs(5));
}
