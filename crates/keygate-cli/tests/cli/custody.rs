//! Secret custody: no private signing material in the clear in any store, and an audit event
//! for every change, even when the command is killed mid-write.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keygate::store::{AuditLog, AuditQuery, KeyFilter, KeyStore, PageRequest, SigningKeyStore};
use keygate::token::MasterKey;
use keygate::{AuditAction, AuditEvent};
use keygate_store_sql::SqlStore;
use sqlx::Connection;

use super::postgres::MASTER_KEY;
use super::support::{Sandbox, postgres_store};

/// Every algorithm a signing key can have.
const ALGORITHMS: [&str; 8] =
    ["EdDSA", "ES256", "ES384", "RS256", "PS256", "HS256", "HS384", "HS512"];

/// Creates a signing key of every algorithm, promoting each in turn and minting a JWT API key
/// with it, so every key has been used to sign.
fn every_kind_of_signing_key(sandbox: &Sandbox) {
    sandbox.run(&["service-account", "create", "orders"]).ok();
    for (n, algorithm) in ALGORITHMS.iter().enumerate() {
        let kid = format!("k{n}");
        let created = sandbox.run(&["signing-key", "create", "-a", algorithm, "--kid", &kid]).ok();
        if algorithm.starts_with("HS") {
            assert!(created.stderr.contains("needs the master key"), "{}", created.stderr);
        }
        if n > 0 {
            sandbox.run(&["signing-key", "promote", &kid]).ok();
        }
        let jwt =
            ["api-key", "create", "--service-account", "orders", "--global", "--format", "jwt"];
        sandbox.run(&jwt).ok();
    }
}

/// Every secret of the store's signing keys (opened with the master key, so the test knows what
/// to look for), in each form it could sit in a file: the PKCS#8 document, the raw seed or
/// scalar inside it, an HMAC secret; each as bytes, hex and base64.
async fn needles(store: &SqlStore, master_key: &MasterKey) -> Vec<(String, Vec<u8>)> {
    let mut needles = Vec::new();
    let ring = store.signing_keys().await.unwrap();
    assert_eq!(ring.len(), ALGORITHMS.len());
    for record in ring {
        let sealed = store.signing_key_private(&record.kid).await.unwrap();
        let private = master_key.open(record.kid.as_str().as_bytes(), sealed.as_bytes()).unwrap();
        let mut forms = vec![("private key".to_owned(), private.to_vec())];
        // The seed of an Ed25519 key, the scalar of an EC key, the tail of an RSA key.
        for marker in [
            &[0x04, 0x22, 0x04, 0x20][..],
            &[0x02, 0x01, 0x01, 0x04, 0x20],
            &[0x02, 0x01, 0x01, 0x04, 0x30],
        ] {
            if let Some(at) = private.windows(marker.len()).position(|w| w == marker) {
                let len = usize::from(marker[marker.len() - 1]);
                let start = at + marker.len();
                forms.push(("seed".to_owned(), private[start..start + len].to_vec()));
            }
        }
        if record.algorithm.is_rsa() {
            forms.push(("tail".to_owned(), private[private.len() - 64..].to_vec()));
        }
        for (form, bytes) in forms {
            let name = format!("{} {} {form}", record.kid, record.algorithm);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            needles.push((format!("{name} (base64)"), STANDARD.encode(&bytes).into_bytes()));
            needles.push((format!("{name} (hex)"), hex.into_bytes()));
            needles.push((format!("{name} (bytes)"), bytes));
        }
    }
    needles
}

fn assert_absent(haystack: &[u8], needles: &[(String, Vec<u8>)], place: &str) {
    for (what, needle) in needles {
        assert!(
            !haystack.windows(needle.len()).any(|window| window == needle),
            "{what} is in {place}"
        );
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn a_sqlite_store_holds_no_private_signing_material_in_the_clear() {
    let sandbox = Sandbox::new();
    every_kind_of_signing_key(&sandbox);
    let path = std::path::PathBuf::from(sandbox.store());
    let text = std::fs::read_to_string(format!("{}.master-key", sandbox.store())).unwrap();
    let master_key = MasterKey::from_bytes(&STANDARD.decode(text.trim()).unwrap()).unwrap();
    runtime().block_on(async {
        let store = SqlStore::open(&path).await.unwrap();
        let needles = needles(&store, &master_key).await;
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            if let Ok(bytes) = std::fs::read(&file) {
                assert_absent(&bytes, &needles, &file);
            }
        }
    });
}

#[test]
fn a_postgres_dump_holds_no_private_signing_material_in_the_clear() {
    let test = "cli::custody::a_postgres_dump_holds_no_private_signing_material_in_the_clear";
    let Some((url, schema)) = postgres_store(test, "keygate_custody") else { return };
    let sandbox = Sandbox::with_store(url.clone()).with_env("KEYGATE_MASTER_KEY", MASTER_KEY);
    every_kind_of_signing_key(&sandbox);

    let bytes = STANDARD.decode(MASTER_KEY.trim_start_matches("data:;base64,")).unwrap();
    let master_key = MasterKey::from_bytes(&bytes).unwrap();
    let needles = runtime().block_on(async {
        let store = SqlStore::connect(&url).await.unwrap();
        let needles = needles(&store, &master_key).await;
        store.close().await;
        needles
    });
    let pg_dump = match std::env::var_os("KEYGATE_PG_BIN") {
        Some(bin) => std::path::PathBuf::from(bin).join("pg_dump"),
        None => "pg_dump".into(),
    };
    let dump = std::process::Command::new(pg_dump)
        .args(["--schema", &schema, "--dbname", &url])
        .output()
        .unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("keygate_signing_keys"), "the dump has no signing keys table");
    assert_absent(&dump.stdout, &needles, "the pg_dump of the store");
}

/// Writes killed with SIGKILL at random points leave a store that opens cleanly, in which every
/// key and signing key has its audit event.
#[cfg(unix)]
#[test]
fn killed_writes_never_leave_a_change_without_its_audit_event() {
    use std::time::{Duration, Instant};

    let sandbox = Sandbox::new();
    // Owners enough that no write meets the policy's quota of 10 keys each.
    let owners: Vec<String> = (0..6).map(|n| format!("orders-{n}")).collect();
    for owner in &owners {
        sandbox.run(&["service-account", "create", owner]).ok();
    }
    sandbox.run(&["signing-key", "create"]).ok();
    let write = |n: usize| -> Vec<&str> {
        let owner = owners[n % owners.len()].as_str();
        match n % 3 {
            0 => vec!["api-key", "create", "--service-account", owner, "--global"],
            1 => {
                vec!["api-key", "create", "--service-account", owner, "--global", "--format", "jwt"]
            }
            _ => vec!["signing-key", "create", "-a", "ES256"],
        }
    };
    // How long one write takes here, so the kills spread over a write's whole life.
    let started = Instant::now();
    sandbox.run(&write(0)).ok();
    let span = started.elapsed().as_micros().max(1000) as u64 * 3 / 2;

    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let (mut killed, mut finished) = (0, 0);
    for n in 0..45 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let delay = Duration::from_micros((seed >> 33) % span);
        let mut child = sandbox.spawn(&write(n));
        std::thread::sleep(delay);
        let _already_gone = child.kill();
        let status = child.wait().unwrap();
        if std::os::unix::process::ExitStatusExt::signal(&status) == Some(9) {
            killed += 1;
        } else {
            assert!(status.success(), "write {n} failed: {status}");
            finished += 1;
        }
    }
    assert!(killed > 0 && finished > 0, "{killed} killed, {finished} finished");

    let path = std::path::PathBuf::from(sandbox.store());
    runtime().block_on(async {
        let store = SqlStore::open(&path).await.unwrap();
        let entries = store.audit_log(&AuditQuery::default().with_limit(10_000)).await.unwrap();
        let events: Vec<AuditEvent> =
            entries.iter().map(|entry| serde_json::from_str(&entry.record.event).unwrap()).collect();
        let keys =
            store.list_keys(&KeyFilter::all(), &PageRequest::first(10_000)).await.unwrap().items;
        for key in &keys {
            let audited = events.iter().any(|event| {
                matches!(&event.action, AuditAction::KeyCreated { id, .. } if *id == key.id())
            });
            assert!(audited, "key {} has no audit event", key.id());
        }
        let signing_keys = store.signing_keys().await.unwrap();
        for key in &signing_keys {
            let audited = events.iter().any(|event| {
                matches!(&event.action, AuditAction::SigningKeyCreated { kid, .. } if *kid == key.kid)
            });
            assert!(audited, "signing key {} has no audit event", key.kid);
        }
        // And no event without its change.
        let created = events
            .iter()
            .filter(|event| matches!(event.action, AuditAction::KeyCreated { .. }))
            .count();
        assert_eq!(created, keys.len());
        eprintln!(
            "{killed} of 45 writes killed; {} keys and {} signing keys, each audited",
            keys.len(),
            signing_keys.len()
        );
        store.close().await;
    });
    // The command itself opens it cleanly too.
    sandbox.run(&["api-key", "list"]).ok();
}

/// A store an older keygate wrote (schema 2, its EdDSA signing key in the clear) is sealed on
/// the first run, under a master key made for it, and keeps minting with the same key.
#[test]
fn a_store_from_an_older_keygate_is_sealed_on_first_use_losing_no_key() {
    use keygate::core::SigningAlgorithm;
    use keygate::store::{SecretBytes, SigningKeyRecord, SigningKeyStatus, VerificationMaterial};
    use keygate::token::SigningKey;

    let sandbox = Sandbox::new();
    let key = SigningKey::generate(SigningAlgorithm::EdDSA).unwrap();
    let public = VerificationMaterial::PublicKey(key.verification_key().to_spki_der().unwrap());
    let record = SigningKeyRecord::new(
        "old".parse().unwrap(),
        SigningAlgorithm::EdDSA,
        SigningKeyStatus::Active,
        keygate::core::Timestamp::from_unix(1_790_000_000).unwrap(),
        public,
    );
    let private = serde_json::to_string(&SecretBytes::new(key.private_bytes().to_vec())).unwrap();
    runtime().block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(sandbox.store())
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        let migrations = concat!(
            "CREATE TABLE keygate_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL);",
            include_str!("../../../keygate-store-sql/migrations/sqlite/0001_initial.sql"),
            include_str!("../../../keygate-store-sql/migrations/sqlite/0002_audit.sql"),
            "INSERT INTO keygate_schema (version, name) VALUES (1, 'initial'), (2, 'audit');"
        );
        sqlx::raw_sql(migrations).execute(&mut conn).await.unwrap();
        sqlx::query(
            "INSERT INTO keygate_signing_keys (kid, active, record, private_key) \
             VALUES ('old', 1, $1, $2)",
        )
        .bind(serde_json::to_string(&record).unwrap())
        .bind(&private)
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    });

    let first = sandbox.run(&["service-account", "create", "orders"]).ok();
    assert!(first.stderr.contains("created the master key"), "{}", first.stderr);
    assert!(first.stderr.contains("sealed signing key(s) old"), "{}", first.stderr);
    let jwt = ["api-key", "create", "--service-account", "orders", "--global", "--format", "jwt"];
    let minted = sandbox.run(&[&jwt[..], &["--output", "json"]].concat()).ok();
    let token = minted.field("secret");
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
    assert!(String::from_utf8(header).unwrap().contains("\"kid\":\"old\""), "not the old key");
    sandbox.run(&["api-key", "verify", "--resource", "kafka-cluster/x", "--token", &token]).ok();
    let bytes = std::fs::read(sandbox.store()).unwrap();
    let hex = private.trim_matches('"').as_bytes().to_vec();
    assert_absent(&bytes, &[("the old private key (hex)".to_owned(), hex)], "the store");
}

/// A master key other than the one the store's keys are sealed under is refused by
/// fingerprint before anything is sealed with it: a replica given the real key would otherwise
/// hold a signing key it cannot open.
#[test]
fn a_wrong_master_key_is_refused_by_fingerprint_and_seals_nothing() {
    let sandbox = Sandbox::new();
    sandbox.run(&["signing-key", "create"]).ok();
    let wrong = STANDARD.encode([7u8; 32]);
    let refused = sandbox
        .run(&["--master-key", &wrong, "signing-key", "create"])
        .fails(2, "is not the one this store's signing keys are sealed under");
    assert!(!refused.stderr.contains(&wrong), "the key itself was printed");
    let listed = sandbox.run(&["signing-key", "list", "--output", "json"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    // The same through the environment.
    let sandbox = sandbox.with_env("KEYGATE_MASTER_KEY", &wrong);
    sandbox.run(&["signing-key", "create"]).fails(2, "not the one");
}
