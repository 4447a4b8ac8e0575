//! `keygate policy` and `keygate resource`: the rules every writer of the store enforces, and
//! the end of a resource's keys.

use keygate::core::{Clock, KeyPolicy, Lifetime, Span};
use keygate::store::PolicyStore;
use serde_json::{Value, json};

use crate::api_keys::{lifetime_from, resource_from, span_from};
use crate::cli::{PolicyCommand, ResourceCommand};
use crate::error::Failure;
use crate::output::Printer;
use crate::store::Workspace;

pub(crate) async fn run(
    command: PolicyCommand,
    workspace: &Workspace,
    printer: Printer,
) -> Result<(), Failure> {
    let manager = &workspace.manager;
    match command {
        PolicyCommand::Show => {
            let stored = workspace.store.policy().await?.is_some();
            show(printer, &manager.policy_in_force().await?, stored)
        }
        PolicyCommand::Set {
            max_lifetime,
            min_lifetime,
            user_keys,
            max_keys_per_principal,
            max_keys_per_resource,
            rotation_overlap,
            rotation_period,
        } => {
            let mut policy = manager.policy_in_force().await?;
            let mut expiry = policy.expiry.clone();
            if let Some(text) = max_lifetime {
                expiry = match lifetime_from("--max-lifetime", &text)? {
                    Lifetime::Never => expiry.with_max_lifetime(None).with_allow_never(true),
                    Lifetime::Span(span) => {
                        expiry.with_max_lifetime(Some(span)).with_allow_never(false)
                    }
                };
            }
            if let Some(text) = min_lifetime {
                expiry = expiry.with_min_lifetime(span_from("--min-lifetime", &text)?);
            }
            policy = policy.with_expiry(expiry);
            if let Some(choice) = user_keys {
                policy = policy.with_allow_user_keys(choice == "allow");
            }
            if let Some(max) = max_keys_per_principal {
                policy = policy.with_max_keys_per_principal(max);
            }
            if let Some(text) = max_keys_per_resource {
                let max = match text.as_str() {
                    "none" => None,
                    count => Some(count.parse().map_err(|_| {
                        Failure::error(format!(
                            "--max-keys-per-resource {text:?}: a count, or none"
                        ))
                    })?),
                };
                policy = policy.with_max_keys_per_resource(max);
            }
            if let Some(text) = rotation_overlap {
                policy =
                    policy.with_default_rotation_overlap(span_from("--rotation-overlap", &text)?);
            }
            if let Some(text) = rotation_period {
                let period = match text.as_str() {
                    "none" => None,
                    span => Some(span_from("--rotation-period", span)?),
                };
                policy = policy.with_rotation_period(period);
            }
            manager.set_policy(&workspace.actor, policy.clone()).await?;
            if !printer.is_json() {
                printer.line("Policy changed; keys issued before keep their lifetimes.")?;
            }
            show(printer, &policy, true)
        }
    }
}

/// The resources keys are scoped to, with how many live keys each has, and the deleted ones.
async fn list_resources(workspace: &Workspace, printer: Printer) -> Result<(), Failure> {
    use std::collections::BTreeMap;
    let manager = &workspace.manager;
    let now = keygate::core::SystemClock.now();
    let mut live: BTreeMap<String, usize> = BTreeMap::new();
    for key in manager.all_keys(&keygate::store::KeyFilter::all()).await? {
        if let keygate::core::Scope::Resource(resource) = key.scope() {
            let count = live.entry(resource.to_string()).or_default();
            if key.counts_toward_quota(now) {
                *count += 1;
            }
        }
    }
    let deleted: BTreeMap<String, String> = manager
        .deleted_resources()
        .await?
        .into_iter()
        .map(|(resource, at)| (resource.to_string(), at.to_string()))
        .collect();
    let mut names: Vec<&String> = live.keys().chain(deleted.keys()).collect();
    names.sort();
    names.dedup();
    if printer.is_json() {
        let rows: Vec<_> = names
            .iter()
            .map(|name| {
                json!({
                    "resource": name,
                    "live_keys": live.get(*name).copied().unwrap_or(0),
                    "deleted_at": deleted.get(*name),
                })
            })
            .collect();
        return printer.json(&json!(rows));
    }
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|name| {
            vec![
                (*name).clone(),
                live.get(*name).copied().unwrap_or(0).to_string(),
                deleted.get(*name).cloned().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    printer.table(&["RESOURCE", "LIVE KEYS", "DELETED"], &rows)
}

pub(crate) async fn resource(
    command: ResourceCommand,
    workspace: &Workspace,
    printer: Printer,
) -> Result<(), Failure> {
    let (resource, yes) = match command {
        ResourceCommand::Delete { resource, yes } => (resource, yes),
        ResourceCommand::Restore { resource } => {
            let resource = resource_from(&resource)?;
            let restored = workspace.manager.restore_resource(&workspace.actor, &resource).await?;
            if printer.is_json() {
                return printer
                    .json(&json!({ "resource": resource.to_string(), "restored": restored }));
            }
            return printer.line(&if restored {
                format!("Restored {resource}: it can have keys again.")
            } else {
                format!("{resource} was not deleted; nothing to restore.")
            });
        }
        ResourceCommand::List => return list_resources(workspace, printer).await,
    };
    let resource = resource_from(&resource)?;
    if !yes {
        return Err(Failure::error(format!(
            "deleting {resource} revokes every key scoped to it; pass --yes to do it"
        )));
    }
    let revoked = workspace.manager.delete_resource(&workspace.actor, &resource).await?;
    let ids: Vec<String> = revoked.iter().map(|key| key.id().to_string()).collect();
    if printer.is_json() {
        return printer.json(&json!({ "deleted": resource.to_string(), "keys_revoked": ids }));
    }
    let keys = if ids.len() == 1 { "key" } else { "keys" };
    let list = if ids.is_empty() { String::new() } else { format!(": {}", ids.join(", ")) };
    printer.line(&format!("Deleted {resource}: revoked its {} {keys}{list}.", ids.len()))
}

/// Prints `policy`, and whether it is the store's or the built-in default.
fn show(printer: Printer, policy: &KeyPolicy, stored: bool) -> Result<(), Failure> {
    let max_lifetime = match policy.expiry.max_lifetime {
        Some(span) => json!(span.to_string()),
        None => Value::Null,
    };
    let optional = |span: Option<Span>| span.map(|span| span.to_string());
    let value = json!({
        "source": if stored { "store" } else { "default" },
        "max_lifetime": max_lifetime,
        "min_lifetime": policy.expiry.min_lifetime.to_string(),
        "never_expiring_keys": if policy.expiry.allow_never { "allow" } else { "deny" },
        "user_keys": if policy.allow_user_keys { "allow" } else { "deny" },
        "max_keys_per_principal": policy.max_keys_per_principal,
        "max_keys_per_resource": policy.max_keys_per_resource,
        "rotation_overlap": policy.default_rotation_overlap.to_string(),
        "rotation_period": optional(policy.rotation_period),
    });
    if printer.is_json() {
        return printer.json(&value);
    }
    let text = |value: &Value, none: &str| match value {
        Value::Null => none.to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    printer.fields(&[
        ("source", text(&value["source"], "")),
        ("max lifetime", text(&value["max_lifetime"], "never (keys may never expire)")),
        ("min lifetime", text(&value["min_lifetime"], "")),
        ("user keys", text(&value["user_keys"], "")),
        ("max keys per principal", text(&value["max_keys_per_principal"], "")),
        ("max keys per resource", text(&value["max_keys_per_resource"], "no limit")),
        ("rotation overlap", text(&value["rotation_overlap"], "")),
        ("rotation period", text(&value["rotation_period"], "none (keys are never due)")),
    ])
}
