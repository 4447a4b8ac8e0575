//! The policy, the public keys for outside verifiers, and the server's own health and metrics.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate::core::{ExpiryPolicy, KeyPolicy, Span};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Problems, check_if_match, tagged};
use crate::app::App;
use crate::caller::{Caller, Need};
use crate::extract::{Json, value};
use crate::problem::{Kind, Problem};
use crate::view::PolicyView;

/// Reads the policy in force.
#[utoipa::path(get, path = "/v1/policy", tag = "policy",
    responses((status = 200, description = "The policy", body = PolicyView,
        headers(("ETag" = String, description = "Its version"))), Problems))]
pub(crate) async fn get_policy(
    State(app): State<App>,
    caller: Caller,
) -> Result<Response, Problem> {
    caller.require(Need::ReadAll)?;
    let policy = app.manager().policy_in_force().await?;
    let stored = app.manager().store().policy().await.map_err(keygate::ManagerError::from)?;
    let mut view = PolicyView::from(&policy);
    view.source = Some(if stored.is_some() { "store" } else { "default" }.to_owned());
    Ok(tagged(StatusCode::OK, &view))
}

/// Replaces the policy, for every writer over the store. Keys issued under the old one live
/// out their lifetimes.
#[utoipa::path(put, path = "/v1/policy", tag = "policy",
    params(("If-Match" = Option<String>, Header, description = "Replace only this version")),
    request_body = PolicyView,
    responses((status = 200, description = "The policy now", body = PolicyView), Problems))]
pub(crate) async fn put_policy(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<PolicyView>,
) -> Result<Response, Problem> {
    caller.require(Need::Administer)?;
    let current = app.manager().policy_in_force().await?;
    let stored = app.manager().store().policy().await.map_err(keygate::ManagerError::from)?;
    let mut current_view = PolicyView::from(&current);
    current_view.source = Some(if stored.is_some() { "store" } else { "default" }.to_owned());
    check_if_match(&headers, &current_view)?;
    let span = |field: &str, text: &str| value::<Span>(field, text);
    let mut expiry = ExpiryPolicy::default()
        .with_min_lifetime(span("min_lifetime", &body.min_lifetime)?)
        .with_allow_never(body.allow_never);
    expiry = expiry.with_max_lifetime(
        body.max_lifetime.as_deref().map(|text| span("max_lifetime", text)).transpose()?,
    );
    let policy = KeyPolicy::default()
        .with_max_keys_per_principal(body.max_keys_per_principal)
        .with_max_keys_per_resource(body.max_keys_per_resource)
        .with_allow_user_keys(body.allow_user_keys)
        .with_expiry(expiry)
        .with_default_rotation_overlap(span(
            "default_rotation_overlap",
            &body.default_rotation_overlap,
        )?)
        .with_rotation_period(
            body.rotation_period
                .as_deref()
                .map(|text| span("rotation_period", text))
                .transpose()?,
        );
    policy.check().map_err(|e| Problem::new(Kind::InvalidField, e.to_string()))?;
    app.manager().set_policy(&caller.actor(), policy.clone()).await?;
    let mut view = PolicyView::from(&policy);
    view.source = Some("store".to_owned());
    Ok(tagged(StatusCode::OK, &view))
}

/// The public JWK set.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct JwksView {
    /// One JWK per asymmetric signing key (active or verifying), with `kid`, `alg` and `use`.
    #[schema(value_type = Vec<Object>)]
    keys: Vec<serde_json::Value>,
}

/// The public keys of the signing keys, for verifiers outside keygate (Kafka's OAUTHBEARER
/// JWKS validation, any JWT library). Such verifiers check signatures and expiry but never see
/// revocation: a revoked key's token verifies there until it expires.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery", security(()),
    responses((status = 200, description = "The JWK set", body = JwksView), Problems))]
pub(crate) async fn jwks(State(app): State<App>) -> Result<Response, Problem> {
    let set = app.manager().jwks().await?;
    let value = serde_json::to_value(&set).map_err(|_| Problem::internal())?;
    Ok(axum::Json(value).into_response())
}

/// What an OpenID-style discoverer needs to find the keys.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct OpenIdConfiguration {
    /// The issuer of JWT API keys.
    issuer: String,
    /// Where the public keys are.
    jwks_uri: String,
    /// The algorithms the signing keys use.
    id_token_signing_alg_values_supported: Vec<String>,
}

/// A minimal discovery document: the issuer and where its keys are.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "discovery", security(()),
    responses((status = 200, description = "The discovery document", body = OpenIdConfiguration), Problems))]
pub(crate) async fn openid_configuration(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<axum::Json<OpenIdConfiguration>, Problem> {
    let base = match &app.config().public_url {
        Some(url) => url.clone(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .filter(|host| host.bytes().all(|b| b.is_ascii_graphic()) && host.len() <= 255)
                .unwrap_or("localhost");
            format!("{}://{host}", if app.config().tls { "https" } else { "http" })
        }
    };
    let issuer = app.manager().profile().issuer.clone().unwrap_or_else(|| base.clone());
    let mut algorithms: Vec<String> = app
        .manager()
        .signing_keys()
        .await?
        .iter()
        .filter(|key| !key.algorithm.is_symmetric())
        .map(|key| key.algorithm.to_string())
        .collect();
    algorithms.sort();
    algorithms.dedup();
    Ok(axum::Json(OpenIdConfiguration {
        issuer,
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        id_token_signing_alg_values_supported: algorithms,
    }))
}

/// Whether the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "Up", body = String)))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Whether the store answers, so the server can serve.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, description = "Ready", body = String), Problems))]
pub(crate) async fn readyz(State(app): State<App>) -> Result<&'static str, Problem> {
    match app.manager().store().head().await {
        Ok(_) => Ok("ready\n"),
        Err(_) => Err(Problem::new(Kind::Unavailable, "the store does not answer")),
    }
}

/// Counters in Prometheus' text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "The metrics", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(app): State<App>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics().render()).into_response()
}
