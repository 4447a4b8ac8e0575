//! `keygate role-binding`: who may do what through the control plane.

use keygate::core::{PrincipalKind, Role, RoleBinding};
use serde_json::json;

use crate::cli::{Owner, PrincipalArgs, RoleArgs, RoleBindingCommand};
use crate::error::Failure;
use crate::output::Printer;
use crate::principals::{find, noun, principal_id};
use crate::store::Workspace;

pub(crate) async fn run(
    command: RoleBindingCommand,
    workspace: &Workspace,
    printer: Printer,
) -> Result<(), Failure> {
    let manager = &workspace.manager;
    match command {
        RoleBindingCommand::Create { principal, role } => {
            let (id, kind) = principal_of(workspace, &principal).await?;
            let role = role_from(workspace, &role).await?;
            let binding = manager.bind_role(&workspace.actor, &id, role).await?;
            if printer.is_json() {
                return printer.json(&binding_json(&binding));
            }
            printer.line(&format!("Bound {} {id} to {}.", noun(kind), binding.role))
        }
        RoleBindingCommand::Delete { principal, role } => {
            let (id, kind) = principal_of(workspace, &principal).await?;
            let role = role_from(workspace, &role).await?;
            let removed = manager.unbind_role(&workspace.actor, &id, &role).await?;
            if printer.is_json() {
                return printer.json(&binding_json(&removed));
            }
            printer.line(&format!("Removed {} {id} from {}.", noun(kind), removed.role))
        }
        RoleBindingCommand::List { principal } => {
            let id = match principal.as_ref().map(named) {
                Some((kind, name)) => Some(find(workspace, &principal_id(name)?, kind).await?.id),
                None => None,
            };
            let bindings = manager.role_bindings(id.as_ref()).await?;
            if printer.is_json() {
                return printer.json(&json!(bindings.iter().map(binding_json).collect::<Vec<_>>()));
            }
            let rows: Vec<Vec<String>> = bindings
                .iter()
                .map(|binding| {
                    vec![
                        binding.principal.to_string(),
                        binding.role.name().to_owned(),
                        binding.role.target().map_or_else(|| "-".to_owned(), ToString::to_string),
                        binding.created_at.to_string(),
                    ]
                })
                .collect();
            printer.table(&["PRINCIPAL", "ROLE", "OF", "CREATED"], &rows)
        }
    }
}

/// The principal named, which must exist as that kind.
async fn principal_of(
    workspace: &Workspace,
    owner: &Owner,
) -> Result<(keygate::core::PrincipalId, PrincipalKind), Failure> {
    let (kind, name) = match (&owner.service_account, &owner.user) {
        (_, Some(user)) => (PrincipalKind::User, user.as_str()),
        (Some(account), None) => (PrincipalKind::ServiceAccount, account.as_str()),
        // clap requires exactly one of the two.
        (None, None) => (PrincipalKind::ServiceAccount, ""),
    };
    let principal = find(workspace, &principal_id(name)?, kind).await?;
    Ok((principal.id, kind))
}

fn named(args: &PrincipalArgs) -> (PrincipalKind, &str) {
    match (&args.service_account, &args.user) {
        (_, Some(user)) => (PrincipalKind::User, user),
        (Some(account), None) => (PrincipalKind::ServiceAccount, account),
        (None, None) => (PrincipalKind::ServiceAccount, ""),
    }
}

/// The role `args` name; a ServiceAccountOwner's account must exist and be a service account.
async fn role_from(workspace: &Workspace, args: &RoleArgs) -> Result<Role, Failure> {
    let target = match &args.of {
        Some(name) => {
            Some(find(workspace, &principal_id(name)?, PrincipalKind::ServiceAccount).await?.id)
        }
        None => None,
    };
    Role::new(&args.role, target)
        .map_err(|e| Failure::error(format!("--role: {e} (--of names it)")))
}

fn binding_json(binding: &RoleBinding) -> serde_json::Value {
    json!({
        "principal": binding.principal.as_str(),
        "role": binding.role.name(),
        "of": binding.role.target().map(|account| account.as_str()),
        "created_at": binding.created_at.to_string(),
    })
}
