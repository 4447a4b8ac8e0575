//! `keygate audit`: the log of every change made through keygate.

use keygate::core::{Clock, KeyId, Span, SystemClock, Timestamp};
use keygate_server::AuditEventView;
use serde_json::{Value, json};

use crate::cli::AuditCommand;
use crate::error::Failure;
use crate::output::Printer;
use crate::plane::{Plane, encode};
use crate::principals::principal_id;

pub(crate) async fn run(
    command: AuditCommand,
    plane: &Plane,
    printer: Printer,
) -> Result<(), Failure> {
    let AuditCommand::List { since, key, principal, limit } = command;
    let mut query = Vec::new();
    if let Some(since) = since {
        query.push(format!("since={}", encode(&instant_from(&since)?.to_string())));
    }
    if let Some(key) = key {
        let key: KeyId =
            key.trim().parse().map_err(|_| Failure::error(format!("{key:?} is not a key id")))?;
        query.push(format!("key={key}"));
    }
    if let Some(principal) = principal {
        query.push(format!("principal={}", encode(principal_id(&principal)?.as_str())));
    }
    // The newest `limit` events, newest first, a page at a time; printed oldest first.
    let mut events: Vec<AuditEventView> = Vec::new();
    let mut token: Option<String> = None;
    while events.len() < limit {
        let mut page_query = query.clone();
        page_query.push(format!("page_size={}", (limit - events.len()).clamp(1, 1000)));
        if let Some(token) = &token {
            page_query.push(format!("page_token={}", encode(token)));
        }
        let page: Value = plane.get(&format!("/v1/audit-events?{}", page_query.join("&"))).await?;
        let items: Vec<AuditEventView> =
            serde_json::from_value(page["items"].clone()).map_err(Failure::error)?;
        events.extend(items);
        match page["next_page_token"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    events.truncate(limit);
    events.reverse();
    if printer.is_json() {
        let events: Vec<Value> = events
            .iter()
            .map(|event| {
                json!({
                    "at": event.at,
                    "actor": event.actor,
                    "origin": event.origin,
                    "action": event.action,
                })
            })
            .collect();
        return printer.json(&Value::Array(events));
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|event| {
            let name = event.action["action"].as_str().unwrap_or("?").to_owned();
            let actor = match event.origin["kind"].as_str() {
                Some("api_key") => {
                    format!("{} (key {})", event.actor, event.origin["key"].as_str().unwrap_or("?"))
                }
                _ => format!("{} (local)", event.actor),
            };
            vec![event.at.clone(), actor, name, details(&event.action)]
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
