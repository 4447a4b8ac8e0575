//! `keygate audit`: the log of every change made through keygate.

use keygate::AuditEvent;
use keygate::core::{Clock, KeyId, Span, SystemClock, Timestamp};
use keygate::store::{AuditLog, AuditQuery};
use serde_json::Value;

use crate::cli::AuditCommand;
use crate::error::Failure;
use keygate_server::with_rfc3339_times;

use crate::output::Printer;
use crate::principals::principal_id;
use crate::store::Workspace;

pub(crate) async fn run(
    command: AuditCommand,
    workspace: &Workspace,
    printer: Printer,
) -> Result<(), Failure> {
    let AuditCommand::List { since, key, principal, limit } = command;
    let mut query = AuditQuery::default().with_limit(limit);
    if let Some(since) = since {
        query = query.since(instant_from(&since)?);
    }
    if let Some(key) = key {
        let key: KeyId =
            key.trim().parse().map_err(|_| Failure::error(format!("{key:?} is not a key id")))?;
        query = query.about_key(key);
    }
    if let Some(principal) = principal {
        query = query.about_principal(principal_id(&principal)?);
    }
    let entries = workspace.store.audit_log(&query).await?;
    let events: Vec<AuditEvent> = entries
        .iter()
        .map(|entry| {
            serde_json::from_str(&entry.record.event).map_err(|_| {
                Failure::error(format!(
                    "audit entry {} is not an event keygate reads",
                    entry.position
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if printer.is_json() {
        let events = events.iter().map(|event| {
            serde_json::to_value(event).map(with_rfc3339_times).map_err(Failure::error)
        });
        return printer.json(&Value::Array(events.collect::<Result<_, _>>()?));
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|event| {
            let action = serde_json::to_value(&event.action).unwrap_or(Value::Null);
            let name = action["action"].as_str().unwrap_or("?").to_owned();
            let actor = match &event.origin {
                keygate::Origin::ApiKey { key, .. } => format!("{} (key {key})", event.actor),
                _ => format!("{} (local)", event.actor),
            };
            vec![event.at.to_string(), actor, name, details(&action)]
        })
        .collect();
    printer.table(&["AT", "ACTOR", "ACTION", "DETAILS"], &rows)
}

/// An action's fields but its name, as `key=value` pairs, instants in RFC 3339.
fn details(action: &Value) -> String {
    let Some(fields) = action.as_object() else { return String::new() };
    fields
        .iter()
        .filter(|(name, _)| *name != "action")
        .map(|(name, value)| {
            let shown = match (name.as_str(), value) {
                ("expires" | "old_expires", Value::Null) => "never".to_owned(),
                ("expires" | "old_expires", Value::Number(n)) => n
                    .as_i64()
                    .and_then(|unix| Timestamp::from_unix(unix).ok())
                    .map_or_else(|| n.to_string(), |at| at.to_string()),
                ("permissions", Value::Null) => "all".to_owned(),
                (_, Value::Array(items)) => items
                    .iter()
                    .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                (_, Value::String(text)) => text.clone(),
                (_, other) => other.to_string(),
            };
            format!("{name}={shown}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An instant (RFC 3339) or a span before now.
fn instant_from(text: &str) -> Result<Timestamp, Failure> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let span: Span = text.parse().map_err(|_| {
        Failure::error(format!(
            "--since {text:?}: give an instant (2026-11-01T00:00:00Z) or a span ago (24h, 7d)"
        ))
    })?;
    Ok(SystemClock.now().saturating_sub(span))
}
