//! `keygate policy` and `keygate resource`: the rules every writer of the store enforces, and
//! the end of a resource's keys.

use keygate::core::Lifetime;
use keygate_server::{PolicyView, ResourceView};
use serde_json::{Value, json};

use crate::api_keys::{lifetime_from, resource_from, span_from};
use crate::cli::{PolicyCommand, ResourceCommand};
use crate::error::Failure;
use crate::output::Printer;
use crate::plane::{Plane, encode};

pub(crate) async fn run(
    command: PolicyCommand,
    plane: &Plane,
    printer: Printer,
) -> Result<(), Failure> {
    match command {
        PolicyCommand::Show => show(printer, &plane.get("/v1/policy").await?),
        PolicyCommand::Set {
            max_lifetime,
            min_lifetime,
            user_keys,
            max_keys_per_principal,
            max_keys_per_resource,
            rotation_overlap,
            rotation_period,
        } => {
            let mut policy: PolicyView = plane.get("/v1/policy").await?;
            if let Some(text) = max_lifetime {
                match lifetime_from("--max-lifetime", &text)? {
                    Lifetime::Never => {
                        policy.max_lifetime = None;
                        policy.allow_never = true;
                    }
                    Lifetime::Span(span) => {
                        policy.max_lifetime = Some(span.to_string());
                        policy.allow_never = false;
                    }
                }
            }
            if let Some(text) = min_lifetime {
                policy.min_lifetime = span_from("--min-lifetime", &text)?.to_string();
            }
            if let Some(choice) = user_keys {
                policy.allow_user_keys = choice == "allow";
            }
            if let Some(max) = max_keys_per_principal {
                policy.max_keys_per_principal = max;
            }
            if let Some(text) = max_keys_per_resource {
                policy.max_keys_per_resource = match text.as_str() {
                    "none" => None,
                    count => Some(count.parse().map_err(|_| {
                        Failure::error(format!(
                            "--max-keys-per-resource {text:?}: a count, or none"
                        ))
                    })?),
                };
            }
            if let Some(text) = rotation_overlap {
                policy.default_rotation_overlap =
                    span_from("--rotation-overlap", &text)?.to_string();
            }
            if let Some(text) = rotation_period {
                policy.rotation_period = match text.as_str() {
                    "none" => None,
                    span => Some(span_from("--rotation-period", span)?.to_string()),
                };
            }
            let body = serde_json::to_value(&policy).map_err(Failure::error)?;
            let policy: PolicyView = plane.send("PUT", "/v1/policy", &body).await?;
            if !printer.is_json() {
                printer.line("Policy changed; keys issued before keep their lifetimes.")?;
            }
            show(printer, &policy)
        }
    }
}

/// The resources keys are scoped to, with how many live keys each has, and the deleted ones.
async fn list_resources(plane: &Plane, printer: Printer) -> Result<(), Failure> {
    // One page holds every resource.
    let page: Value = plane.get("/v1/resources").await?;
    let resources: Vec<ResourceView> =
        serde_json::from_value(page["items"].clone()).map_err(Failure::error)?;
    if printer.is_json() {
        return printer.json(&json!(resources));
    }
    let rows: Vec<Vec<String>> = resources
        .iter()
        .map(|row| {
            vec![
                row.resource.clone(),
                row.live_keys.to_string(),
                row.deleted_at.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    printer.table(&["RESOURCE", "LIVE KEYS", "DELETED"], &rows)
}

pub(crate) async fn resource(
    command: ResourceCommand,
    plane: &Plane,
    printer: Printer,
) -> Result<(), Failure> {
    let (resource, yes) = match command {
        ResourceCommand::Delete { resource, yes } => (resource, yes),
        ResourceCommand::Restore { resource } => {
            let resource = resource_from(&resource)?;
            let path = format!("/v1/resources/{}/restore", encode(resource.as_str()));
            let answer = plane.call("POST", &path, None, &[]).await?;
            if printer.is_json() {
                return printer.json(&answer);
            }
            return printer.line(&if answer["restored"] == true {
                format!("Restored {resource}: it can have keys again.")
            } else {
                format!("{resource} was not deleted; nothing to restore.")
            });
        }
        ResourceCommand::List => return list_resources(plane, printer).await,
    };
    let resource = resource_from(&resource)?;
    if !yes {
        return Err(Failure::error(format!(
            "deleting {resource} revokes every key scoped to it; pass --yes to do it"
        )));
    }
    let path = format!("/v1/resources/{}", encode(resource.as_str()));
    let answer = plane.call("DELETE", &path, None, &[]).await?;
    if printer.is_json() {
        return printer.json(&answer);
    }
    let ids: Vec<&str> = answer["keys_revoked"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let keys = if ids.len() == 1 { "key" } else { "keys" };
    let list = if ids.is_empty() { String::new() } else { format!(": {}", ids.join(", ")) };
    printer.line(&format!("Deleted {resource}: revoked its {} {keys}{list}.", ids.len()))
}

/// Prints `policy`, and whether it is the store's or the built-in default.
fn show(printer: Printer, policy: &PolicyView) -> Result<(), Failure> {
    let allow = |yes: bool| if yes { "allow" } else { "deny" };
    let value = json!({
        "source": policy.source.as_deref().unwrap_or("store"),
        "max_lifetime": policy.max_lifetime,
        "min_lifetime": policy.min_lifetime,
        "never_expiring_keys": allow(policy.allow_never),
        "user_keys": allow(policy.allow_user_keys),
        "max_keys_per_principal": policy.max_keys_per_principal,
        "max_keys_per_resource": policy.max_keys_per_resource,
        "rotation_overlap": policy.default_rotation_overlap,
        "rotation_period": policy.rotation_period,
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
