//! `keygate role-binding`: who may do what through the control plane.

use keygate::core::{PrincipalId, PrincipalKind, Role};
use keygate_server::RoleBindingView;
use serde_json::json;

use crate::cli::{Owner, PrincipalArgs, RoleArgs, RoleBindingCommand};
use crate::error::Failure;
use crate::output::Printer;
use crate::plane::{Plane, encode};
use crate::principals::{find, noun, principal_id};

pub(crate) async fn run(
    command: RoleBindingCommand,
    plane: &Plane,
    printer: Printer,
) -> Result<(), Failure> {
    match command {
        RoleBindingCommand::Create { principal, role } => {
            let (id, kind) = principal_of(plane, &principal).await?;
            let role = role_from(plane, &role).await?;
            let body = json!({
                "principal": id.as_str(),
                "role": role.name(),
                "service_account": role.target().map(PrincipalId::as_str),
            });
            let binding: RoleBindingView = plane.send("POST", "/v1/role-bindings", &body).await?;
            if printer.is_json() {
                return printer.json(&json!(binding));
            }
            printer.line(&format!("Bound {} {id} to {role}.", noun(kind)))
        }
        RoleBindingCommand::Delete { principal, role } => {
            let (id, kind) = principal_of(plane, &principal).await?;
            let role = role_from(plane, &role).await?;
            let mut path =
                format!("/v1/role-bindings?principal={}&role={}", encode(id.as_str()), role.name());
            if let Some(account) = role.target() {
                path.push_str(&format!("&service_account={}", encode(account.as_str())));
            }
            let removed = plane.call("DELETE", &path, None, &[]).await?;
            if printer.is_json() {
                return printer.json(&removed);
            }
            printer.line(&format!("Removed {} {id} from {role}.", noun(kind)))
        }
        RoleBindingCommand::List { principal } => {
            let path = match principal.as_ref().map(named) {
                Some((kind, name)) => {
                    let principal = find(plane, &principal_id(name)?, kind).await?;
                    format!("/v1/role-bindings?principal={}", encode(&principal.name))
                }
                None => "/v1/role-bindings".to_owned(),
            };
            // One page holds every binding.
            let page: serde_json::Value = plane.get(&path).await?;
            let bindings: Vec<RoleBindingView> =
                serde_json::from_value(page["items"].clone()).map_err(Failure::error)?;
            if printer.is_json() {
                return printer.json(&json!(bindings));
            }
            let rows: Vec<Vec<String>> = bindings
                .iter()
                .map(|binding| {
                    vec![
                        binding.principal.clone(),
                        binding.role.clone(),
                        binding.service_account.clone().unwrap_or_else(|| "-".to_owned()),
                        binding.created_at.clone(),
                    ]
                })
                .collect();
            printer.table(&["PRINCIPAL", "ROLE", "OF", "CREATED"], &rows)
        }
    }
}

/// The principal named, which must exist as that kind.
async fn principal_of(
    plane: &Plane,
    owner: &Owner,
) -> Result<(PrincipalId, PrincipalKind), Failure> {
    let (kind, name) = match (&owner.service_account, &owner.user) {
        (_, Some(user)) => (PrincipalKind::User, user.as_str()),
        (Some(account), None) => (PrincipalKind::ServiceAccount, account.as_str()),
        // clap requires exactly one of the two.
        (None, None) => (PrincipalKind::ServiceAccount, ""),
    };
    let id = principal_id(name)?;
    find(plane, &id, kind).await?;
    Ok((id, kind))
}

fn named(args: &PrincipalArgs) -> (PrincipalKind, &str) {
    match (&args.service_account, &args.user) {
        (_, Some(user)) => (PrincipalKind::User, user),
        (Some(account), None) => (PrincipalKind::ServiceAccount, account),
        (None, None) => (PrincipalKind::ServiceAccount, ""),
    }
}

/// The role `args` name; a ServiceAccountOwner's account must exist and be a service account.
async fn role_from(plane: &Plane, args: &RoleArgs) -> Result<Role, Failure> {
    let target = match &args.of {
        Some(name) => {
            let id = principal_id(name)?;
            find(plane, &id, PrincipalKind::ServiceAccount).await?;
            Some(id)
        }
        None => None,
    };
    Role::new(&args.role, target)
        .map_err(|e| Failure::error(format!("--role: {e} (--of names it)")))
}
