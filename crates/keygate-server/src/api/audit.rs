//! `/v1/audit-events`: the audit log, newest first.

use axum::extract::State;
use keygate::AuditAction;
use keygate::core::{KeyId, PrincipalId, Timestamp};
use keygate::store::AuditQuery;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Page, Problems};
use crate::app::App;
use crate::caller::{Caller, Need};
use crate::extract::{Params, value};
use crate::page;
use crate::problem::Problem;
use crate::view::AuditEventView;

/// Which events. Every parameter narrows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// Events about this key.
    key: Option<String>,
    /// Events about this principal (its keys' included).
    principal: Option<String>,
    /// Events of this action: `key_created`, `key_revoked`, `role_bound`, …
    action: Option<String>,
    /// Events at or after this instant (RFC 3339).
    since: Option<String>,
    /// Events before this instant (RFC 3339).
    until: Option<String>,
    /// How many events, from 1 to 1000 (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<u32>,
    /// The `next_page_token` of the page before.
    page_token: Option<String>,
}

/// Lists audit events, newest first.
#[utoipa::path(get, path = "/v1/audit-events", tag = "audit", params(AuditParams),
    responses((status = 200, description = "A page of events, newest first", body = Page<AuditEventView>), Problems))]
pub(crate) async fn list_audit_events(
    State(app): State<App>,
    caller: Caller,
    Params(params): Params<AuditParams>,
) -> Result<axum::Json<Page<AuditEventView>>, Problem> {
    caller.require(Need::ReadAll)?;
    let size = page::size(params.page_size)?;
    let mut query = AuditQuery::default().with_limit(size);
    if let Some(key) = &params.key {
        query = query.about_key(value::<KeyId>("key", key)?);
    }
    if let Some(principal) = &params.principal {
        query = query.about_principal(value::<PrincipalId>("principal", principal)?);
    }
    if let Some(action) = &params.action {
        if !AuditAction::NAMES.contains(&action.as_str()) {
            return Err(Problem::field(
                "action",
                format!("action is one of {}", AuditAction::NAMES.join(", ")),
            ));
        }
        query = query.of_action(action.clone());
    }
    if let Some(since) = &params.since {
        query = query.since(value::<Timestamp>("since", since)?);
    }
    if let Some(until) = &params.until {
        query = query.until(value::<Timestamp>("until", until)?);
    }
    let filters = format!(
        "audit key={:?} principal={:?} action={:?} since={:?} until={:?}",
        params.key, params.principal, params.action, params.since, params.until
    );
    if let Some(token) = &params.page_token {
        query = query.before(value::<u64>("page_token", &page::decode(token, &filters)?)?);
    }
    let entries =
        app.manager().store().audit_log(&query).await.map_err(keygate::ManagerError::from)?;
    let items: Vec<AuditEventView> = entries.iter().rev().map(AuditEventView::new).collect();
    let next_page_token = match items.last() {
        Some(oldest) if items.len() == size && oldest.position > 1 => {
            Some(page::encode(&oldest.position.to_string(), &filters))
        }
        _ => None,
    };
    Ok(axum::Json(Page { items, next_page_token }))
}
