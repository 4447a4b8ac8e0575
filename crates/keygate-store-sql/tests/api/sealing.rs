//! Stores written before sealing (schema 2) kept private signing keys, and HMAC secrets in
//! signing key records and feed entries, in the clear. Opening one migrates it to schema 3, and
//! `seal_plaintext_signing_keys` seals all of it in one write, losing no key.

use base64::Engine;
use keygate::core::{SigningAlgorithm, SigningKeyId};
use keygate::store::{
    ChangeEvent, ChangeFeed, SecretBytes, Seq, SigningKeyRecord, SigningKeyStatus, SigningKeyStore,
    StoreError, VerificationMaterial,
};
use keygate::token::{MasterKey, SigningKey};
use keygate_store::Sealed;
use keygate_store_sql::SqlStore;
use keygate_testkit::T0;
use sqlx::Connection;

use super::support::postgres_url;

/// The keys a schema-2 store holds: an active HMAC key, a verifying EdDSA key, and an HMAC key
/// retired since, whose secret only the feed still holds.
struct Legacy {
    hmac: SigningKey,
    eddsa: SigningKey,
    retired: SigningKey,
}

impl Legacy {
    fn new() -> Legacy {
        Legacy {
            hmac: SigningKey::generate(SigningAlgorithm::HS256).unwrap(),
            eddsa: SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            retired: SigningKey::generate(SigningAlgorithm::HS384).unwrap(),
        }
    }

    fn record(kid: &str, key: &SigningKey, status: SigningKeyStatus) -> SigningKeyRecord {
        let verification = if key.algorithm().is_symmetric() {
            VerificationMaterial::SharedSecret(SecretBytes::new(key.private_bytes().to_vec()))
        } else {
            VerificationMaterial::PublicKey(key.verification_key().to_spki_der().unwrap())
        };
        SigningKeyRecord::new(kid.parse().unwrap(), key.algorithm(), status, T0, verification)
    }

    /// The statements that leave a schema-2 database as keygate 0.1 wrote it, after the
    /// migrations of schemas 1 and 2.
    fn rows(&self) -> Vec<String> {
        let hmac = Legacy::record("hs", &self.hmac, SigningKeyStatus::Active);
        let eddsa = Legacy::record("ed", &self.eddsa, SigningKeyStatus::Verifying);
        let retired = Legacy::record("old", &self.retired, SigningKeyStatus::Verifying);
        let private = |key: &SigningKey| json(&SecretBytes::new(key.private_bytes().to_vec()));
        let change = |record: &SigningKeyRecord| {
            json(&ChangeEvent::SigningKeyChanged { key: record.clone() })
        };
        vec![
            "INSERT INTO keygate_schema (version, name) VALUES (1, 'initial'), (2, 'audit')".into(),
            format!(
                "INSERT INTO keygate_signing_keys (kid, active, record, private_key) VALUES \
                 ('hs', 1, '{}', '{}'), ('ed', 0, '{}', '{}')",
                json(&hmac),
                private(&self.hmac),
                json(&eddsa),
                private(&self.eddsa)
            ),
            format!(
                "INSERT INTO keygate_changes (seq, at, event) VALUES (1, 0, '{}'), \
                 (2, 0, '{}'), (3, 0, '{}'), (4, 0, '{}')",
                change(&retired),
                change(&hmac),
                change(&eddsa),
                json(&ChangeEvent::SigningKeyRemoved { kid: "old".parse().unwrap() })
            ),
            "UPDATE keygate_feed SET head = 4".into(),
        ]
    }

    /// The whole schema-2 database, from empty: the schema table, the migrations of schemas 1
    /// and 2 (`migrations`, in the backend's dialect), and the rows.
    fn script(&self, migrations: [&str; 2]) -> String {
        let mut script = vec![
            "CREATE TABLE keygate_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL)"
                .to_owned(),
        ];
        script.extend(migrations.iter().map(|text| (*text).to_owned()));
        script.extend(self.rows());
        script.join(";\n")
    }

    /// Every form in which a secret of these keys could sit in a file: the bytes, hex and
    /// base64.
    fn needles(&self) -> Vec<(String, Vec<u8>)> {
        let mut needles = Vec::new();
        for (name, key) in
            [("hmac", &self.hmac), ("eddsa", &self.eddsa), ("retired", &self.retired)]
        {
            let bytes = key.private_bytes().to_vec();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let base64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            needles.push((format!("{name} raw"), bytes));
            needles.push((format!("{name} hex"), hex.into_bytes()));
            needles.push((format!("{name} base64"), base64.into_bytes()));
        }
        needles
    }
}

/// `value` as JSON, quoted for an SQL string literal.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap().replace('\'', "''")
}

fn seal_with(
    master_key: &MasterKey,
) -> impl Fn(&SigningKeyId, &[u8]) -> Result<Sealed, StoreError> {
    move |kid, bytes| Ok(Sealed::new(master_key.seal(kid.as_str().as_bytes(), bytes).unwrap()))
}

/// Seals the legacy store and checks that every key is still there, sealed, and opens to what
/// it was.
async fn seals_everything(store: &SqlStore, legacy: &Legacy, master_key: &MasterKey) {
    let sealed = store.seal_plaintext_signing_keys(seal_with(master_key)).await.unwrap();
    let kids: Vec<String> = sealed.iter().map(ToString::to_string).collect();
    assert_eq!(kids, ["ed", "hs", "old"]);

    let open =
        |kid: &str, sealed: &Sealed| master_key.open(kid.as_bytes(), sealed.as_bytes()).unwrap();
    for (kid, key) in [("hs", &legacy.hmac), ("ed", &legacy.eddsa)] {
        let private = store.signing_key_private(&kid.parse().unwrap()).await.unwrap();
        assert_eq!(&open(kid, &private)[..], key.private_bytes(), "{kid}'s private key");
    }
    let ring = store.signing_keys().await.unwrap();
    assert_eq!(ring.len(), 2, "no key lost");
    for record in &ring {
        match (&record.verification, record.kid.as_str()) {
            (VerificationMaterial::SealedSecret(sealed), "hs") => {
                assert_eq!(&open("hs", sealed)[..], legacy.hmac.private_bytes());
            }
            (VerificationMaterial::PublicKey(_), "ed") => {}
            (other, kid) => panic!("{kid}: {other:?}"),
        }
    }
    let changes = store.changes_since(Seq::ZERO, 10).await.unwrap();
    assert_eq!(changes.len(), 4);
    for change in &changes {
        if let ChangeEvent::SigningKeyChanged { key } = &change.event {
            assert!(
                !matches!(key.verification, VerificationMaterial::SharedSecret(_)),
                "the feed still holds {}'s secret in the clear",
                key.kid
            );
        }
    }
    let retired = match &changes[0].event {
        ChangeEvent::SigningKeyChanged { key } => key.verification.clone(),
        other => panic!("{other:?}"),
    };
    let VerificationMaterial::SealedSecret(retired) = retired else { panic!("{retired:?}") };
    assert_eq!(&open("old", &retired)[..], legacy.retired.private_bytes());

    // Nothing left to seal: a second run writes nothing.
    let head = store.head().await.unwrap();
    assert!(store.seal_plaintext_signing_keys(seal_with(master_key)).await.unwrap().is_empty());
    assert_eq!(store.head().await.unwrap(), head);
}

#[tokio::test]
async fn a_sqlite_store_of_schema_2_is_sealed_whole_and_keeps_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keygate.db");
    let legacy = Legacy::new();
    {
        let options =
            sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql("PRAGMA journal_mode = WAL").execute(&mut conn).await.unwrap();
        let script = legacy.script([
            include_str!("../../migrations/sqlite/0001_initial.sql"),
            include_str!("../../migrations/sqlite/0002_audit.sql"),
        ]);
        sqlx::raw_sql(sqlx::AssertSqlSafe(script)).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    let store = SqlStore::open(&path).await.unwrap();
    // Unsealed, a private key is refused by name rather than handed out.
    let refused = store.signing_key_private(&"hs".parse().unwrap()).await;
    assert!(matches!(refused, Err(StoreError::Invalid(_))), "{refused:?}");

    let master_key = MasterKey::from_bytes(&[7; 32]).unwrap();
    seals_everything(&store, &legacy, &master_key).await;
    store.close().await;

    let mut bytes = std::fs::read(&path).unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut name = path.clone().into_os_string();
        name.push(suffix);
        bytes.extend(std::fs::read(&name).unwrap_or_default());
    }
    for (what, needle) in legacy.needles() {
        assert!(
            !bytes.windows(needle.len()).any(|window| window == needle),
            "the {what} form of a sealed key is still in the SQLite files"
        );
    }
}

#[tokio::test]
async fn a_postgres_store_of_schema_2_is_sealed_whole() {
    let Some(url) = postgres_url().await else { return };
    let legacy = Legacy::new();
    {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let script = legacy.script([
            include_str!("../../migrations/postgres/0001_initial.sql"),
            include_str!("../../migrations/postgres/0002_audit.sql"),
        ]);
        sqlx::raw_sql(sqlx::AssertSqlSafe(script)).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    let store = SqlStore::connect(&url).await.unwrap();
    let master_key = MasterKey::from_bytes(&[9; 32]).unwrap();
    seals_everything(&store, &legacy, &master_key).await;
    store.close().await;
}
