//! `keygate signing-key`: the key ring that signs JWT API keys.

use keygate_server::SigningKeyView;
use serde_json::{Value, json};

use crate::cli::SigningKeyCommand;
use crate::error::Failure;
use crate::keys::{algorithm_named, generate};
use crate::output::Printer;
use crate::plane::{Plane, encode};

pub(crate) async fn run(
    command: SigningKeyCommand,
    plane: &Plane,
    printer: Printer,
) -> Result<(), Failure> {
    match command {
        SigningKeyCommand::Create { algorithm, kid } => {
            let algorithm = algorithm_named(&algorithm)?;
            let mut body = json!({ "algorithm": algorithm.to_string() });
            if let Some(kid) = kid {
                kid_checked(&kid)?;
                body["kid"] = json!(kid);
            }
            // The server makes every kind of key but RSA, which comes from openssl, here.
            if algorithm.is_rsa() {
                let key = generate(algorithm)?;
                let pem = key.private_pem()?;
                body["private_key"] = json!(pem.as_str());
            }
            let record: SigningKeyView = plane.send("POST", "/v1/signing-keys", &body).await?;
            if printer.is_json() {
                return printer.json(&json!(record));
            }
            let role = match record.status.as_str() {
                "active" => "it signs new JWT API keys",
                _ => "it verifies only until you promote it",
            };
            printer.line(&format!(
                "Created signing key {} ({}); {role}.",
                record.kid, record.algorithm
            ))?;
            if algorithm.is_symmetric() {
                eprintln!(
                    "keygate: note: an HMAC key's secret both signs and verifies, so every \
                     broker that is to accept its JWT API keys needs the master key, and with it \
                     the power to mint them; an EdDSA or ES256 key keeps that power off the \
                     brokers"
                );
            }
            Ok(())
        }
        SigningKeyCommand::List => {
            // One page holds every signing key.
            let page: Value = plane.get("/v1/signing-keys").await?;
            let keys: Vec<SigningKeyView> =
                serde_json::from_value(page["items"].clone()).map_err(Failure::error)?;
            if printer.is_json() {
                return printer.json(&json!(keys));
            }
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|key| {
                    vec![
                        key.kid.clone(),
                        key.algorithm.clone(),
                        key.status.clone(),
                        key.created_at.clone(),
                    ]
                })
                .collect();
            printer.table(&["KID", "ALGORITHM", "STATUS", "CREATED"], &rows)
        }
        SigningKeyCommand::Promote { kid } => {
            kid_checked(&kid)?;
            let path = format!("/v1/signing-keys/{}/promote", encode(&kid));
            let _: SigningKeyView = plane.send("POST", &path, &json!({})).await?;
            printer.line(&format!(
                "Signing key {kid} now signs new JWT API keys; the previous one keeps verifying."
            ))
        }
        SigningKeyCommand::Retire { kid, yes } => {
            kid_checked(&kid)?;
            let force = if yes { "?force=true" } else { "" };
            let path = format!("/v1/signing-keys/{}/retire{force}", encode(&kid));
            let retired = plane.call("POST", &path, None, &[]).await.map_err(|failure| {
                if failure.message().contains("live JWT API key") {
                    Failure::error(format!(
                        "{}; nothing was changed: pass --yes to retire it anyway",
                        failure.message()
                    ))
                } else {
                    failure
                }
            })?;
            if yes {
                let broken = retired["keys_revoked"].as_u64().unwrap_or_default();
                return printer.line(&format!(
                    "Retired signing key {kid}: tokens it signed no longer verify ({broken} live \
                     JWT API key(s) stopped working)."
                ));
            }
            printer.line(&format!("Retired signing key {kid}: tokens it signed no longer verify."))
        }
        SigningKeyCommand::Jwks => {
            printer.json(&plane.get::<Value>("/.well-known/jwks.json").await?)
        }
    }
}

fn kid_checked(text: &str) -> Result<(), Failure> {
    text.parse::<keygate::core::SigningKeyId>()
        .map(drop)
        .map_err(|e| Failure::error(format!("{text:?} is not a signing key id: {e}")))
}
