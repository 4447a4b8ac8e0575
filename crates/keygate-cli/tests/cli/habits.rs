//! The habits operators bring from `confluent` and `pulsar`, and the frictions a trial run
//! found: each fixed, each held here.

use serde_json::{Value, json};

use super::support::{Sandbox, account_with_key};

const CLUSTER: &str = "kafka-cluster/lkc-abc123";

fn is_rfc3339(value: &Value) -> bool {
    value.as_str().is_some_and(|text| text.parse::<keygate::core::Timestamp>().is_ok())
}

#[test]
fn a_jwt_key_is_shown_with_oauthbearer_not_plain() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    sandbox.run(&["signing-key", "create"]).ok();
    let created = sandbox
        .run(&["api-key", "create", "--service-account", "orders", "--global", "--format", "jwt"])
        .ok()
        .stdout;
    assert!(created.contains("OAUTHBEARER"), "{created}");
    assert!(!created.contains("SASL/PLAIN"), "{created}");
}

#[test]
fn output_is_a_format_everywhere_and_a_file_where_pulsar_takes_one() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("hs256.key");
    // `pulsar tokens create-secret-key --output FILE`.
    sandbox.run(&["secret-key", "create", "--output", file.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(&file).unwrap().len(), 32);
    let base64 = sandbox.file("hs256.b64");
    sandbox.run(&["secret-key", "create", "--output", base64.to_str().unwrap(), "--base64"]).ok();
    assert_eq!(std::fs::read_to_string(&base64).unwrap().trim().len(), 44);
    // `confluent ... --output json` everywhere else.
    sandbox.run(&["service-account", "create", "orders"]).ok();
    let listed = sandbox.run(&["service-account", "list", "--output", "json"]).ok().json();
    assert_eq!(listed[0]["name"], "orders");
    sandbox.run(&["service-account", "list", "--output", "xml"]).fails(2, "give table or json");
}

#[test]
fn json_has_one_vocabulary_and_errors_are_json_too() {
    let sandbox = Sandbox::new();
    let (id, secret) = account_with_key(&sandbox, "orders", CLUSTER);
    let key = sandbox.run(&["api-key", "describe", &id, "--output", "json"]).ok().json();
    assert_eq!(key["permissions"], Value::Null, "an unrestricted key");
    assert!(is_rfc3339(&key["created_at"]) && is_rfc3339(&key["expires"]), "{key}");
    sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--permission",
            "consume",
        ])
        .ok();
    let listed = sandbox.run(&["api-key", "list", "--output", "json"]).ok().json();
    let restricted = listed.as_array().unwrap().iter().find(|k| k["key_id"] != id.as_str());
    assert_eq!(restricted.unwrap()["permissions"], json!(["consume"]));

    let audit = sandbox.run(&["audit", "list", "--output", "json"]).ok().json();
    let created = &audit.as_array().unwrap()[1];
    assert_eq!(created["action"]["action"], "key_created");
    assert!(is_rfc3339(&created["at"]), "{created}");
    assert!(is_rfc3339(&created["action"]["expires"]), "{created}");
    assert_eq!(audit[2]["action"]["permissions"], json!(["consume"]));

    // Errors: one JSON object on stderr, the same exit codes.
    let missing = sandbox.run(&["api-key", "describe", "nosuchkey1234567", "--output", "json"]);
    assert_eq!(missing.code, 2);
    let error: Value = serde_json::from_str(&missing.stderr).unwrap();
    assert_eq!(error["error"]["kind"], "error");
    assert_eq!(error["error"]["exit_code"], 2);
    sandbox.run(&["api-key", "revoke", &id]).ok();
    let verify = ["api-key", "verify", "--resource", CLUSTER, &id, &secret, "--output", "json"];
    let refused = sandbox.run(&verify);
    assert_eq!(refused.code, 1);
    let error: Value = serde_json::from_str(&refused.stderr).unwrap();
    assert_eq!(error["error"]["kind"], "refused");
    assert!(error["error"]["message"].as_str().unwrap().contains("revoked"), "{error}");
    let usage = sandbox.run(&["api-key", "frobnicate", "--output", "json"]);
    assert_eq!(usage.code, 2);
    assert!(serde_json::from_str::<Value>(&usage.stderr).is_ok(), "{}", usage.stderr);
}

#[test]
fn audit_list_limit_keeps_the_newest() {
    let sandbox = Sandbox::new();
    for name in ["first", "second", "third"] {
        sandbox.run(&["service-account", "create", name]).ok();
    }
    let newest = sandbox.run(&["audit", "list", "--limit", "2", "--output", "json"]).ok().json();
    let names: Vec<&str> =
        newest.as_array().unwrap().iter().map(|e| e["action"]["id"].as_str().unwrap()).collect();
    assert_eq!(names, ["second", "third"], "the newest two, oldest first");
    let none = sandbox.run(&["audit", "list", "--limit", "0", "--output", "json"]).ok().json();
    assert_eq!(none, json!([]));
}

#[test]
fn list_shows_permissions_created_and_what_replaced_a_key_and_rotating_twice_needs_force() {
    let sandbox = Sandbox::new();
    let (id, _) = account_with_key(&sandbox, "orders", CLUSTER);
    let rotated = sandbox.run(&["api-key", "rotate", &id, "--output", "json"]).ok().json();
    let new = rotated["key_id"].as_str().unwrap();
    let table = sandbox.run(&["api-key", "list"]).ok().stdout;
    let header = table.lines().next().unwrap();
    for column in ["PERMISSIONS", "CREATED", "REPLACED BY"] {
        assert!(header.contains(column), "{header}");
    }
    let old_row = table.lines().find(|line| line.starts_with(&id)).unwrap();
    assert!(old_row.contains(new), "{old_row}");
    let listed = sandbox.run(&["api-key", "list", "--output", "json"]).ok().json();
    let old = listed.as_array().unwrap().iter().find(|k| k["key_id"] == id.as_str()).unwrap();
    assert_eq!(old["replaced_by"], new);

    let again = sandbox.run(&["api-key", "rotate", &id]);
    again.fails(2, "already rotated");
    let keys = sandbox.run(&["api-key", "list", "--output", "json"]).ok().json();
    assert_eq!(keys.as_array().unwrap().len(), 2, "a refused rotation issued a key");
    sandbox.run(&["api-key", "rotate", &id, "--force"]).ok();
}

#[test]
fn commands_that_only_read_never_create_a_store() {
    let sandbox = Sandbox::new();
    let typo = sandbox.file("keygat.db");
    let store = typo.to_str().unwrap();
    for args in [
        &["api-key", "list"][..],
        &["service-account", "list"],
        &["audit", "list"],
        &["signing-key", "list"],
        &["api-key", "describe", "abc"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--store", store]);
        sandbox.run(&args).fails(2, "there is no store at");
        assert!(!typo.exists(), "{args:?} created the store");
    }
    // A command that writes creates it, as before.
    sandbox.run(&["service-account", "create", "orders", "--store", store]).ok();
    assert!(typo.exists());
}

#[test]
fn delete_yes_revokes_and_deletes_a_live_key() {
    let sandbox = Sandbox::new();
    let (id, secret) = account_with_key(&sandbox, "orders", CLUSTER);
    sandbox.run(&["api-key", "delete", &id]).fails(2, "--yes");
    sandbox.run(&["api-key", "verify", "--resource", CLUSTER, &id, &secret]).ok();
    let deleted = sandbox.run(&["api-key", "delete", &id, "--yes"]).ok().stdout;
    assert!(deleted.contains("Revoked and deleted"), "{deleted}");
    sandbox.run(&["api-key", "verify", "--resource", CLUSTER, &id, &secret]).fails(1, "unknown");
    let audit = sandbox.run(&["audit", "list", "--key", &id, "--output", "json"]).ok().json();
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().map(|e| e["action"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["key_created", "key_revoked", "key_deleted"]);
}

#[test]
fn token_revoke_refuses_any_token_by_jti_or_digest_until_it_expires() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    sandbox.run(&["signing-key", "create"]).ok();
    // A keygate JWT API key: revoked as its key.
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
        .ok();
    let (id, token) = (jwt.field("key_id"), jwt.field("secret"));
    sandbox.run(&["api-key", "verify", "--resource", CLUSTER, "--token", &token]).ok();
    sandbox.run_stdin(&["token", "revoke", "-i", "--reason", "leaked"], &token).ok();
    sandbox
        .run(&["api-key", "verify", "--resource", CLUSTER, "--token", &token])
        .fails(1, "revoked");
    let key = sandbox.run(&["api-key", "describe", &id, "--output", "json"]).ok().json();
    assert_eq!(key["status"], "revoked");

    // Tokens minted elsewhere (as `pulsar tokens create` does): by jti, else by digest.
    let secret = sandbox.file("hs.key");
    sandbox.run(&["secret-key", "create", "-o", secret.to_str().unwrap()]).ok();
    let secret = format!("file://{}", secret.display());
    let mint = |extra: &[&str]| {
        let mut args = vec!["token", "create", "--secret-key", &secret, "-s", "orders", "-e", "1h"];
        args.extend_from_slice(extra);
        sandbox.run(&args).ok().stdout.trim().to_owned()
    };
    let with_jti = mint(&["--jti", "batch-7"]);
    let without = mint(&[]);
    // A token that claims a live key's id but is not signed by this store: only it is refused.
    let (live, _) = {
        let created = sandbox
            .run(&[
                "api-key",
                "create",
                "--service-account",
                "orders",
                "--global",
                "--output",
                "json",
            ])
            .ok();
        (created.field("key_id"), ())
    };
    let forged = mint(&["--jti", &live]);
    let refused = sandbox.run(&["token", "revoke", &forged, "--output", "json"]).ok().json();
    assert_eq!(refused["revoked"]["by"], "digest");
    let still = sandbox.run(&["api-key", "describe", &live, "--output", "json"]).ok().json();
    assert_eq!(still["status"], "active", "a forged token revoked the key it names");
    let by_jti = sandbox.run(&["token", "revoke", &with_jti, "--output", "json"]).ok().json();
    assert_eq!(by_jti["revoked"]["by"], "jti");
    assert_eq!(by_jti["revoked"]["id"], "batch-7");
    assert!(is_rfc3339(&by_jti["revoked"]["expires"]), "{by_jti}");
    let by_digest = sandbox.run(&["token", "revoke", &without, "--output", "json"]).ok().json();
    assert_eq!(by_digest["revoked"]["by"], "digest");
    assert_eq!(by_digest["revoked"]["id"].as_str().unwrap().len(), 64);
    let audit = sandbox.run(&["audit", "list", "--output", "json"]).ok().json();
    let revocations: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"]["action"] == "credential_revoked")
        .map(|e| &e["action"]["revocation"])
        .collect();
    assert_eq!(revocations.len(), 3);
    assert_eq!(revocations[0]["by"], "token", "the forged one, by digest");
    assert_eq!(revocations[1]["by"], "jti");
    assert_eq!(revocations[2]["by"], "token");
    sandbox.run(&["token", "revoke", "not-a-token"]).fails(2, "cannot be read");
}

#[test]
fn sign_out_refuses_every_credential_issued_before_it() {
    let sandbox = Sandbox::new();
    let (id, secret) = account_with_key(&sandbox, "orders", CLUSTER);
    // Instants are whole seconds: a key from the same second as the sign-out would survive it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = sandbox.run(&["service-account", "sign-out", "orders", "--output", "json"]).ok();
    assert_eq!(out.json()["signed_out"], "orders");
    sandbox.run(&["api-key", "verify", "--resource", CLUSTER, &id, &secret]).fails(1, "refused");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = sandbox
        .run(&["api-key", "create", "--service-account", "orders", "--global", "--output", "json"])
        .ok();
    let (fresh_id, fresh_secret) = (fresh.field("key_id"), fresh.field("secret"));
    sandbox.run(&["api-key", "verify", "--resource", CLUSTER, &fresh_id, &fresh_secret]).ok();
    sandbox.run(&["user", "sign-out", "orders"]).fails(2, "orders");
    let audit = sandbox.run(&["audit", "list", "--principal", "orders", "--output", "json"]).ok();
    let signed_out = audit.json().as_array().unwrap().iter().any(|event| {
        event["action"]["action"] == "credential_revoked"
            && event["action"]["revocation"]["by"] == "principal"
    });
    assert!(signed_out, "the sign-out is not filed under the principal: {}", audit.stdout);
}

#[test]
fn completions_and_the_manual_come_from_the_command_definitions() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = sandbox.run(&["completions", shell]).ok().stdout;
        for word in ["api-key", "signing-key", "sign-out", "master-key"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let tcsh = sandbox.run(&["completions", "tcsh"]);
    assert_eq!(tcsh.code, 2);
    assert!(tcsh.stderr.contains("invalid value"), "{}", tcsh.stderr);
    let man = sandbox.run(&["man"]).ok().stdout;
    assert!(man.starts_with(".ie") || man.contains(".TH keygate"), "{}", &man[..80]);
    assert!(man.contains("api\\-key") || man.contains("api-key"), "the manual lacks api-key");
    assert!(!sandbox.file("keygate.db").exists(), "completions or man opened the store");
}

#[test]
fn unused_since_and_due_find_the_keys_to_look_at() {
    use keygate::core::{Clock, KeyFormat, KeyRecord, KeyTemplate, Scope, Span, SystemClock};
    use keygate::store::{KeyStore, KeyUse, PrincipalStore, Quota, UsageStore};

    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    let fresh = sandbox
        .run(&["api-key", "create", "--service-account", "orders", "--global", "--output", "json"])
        .ok()
        .field("key_id");
    // Keys issued 60 days ago, as a broker saw them used: 5 days ago, 40 days ago, never.
    let now = SystemClock.now();
    let ago = |days| now.saturating_sub(Span::days(days));
    let ids: Vec<String> =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(
            async {
                let store = keygate_store_sql::SqlStore::open(sandbox.store()).await.unwrap();
                let owner = store.principal(&"orders".parse().unwrap()).await.unwrap();
                let mut ids = Vec::new();
                for n in 1..=3u8 {
                    let template = KeyTemplate::new(
                        owner.id.clone(),
                        Scope::Global,
                        KeyFormat::Jwt,
                        keygate::core::Expiry::At(now.saturating_add(Span::days(30))),
                    );
                    let id = keygate::core::KeyId::from_bytes([n; 10]);
                    let key = KeyRecord::issue(template, id, ago(60), None).unwrap();
                    store.insert_key(&key, Quota::unlimited(now), None).await.unwrap();
                    ids.push(id);
                }
                let cluster = Some("kafka-cluster/lkc-abc123".parse().unwrap());
                let uses = [
                    KeyUse::new(ids[0], ago(5), cluster.clone()),
                    KeyUse::new(ids[1], ago(40), cluster),
                ];
                store.record_key_uses(&uses).await.unwrap();
                store.close().await;
                ids.iter().map(ToString::to_string).collect()
            },
        );
    let unused =
        sandbox.run(&["api-key", "list", "--unused-since", "30d", "--output", "json"]).ok();
    let listed: Vec<String> = unused
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["key_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, [ids[1].clone(), ids[2].clone()], "not {fresh}, too new to judge");
    let described = sandbox.run(&["api-key", "describe", &ids[0], "--output", "json"]).ok().json();
    assert!(is_rfc3339(&described["last_used"]), "{described}");
    assert_eq!(described["last_used_on"], CLUSTER);
    let text = sandbox.run(&["api-key", "describe", &ids[0]]).ok().stdout;
    assert!(text.contains(&format!("on {CLUSTER}")), "{text}");

    // The same 60-day-old keys are due under a 30-day rotation period; the fresh one is not.
    sandbox.run(&["policy", "set", "--rotation-period", "30d"]).ok();
    let due = sandbox.run(&["api-key", "due", "--output", "json"]).ok().json();
    let due: Vec<&str> =
        due.as_array().unwrap().iter().map(|k| k["key_id"].as_str().unwrap()).collect();
    assert_eq!(due, [ids[0].as_str(), ids[1].as_str(), ids[2].as_str()], "not {fresh}");
}

/// The bad invocations a hostile trial found answered with exit 0, a wrong reason, or an
/// exhausted memory: each is refused with exit 2 and a message that names what is wrong.
#[test]
fn bad_input_is_refused_with_its_own_reason() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    let create = |extra: &[&str]| {
        let mut args = vec!["api-key", "create", "--service-account", "orders"];
        args.extend_from_slice(extra);
        sandbox.run(&args)
    };
    create(&["--resource", "unknown-kind/x", "--expiry", "1d"])
        .fails(2, "unknown resource kind unknown-kind; known: agent-cluster, cloud, kafka-cluster");
    create(&["--resource", CLUSTER, "--expiry", "-1d"]).fails(2, "not negative");
    create(&["--resource", CLUSTER, "--expiry", "2027-13-01T00:00:00Z"])
        .fails(2, "\"2027-13-01T00:00:00Z\" is not a date keygate reads");
    sandbox
        .run(&["policy", "set", "--rotation-period", "0s"])
        .fails(2, "a rotation period above zero");
    sandbox
        .run(&["policy", "set", "--max-lifetime", "0s"])
        .fails(2, "a longest lifetime above zero");

    let id = create(&["--resource", CLUSTER, "--expiry", "1d", "--output", "json"]).ok().json()
        ["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox
        .run(&["api-key", "rotate", &id, "--overlap", "99999999999999999999s"])
        .fails(2, "--overlap: duration is too large");
    let long = "r".repeat(5000);
    sandbox
        .run(&["api-key", "revoke", &id, "--reason", &long])
        .fails(2, "--reason: 5000 bytes long; the limit is 1024");
    // Nothing of the above changed the key or the policy.
    let key = sandbox.run(&["api-key", "describe", &id, "--output", "json"]).ok().json();
    assert_eq!(key["status"], "active", "{key}");
    let policy = sandbox.run(&["policy", "show", "--output", "json"]).ok().json();
    assert_eq!(policy["rotation_period"], Value::Null, "{policy}");

    let secret = sandbox.file("hs256.key");
    sandbox.run(&["secret-key", "create", "--output", secret.to_str().unwrap()]).ok();
    let secret = format!("file://{}", secret.display());
    let token = |extra: &[&str]| {
        let mut args = vec!["token", "create", "--secret-key", &secret, "--expiry-time", "1d"];
        args.extend_from_slice(extra);
        sandbox.run(&args)
    };
    token(&["--subject", "orders", "--permission", "produc"])
        .fails(2, "unknown permission produc; known: admin, consume, describe, produce");
    token(&["--subject", &"a".repeat(100_000)]).fails(2, "--subject: principal id is 100000 bytes");

    // Files are read up to a bound: /dev/zero is an error, not an exhausted memory.
    sandbox
        .run(&["token", "create", "--secret-key", "file:///dev/zero", "--subject", "o", "-e", "1d"])
        .fails(2, "/dev/zero: more than 65536 bytes");
    sandbox.run(&["token", "show", "-f", "/dev/zero"]).fails(2, "more than 65536 bytes");
    sandbox
        .run(&["--master-key", "file:///dev/zero", "signing-key", "list"])
        .fails(2, "more than 65536 bytes");
    Sandbox::with_store("/dev/null")
        .run(&["api-key", "list"])
        .fails(2, "/dev/null is not a regular file");
}

/// The frictions a new user found, each as a Confluent or Pulsar user would meet it.
#[test]
fn confluent_and_pulsar_habits_are_understood() {
    let sandbox = Sandbox::new();
    sandbox.run(&["service-account", "create", "orders"]).ok();
    // `-o json`, as both CLIs take it.
    let created = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            "lkc-abc123",
            "-o",
            "json",
        ])
        .ok();
    // Confluent's cluster id alone is read as keygate's kind/id, and said so.
    assert!(
        created.stderr.contains("reading lkc-abc123 as kafka-cluster/lkc-abc123"),
        "{}",
        created.stderr
    );
    let key = created.json();
    assert_eq!(key["scope"], "kafka-cluster/lkc-abc123", "{key}");
    let cloud = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            "cloud",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(cloud["scope"], "cloud", "{cloud}");
    sandbox
        .run(&["api-key", "create", "--service-account", "orders", "--resource", "orders-topic"])
        .fails(2, "a resource is KIND/ID, like kafka-cluster/orders-topic");

    // `api-key verify` speaks the one JSON vocabulary: permissions are an array.
    let (id, secret) = (key["key_id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    let restricted = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            CLUSTER,
            "--permission",
            "produce",
            "-o",
            "json",
        ])
        .ok()
        .json();
    let verified = sandbox
        .run(&[
            "api-key",
            "verify",
            "--resource",
            CLUSTER,
            "-o",
            "json",
            "--key",
            restricted["secret"].as_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(verified["permissions"], json!(["produce"]), "{verified}");
    let verified = sandbox
        .run(&[
            "api-key",
            "verify",
            "--resource",
            "kafka-cluster/lkc-abc123",
            "-o",
            "json",
            id,
            secret,
        ])
        .ok()
        .json();
    assert_eq!(verified["permissions"], Value::Null, "{verified}");

    // Once the policy allows `never`, a key that never expires is asked for by name.
    sandbox.run(&["policy", "set", "--max-lifetime", "never"]).ok();
    sandbox
        .run(&["api-key", "create", "--service-account", "orders", "--global"])
        .fails(2, "a key needs --expiry");
    let forever = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--expiry",
            "never",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(forever["expires"], Value::Null, "{forever}");
}

/// A reader that closes the pipe early (`keygate completions bash | head -1`) ends the command
/// quietly, with status 0: no "internal error".
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    for args in [&["completions", "bash"][..], &["man"], &["--help"], &["api-key", "--help"]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keygate"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before reading anything: every write meets a closed pipe.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("internal error"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
