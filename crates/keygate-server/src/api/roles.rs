//! `/v1/role-bindings`: who may do what through this API. Each change is audited.

use axum::extract::State;
use axum::http::StatusCode;
use keygate::core::{PrincipalId, Role};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{Page, Problems};
use crate::app::App;
use crate::caller::{Caller, Need};
use crate::extract::{Json, Params, value};
use crate::problem::Problem;
use crate::view::RoleBindingView;

/// A binding to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleBindingBody {
    /// The principal that gets the role.
    principal: String,
    /// `OrganizationAdmin`, `ServiceAccountOwner` or `Viewer`.
    role: String,
    /// For `ServiceAccountOwner`, the service account it owns.
    #[serde(default)]
    service_account: Option<String>,
}

/// Bindings of one principal.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only this principal's bindings.
    principal: Option<String>,
}

/// The binding to remove.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteParams {
    /// The principal.
    principal: String,
    /// The role.
    role: String,
    /// For `ServiceAccountOwner`, the service account.
    service_account: Option<String>,
}

/// Lists role bindings.
#[utoipa::path(get, path = "/v1/role-bindings", tag = "role-bindings", params(ListParams),
    responses((status = 200, description = "The bindings", body = Page<RoleBindingView>), Problems))]
pub(crate) async fn list_role_bindings(
    State(app): State<App>,
    caller: Caller,
    Params(params): Params<ListParams>,
) -> Result<axum::Json<Page<RoleBindingView>>, Problem> {
    let principal =
        params.principal.as_deref().map(|p| value::<PrincipalId>("principal", p)).transpose()?;
    match &principal {
        Some(principal) => caller.require(Need::ReadAbout(principal))?,
        None => caller.require(Need::ReadAll)?,
    }
    let bindings = app.manager().role_bindings(principal.as_ref()).await?;
    Ok(axum::Json(Page {
        items: bindings.iter().map(RoleBindingView::from).collect(),
        next_page_token: None,
    }))
}

/// Binds a principal to a role.
#[utoipa::path(post, path = "/v1/role-bindings", tag = "role-bindings", request_body = RoleBindingBody,
    responses((status = 201, description = "The binding", body = RoleBindingView), Problems))]
pub(crate) async fn create_role_binding(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<RoleBindingBody>,
) -> Result<(StatusCode, axum::Json<RoleBindingView>), Problem> {
    caller.require(Need::Administer)?;
    let (principal, role) = binding(&body.principal, &body.role, body.service_account.as_deref())?;
    let bound = app.manager().bind_role(&caller.actor(), &principal, role).await?;
    Ok((StatusCode::CREATED, axum::Json(RoleBindingView::from(&bound))))
}

/// Removes a role binding.
#[utoipa::path(delete, path = "/v1/role-bindings", tag = "role-bindings", params(DeleteParams),
    responses((status = 200, description = "The binding removed", body = RoleBindingView), Problems))]
pub(crate) async fn delete_role_binding(
    State(app): State<App>,
    caller: Caller,
    Params(params): Params<DeleteParams>,
) -> Result<axum::Json<RoleBindingView>, Problem> {
    caller.require(Need::Administer)?;
    let (principal, role) =
        binding(&params.principal, &params.role, params.service_account.as_deref())?;
    let removed = app.manager().unbind_role(&caller.actor(), &principal, &role).await?;
    Ok(axum::Json(RoleBindingView::from(&removed)))
}

fn binding(
    principal: &str,
    role: &str,
    account: Option<&str>,
) -> Result<(PrincipalId, Role), Problem> {
    let principal = value::<PrincipalId>("principal", principal)?;
    let account = account.map(|a| value::<PrincipalId>("service_account", a)).transpose()?;
    let role =
        Role::new(role, account).map_err(|e| Problem::field("role", format!("role: {e}")))?;
    Ok((principal, role))
}
