//! The routes under `/v1` and `/.well-known`, each registered with its OpenAPI operation, so the
//! served document and the router cannot disagree on a path or a method.

mod audit;
mod keys;
mod meta;
mod principals;
mod resources;
mod roles;
mod signing;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ring::digest::{SHA256, digest};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::problem::{Kind, Problem, ProblemDocument};

/// Every route, on `router`.
pub(crate) fn routes(router: OpenApiRouter<App>) -> OpenApiRouter<App> {
    router
        .routes(routes!(principals::list_service_accounts))
        .routes(routes!(
            principals::get_service_account,
            principals::put_service_account,
            principals::patch_service_account,
            principals::delete_service_account
        ))
        .routes(routes!(principals::sign_out_service_account))
        .routes(routes!(principals::list_users))
        .routes(routes!(
            principals::get_user,
            principals::put_user,
            principals::patch_user,
            principals::delete_user
        ))
        .routes(routes!(principals::sign_out_user))
        .routes(routes!(keys::list_keys, keys::create_key))
        .routes(routes!(keys::get_key, keys::patch_key, keys::delete_key))
        .routes(routes!(keys::revoke_key))
        .routes(routes!(keys::suspend_key))
        .routes(routes!(keys::resume_key))
        .routes(routes!(keys::rotate_key))
        .routes(routes!(keys::revoke_token))
        .routes(routes!(keys::verify_key))
        .routes(routes!(signing::list_signing_keys, signing::create_signing_key))
        .routes(routes!(signing::retire_signing_key))
        .routes(routes!(signing::promote_signing_key))
        .routes(routes!(meta::get_policy, meta::put_policy))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(resources::list_resources))
        .routes(routes!(resources::delete_resource))
        .routes(routes!(resources::restore_resource))
        .routes(routes!(
            roles::list_role_bindings,
            roles::create_role_binding,
            roles::delete_role_binding
        ))
        .routes(routes!(meta::jwks))
        .routes(routes!(meta::openid_configuration))
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::readyz))
        .routes(routes!(meta::metrics))
}

/// The errors any authenticated operation may answer with.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only documents responses.
pub(crate) enum Problems {
    /// The request cannot be read, or a field is invalid or unknown (`field` names it).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] ProblemDocument),
    /// No credentials, or credentials that do not open this API.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(ProblemDocument),
    /// The caller's roles or its key's permissions do not allow this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemDocument),
    /// No such thing.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemDocument),
    /// It exists, it is in use, a quota is full, or its state does not allow this.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(ProblemDocument),
    /// `If-Match` named a version that is no longer current.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(ProblemDocument),
    /// The body is over 1 MiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(ProblemDocument),
    /// The body is not JSON.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(ProblemDocument),
    /// Too many failed authentications from this address.
    #[response(status = 429, content_type = "application/problem+json")]
    RateLimited(ProblemDocument),
    /// The store is unreachable, or the request took too long.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDocument),
}

/// A page of a listing.
#[derive(Serialize, ToSchema)]
pub(crate) struct Page<T: ToSchema> {
    /// The items.
    pub(crate) items: Vec<T>,
    /// The token of the next page; absent on the last. A page may hold fewer items than
    /// asked for (filters that need each item's state), and still have a next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_page_token: Option<String>,
}

/// A representation's entity tag: a digest of its JSON.
pub(crate) fn etag<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let hash = digest(&SHA256, &bytes);
    let hex: String = hash.as_ref()[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// `value` as JSON with `status` and its `ETag`.
pub(crate) fn tagged<T: Serialize>(status: axum::http::StatusCode, value: &T) -> Response {
    let tag = etag(value);
    let mut response = (status, axum::Json(value)).into_response();
    if let Ok(tag) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// Refuses a write whose `If-Match` does not name `current`'s version (412); a write with no
/// `If-Match` goes ahead, and `*` matches any version.
pub(crate) fn check_if_match<T: Serialize>(
    headers: &HeaderMap,
    current: &T,
) -> Result<(), Problem> {
    let Some(wanted) = headers.get(header::IF_MATCH) else { return Ok(()) };
    let wanted = wanted.to_str().unwrap_or("");
    let tag = etag(current);
    let matches = wanted.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate == tag || candidate.strip_prefix("W/") == Some(&tag)
    });
    if matches {
        Ok(())
    } else {
        Err(Problem::new(
            Kind::PreconditionFailed,
            "the resource changed since it was read (If-Match does not name its current ETag); \
             read it again",
        ))
    }
}
