//! Two threads authenticate while syncs apply: no torn state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use keygate::core::{Clock, KeyFormat};
use keygate::{AuthContext, Authenticator, Credential, NewPrincipal};

use super::support::{World, actor, resource};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_whole_versions() {
    let mut world = World::new();
    // Pairs of keys owned by one principal each; deleting the principal removes both in one
    // store step, so at any one version both work or neither does.
    const PAIRS: usize = 40;
    let mut pairs = Vec::new();
    for n in 0..PAIRS {
        let name = format!("svc-{n}");
        world
            .manager
            .create_principal(&actor(), NewPrincipal::service_account(name.parse().unwrap()))
            .await
            .unwrap();
        let a = world.key(&name, "global", KeyFormat::Opaque).await;
        let b = world.key(&name, "global", KeyFormat::Opaque).await;
        pairs.push((a.secret.expose().to_owned(), b.secret.expose().to_owned()));
    }
    world.sync().await;

    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let authenticator: Authenticator = world.authenticator.clone();
            let pairs = pairs.clone();
            let done = Arc::clone(&done);
            let started = Arc::clone(&started);
            let now = world.clock.now();
            thread::spawn(move || {
                let resource = resource("kafka-cluster/lkc-1");
                let context = AuthContext::new(&resource, now);
                let (mut consistent, mut last_version) = (0u64, 0u64);
                started.fetch_add(1, Ordering::SeqCst);
                while !done.load(Ordering::Acquire) {
                    for (a, b) in &pairs {
                        let before = authenticator.version().seq;
                        let ok_a =
                            authenticator.authenticate(&Credential::ApiKey(a), &context).is_ok();
                        let ok_b =
                            authenticator.authenticate(&Credential::ApiKey(b), &context).is_ok();
                        let after = authenticator.version().seq;
                        assert!(before.0 >= last_version, "the version went backwards");
                        last_version = after.0;
                        if before == after {
                            assert_eq!(ok_a, ok_b, "half of a pair revoked at version {before}");
                            consistent += 1;
                        }
                    }
                }
                consistent
            })
        })
        .collect();

    while started.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    for n in 0..PAIRS {
        world
            .manager
            .delete_principal(&actor(), &format!("svc-{n}").parse().unwrap())
            .await
            .unwrap();
        world.sync().await;
        // Let the readers run against this version before the next one.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    assert_eq!(world.authenticator.key_count(), 0);
}
