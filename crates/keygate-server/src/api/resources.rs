//! `/v1/resources`: the resources keys are scoped to. Deleting one revokes every key scoped to
//! it and to its parts, and no key is made for it until it is restored.

use std::collections::BTreeMap;

use axum::extract::State;
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
    deleted: String,
    /// The keys it revoked.
    keys_revoked: Vec<String>,
}

/// What restoring a resource did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct RestoredResource {
    /// The resource.
    resource: String,
    /// Whether it had been deleted (else nothing changed).
    restored: bool,
}

/// Lists the resources keys are scoped to, and those deleted.
#[utoipa::path(get, path = "/v1/resources", tag = "resources",
    responses((status = 200, description = "Every resource", body = Page<ResourceView>), Problems))]
pub(crate) async fn list_resources(
    State(app): State<App>,
    caller: Caller,
) -> Result<axum::Json<Page<ResourceView>>, Problem> {
    caller.require(Need::ReadAll)?;
    let now = app.now();
    let mut resources: BTreeMap<String, ResourceView> = BTreeMap::new();
    fn entry<'m>(
        resources: &'m mut BTreeMap<String, ResourceView>,
        resource: &ResourceRef,
    ) -> &'m mut ResourceView {
        resources.entry(resource.to_string()).or_insert_with(|| ResourceView {
            resource: resource.to_string(),
            live_keys: 0,
            deleted_at: None,
        })
    }
    for key in app.manager().all_keys(&KeyFilter::all()).await? {
        if let Scope::Resource(resource) = key.scope() {
            entry(&mut resources, resource).live_keys += usize::from(key.counts_toward_quota(now));
        }
    }
    for (resource, at) in app.manager().deleted_resources().await? {
        entry(&mut resources, &resource).deleted_at = Some(at.to_string());
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
        deleted: resource.to_string(),
        keys_revoked: revoked.iter().map(|key| key.id().to_string()).collect(),
    }))
}

/// Restores a deleted resource: keys may be made for it again (the revoked ones stay revoked).
/// Restoring one that was not deleted changes nothing, and says so.
#[utoipa::path(post, path = "/v1/resources/{resource}/restore", tag = "resources",
    params(("resource" = String, Path, description = "KIND/ID, with / as %2F")),
    responses((status = 200, description = "Whether it had been deleted", body = RestoredResource), Problems))]
pub(crate) async fn restore_resource(
    State(app): State<App>,
    caller: Caller,
    Segment(resource): Segment,
) -> Result<axum::Json<RestoredResource>, Problem> {
    caller.require(Need::Administer)?;
    let resource = value::<ResourceRef>("resource", &resource)?;
    let restored = app.manager().restore_resource(&caller.actor(), &resource).await?;
    Ok(axum::Json(RestoredResource { resource: resource.to_string(), restored }))
}
