//! A tour of the keygate model: a service account, a scoped, expiring, produce-only key, the
//! checks a broker makes, and a rotation with overlap. Pure rules, no storage, no network.
//!
//! Run it with `cargo run -p keygate-examples --example model`.

use std::error::Error;
use std::fs::File;
use std::io::Read;

use keygate_core::rotation::{expiring_within, plan_rotation};
use keygate_core::{
    Clock, DigestScheme, KeyFormat, KeyId, KeyPolicy, KeyRecord, KeyTemplate, Lifetime,
    ManualClock, Permission, Permissions, Principal, PrincipalKind, ResourceRef, Scope,
    SecretDigest, SecureRandom, Span, SystemClock,
};

/// The operating system's randomness, read from `/dev/urandom`. (keygate-token ships a
/// portable one built on ring; this example keeps to keygate-core alone.)
#[derive(Debug)]
struct UrandomRandom;

impl SecureRandom for UrandomRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), keygate_core::Error> {
        File::open("/dev/urandom")
            .and_then(|mut file| file.read_exact(dest))
            .map_err(|_| keygate_core::Error::RandomUnavailable)
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let clock = ManualClock::new(SystemClock.now());
    let policy = KeyPolicy::default();
    let random = UrandomRandom;

    let owner =
        Principal::new("orders-service".parse()?, PrincipalKind::ServiceAccount, clock.now())
            .with_description("writes order events".parse()?);
    println!("principal   {} ({})", owner.id, owner.kind);

    // A key for one Kafka cluster that may only produce, expiring in 90 days.
    let cluster: ResourceRef = "kafka-cluster/lkc-abc123".parse()?;
    let now = clock.now();
    let expires = policy.expiry.resolve("90d".parse::<Lifetime>()?, now)?;
    let template = KeyTemplate::new(
        owner.id.clone(),
        Scope::Resource(cluster.clone()),
        KeyFormat::Opaque,
        expires,
    )
    .with_permissions(Permissions::only([Permission::PRODUCE]));
    policy.check_new_key(&owner, &template, now)?;
    policy.check_quota(0)?;
    // keygate-token makes the secret and its digest; a placeholder digest stands in here.
    let digest = SecretDigest::new(DigestScheme::Sha256, [0; 32]);
    let key = KeyRecord::issue(template, KeyId::generate(&random)?, now, Some(digest))?;
    println!(
        "key         {} scope={} permissions={} expires={}",
        key.id(),
        key.scope(),
        key.permissions(),
        key.expires()
    );

    // What a broker serving the cluster checks.
    let other: ResourceRef = "kafka-cluster/lkc-zzz999".parse()?;
    println!("usable now                 {}", key.is_usable_at(now));
    println!("admitted on {cluster}  {}", key.scope().admits(&cluster));
    println!("admitted on {other}  {}", key.scope().admits(&other));
    println!(
        "may produce / consume      {} / {}",
        key.permissions().permits(&Permission::PRODUCE),
        key.permissions().permits(&Permission::CONSUME)
    );

    // 80 days later, an expiry warning lists it and the operator rotates with a day of overlap.
    clock.advance(Span::days(80));
    let now = clock.now();
    let warned = expiring_within([&key], now, Span::days(14));
    println!(
        "expiring within 14d        {}",
        warned.iter().map(|k| k.id().to_string()).collect::<Vec<_>>().join(", ")
    );

    let plan = plan_rotation(&key, now, policy.default_rotation_overlap, &policy.expiry)?;
    let replacement = KeyRecord::issue(
        plan.replacement,
        KeyId::generate(&random)?,
        now,
        Some(SecretDigest::new(DigestScheme::Sha256, [1; 32])),
    )?;
    let mut old = key;
    old.shorten_expiry(plan.old_expires)?;
    println!(
        "rotated     {} -> {} (old now expires {})",
        old.id(),
        replacement.id(),
        old.expires()
    );

    clock.advance(Span::hours(12));
    println!(
        "12h later   old usable={} new usable={}",
        old.is_usable_at(clock.now()),
        replacement.is_usable_at(clock.now())
    );
    clock.advance(Span::hours(12));
    println!(
        "24h later   old usable={} new usable={}",
        old.is_usable_at(clock.now()),
        replacement.is_usable_at(clock.now())
    );
    Ok(())
}
