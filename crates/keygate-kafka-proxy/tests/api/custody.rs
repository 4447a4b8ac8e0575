//! The proxy holds no minting power unless told to: it verifies opaque and asymmetric JWT API
//! keys with public material, and HMAC-signed ones only when given the store's master key.

use kafka_protocol::messages::SaslAuthenticateResponse;

use super::support::{Tansu, authenticate, connect, key, operator, proxy, sasl, tansu};

/// Whether SASL/OAUTHBEARER with `token` on a new connection to `port` succeeds. A refusal is
/// the error challenge (RFC 7628) in a response without an error code, then, after the client's
/// %x01, the error.
fn oauthbearer(port: u16, token: &str) -> bool {
    let mut stream = connect(port);
    let message = keygate_wire::encode_initial_response(token, &[]);
    let answer: SaslAuthenticateResponse = sasl(&mut stream, "OAUTHBEARER", message, 1);
    assert_eq!(answer.error_code, 0, "{:?}", answer.error_message);
    answer.auth_bytes.is_empty()
}

#[test]
fn hmac_signed_keys_need_the_master_key_and_nothing_else_does() {
    let test = "api::custody::hmac_signed_keys_need_the_master_key_and_nothing_else_does";
    let Some(tansu) = tansu(test) else { return };
    let tansu = Tansu::start(&tansu);
    let operator = operator();
    operator.keygate(&["signing-key", "create", "--kid", "ed"]);
    let (_, eddsa) = key(&operator, &["--format", "jwt"]);
    operator.keygate(&["signing-key", "create", "-a", "HS256", "--kid", "hs"]);
    operator.keygate(&["signing-key", "promote", "hs"]);
    let (_, hs256) = key(&operator, &["--format", "jwt"]);
    let (opaque_id, opaque_secret) = key(&operator, &[]);

    let without = proxy(&operator, &tansu, &[]);
    authenticate(without.port, &opaque_id, &opaque_secret);
    assert!(oauthbearer(without.port, &eddsa));
    assert!(!oauthbearer(without.port, &hs256), "an HS256 key verified without the master key");
    drop(without);

    let master_key = format!("file://{}.master-key", operator.store());
    let with = proxy(&operator, &tansu, &["--master-key", &master_key]);
    assert!(oauthbearer(with.port, &hs256));
    assert!(oauthbearer(with.port, &eddsa));
}
