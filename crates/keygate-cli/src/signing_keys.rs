//! `keygate signing-key`: the key ring that signs JWT API keys.

use keygate::ManagerError;
use keygate::core::SigningKeyId;
use keygate::store::SigningKeyStatus;
use serde_json::Value;

use crate::cli::SigningKeyCommand;
use crate::error::Failure;
use crate::keys::{algorithm_named, generate};
use crate::output::{Printer, signing_key_json};
use crate::store::Workspace;

pub(crate) async fn run(
    command: SigningKeyCommand,
    workspace: &Workspace,
    printer: Printer,
) -> Result<(), Failure> {
    let manager = &workspace.manager;
    let actor = &workspace.actor;
    match command {
        SigningKeyCommand::Create { algorithm, kid } => {
            let algorithm = algorithm_named(&algorithm)?;
            let kid = kid.map(|kid| kid_from(&kid)).transpose()?;
            let manager = &workspace.sealing_manager().await?;
            // The manager makes every kind of key but RSA, which comes from openssl.
            let record = if algorithm.is_rsa() {
                let mut key = generate(algorithm)?;
                if let Some(kid) = kid {
                    key = key.with_kid(kid);
                }
                manager.add_signing_key(actor, &key, true).await?
            } else {
                manager.create_signing_key(actor, algorithm, kid).await?
            };
            if printer.is_json() {
                return printer.json(&signing_key_json(&record));
            }
            let role = match record.status {
                SigningKeyStatus::Active => "it signs new JWT API keys",
                _ => "it verifies only until you promote it",
            };
            printer.line(&format!(
                "Created signing key {} ({}); {role}.",
                record.kid, record.algorithm
            ))?;
            if record.algorithm.is_symmetric() {
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
            let keys = manager.signing_keys().await?;
            if printer.is_json() {
                return printer.json(&Value::Array(keys.iter().map(signing_key_json).collect()));
            }
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|key| {
                    let status = match key.status {
                        SigningKeyStatus::Active => "active",
                        _ => "verifying",
                    };
                    vec![
                        key.kid.to_string(),
                        key.algorithm.to_string(),
                        status.to_owned(),
                        key.created_at.to_string(),
                    ]
                })
                .collect();
            printer.table(&["KID", "ALGORITHM", "STATUS", "CREATED"], &rows)
        }
        SigningKeyCommand::Promote { kid } => {
            let kid = kid_from(&kid)?;
            manager.promote_signing_key(actor, &kid).await?;
            printer.line(&format!(
                "Signing key {kid} now signs new JWT API keys; the previous one keeps verifying."
            ))
        }
        SigningKeyCommand::Retire { kid, yes } => {
            let kid = kid_from(&kid)?;
            if yes {
                let broken = manager.signing_key_dependants(&kid).await?.len();
                manager.retire_signing_key_and_its_keys(actor, &kid).await?;
                return printer.line(&format!(
                    "Retired signing key {kid}: tokens it signed no longer verify ({broken} live \
                     JWT API key(s) stopped working)."
                ));
            }
            match manager.retire_signing_key(actor, &kid).await {
                Err(error @ ManagerError::SigningKeyInUse { .. }) => Err(Failure::error(format!(
                    "{error}; nothing was changed: pass --yes to retire it anyway"
                ))),
                Err(error) => Err(error.into()),
                Ok(()) => printer.line(&format!(
                    "Retired signing key {kid}: tokens it signed no longer verify."
                )),
            }
        }
        SigningKeyCommand::Jwks => {
            let jwks = manager.jwks().await?;
            printer.json(&serde_json::to_value(&jwks).map_err(Failure::error)?)
        }
    }
}

fn kid_from(text: &str) -> Result<SigningKeyId, Failure> {
    text.parse().map_err(|e| Failure::error(format!("{text:?} is not a signing key id: {e}")))
}
