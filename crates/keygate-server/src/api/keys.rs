//! `/v1/api-keys`: keys through their whole life, and `/v1/tokens/revoke`. The secret of a key
//! is in the answer to its creation or rotation, and nowhere else, ever.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate::core::{
    Description, KeyFormat, KeyId, KeyName, KeyRecord, KeyStatus, Lifetime, Permission,
    Permissions, PrincipalId, PrincipalKind, ResourceRef, Scope, Span, Timestamp,
};
use keygate::store::{KeyFilter, PageRequest};
use keygate::{IssuedKey, NewKey};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, Problems, check_if_match, etag, tagged};
use crate::app::App;
use crate::caller::{Caller, Need};
use crate::extract::{Json, Params, Segment, value};
use crate::page;
use crate::problem::{Kind, Problem};
use crate::view::{IssuedKeyView, KeyContext, KeyView, RotationView};

/// Which keys to list. Every parameter narrows.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct KeyParams {
    /// Keys of this principal.
    owner: Option<String>,
    /// Keys scoped to exactly this resource (`KIND/ID`).
    resource: Option<String>,
    /// The key of this name (with `owner`, at most one).
    name: Option<String>,
    /// Keys in this status now: `active`, `pending`, `expired`, `suspended`, `revoked`.
    state: Option<String>,
    /// Keys that existed at this instant (RFC 3339) and have not been authenticated since.
    unused_since: Option<String>,
    /// Keys due for rotation under the policy.
    due: Option<bool>,
    /// Usable keys that expire within this span (`7d`).
    expiring_within: Option<String>,
    /// How many keys, from 1 to 1000 (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<u32>,
    /// The `next_page_token` of the page before.
    page_token: Option<String>,
}

/// A key to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKeyBody {
    /// The service account or user that will own it.
    owner: String,
    /// Where it is valid: `KIND/ID` (`kafka-cluster/lkc-abc123`), `cloud` (this API) or
    /// `global`.
    scope: String,
    /// What it may do (`produce`, `consume`, `describe`, `admin`, …); absent for everything
    /// its owner may.
    #[serde(default)]
    permissions: Option<Vec<String>>,
    /// When it expires: an RFC 3339 instant, a span from now (`90d`), or `never` where the
    /// policy allows it. Required when the policy allows `never`; otherwise the longest the
    /// policy allows.
    #[serde(default)]
    expiry: Option<String>,
    /// `opaque` (a `kgk_…` key; the default) or `jwt`.
    #[serde(default)]
    format: Option<String>,
    /// A note, up to 1024 bytes.
    #[serde(default)]
    description: Option<String>,
    /// A name unique among the owner's keys, for the tool that made it to find it again:
    /// ASCII letters, digits and `. _ -`, up to 64 bytes.
    #[serde(default)]
    name: Option<String>,
}

/// A key's one editable field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchKeyBody {
    /// A note, up to 1024 bytes.
    description: String,
}

/// Why a key is revoked.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeBody {
    /// The reason, kept with the key and in the audit log.
    #[serde(default)]
    reason: Option<String>,
}

/// Nothing: suspension and resumption take no fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmptyBody {}

/// How to rotate.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateBody {
    /// How long the old key keeps working (`24h`); the policy's default when absent.
    #[serde(default)]
    overlap: Option<String>,
}

/// A token to refuse.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeTokenBody {
    /// The token: a keygate JWT API key (revoked as its key) or any JWT the servers accept
    /// (revoked by its `jti`, else by its digest).
    token: String,
    /// Why.
    #[serde(default)]
    reason: Option<String>,
}

/// How a token was revoked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct RevokedTokenView {
    /// `key`, `jti` or `digest`.
    by: String,
    /// The key id, `jti` or digest.
    id: String,
    /// Until when it is refused (its own expiry); `null` for good.
    expires: Option<String>,
}

/// A credential to check, as a server of `resource` would.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    /// The resource it is presented to (`KIND/ID`).
    resource: String,
    /// The permission the operation needs, if any.
    #[serde(default)]
    permission: Option<String>,
    /// A key id, with `secret`.
    #[serde(default)]
    key_id: Option<String>,
    /// The secret of `key_id`.
    #[serde(default)]
    secret: Option<String>,
    /// A whole `kgk_…` API key.
    #[serde(default)]
    key: Option<String>,
    /// A JWT (a JWT API key, or a token from a trusted issuer).
    #[serde(default)]
    token: Option<String>,
}

/// What a check of a credential found.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct Verification {
    /// Whether a server of the resource would accept it.
    valid: bool,
    /// Why not, for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Who it proves, when valid: principal, credential, scope, permissions, expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    identity: Option<serde_json::Value>,
}

/// Checks a credential exactly as a server of `resource` would (its signature or secret,
/// expiry, revocation, scope and the permission), with the state this server holds. Nothing
/// is recorded.
#[utoipa::path(post, path = "/v1/api-keys/verify", tag = "api-keys", request_body = VerifyBody,
    responses((status = 200, description = "Valid or not, and why", body = Verification), Problems))]
pub(crate) async fn verify_key(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<VerifyBody>,
) -> Result<axum::Json<Verification>, Problem> {
    caller.require(Need::ReadAll)?;
    let resource = value::<ResourceRef>("resource", &body.resource)?;
    let permission =
        body.permission.as_deref().map(|p| value::<Permission>("permission", p)).transpose()?;
    let credential = match (&body.key_id, &body.secret, &body.key, &body.token) {
        (Some(key_id), Some(secret), None, None) => {
            keygate::Credential::KeyAndSecret { key_id, secret }
        }
        (None, None, Some(key), None) => keygate::Credential::ApiKey(key),
        (None, None, None, Some(token)) => keygate::Credential::Bearer(token),
        _ => {
            return Err(Problem::new(
                Kind::InvalidField,
                "give key_id and secret, key, or token: one credential",
            ));
        }
    };
    let authenticator = app.authenticator().await?;
    let mut context = keygate::AuthContext::new(&resource, app.now());
    if let Some(permission) = &permission {
        context = context.with_permission(permission);
    }
    Ok(axum::Json(match authenticator.authenticate(&credential, &context) {
        Ok(identity) => {
            Verification { valid: true, reason: None, identity: Some(identity_json(&identity)) }
        }
        Err(error) => {
            Verification { valid: false, reason: Some(error.to_string()), identity: None }
        }
    }))
}

/// What an identity proves, as JSON.
fn identity_json(identity: &keygate::Identity) -> serde_json::Value {
    let credential = match identity.credential() {
        keygate::CredentialId::ApiKey(id) => serde_json::json!({ "api_key": id.to_string() }),
        keygate::CredentialId::Token { jti, .. } => serde_json::json!({ "token": { "jti": jti } }),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "principal": identity.principal().as_str(),
        "credential": credential,
        "scope": identity.scope().to_string(),
        "permissions": identity.permissions(),
        "expires": identity.expires().at().map(|at| at.to_string()),
        "session_deadline": identity.session_deadline().at().map(|at| at.to_string()),
    })
}

/// Lists keys, in id order.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(KeyParams),
    responses((status = 200, description = "A page of keys", body = Page<KeyView>), Problems))]
pub(crate) async fn list_keys(
    State(app): State<App>,
    caller: Caller,
    Params(params): Params<KeyParams>,
) -> Result<Response, Problem> {
    let owner =
        params.owner.as_deref().map(|text| value::<PrincipalId>("owner", text)).transpose()?;
    match &owner {
        Some(owner) => caller.require(Need::ReadAbout(owner))?,
        None => caller.require(Need::ReadAll)?,
    }
    let mut filter = KeyFilter::all();
    if let Some(owner) = owner {
        filter = filter.with_owner(owner);
    }
    if let Some(resource) = &params.resource {
        filter = filter.with_resource(value::<ResourceRef>("resource", resource)?);
    }
    if let Some(name) = &params.name {
        filter = filter.with_name(value::<KeyName>("name", name)?);
    }
    let now = app.now();
    if let Some(state) = &params.state {
        filter = filter.with_status(value::<KeyStatus>("state", state)?, now);
    }
    let unused_since = params
        .unused_since
        .as_deref()
        .map(|text| value::<Timestamp>("unused_since", text))
        .transpose()?;
    let expiring_within = params
        .expiring_within
        .as_deref()
        .map(|text| value::<Span>("expiring_within", text))
        .transpose()?;
    let size = page::size(params.page_size)?;
    let filters = format!(
        "keys owner={:?} resource={:?} name={:?} state={:?} unused_since={:?} due={:?} expiring_within={:?}",
        params.owner,
        params.resource,
        params.name,
        params.state,
        params.unused_since,
        params.due,
        params.expiring_within
    );
    let request = match &params.page_token {
        Some(token) => {
            PageRequest::after(value::<KeyId>("page_token", &page::decode(token, &filters)?)?, size)
        }
        None => PageRequest::first(size),
    };
    let manager = app.manager();
    let found = manager.list_keys(&filter, &request).await?;
    let context = KeyContext::load(manager, &found.items, now).await?;
    let due: Option<HashSet<KeyId>> = match params.due {
        Some(true) => Some(manager.due_keys().await?.iter().map(KeyRecord::id).collect()),
        _ => None,
    };
    let items = found
        .items
        .iter()
        .filter(|key| {
            // Keys that were there at `since`, and have not been used since.
            unused_since.is_none_or(|since| {
                key.created_at() <= since
                    && context.last_use(key).is_none_or(|used| used.at < since)
            })
        })
        .filter(|key| due.as_ref().is_none_or(|due| due.contains(&key.id())))
        .filter(|key| {
            expiring_within.is_none_or(|window| {
                key.is_usable_at(now)
                    && key.expires().at().is_some_and(|at| at <= now.saturating_add(window))
            })
        })
        .map(|key| context.view(key))
        .collect();
    let next_page_token = found.next.map(|next| page::encode(&next.to_string(), &filters));
    Ok(axum::Json(Page { items, next_page_token }).into_response())
}

/// Makes a key; the answer holds its secret, this once.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = CreateKeyBody,
    responses((status = 201, description = "The key and its secret", body = IssuedKeyView), Problems))]
pub(crate) async fn create_key(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<CreateKeyBody>,
) -> Result<Response, Problem> {
    let owner = value::<PrincipalId>("owner", &body.owner)?;
    let principal = match app.manager().principal(&owner).await {
        Ok(principal) => principal,
        Err(keygate::ManagerError::Store(keygate::store::StoreError::NotFound { .. })) => {
            return Err(
                Problem::new(Kind::NotFound, format!("there is no principal {owner}")).at("owner")
            );
        }
        Err(error) => return Err(error.into()),
    };
    caller.require(Need::ManageKeysOf(&owner, principal.kind))?;
    let mut new = NewKey::new(owner, scope_of(&body.scope)?);
    if let Some(names) = &body.permissions {
        let permissions = names
            .iter()
            .map(|name| value::<Permission>("permissions", name))
            .collect::<Result<Vec<_>, _>>()?;
        new = new.with_permissions(Permissions::only(permissions));
    }
    let policy = app.manager().policy_in_force().await?;
    match body.expiry.as_deref() {
        Some(text) => match text.parse::<Timestamp>() {
            Ok(at) => new = new.with_expires_at(at),
            Err(_) => {
                new = new.with_lifetime(value::<Lifetime>("expiry", text).map_err(|_| {
                    Problem::field(
                        "expiry",
                        "expiry is an RFC 3339 instant, a span such as 90d, or never",
                    )
                })?)
            }
        },
        None if policy.expiry.longest(app.now()) == keygate::core::Expiry::Never => {
            return Err(Problem::field(
                "expiry",
                "give an expiry: the policy allows keys that never expire, so a key without \
                 one would never expire; send \"never\" if that is what you mean",
            ));
        }
        None => {}
    }
    if let Some(format) = &body.format {
        new = new.with_format(match format.as_str() {
            "opaque" => KeyFormat::Opaque,
            "jwt" => KeyFormat::Jwt,
            _ => return Err(Problem::field("format", "format is opaque or jwt")),
        });
    }
    if let Some(description) = &body.description {
        new = new.with_description(value::<Description>("description", description)?);
    }
    if let Some(name) = &body.name {
        new = new.with_name(value::<KeyName>("name", name)?);
    }
    let issued = app.manager().create_key(&caller.actor(), new).await?;
    let view = issued_view(&issued, app.now());
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Reads a key, with when it was last used; its `ETag` guards a `PATCH` with `If-Match`.
#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "The key id")),
    responses((status = 200, description = "The key", body = KeyView,
        headers(("ETag" = String, description = "Its version"))), Problems))]
pub(crate) async fn get_key(
    State(app): State<App>,
    caller: Caller,
    Segment(id): Segment,
) -> Result<Response, Problem> {
    let key = readable(&app, &caller, &id).await?;
    let view = view(&app, &key).await?;
    let mut response = axum::Json(&view).into_response();
    if let Ok(tag) = etag(&view.versioned()).parse() {
        response.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(response)
}

/// Replaces a key's description, the one edit a key allows.
#[utoipa::path(patch, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "The key id"),
        ("If-Match" = Option<String>, Header, description = "Change only this version")),
    request_body = PatchKeyBody,
    responses((status = 200, description = "The key", body = KeyView), Problems))]
pub(crate) async fn patch_key(
    State(app): State<App>,
    caller: Caller,
    Segment(id): Segment,
    headers: HeaderMap,
    Json(body): Json<PatchKeyBody>,
) -> Result<Response, Problem> {
    let key = manageable(&app, &caller, &id).await?;
    check_if_match(&headers, &view(&app, &key).await?.versioned())?;
    let description = value::<Description>("description", &body.description)?;
    let updated = app.manager().update_description(&caller.actor(), key.id(), description).await?;
    Ok(tagged(StatusCode::OK, &view(&app, &updated).await?.versioned()))
}

/// Deletes a key that is revoked or expired (a key in force is revoked first, so its end is
/// on record).
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "The key id")),
    responses((status = 204, description = "Deleted"), Problems))]
pub(crate) async fn delete_key(
    State(app): State<App>,
    caller: Caller,
    Segment(id): Segment,
) -> Result<StatusCode, Problem> {
    let key = manageable(&app, &caller, &id).await?;
    app.manager().delete_key(&caller.actor(), key.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a key for good; every server refuses it, and closes its connections, from its next
/// sync. Revoking a revoked key changes nothing.
#[utoipa::path(post, path = "/v1/api-keys/{id}/revoke", tag = "api-keys",
    params(("id" = String, Path, description = "The key id")), request_body = RevokeBody,
    responses((status = 200, description = "The key, revoked", body = KeyView), Problems))]
pub(crate) async fn revoke_key(
    State(app): State<App>,
    caller: Caller,
    Segment(id): Segment,
    Json(body): Json<RevokeBody>,
) -> Result<Response, Problem> {
    let key = manageable(&app, &caller, &id).await?;
    let reason = reason(body.reason.as_deref())?;
    let revoked = app.manager().revoke(&caller.actor(), key.id(), reason).await?;
    Ok(tagged(StatusCode::OK, &view(&app, revoked.record()).await?.versioned()))
}

/// Suspends an active key until it is resumed.
#[utoipa::path(post, path = "/v1/api-keys/{id}/suspend", tag = "api-keys",
    params(("id" = String, Path, description = "The key id")), request_body = EmptyBody,
    responses((status = 200, description = "The key, suspended", body = KeyView), Problems))]
pub(crate) async fn suspend_key(
    State(app): State<App>,
    caller: Caller,
    Segment(id): Segment,
    Json(_): Json<EmptyBody>,
) -> Result<Response, Problem> {
    let key = manageable(&app, &caller, &id).await?;
    let suspended = app.manager().suspend(&caller.actor(), key.id()).await?;
    Ok(tagged(StatusCode::OK, &view(&app, &suspended).await?.versioned()))
}

/// Resumes a suspended key.
#[utoipa::path(post, path = "/v1/api-keys/{id}/resume", tag = "api-keys",
    params(("id" = String, Path, description = "The key id")), request_body = EmptyBody,
    responses((status = 200, description = "The key, active again", body = KeyView), Problems))]
pub(crate) async fn resume_key(
    State(app): State<App>,
    caller: Caller,
    Segment(id): Segment,
    Json(_): Json<EmptyBody>,
) -> Result<Response, Problem> {
    let key = manageable(&app, &caller, &id).await?;
    let resumed = app.manager().resume(&caller.actor(), key.id()).await?;
    Ok(tagged(StatusCode::OK, &view(&app, &resumed).await?.versioned()))
}

/// Rotates a key: a replacement (its secret in the answer, this once) and the old key working
/// until the end of the overlap.
#[utoipa::path(post, path = "/v1/api-keys/{id}/rotate", tag = "api-keys",
    params(("id" = String, Path, description = "The key id")), request_body = RotateBody,
    responses((status = 201, description = "The old key and its replacement", body = RotationView), Problems))]
pub(crate) async fn rotate_key(
    State(app): State<App>,
    caller: Caller,
    Segment(id): Segment,
    Json(body): Json<RotateBody>,
) -> Result<Response, Problem> {
    let key = manageable(&app, &caller, &id).await?;
    let overlap = body.overlap.as_deref().map(|text| value::<Span>("overlap", text)).transpose()?;
    let rotation = app.manager().rotate(&caller.actor(), key.id(), overlap).await?;
    let now = app.now();
    let view = RotationView {
        old: KeyView::new(&rotation.old, now, None),
        new: issued_view(&rotation.new, now),
    };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Refuses a token until its expiry: a keygate JWT API key as its key, any other token by its
/// `jti` or digest.
#[utoipa::path(post, path = "/v1/tokens/revoke", tag = "api-keys", request_body = RevokeTokenBody,
    responses((status = 200, description = "How it was revoked", body = RevokedTokenView), Problems))]
pub(crate) async fn revoke_token(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<RevokeTokenBody>,
) -> Result<axum::Json<RevokedTokenView>, Problem> {
    caller.require(Need::Administer)?;
    let reason = reason(body.reason.as_deref())?;
    let revoked = app
        .manager()
        .revoke_token(&caller.actor(), body.token.trim(), reason, &app.authenticator().await?)
        .await
        .map_err(|error| match error {
            keygate::ManagerError::Token(_) => Problem::field("token", "token is not a JWT"),
            other => other.into(),
        })?;
    Ok(axum::Json(RevokedTokenView {
        by: revoked.by.kind().to_owned(),
        id: revoked.by.handle(),
        expires: revoked.expires.at().map(|at| at.to_string()),
    }))
}

fn issued_view(issued: &IssuedKey, now: Timestamp) -> IssuedKeyView {
    IssuedKeyView {
        key: KeyView::new(&issued.record, now, None),
        secret: issued.secret.expose().to_owned(),
    }
}

/// `text` as a scope, with a hint for the spellings other systems use.
fn scope_of(text: &str) -> Result<Scope, Problem> {
    if !text.contains('/') && text != "cloud" && text != "global" {
        return Err(Problem::field(
            "scope",
            format!(
                "scope is KIND/ID (kafka-cluster/{}), cloud or global",
                if text.is_empty() || text.len() > 64 { "lkc-abc123" } else { text }
            ),
        ));
    }
    value("scope", text)
}

fn reason(text: Option<&str>) -> Result<Description, Problem> {
    text.map_or(Ok(Description::empty()), |text| value("reason", text))
}

/// The key `id`, if the caller may read it: 404 when there is none, 403 when it may not.
async fn readable(app: &App, caller: &Caller, id: &str) -> Result<KeyRecord, Problem> {
    let key = find(app, id).await?;
    caller.require(Need::ReadAbout(key.owner()))?;
    Ok(key)
}

/// The key `id`, if the caller may manage its owner's keys.
async fn manageable(app: &App, caller: &Caller, id: &str) -> Result<KeyRecord, Problem> {
    let key = find(app, id).await?;
    let kind = match app.manager().principal(key.owner()).await {
        Ok(owner) => owner.kind,
        Err(_) => PrincipalKind::ServiceAccount,
    };
    caller.require(Need::ManageKeysOf(key.owner(), kind))?;
    Ok(key)
}

async fn find(app: &App, id: &str) -> Result<KeyRecord, Problem> {
    let id = value::<KeyId>("id", id).map_err(|_| Problem::not_found("key", "with that id"))?;
    match app.manager().key(id).await {
        Ok(key) => Ok(key),
        Err(keygate::ManagerError::Store(keygate::store::StoreError::NotFound { .. })) => {
            Err(Problem::not_found("key", id))
        }
        Err(error) => Err(error.into()),
    }
}

/// The view of `key` now, with its last use and its signing key's standing.
async fn view(app: &App, key: &KeyRecord) -> Result<KeyView, Problem> {
    let context = KeyContext::load(app.manager(), std::slice::from_ref(key), app.now()).await?;
    Ok(context.view(key))
}
