//! Child processes for end-to-end tests: the `keygate` command on a temporary store, a server
//! binary whose log lines a test waits for, and a Python client driven line by line.
//!
//! Behind the `process` feature, for the test binaries that need it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The target directory's profile directory, where cargo put the running test, the examples and
/// the workspace's binaries.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The `keygate` binary, built if this test ran without the rest of the workspace.
pub fn keygate_binary() -> PathBuf {
    let binary = profile_dir().join("keygate");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo).args(["build", "-p", "keygate-cli"]).status().unwrap();
        assert!(status.success(), "building the keygate command failed");
    }
    binary
}

/// A free port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A connection to `port` on the loopback interface, with a 10 s read timeout.
pub fn connect(port: u16) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// A connection to `port` on the loopback interface from the loopback address `from` (all of
/// 127.0.0.0/8 is this host's), so that one test can be several hosts; `Err` when the server
/// refuses it at once. A 10 s read timeout.
pub fn connect_from(from: [u8; 4], port: u16) -> std::io::Result<std::net::TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&std::net::SocketAddr::from((from, 0)).into())?;
    socket.connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    let stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

/// Whether the server closed `stream` (reading gives end of file or a reset) within `within`.
pub fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::{ErrorKind, Read};
    stream.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => !matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// A store in a temporary directory, managed with the `keygate` command.
#[derive(Debug)]
pub struct Operator {
    dir: TempDir,
}

impl Default for Operator {
    fn default() -> Operator {
        Operator::new()
    }
}

impl Operator {
    /// An empty store in a new temporary directory.
    pub fn new() -> Operator {
        Operator { dir: tempfile::tempdir().unwrap() }
    }

    /// The store's location, for `--store`.
    pub fn store(&self) -> String {
        self.dir.path().join("keygate.db").display().to_string()
    }

    /// A file in the store's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `keygate args...` on the store; it must succeed. Returns stdout.
    pub fn keygate(&self, args: &[&str]) -> String {
        let output = Command::new(keygate_binary())
            .args(args)
            .env("KEYGATE_STORE", self.store())
            .env("KEYGATE_ACTOR", "test:operator")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "keygate {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The control plane's first administrator, made as the README shows: service account
    /// `name`, bound to OrganizationAdmin, with a cloud key. Returns the key id and secret.
    pub fn organization_admin(&self, name: &str) -> (String, String) {
        self.keygate(&["service-account", "create", name]);
        self.keygate(&[
            "role-binding",
            "create",
            "--service-account",
            name,
            "--role",
            "OrganizationAdmin",
        ]);
        self.api_key(&["--service-account", name, "--cloud"])
    }

    /// `keygate api-key create ... --output json`: the key id and secret.
    pub fn api_key(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["api-key", "create"];
        all.extend_from_slice(args);
        all.extend(["--output", "json"]);
        let created: Value = serde_json::from_str(&self.keygate(&all)).unwrap();
        (
            created["key_id"].as_str().unwrap().to_owned(),
            created["secret"].as_str().unwrap().to_owned(),
        )
    }
}

/// A server running as a child process, and the lines it has printed.
#[derive(Debug)]
pub struct Gateway {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// The port it listens on.
    pub port: u16,
}

impl Gateway {
    /// Starts `program` with `args` and `--listen 127.0.0.1:<free port>`, and waits until it
    /// prints that it is listening.
    pub fn start(program: &Path, args: &[&str]) -> Gateway {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(program)
            .args(args)
            .args(["--listen", &listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut gateway = Gateway { child, lines, seen: Vec::new(), port };
        gateway.expect("listening on", Duration::from_secs(30));
        gateway
    }

    /// Waits for a line containing `needle` (among those printed since the last match) and
    /// returns it.
    pub fn expect(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(at) = self.seen.iter().position(|line| line.contains(needle)) {
                let line = self.seen.remove(at);
                self.seen.drain(..at);
                return line;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    panic!("the gateway never printed {needle:?}; it printed: {:#?}", self.seen)
                }
            }
        }
    }
}

impl Gateway {
    /// Every line printed until one containing `needle`, that one included.
    pub fn lines_until(&mut self, needle: &str, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(at) = self.seen.iter().position(|line| line.contains(needle)) {
                return self.seen.drain(..=at).collect();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    panic!("the gateway never printed {needle:?}; it printed: {:#?}", self.seen)
                }
            }
        }
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The lines printed so far that no `expect` consumed, after a moment for stragglers.
    pub fn drain(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python interpreter with the test clients, or `None` (having said so) without one.
pub fn python(test: &str) -> Option<String> {
    crate::external("KEYGATE_PYTHON", test)
}

/// A Python client script driven line by line, answering each command with a JSON line.
#[derive(Debug)]
pub struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Client {
    /// Runs `script` with `args` under `python`.
    pub fn start(python: &str, script: &Path, args: &[&str]) -> Client {
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Client { child, stdin, stdout }
    }

    /// Sends one command and returns the JSON answer.
    pub fn ask(&mut self, command: &str) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("the client answered {line:?}: {e}"))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Tansu broker (a Kafka-compatible broker) with in-memory storage on a free loopback port,
/// stopped on drop.
#[derive(Debug)]
pub struct Tansu {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Tansu {
    /// Starts `binary` and waits until it listens.
    pub fn start(binary: impl AsRef<std::ffi::OsStr>) -> Tansu {
        let port = free_port();
        Tansu::start_advertising(binary, port, port)
    }

    /// Starts `binary` on `port`, telling clients its brokers are at `advertised` (a TLS
    /// terminator in front of it, say), and waits until it listens.
    pub fn start_advertising(
        binary: impl AsRef<std::ffi::OsStr>,
        port: u16,
        advertised: u16,
    ) -> Tansu {
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = format!("tcp://127.0.0.1:{advertised}");
        let child = Command::new(binary)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let tansu = Tansu { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "Tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        tansu
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certificate authority, and a certificate it signed for 127.0.0.1 with its key, written by
/// Python's `cryptography` into `dir`: (CA certificate, server certificate, server key) paths.
pub fn certificates(python: &str, dir: &Path) -> (String, String, String) {
    let [ca, cert, key] =
        ["ca.crt", "server.crt", "server.key"].map(|name| dir.join(name).display().to_string());
    let script = r#"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
now = datetime.datetime.now(datetime.timezone.utc)
def name(text):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])
def builder(subject, issuer, public):
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
        .public_key(public).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1)))
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (builder(name("keygate test CA"), name("keygate test CA"), ca_key.public_key())
    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    .sign(ca_key, hashes.SHA256()))
key = ec.generate_private_key(ec.SECP256R1())
cert = (builder(name("keygate serve test"), ca.subject, key.public_key())
    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    .sign(ca_key, hashes.SHA256()))
open(sys.argv[1], "wb").write(ca.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[3], "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;
    let status = Command::new(python).args(["-c", script, &ca, &cert, &key]).status().unwrap();
    assert!(status.success(), "making the test certificates failed");
    (ca, cert, key)
}
