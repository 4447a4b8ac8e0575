//! `keygate signing-key`, and the JWT API keys it signs.

use super::support::Sandbox;

#[test]
fn the_ring_signs_jwt_api_keys_and_rotates() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    let first = sandbox.run(&["signing-key", "create", "--output", "json"]).ok().json();
    assert_eq!(first["status"], "active");
    assert_eq!(first["algorithm"], "EdDSA");
    let first_kid = first["kid"].as_str().unwrap().to_owned();
    let second =
        sandbox.run(&["signing-key", "create", "-a", "ES256", "--kid", "second"]).ok().stdout;
    assert!(second.contains("verifies only until you promote it"), "{second}");

    let jwt = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--format",
            "jwt",
            "--output",
            "json",
        ])
        .ok()
        .field("secret");
    assert_eq!(jwt.split('.').count(), 3);
    let shown = sandbox.run(&["token", "show", &jwt, "--output", "json"]).ok().json();
    assert_eq!(shown["header"]["kid"], first_kid.as_str());
    assert_eq!(shown["verified"], false);
    sandbox.run(&["api-key", "verify", "--resource", "kafka-cluster/lkc-1", "--token", &jwt]).ok();

    // Promote the second key: new keys are signed by it, the old ones still verify.
    sandbox.run(&["signing-key", "promote", "second"]).ok();
    let newer = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--format",
            "jwt",
            "--output",
            "json",
        ])
        .ok()
        .field("secret");
    assert_eq!(
        sandbox.run(&["token", "show", &newer, "--output", "json"]).ok().json()["header"]["kid"],
        "second"
    );
    sandbox.run(&["api-key", "verify", "--resource", "kafka-cluster/lkc-1", "--token", &jwt]).ok();

    let jwks = sandbox.run(&["signing-key", "jwks"]).ok().json();
    let kids: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&"second") && kids.contains(&first_kid.as_str()));
    assert!(
        !sandbox.run(&["signing-key", "jwks"]).ok().stdout.contains("\"d\""),
        "private material in the JWKS"
    );

    // Retire the first: its tokens stop verifying. The active key cannot be retired.
    sandbox
        .run(&["signing-key", "retire", "second"])
        .fails(2, "active signing key cannot be removed");
    // The first signed a live key: retiring it says which, and changes nothing without --yes.
    let jwt_id =
        sandbox.run(&["token", "show", &jwt, "--output", "json"]).ok().json()["claims"]["jti"]
            .as_str()
            .unwrap()
            .to_owned();
    let refused = sandbox.run(&["signing-key", "retire", &first_kid]).fails(2, "pass --yes");
    assert!(
        refused.stderr.contains(&format!("signs 1 live JWT API key(s): {jwt_id}"))
            && refused.stderr.contains("nothing was changed"),
        "{}",
        refused.stderr
    );
    sandbox.run(&["api-key", "verify", "--resource", "kafka-cluster/lkc-1", "--token", &jwt]).ok();
    let retired = sandbox.run(&["signing-key", "retire", &first_kid, "--yes"]).ok().stdout;
    assert!(retired.contains("1 live JWT API key(s) stopped working"), "{retired}");
    sandbox
        .run(&["api-key", "verify", "--resource", "kafka-cluster/lkc-1", "--token", &jwt])
        .fails(1, "refused");
    // Its keys show as unusable, not active.
    let described = sandbox.run(&["api-key", "describe", &jwt_id, "--output", "json"]).ok().json();
    assert_eq!(described["status"], format!("unusable (signing key {first_kid} retired)"));
    let listed = sandbox.run(&["api-key", "list"]).ok().stdout;
    assert!(listed.contains("unusable (signing key"), "{listed}");
    sandbox
        .run(&["api-key", "verify", "--resource", "kafka-cluster/lkc-1", "--token", &newer])
        .ok();
    let listed = sandbox.run(&["signing-key", "list"]).ok().stdout;
    assert!(
        listed.starts_with("KID") && listed.contains("second") && !listed.contains(&first_kid),
        "{listed}"
    );
}

#[test]
fn rsa_signing_keys_come_from_openssl() {
    let sandbox = Sandbox::new();
    sandbox.run(&["signing-key", "create", "-a", "RS256", "--kid", "rsa-1"]).ok();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    let jwt = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--format",
            "jwt",
            "--output",
            "json",
        ])
        .ok()
        .field("secret");
    assert_eq!(
        sandbox.run(&["token", "show", &jwt, "--output", "json"]).ok().json()["header"]["alg"],
        "RS256"
    );
    sandbox.run(&["api-key", "verify", "--resource", "kafka-cluster/lkc-1", "--token", &jwt]).ok();
}

#[test]
fn bad_signing_key_requests_are_refused() {
    let sandbox = Sandbox::new();
    sandbox.run(&["signing-key", "create", "-a", "none"]).fails(2, "unknown algorithm");
    sandbox.run(&["signing-key", "create", "--kid", "k1"]).ok();
    sandbox.run(&["signing-key", "create", "--kid", "k1"]).fails(2, "already exists");
    sandbox.run(&["signing-key", "promote", "nope"]).fails(2, "there is no signing key nope");
}
