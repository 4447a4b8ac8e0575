//! `keygate service-account` and `keygate user`.

use keygate::core::{Principal, PrincipalId, PrincipalKind};
use keygate::store::{PageRequest, StoreError};
use keygate::{ManagerError, NewPrincipal};
use serde_json::Value;

use crate::cli::PrincipalCommand;
use crate::error::Failure;
use crate::output::{Printer, principal_json};
use crate::store::Workspace;

pub(crate) async fn run(
    kind: PrincipalKind,
    command: PrincipalCommand,
    workspace: &Workspace,
    printer: Printer,
) -> Result<(), Failure> {
    let manager = &workspace.manager;
    match command {
        PrincipalCommand::Create { name, description, display_name } => {
            let id = principal_id(&name)?;
            let mut new = match kind {
                PrincipalKind::User => NewPrincipal::user(id),
                _ => NewPrincipal::service_account(id),
            };
            if let Some(description) = description {
                new = new.with_description(
                    description
                        .parse()
                        .map_err(|e| Failure::error(format!("--description: {e}")))?,
                );
            }
            if let Some(display_name) = display_name {
                new = new.with_display_name(
                    display_name
                        .parse()
                        .map_err(|e| Failure::error(format!("--display-name: {e}")))?,
                );
            }
            let principal = manager.create_principal(&workspace.actor, new).await.map_err(
                |error| match error {
                    ManagerError::Store(StoreError::AlreadyExists { .. }) => {
                        Failure::error(format!("{} {name} already exists", noun(kind)))
                    }
                    error => error.into(),
                },
            )?;
            if printer.is_json() {
                printer.json(&principal_json(&principal))
            } else {
                printer.line(&format!("Created {} {}.", noun(kind), principal.id))
            }
        }
        PrincipalCommand::List => {
            let principals = all_principals(workspace).await?;
            let principals: Vec<&Principal> =
                principals.iter().filter(|p| p.kind == kind).collect();
            if printer.is_json() {
                printer.json(&Value::Array(principals.iter().map(|p| principal_json(p)).collect()))
            } else {
                let rows: Vec<Vec<String>> = principals
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.to_string(),
                            p.display_name.to_string(),
                            p.created_at.to_string(),
                            p.description.to_string(),
                        ]
                    })
                    .collect();
                printer.table(&["NAME", "DISPLAY NAME", "CREATED", "DESCRIPTION"], &rows)
            }
        }
        PrincipalCommand::SignOut { name } => {
            let principal = find(workspace, &principal_id(&name)?, kind).await?;
            let now = manager.sign_out(&workspace.actor, &principal.id).await?;
            if printer.is_json() {
                return printer.json(&serde_json::json!({
                    "signed_out": name,
                    "issued_before": now.to_string(),
                }));
            }
            printer.line(&format!(
                "Signed {} {name} out everywhere: every credential of it issued before {now} \
                 (its API keys, and tokens minted for it elsewhere) is refused from each \
                 broker's next sync. Keys issued from now on work.",
                noun(kind)
            ))
        }
        PrincipalCommand::Delete { name, yes } => {
            let id = principal_id(&name)?;
            let principal = find(workspace, &id, kind).await?;
            if !yes {
                return Err(Failure::error(format!(
                    "deleting {} {name} revokes and deletes every key it owns; pass --yes to do it",
                    noun(kind)
                )));
            }
            let deleted = manager.delete_principal(&workspace.actor, &principal.id).await?;
            let count = deleted.keys.len();
            if printer.is_json() {
                printer.json(&serde_json::json!({ "deleted": name, "keys_deleted": count }))
            } else {
                let keys = if count == 1 { "key" } else { "keys" };
                printer.line(&format!("Deleted {} {name} and its {count} {keys}.", noun(kind)))
            }
        }
    }
}

/// The principal `id`, which must be of `kind`.
pub(crate) async fn find(
    workspace: &Workspace,
    id: &PrincipalId,
    kind: PrincipalKind,
) -> Result<Principal, Failure> {
    let principal = workspace.manager.principal(id).await.map_err(|error| match error {
        ManagerError::Store(StoreError::NotFound { .. }) => {
            Failure::error(format!("there is no {} {id}", noun(kind)))
        }
        error => error.into(),
    })?;
    if principal.kind != kind {
        return Err(Failure::error(format!(
            "{id} is a {}, not a {}",
            noun(principal.kind),
            noun(kind)
        )));
    }
    Ok(principal)
}

/// A principal's name from the command line.
pub(crate) fn principal_id(name: &str) -> Result<PrincipalId, Failure> {
    name.parse().map_err(|e| Failure::error(format!("{name:?} is not a valid name: {e}")))
}

/// "service account" or "user".
pub(crate) fn noun(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "user",
        _ => "service account",
    }
}

async fn all_principals(workspace: &Workspace) -> Result<Vec<Principal>, Failure> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let batch = workspace.manager.list_principals(&page).await?;
        all.extend(batch.items);
        match batch.next {
            Some(next) => page = PageRequest::after(next, 500),
            None => return Ok(all),
        }
    }
}
