//! What every server refuses at start: a store that is not there (a typo in `--store`), which
//! would otherwise be made empty and refuse everybody.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::support::example;

#[test]
fn a_mistyped_store_is_refused_by_the_proxy_and_both_gateways() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("kyegate.db");
    let store = typo.display().to_string();
    let proxy = keygate_testkit::process::profile_dir().join("keygate-kafka-proxy");
    let secret = dir.path().join("secret.key");
    std::fs::write(&secret, [7u8; 32]).unwrap();
    let secret_key = format!("file://{}", secret.display());
    let servers: [(std::path::PathBuf, Vec<&str>); 3] = [
        (
            proxy,
            vec![
                "--resource",
                "kafka-cluster/lkc-1",
                "--upstream",
                "127.0.0.1:9",
                "--listen",
                "127.0.0.1:0",
            ],
        ),
        (
            example("http_gateway"),
            vec!["--resource", "kafka-cluster/lkc-1", "--listen", "127.0.0.1:0"],
        ),
        (
            example("pulsar_gateway"),
            vec![
                "--resource",
                "pulsar-tenant/acme",
                "--secret-key",
                &secret_key,
                "--listen",
                "127.0.0.1:0",
            ],
        ),
    ];
    for (program, args) in servers {
        assert!(program.exists(), "{} is not built", program.display());
        let child = Command::new(&program)
            .arg("--store")
            .arg(&store)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = exited_within(child, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            !output.status.success(),
            "{} started on a store that is not there",
            program.display()
        );
        assert!(
            stderr.contains("there is no store at") || stdout.contains("there is no store at"),
            "{}: {stderr}{stdout}",
            program.display()
        );
        assert!(!typo.exists(), "{} made an empty store", program.display());
    }
}

/// The output of `child` once it exits, which must be within `within`: a server that starts
/// on a store that is not there runs on and is killed.
fn exited_within(mut child: Child, within: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > within {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("still running after {within:?}: {}", String::from_utf8_lossy(&output.stdout));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}
