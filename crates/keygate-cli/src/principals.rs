//! `keygate service-account` and `keygate user`: the principals that own keys.

use keygate::core::{PrincipalId, PrincipalKind};
use keygate_server::PrincipalView;
use serde_json::{Value, json};

use crate::cli::PrincipalCommand;
use crate::error::Failure;
use crate::output::Printer;
use crate::plane::{Plane, encode};

pub(crate) async fn run(
    kind: PrincipalKind,
    command: PrincipalCommand,
    plane: &Plane,
    printer: Printer,
) -> Result<(), Failure> {
    match command {
        PrincipalCommand::Create { name, description, display_name } => {
            let id = principal_id(&name)?;
            let mut body = json!({});
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            if let Some(display_name) = display_name {
                body["display_name"] = json!(display_name);
            }
            // Create only: `PUT` would replace one that exists.
            let created = plane
                .call("PUT", &path(kind, &id), Some(&body), &[("if-none-match", "*")])
                .await
                .map_err(|failure| {
                    field_named(
                        failure,
                        &[("description", "--description"), ("display_name", "--display-name")],
                    )
                })?;
            let principal: PrincipalView =
                serde_json::from_value(created).map_err(Failure::error)?;
            if printer.is_json() {
                printer.json(&serde_json::to_value(&principal).map_err(Failure::error)?)
            } else {
                printer.line(&format!("Created {} {}.", noun(kind), principal.name))
            }
        }
        PrincipalCommand::List => {
            let principals: Vec<PrincipalView> = plane.all(collection(kind)).await?;
            if printer.is_json() {
                return printer.json(&serde_json::to_value(&principals).map_err(Failure::error)?);
            }
            let rows: Vec<Vec<String>> = principals
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.display_name.clone(),
                        p.created_at.clone(),
                        p.description.clone(),
                    ]
                })
                .collect();
            printer.table(&["NAME", "DISPLAY NAME", "CREATED", "DESCRIPTION"], &rows)
        }
        PrincipalCommand::SignOut { name } => {
            let id = principal_id(&name)?;
            let answer: Value =
                plane.send("POST", &format!("{}/sign-out", path(kind, &id)), &json!({})).await?;
            let before = answer["issued_before"].as_str().unwrap_or_default().to_owned();
            if printer.is_json() {
                return printer.json(&json!({ "signed_out": name, "issued_before": before }));
            }
            printer.line(&format!(
                "Signed {} {name} out everywhere: every credential of it issued before {before} \
                 (its API keys, and tokens minted for it elsewhere) is refused from each \
                 broker's next sync. Keys issued from now on work.",
                noun(kind)
            ))
        }
        PrincipalCommand::Delete { name, yes } => {
            let id = principal_id(&name)?;
            // It must exist, and be of this kind, before --yes is asked for.
            plane.get::<PrincipalView>(&path(kind, &id)).await?;
            if !yes {
                return Err(Failure::error(format!(
                    "deleting {} {name} revokes and deletes every key it owns; pass --yes to do it",
                    noun(kind)
                )));
            }
            let deleted: Value = plane
                .call("DELETE", &format!("{}?cascade=true", path(kind, &id)), None, &[])
                .await?;
            let count = deleted["keys_deleted"].as_u64().unwrap_or_default();
            if printer.is_json() {
                printer.json(&json!({ "deleted": name, "keys_deleted": count }))
            } else {
                let keys = if count == 1 { "key" } else { "keys" };
                printer.line(&format!("Deleted {} {name} and its {count} {keys}.", noun(kind)))
            }
        }
    }
}

/// The principal `id` of `kind`, or why there is none.
pub(crate) async fn find(
    plane: &Plane,
    id: &PrincipalId,
    kind: PrincipalKind,
) -> Result<PrincipalView, Failure> {
    plane.get(&path(kind, id)).await
}

fn collection(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "/v1/users",
        _ => "/v1/service-accounts",
    }
}

fn path(kind: PrincipalKind, id: &PrincipalId) -> String {
    format!("{}/{}", collection(kind), encode(id.as_str()))
}

pub(crate) fn principal_id(name: &str) -> Result<PrincipalId, Failure> {
    name.parse().map_err(|e| Failure::error(format!("{name:?} is not a valid name: {e}")))
}

pub(crate) fn noun(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "user",
        _ => "service account",
    }
}

/// A failure about a body field, named as the command's option is.
fn field_named(failure: Failure, names: &[(&str, &str)]) -> Failure {
    let message = failure.message().to_owned();
    for (field, option) in names {
        if let Some(rest) = message.strip_prefix(&format!("{field}: ")) {
            return Failure::error(format!("{option}: {rest}"));
        }
    }
    failure
}
