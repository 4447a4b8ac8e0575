//! Printing results: aligned tables and labelled fields for people, JSON for scripts.

use std::io::Write;

use keygate::core::{Expiry, KeyRecord, KeyState, Principal, Timestamp};
use keygate::store::SigningKeyRecord;
use serde_json::{Value, json};

use crate::cli::Output;
use crate::error::Failure;

/// Where results go, in the form asked for.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Printer {
    pub(crate) output: Output,
}

impl Printer {
    /// Whether results are JSON.
    pub(crate) fn is_json(self) -> bool {
        self.output == Output::Json
    }

    /// Prints `text` and a newline.
    pub(crate) fn line(self, text: &str) -> Result<(), Failure> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}").and_then(|()| stdout.flush()).map_err(Failure::stdout)
    }

    /// Prints `value` as pretty JSON.
    pub(crate) fn json(self, value: &Value) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(value).map_err(Failure::error)?;
        self.line(&text)
    }

    /// Prints rows under headers, in aligned columns.
    pub(crate) fn table(self, headers: &[&str], rows: &[Vec<String>]) -> Result<(), Failure> {
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let render = |cells: &mut dyn Iterator<Item = &str>| {
            let mut line = String::new();
            for (i, (cell, width)) in cells.zip(&widths).enumerate() {
                if i + 1 == widths.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            line.trim_end().to_owned()
        };
        self.line(&render(&mut headers.iter().copied()))?;
        for row in rows {
            self.line(&render(&mut row.iter().map(String::as_str)))?;
        }
        Ok(())
    }

    /// Prints labelled fields, one a line, the values aligned.
    pub(crate) fn fields(self, fields: &[(&str, String)]) -> Result<(), Failure> {
        let width = fields.iter().map(|(label, _)| label.len()).max().unwrap_or(0) + 1;
        for (label, value) in fields {
            self.line(&format!("{:<width$} {value}", format!("{label}:")))?;
        }
        Ok(())
    }
}

/// An expiry as people read it.
pub(crate) fn expiry(expires: Expiry) -> String {
    match expires {
        Expiry::Never => "never".to_owned(),
        Expiry::At(at) => at.to_string(),
    }
}

/// A key's record as JSON: everything but its secret digest, and its status at `now`. As in all
/// of keygate's JSON, instants are RFC 3339 text (null for "never"), and lists are arrays:
/// `permissions` is an array of names, or null for a key not restricted to any.
pub(crate) fn key_json(key: &KeyRecord, now: Timestamp) -> Value {
    let mut value = json!({
        "key_id": key.id().to_string(),
        "owner": key.owner().as_str(),
        "scope": key.scope().to_string(),
        "permissions": json!(key.permissions()),
        "format": key.format().to_string(),
        "status": key.status_at(now).to_string(),
        "description": key.description().as_str(),
        "created_at": key.created_at().to_string(),
        "not_before": key.not_before().to_string(),
        "expires": key.expires().at().map(|at| at.to_string()),
        "replaces": key.replaces().map(|id| id.to_string()),
    });
    match key.state() {
        KeyState::Suspended { at } => value["suspended_at"] = json!(at.to_string()),
        KeyState::Revoked { at, reason } => {
            value["revoked_at"] = json!(at.to_string());
            value["revoked_reason"] = json!(reason.as_str());
        }
        _ => {}
    }
    value
}

/// A principal as JSON.
pub(crate) fn principal_json(principal: &Principal) -> Value {
    json!({
        "name": principal.id.as_str(),
        "kind": principal.kind.to_string(),
        "display_name": principal.display_name.as_str(),
        "description": principal.description.as_str(),
        "created_at": principal.created_at.to_string(),
    })
}

/// A signing key as JSON: its id, algorithm and status, never its material. `shared_secret`
/// says that its secret verifies its tokens too (an HMAC key), so verifiers need the master key.
pub(crate) fn signing_key_json(key: &SigningKeyRecord) -> Value {
    use keygate::store::VerificationMaterial::{SealedSecret, SharedSecret};
    json!({
        "kid": key.kid.as_str(),
        "algorithm": key.algorithm.to_string(),
        "status": json!(key.status),
        "created_at": key.created_at.to_string(),
        "shared_secret": matches!(key.verification, SharedSecret(_) | SealedSecret(_)),
    })
}
