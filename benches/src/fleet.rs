//! An authenticator as a large broker holds it: a million opaque keys, and a JWT API key signed
//! with an HS256 signing key, loaded from a snapshot at [`NOW`].

use std::sync::Arc;

use keygate::core::{
    Expiry, KeyFormat, KeyRecord, KeyTemplate, ManualClock, Principal, PrincipalKind, ResourceRef,
    Scope, SigningAlgorithm, Span,
};
use keygate::store::{
    SecretBytes, Seq, SigningKeyRecord, SigningKeyStatus, StoreSnapshot, VerificationMaterial,
};
use keygate::token::{ApiKey, Minter, SecretHasher, SigningKey};
use keygate::{AuthConfig, Authenticator, Replica};
use keygate_testkit::SeededRandom;

use crate::NOW;

/// The resource every key is scoped to.
pub fn cluster() -> ResourceRef {
    "kafka-cluster/lkc-bench".parse().unwrap()
}

/// What a bench presents to a loaded authenticator.
#[derive(Debug)]
pub struct Fleet {
    /// The authenticator, synced at [`NOW`].
    pub authenticator: Authenticator,
    /// Opaque keys it holds, in their `kgk_…` form.
    pub opaque: Vec<String>,
    /// A JWT API key it holds, signed with HS256.
    pub hs256_token: String,
    /// The HS256 signing key's secret.
    pub hs256_secret: Vec<u8>,
}

/// The snapshot of `keys` opaque keys spread over 1000 service accounts, plus one HS256 JWT API
/// key and its signing key; and the first `presented` opaque keys' secrets.
pub fn snapshot(keys: usize, presented: usize) -> (StoreSnapshot, Vec<String>, String, Vec<u8>) {
    let random = SeededRandom::new(42);
    let hasher = SecretHasher::sha256();
    let owners: Vec<Principal> = (0..1000)
        .map(|i| {
            Principal::new(
                format!("service-{i}").parse().unwrap(),
                PrincipalKind::ServiceAccount,
                NOW,
            )
        })
        .collect();
    let expires = Expiry::At(NOW.saturating_add(Span::days(365)));
    let mut records = Vec::with_capacity(keys + 1);
    let mut opaque = Vec::with_capacity(presented);
    for i in 0..keys {
        let key = ApiKey::generate(&random).unwrap();
        let template = KeyTemplate::new(
            owners[i % owners.len()].id.clone(),
            Scope::Resource(cluster()),
            KeyFormat::Opaque,
            expires,
        );
        records.push(
            KeyRecord::issue(template, key.key_id(), NOW, Some(hasher.digest(&key))).unwrap(),
        );
        if i < presented {
            opaque.push(key.expose().to_string());
        }
    }
    let signing = Arc::new(
        SigningKey::generate(SigningAlgorithm::HS256)
            .unwrap()
            .with_kid("bench-hs256".parse().unwrap()),
    );
    let jwt_id = ApiKey::generate(&random).unwrap().key_id();
    let template =
        KeyTemplate::new(owners[0].id.clone(), Scope::Resource(cluster()), KeyFormat::Jwt, expires);
    let jwt = KeyRecord::issue(template, jwt_id, NOW, None).unwrap();
    let token = Minter::new(Arc::clone(&signing)).mint_api_key(&jwt, NOW).unwrap();
    records.push(jwt);
    records.sort_by_key(KeyRecord::id);
    let signing_record = SigningKeyRecord::new(
        "bench-hs256".parse().unwrap(),
        SigningAlgorithm::HS256,
        SigningKeyStatus::Active,
        NOW,
        VerificationMaterial::SharedSecret(SecretBytes::new(signing.private_bytes().to_vec())),
    );
    let snapshot = StoreSnapshot::new(Seq(1), owners, records, Vec::new(), vec![signing_record]);
    (snapshot, opaque, token.expose().to_owned(), signing.private_bytes().to_vec())
}

/// An authenticator loaded with [`snapshot`]`(keys, presented)`.
pub fn fleet(keys: usize, presented: usize) -> Fleet {
    fleet_with(keys, presented, AuthConfig::default())
}

/// [`fleet`], with the authenticator configured by `config`.
pub fn fleet_with(keys: usize, presented: usize, config: AuthConfig) -> Fleet {
    let (snapshot, opaque, hs256_token, hs256_secret) = self::snapshot(keys, presented);
    let authenticator = Authenticator::new(config);
    let mut replica = Replica::new(authenticator.clone(), Arc::new(ManualClock::new(NOW)));
    replica.load_snapshot(snapshot).unwrap();
    Fleet { authenticator, opaque, hs256_token, hs256_secret }
}
