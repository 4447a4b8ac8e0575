//! `/v1/service-accounts` and `/v1/users`: the principals that own keys. `PUT` creates or
//! replaces, so an infrastructure-as-code run can apply the same definition every time.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate::core::{Description, DisplayName, Principal, PrincipalId, PrincipalKind};
use keygate::store::{KeyFilter, PageRequest, StoreError};
use keygate::{ManagerError, NewPrincipal};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, Problems, check_if_match, tagged};
use crate::app::App;
use crate::caller::{Caller, Need};
use crate::extract::{Json, Params, Segment, value};
use crate::page;
use crate::problem::{Kind, Problem};
use crate::view::{PrincipalView, kind_name};

/// A page of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// How many items, from 1 to 1000 (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<u32>,
    /// The `next_page_token` of the page before.
    page_token: Option<String>,
}

/// A principal's definition: what `PUT` sets and `PATCH` changes.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrincipalBody {
    /// A note, up to 1024 bytes, no control characters. `PUT` without it clears it.
    #[serde(default)]
    description: Option<String>,
    /// A human-readable name, up to 128 bytes. `PUT` without it makes it the name.
    #[serde(default)]
    display_name: Option<String>,
}

/// Whether deleting takes the keys along.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteParams {
    /// Revoke and delete the keys it owns too; without it, a principal that owns keys is not
    /// deleted (409).
    #[serde(default)]
    cascade: bool,
}

/// What deleting a principal removed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct Deleted {
    /// The principal.
    pub(crate) deleted: String,
    /// How many keys went with it.
    pub(crate) keys_deleted: usize,
}

/// When a principal was signed out.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct SignedOut {
    /// The principal.
    pub(crate) signed_out: String,
    /// Every credential of it issued before this instant is refused.
    pub(crate) issued_before: String,
}

macro_rules! principal_routes {
    ($kind:expr, $tag:literal, $collection:literal, $item:literal, $sign_out:literal,
     $list:ident, $get:ident, $put:ident, $patch:ident, $delete:ident, $out:ident) => {
        /// Lists them, in name order.
        #[utoipa::path(get, path = $collection, tag = $tag, params(PageParams),
            responses((status = 200, description = "A page of them", body = Page<PrincipalView>), Problems))]
        pub(crate) async fn $list(
            State(app): State<App>,
            caller: Caller,
            Params(params): Params<PageParams>,
        ) -> Result<Response, Problem> {
            list(&app, &caller, params, $kind).await
        }

        /// Reads one; its `ETag` guards a `PATCH` or `PUT` with `If-Match`.
        #[utoipa::path(get, path = $item, tag = $tag, params(("name" = String, Path, description = "Its name")),
            responses((status = 200, description = "It", body = PrincipalView,
                headers(("ETag" = String, description = "Its version"))), Problems))]
        pub(crate) async fn $get(
            State(app): State<App>,
            caller: Caller,
            Segment(name): Segment,
        ) -> Result<Response, Problem> {
            get(&app, &caller, &name, $kind).await
        }

        /// Creates it (201), or replaces its description and display name (200); the same body
        /// twice gives the same result. With `If-None-Match: *`, only creates (409 if it
        /// exists).
        #[utoipa::path(put, path = $item, tag = $tag, params(("name" = String, Path, description = "Its name: lowercase letters, digits and . _ - @, up to 64 bytes"),
                ("If-Match" = Option<String>, Header, description = "Replace only this version"),
                ("If-None-Match" = Option<String>, Header, description = "`*`: create only")),
            request_body = PrincipalBody,
            responses((status = 200, description = "Replaced", body = PrincipalView),
                (status = 201, description = "Created", body = PrincipalView), Problems))]
        pub(crate) async fn $put(
            State(app): State<App>,
            caller: Caller,
            Segment(name): Segment,
            headers: HeaderMap,
            Json(body): Json<PrincipalBody>,
        ) -> Result<Response, Problem> {
            put(&app, &caller, &name, $kind, &headers, body).await
        }

        /// Changes the fields given.
        #[utoipa::path(patch, path = $item, tag = $tag, params(("name" = String, Path, description = "Its name"),
                ("If-Match" = Option<String>, Header, description = "Change only this version")),
            request_body = PrincipalBody,
            responses((status = 200, description = "Changed", body = PrincipalView), Problems))]
        pub(crate) async fn $patch(
            State(app): State<App>,
            caller: Caller,
            Segment(name): Segment,
            headers: HeaderMap,
            Json(body): Json<PrincipalBody>,
        ) -> Result<Response, Problem> {
            patch(&app, &caller, &name, $kind, &headers, body).await
        }

        /// Deletes it, with its keys when `cascade=true`; its credentials are refused from
        /// every server's next sync.
        #[utoipa::path(delete, path = $item, tag = $tag, params(("name" = String, Path, description = "Its name"), DeleteParams),
            responses((status = 200, description = "Deleted, with its keys", body = Deleted), Problems))]
        pub(crate) async fn $delete(
            State(app): State<App>,
            caller: Caller,
            Segment(name): Segment,
            Params(params): Params<DeleteParams>,
        ) -> Result<axum::Json<Deleted>, Problem> {
            delete(&app, &caller, &name, $kind, params.cascade).await
        }

        /// Signs it out everywhere: every credential of it issued before now is refused.
        #[utoipa::path(post, path = $sign_out, tag = $tag, params(("name" = String, Path, description = "Its name")),
            responses((status = 200, description = "Signed out", body = SignedOut), Problems))]
        pub(crate) async fn $out(
            State(app): State<App>,
            caller: Caller,
            Segment(name): Segment,
        ) -> Result<axum::Json<SignedOut>, Problem> {
            sign_out(&app, &caller, &name, $kind).await
        }
    };
}

principal_routes!(
    PrincipalKind::ServiceAccount,
    "service-accounts",
    "/v1/service-accounts",
    "/v1/service-accounts/{name}",
    "/v1/service-accounts/{name}/sign-out",
    list_service_accounts,
    get_service_account,
    put_service_account,
    patch_service_account,
    delete_service_account,
    sign_out_service_account
);

principal_routes!(
    PrincipalKind::User,
    "users",
    "/v1/users",
    "/v1/users/{name}",
    "/v1/users/{name}/sign-out",
    list_users,
    get_user,
    put_user,
    patch_user,
    delete_user,
    sign_out_user
);

async fn list(
    app: &App,
    caller: &Caller,
    params: PageParams,
    kind: PrincipalKind,
) -> Result<Response, Problem> {
    caller.require(Need::ReadAll)?;
    let size = page::size(params.page_size)?;
    let filters = format!("principals kind={kind}");
    let after = match &params.page_token {
        Some(token) => Some(value::<PrincipalId>("page_token", &page::decode(token, &filters)?)?),
        None => None,
    };
    let request = match after {
        Some(after) => PageRequest::after(after, size),
        None => PageRequest::first(size),
    };
    let found = app.manager().list_principals(&request).await?;
    let items = found.items.iter().filter(|p| p.kind == kind).map(PrincipalView::from).collect();
    let next_page_token = found.next.map(|next| page::encode(next.as_str(), &filters));
    Ok(axum::Json(Page { items, next_page_token }).into_response())
}

/// The principal `name` of `kind`, or 404.
pub(crate) async fn find(app: &App, name: &str, kind: PrincipalKind) -> Result<Principal, Problem> {
    let id = principal_name(name)?;
    match app.manager().principal(&id).await {
        Ok(principal) if principal.kind == kind => Ok(principal),
        Ok(principal) => Err(Problem::new(
            Kind::NotFound,
            format!("{id} is a {}, not a {}", kind_name(principal.kind), kind_name(kind)),
        )),
        Err(ManagerError::Store(StoreError::NotFound { .. })) => {
            Err(Problem::not_found(kind_name(kind), &id))
        }
        Err(error) => Err(error.into()),
    }
}

fn principal_name(name: &str) -> Result<PrincipalId, Problem> {
    let id: PrincipalId = value("name", name)?;
    id.check_name().map_err(|e| Problem::field("name", format!("name: {e}")))?;
    Ok(id)
}

async fn get(
    app: &App,
    caller: &Caller,
    name: &str,
    kind: PrincipalKind,
) -> Result<Response, Problem> {
    let id = principal_name(name)?;
    caller.require(Need::ReadAbout(&id))?;
    let principal = find(app, name, kind).await?;
    Ok(tagged(StatusCode::OK, &PrincipalView::from(&principal)))
}

struct Fields {
    description: Option<Description>,
    display_name: Option<DisplayName>,
}

fn fields(body: PrincipalBody) -> Result<Fields, Problem> {
    let description =
        body.description.map(|text| value::<Description>("description", &text)).transpose()?;
    let display_name =
        body.display_name.map(|text| value::<DisplayName>("display_name", &text)).transpose()?;
    Ok(Fields { description, display_name })
}

async fn put(
    app: &App,
    caller: &Caller,
    name: &str,
    kind: PrincipalKind,
    headers: &HeaderMap,
    body: PrincipalBody,
) -> Result<Response, Problem> {
    caller.require(Need::Administer)?;
    let id = principal_name(name)?;
    let fields = fields(body)?;
    let description = fields.description.unwrap_or_default();
    let display_name = match fields.display_name {
        Some(display_name) => display_name,
        None => value::<DisplayName>("name", id.as_str())?,
    };
    let manager = app.manager();
    // Twice at most: a create that loses a race to another becomes a replace.
    for _ in 0..2 {
        match manager.principal(&id).await {
            Ok(current) => {
                if headers.get(axum::http::header::IF_NONE_MATCH).is_some_and(|v| v == "*") {
                    let noun = kind_name(current.kind);
                    return Err(Problem::new(
                        Kind::AlreadyExists,
                        format!("{noun} {id} already exists"),
                    ));
                }
                if current.kind != kind {
                    return Err(Problem::new(
                        Kind::Conflict,
                        format!("{id} is a {}, not a {}", kind_name(current.kind), kind_name(kind)),
                    ));
                }
                check_if_match(headers, &PrincipalView::from(&current))?;
                if current.description == description && current.display_name == display_name {
                    return Ok(tagged(StatusCode::OK, &PrincipalView::from(&current)));
                }
                let updated = manager
                    .update_principal(&caller.actor(), &id, Some(&display_name), &description)
                    .await?;
                return Ok(tagged(StatusCode::OK, &PrincipalView::from(&updated)));
            }
            Err(ManagerError::Store(StoreError::NotFound { .. })) => {
                if headers.contains_key(axum::http::header::IF_MATCH) {
                    return Err(Problem::new(
                        Kind::PreconditionFailed,
                        "If-Match names a version, and there is none",
                    ));
                }
                let new = match kind {
                    PrincipalKind::User => NewPrincipal::user(id.clone()),
                    _ => NewPrincipal::service_account(id.clone()),
                }
                .with_description(description.clone())
                .with_display_name(display_name.clone());
                match manager.create_principal(&caller.actor(), new).await {
                    Ok(created) => {
                        return Ok(tagged(StatusCode::CREATED, &PrincipalView::from(&created)));
                    }
                    Err(ManagerError::Store(StoreError::AlreadyExists { .. })) => continue,
                    Err(error) => return Err(error.into()),
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(Problem::new(Kind::Conflict, "the principal kept changing; retry"))
}

async fn patch(
    app: &App,
    caller: &Caller,
    name: &str,
    kind: PrincipalKind,
    headers: &HeaderMap,
    body: PrincipalBody,
) -> Result<Response, Problem> {
    caller.require(Need::Administer)?;
    let current = find(app, name, kind).await?;
    check_if_match(headers, &PrincipalView::from(&current))?;
    let fields = fields(body)?;
    let description = fields.description.unwrap_or_else(|| current.description.clone());
    let display_name = fields.display_name.unwrap_or_else(|| current.display_name.clone());
    if description == current.description && display_name == current.display_name {
        return Ok(tagged(StatusCode::OK, &PrincipalView::from(&current)));
    }
    let updated = app
        .manager()
        .update_principal(&caller.actor(), &current.id, Some(&display_name), &description)
        .await?;
    Ok(tagged(StatusCode::OK, &PrincipalView::from(&updated)))
}

async fn delete(
    app: &App,
    caller: &Caller,
    name: &str,
    kind: PrincipalKind,
    cascade: bool,
) -> Result<axum::Json<Deleted>, Problem> {
    caller.require(Need::Administer)?;
    let principal = find(app, name, kind).await?;
    if !cascade {
        let filter = KeyFilter::all().with_owner(principal.id.clone());
        let owned = app.manager().list_keys(&filter, &PageRequest::first(1)).await?;
        if !owned.items.is_empty() {
            return Err(Problem::new(
                Kind::InUse,
                format!(
                    "{} {} owns keys; delete them first, or add ?cascade=true to revoke and \
                     delete them with it",
                    kind_name(kind),
                    principal.id
                ),
            ));
        }
    }
    let deleted = app.manager().delete_principal(&caller.actor(), &principal.id).await?;
    Ok(axum::Json(Deleted { deleted: principal.id.to_string(), keys_deleted: deleted.keys.len() }))
}

async fn sign_out(
    app: &App,
    caller: &Caller,
    name: &str,
    kind: PrincipalKind,
) -> Result<axum::Json<SignedOut>, Problem> {
    caller.require(Need::Administer)?;
    let principal = find(app, name, kind).await?;
    let before = app.manager().sign_out(&caller.actor(), &principal.id).await?;
    Ok(axum::Json(SignedOut {
        signed_out: principal.id.to_string(),
        issued_before: before.to_string(),
    }))
}
