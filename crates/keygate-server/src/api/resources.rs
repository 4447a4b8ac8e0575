//! `/v1/resources`: the resources keys are scoped to. Deleting one revokes every key scoped to
//! it and to its parts, and no key is made for it until it is restored.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use keygate::core::{ResourceRef, Scope};
use keygate::store::KeyFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Page, Problems};
use crate::app::App;
use crate::caller::{Caller, Need};
use crate::extract::{Segment, value};
use crate::problem::Problem;
use crate::view::ResourceView;

/// What deleting a resource did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct DeletedResource {
    /// The resource.
    resource: String,
    /// The keys it revoked.
    revoked: Vec<String>,
}

/// Lists the resources keys are scoped to, and those deleted.
#[utoipa::path(get, path = "/v1/resources", tag = "resources",
    responses((status = 200, description = "Every resource", body = Page<ResourceView>), Problems))]
pub(crate) async fn list_resources(
    State(app): State<App>,
    caller: Caller,
) -> Result<axum::Json<Page<ResourceView>>, Problem> {
    caller.require(Need::ReadAll)?;
    let mut resources: BTreeMap<String, ResourceView> = BTreeMap::new();
    for key in app.manager().all_keys(&KeyFilter::all()).await? {
        if let Scope::Resource(resource) = key.scope() {
            resources
                .entry(resource.to_string())
                .or_insert_with(|| ResourceView {
                    resource: resource.to_string(),
                    keys: 0,
                    deleted_at: None,
                })
                .keys += 1;
        }
    }
    for (resource, at) in app.manager().deleted_resources().await? {
        resources
            .entry(resource.to_string())
            .or_insert_with(|| ResourceView {
                resource: resource.to_string(),
                keys: 0,
                deleted_at: None,
            })
            .deleted_at = Some(at.to_string());
    }
    Ok(axum::Json(Page { items: resources.into_values().collect(), next_page_token: None }))
}

/// Deletes a resource: revokes every key scoped to it or to its parts (a Pulsar tenant's
/// namespaces), and refuses new keys for it until it is restored. `/` in the resource is sent
/// as `%2F`.
#[utoipa::path(delete, path = "/v1/resources/{resource}", tag = "resources",
    params(("resource" = String, Path, description = "KIND/ID, with / as %2F")),
    responses((status = 200, description = "What it revoked", body = DeletedResource), Problems))]
pub(crate) async fn delete_resource(
    State(app): State<App>,
    caller: Caller,
    Segment(resource): Segment,
) -> Result<axum::Json<DeletedResource>, Problem> {
    caller.require(Need::Administer)?;
    let resource = value::<ResourceRef>("resource", &resource)?;
    let revoked = app.manager().delete_resource(&caller.actor(), &resource).await?;
    Ok(axum::Json(DeletedResource {
        resource: resource.to_string(),
        revoked: revoked.iter().map(|key| key.id().to_string()).collect(),
    }))
}

/// Restores a deleted resource: keys may be made for it again (the revoked ones stay revoked).
#[utoipa::path(post, path = "/v1/resources/{resource}/restore", tag = "resources",
    params(("resource" = String, Path, description = "KIND/ID, with / as %2F")),
    responses((status = 204, description = "Restored"), Problems))]
pub(crate) async fn restore_resource(
    State(app): State<App>,
    caller: Caller,
    Segment(resource): Segment,
) -> Result<StatusCode, Problem> {
    caller.require(Need::Administer)?;
    let resource = value::<ResourceRef>("resource", &resource)?;
    if !app.manager().restore_resource(&caller.actor(), &resource).await? {
        return Err(Problem::not_found("deleted resource", &resource));
    }
    Ok(StatusCode::NO_CONTENT)
}
