//! The HTTP gateway with Python's own HTTP client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::{Gateway, Operator, closed_within, connect, connect_from, example, python};

/// `method url` with an Authorization header (if any), through urllib: (status, JSON body, the
/// WWW-Authenticate header).
fn request(
    python: &str,
    method: &str,
    url: &str,
    authorization: Option<&str>,
) -> (u16, Value, String) {
    let script = r#"
import json, sys, urllib.request, urllib.error
method, url, auth = sys.argv[1], sys.argv[2], sys.argv[3]
request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
if auth:
    request.add_header("Authorization", auth)
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        status, body, challenge = response.status, response.read(), ""
except urllib.error.HTTPError as error:
    status, body, challenge = error.code, error.read(), error.headers.get("WWW-Authenticate", "")
print(json.dumps({"status": status, "body": json.loads(body or b"null"), "challenge": challenge}))
"#;
    let output = Command::new(python)
        .args(["-c", script, method, url, authorization.unwrap_or("")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        answer["status"].as_u64().unwrap() as u16,
        answer["body"].clone(),
        answer["challenge"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn http_requests_authenticate_with_bearer_and_basic() {
    let Some(python) = python("gateways::http::http_requests_authenticate_with_bearer_and_basic")
    else {
        return;
    };
    let operator = Operator::new();
    operator.keygate(&["service-account", "create", "orders"]);
    operator.keygate(&["signing-key", "create"]);
    let resource = "kafka-cluster/lkc-http";
    let (id, secret) = operator.api_key(&["--service-account", "orders", "--resource", resource]);
    let (_, jwt) = operator.api_key(&[
        "--service-account",
        "orders",
        "--resource",
        resource,
        "--format",
        "jwt",
    ]);
    let (_, reader) = operator.api_key(&[
        "--service-account",
        "orders",
        "--resource",
        resource,
        "--permission",
        "consume",
    ]);
    let store = operator.store();
    let mut gateway =
        Gateway::start(&example("http_gateway"), &["--store", &store, "--resource", resource]);
    let base = format!("http://127.0.0.1:{}", gateway.port);
    let whoami = format!("{base}/whoami");

    let basic = {
        use std::io::Write;
        let mut child = Command::new(&python)
            .args(["-c", "import base64,sys; print('Basic ' + base64.b64encode(sys.stdin.read().encode()).decode())"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{id}:{secret}").as_bytes()).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_owned()
    };
    for authorization in [format!("Bearer {secret}"), format!("Bearer {jwt}"), basic] {
        let (status, body, _) = request(&python, "GET", &whoami, Some(&authorization));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["principal"], "orders");
    }

    let (status, body, challenge) = request(&python, "GET", &whoami, None);
    assert_eq!((status, body["error"].as_str()), (401, Some("authentication required")));
    assert!(challenge.contains("Bearer") && challenge.contains("Basic"), "{challenge}");
    let (status, _, _) = request(&python, "GET", &whoami, Some("Bearer not-a-key!"));
    assert_eq!(status, 401);
    let (status, _, _) = request(
        &python,
        "POST",
        &format!("{base}/topics/orders"),
        Some(&format!("Bearer {reader}")),
    );
    assert_eq!(status, 403);
    let (status, body, _) = request(
        &python,
        "POST",
        &format!("{base}/topics/orders"),
        Some(&format!("Bearer {secret}")),
    );
    assert_eq!((status, body["accepted"].as_bool()), (202, Some(true)));

    operator.keygate(&["api-key", "revoke", &id]);
    std::thread::sleep(Duration::from_millis(500));
    let (status, body, _) = request(&python, "GET", &whoami, Some(&format!("Bearer {secret}")));
    assert_eq!(status, 401, "{body}");
    // The key's secret was proven, so the client may learn why; its key id is not echoed.
    assert!(!body.to_string().contains(&id), "{body}");
    gateway.expect("is revoked", Duration::from_secs(5));
}

#[test]
fn http_clients_that_never_finish_their_headers_are_closed() {
    let operator = Operator::new();
    operator.keygate(&["service-account", "create", "orders"]);
    let resource = "kafka-cluster/lkc-limits";
    let (id, secret) = operator.api_key(&["--service-account", "orders", "--resource", resource]);
    let store = operator.store();
    let gateway = Gateway::start(
        &example("http_gateway"),
        &["--store", &store, "--resource", resource, "--limit", "auth-deadline=1s"],
    );
    let started = Instant::now();
    let mut halves: Vec<TcpStream> = (0..500)
        .map(|_| {
            let mut stream = connect(gateway.port);
            // Those beyond this host's share are closed at once, maybe before this arrives.
            let _ = stream.write_all(b"GET /whoami HTTP/1.1\r\nHost: gateway\r\nAuthor");
            stream
        })
        .collect();

    // A good request meanwhile, from another host: one host's half-sent requests take its own
    // share of the places for strangers, and no one else's.
    let mut good = connect_from([127, 0, 0, 2], gateway.port).unwrap();
    let basic = keygate_wire::encode_basic(&id, &secret);
    write!(good, "GET /whoami HTTP/1.1\r\nHost: gateway\r\nAuthorization: {}\r\n\r\n", *basic)
        .unwrap();
    let mut response = [0u8; 12];
    good.read_exact(&mut response).unwrap();
    assert_eq!(&response, b"HTTP/1.1 200");

    for stream in &mut halves {
        assert!(closed_within(stream, Duration::from_secs(10)), "half a header kept a connection");
    }
    assert!(started.elapsed() < Duration::from_secs(15));
}
