//! `/v1/signing-keys`: the keys JWT API keys are signed with. Their private halves stay in the
//! store, sealed under the master key; nothing here ever shows key material.

use axum::extract::State;
use axum::http::StatusCode;
use keygate::core::{SigningAlgorithm, SigningKeyId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, Problems};
use crate::app::App;
use crate::caller::{Caller, Need};
use crate::extract::{Json, Params, Segment, value};
use crate::problem::Problem;
use crate::view::SigningKeyView;

/// A signing key to make.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSigningKeyBody {
    /// `EdDSA` (the default), `ES256`, `ES384`, `HS256`, `HS384` or `HS512`.
    #[serde(default)]
    algorithm: Option<String>,
    /// Its key id; generated when absent.
    #[serde(default)]
    kid: Option<String>,
    /// The private key (PKCS#8 PEM) to load rather than generate one: how RSA keys, which
    /// keygate does not generate, are added. Sealed under the master key before it is stored.
    #[serde(default)]
    private_key: Option<String>,
}

/// What retiring a signing key did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct Retired {
    /// The signing key.
    retired: String,
    /// The live JWT API keys signed with it, revoked with it (with `force`).
    keys_revoked: usize,
}

/// Whether to retire a key that live JWT API keys still depend on.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RetireParams {
    /// Retire it anyway, revoking the live keys signed with it.
    #[serde(default)]
    force: bool,
}

/// Lists the signing keys.
#[utoipa::path(get, path = "/v1/signing-keys", tag = "signing-keys",
    responses((status = 200, description = "Every signing key", body = Page<SigningKeyView>), Problems))]
pub(crate) async fn list_signing_keys(
    State(app): State<App>,
    caller: Caller,
) -> Result<axum::Json<Page<SigningKeyView>>, Problem> {
    caller.require(Need::ReadAll)?;
    let keys = app.manager().signing_keys().await?;
    Ok(axum::Json(Page {
        items: keys.iter().map(SigningKeyView::from).collect(),
        next_page_token: None,
    }))
}

/// Makes a signing key: the active one if there is none, else a verifying one. Needs the
/// server's master key.
#[utoipa::path(post, path = "/v1/signing-keys", tag = "signing-keys", request_body = CreateSigningKeyBody,
    responses((status = 201, description = "The signing key", body = SigningKeyView), Problems))]
pub(crate) async fn create_signing_key(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<CreateSigningKeyBody>,
) -> Result<(StatusCode, axum::Json<SigningKeyView>), Problem> {
    caller.require(Need::Administer)?;
    let algorithm = match &body.algorithm {
        Some(name) => value::<SigningAlgorithm>("algorithm", name)?,
        None => SigningAlgorithm::EdDSA,
    };
    let kid = body.kid.as_deref().map(|kid| value::<SigningKeyId>("kid", kid)).transpose()?;
    let record = match &body.private_key {
        Some(pem) => {
            let mut key = keygate::token::SigningKey::from_pem(algorithm, pem.as_bytes())
                .map_err(|e| Problem::field("private_key", format!("private_key: {e}")))?;
            if let Some(kid) = kid {
                key = key.with_kid(kid);
            }
            app.manager().add_signing_key(&caller.actor(), &key, true).await?
        }
        None if algorithm.is_rsa() => {
            return Err(Problem::field(
                "algorithm",
                "RSA keys are not generated here; send one as private_key (PKCS#8 PEM), or \
                 choose EdDSA, ES256 or ES384",
            ));
        }
        None => app.manager().create_signing_key(&caller.actor(), algorithm, kid).await?,
    };
    Ok((StatusCode::CREATED, axum::Json(SigningKeyView::from(&record))))
}

/// Makes a verifying signing key the active one: new JWT API keys are signed with it; the one
/// it replaces keeps verifying.
#[utoipa::path(post, path = "/v1/signing-keys/{kid}/promote", tag = "signing-keys",
    params(("kid" = String, Path, description = "The key id")),
    responses((status = 200, description = "The signing key, active", body = SigningKeyView), Problems))]
pub(crate) async fn promote_signing_key(
    State(app): State<App>,
    caller: Caller,
    Segment(kid): Segment,
) -> Result<axum::Json<SigningKeyView>, Problem> {
    caller.require(Need::Administer)?;
    let kid = value::<SigningKeyId>("kid", &kid)?;
    if !app.manager().signing_keys().await?.iter().any(|key| key.kid == kid) {
        return Err(Problem::not_found("signing key", &kid));
    }
    app.manager().promote_signing_key(&caller.actor(), &kid).await?;
    let keys = app.manager().signing_keys().await?;
    let promoted = keys.iter().find(|key| key.kid == kid).ok_or_else(Problem::internal)?;
    Ok(axum::Json(SigningKeyView::from(promoted)))
}

/// Retires a signing key: its tokens no longer verify. Refused (409) while live JWT API keys
/// depend on it, unless `force=true`, which revokes them too.
#[utoipa::path(post, path = "/v1/signing-keys/{kid}/retire", tag = "signing-keys",
    params(("kid" = String, Path, description = "The key id"), RetireParams),
    responses((status = 200, description = "Retired", body = Retired), Problems))]
pub(crate) async fn retire_signing_key(
    State(app): State<App>,
    caller: Caller,
    Segment(kid): Segment,
    Params(params): Params<RetireParams>,
) -> Result<axum::Json<Retired>, Problem> {
    caller.require(Need::Administer)?;
    let kid = value::<SigningKeyId>("kid", &kid)?;
    if !app.manager().signing_keys().await?.iter().any(|key| key.kid == kid) {
        return Err(Problem::not_found("signing key", &kid));
    }
    let mut keys_revoked = 0;
    if params.force {
        keys_revoked = app.manager().signing_key_dependants(&kid).await?.len();
        app.manager().retire_signing_key_and_its_keys(&caller.actor(), &kid).await?;
    } else {
        app.manager().retire_signing_key(&caller.actor(), &kid).await?;
    }
    Ok(axum::Json(Retired { retired: kid.to_string(), keys_revoked }))
}
