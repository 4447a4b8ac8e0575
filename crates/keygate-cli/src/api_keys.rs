//! `keygate api-key`: the lifecycle of API keys, and verifying one as a broker would.

use keygate::core::{
    Clock, Description, KeyFormat, KeyId, Lifetime, Permission, PrincipalKind, ResourceRef, Scope,
    Span, SystemClock, Timestamp,
};
use keygate_server::{IssuedKeyView, KeyView, PolicyView, RotationView};
use serde_json::{Value, json};

use crate::cli::{ApiKeyCommand, Owner, ScopeArgs};
use crate::error::Failure;
use crate::output::Printer;
use crate::plane::{Plane, encode};
use crate::principals::{find, noun, principal_id};
use crate::token::{permissions_from, read_stdin};

pub(crate) async fn run(
    command: ApiKeyCommand,
    plane: &Plane,
    printer: Printer,
) -> Result<(), Failure> {
    let now = SystemClock.now();
    match command {
        ApiKeyCommand::Create { owner, scope, expiry, format, permissions, description } => {
            let (kind, name) = owner_named(&owner);
            let owner = find(plane, &principal_id(name)?, kind).await?;
            let format = format.parse::<KeyFormat>()?;
            let mut body = json!({
                "owner": owner.name,
                "scope": scope_from(&scope)?.to_string(),
                "format": format.to_string(),
            });
            match expiry {
                // A date (RFC 3339), or a span or `never`.
                Some(expiry) => {
                    body["expiry"] = match expiry.parse::<Timestamp>() {
                        Ok(at) => json!(at.to_string()),
                        // Four digits and a dash: meant as a date, and told why it is not one.
                        Err(error) if looks_like_date(&expiry) => {
                            return Err(Failure::error(format!(
                                "--expiry: {expiry:?} is not a date keygate reads: {error}"
                            )));
                        }
                        Err(_) => json!(lifetime_text(lifetime_from("--expiry", &expiry)?)),
                    };
                }
                None => {
                    // Under a policy that allows `never`, the default would be a key that
                    // never expires: that is to be asked for, not fallen into.
                    let policy: PolicyView = plane.get("/v1/policy").await?;
                    if policy.allow_never && policy.max_lifetime.is_none() {
                        return Err(Failure::error(
                            "the policy lets keys never expire, so a key needs --expiry: a span \
                             (90d), a date, or `never` for a key that never expires",
                        ));
                    }
                }
            }
            if !permissions.is_empty() {
                permissions_from(&permissions)?;
                body["permissions"] = json!(permissions);
            }
            if let Some(description) = description {
                description_from("--description", &description)?;
                body["description"] = json!(description);
            }
            let issued: IssuedKeyView = plane.send("POST", "/v1/api-keys", &body).await?;
            print_issued(printer, &issued, kind, None)
        }
        ApiKeyCommand::List { service_account, user, resource, state, unused_since } => {
            let mut query = Vec::new();
            match (service_account, user) {
                (Some(_), Some(_)) => {
                    return Err(Failure::error("give --service-account or --user, not both"));
                }
                (Some(name), None) => {
                    let owner =
                        find(plane, &principal_id(&name)?, PrincipalKind::ServiceAccount).await?;
                    query.push(format!("owner={}", encode(&owner.name)));
                }
                (None, Some(name)) => {
                    let owner = find(plane, &principal_id(&name)?, PrincipalKind::User).await?;
                    query.push(format!("owner={}", encode(&owner.name)));
                }
                (None, None) => {}
            }
            if let Some(resource) = resource {
                query.push(format!("resource={}", encode(resource_from(&resource)?.as_str())));
            }
            if let Some(state) = state {
                query.push(format!("state={state}"));
            }
            if let Some(span) = unused_since {
                // Keys old enough to have been used in the window, and not used in it.
                let cutoff = now.saturating_sub(span_from("--unused-since", &span)?);
                query.push(format!("unused_since={}", encode(&cutoff.to_string())));
            }
            let keys: Vec<KeyView> = plane.all(&listing("/v1/api-keys", &query)).await?;
            print_keys(printer, &keys)
        }
        ApiKeyCommand::Describe { key } => {
            let record = key_named(plane, &key).await?;
            if printer.is_json() {
                return printer.json(&json!(record));
            }
            let last_used = match (&record.last_used, &record.last_used_on) {
                (None, _) => "never".to_owned(),
                (Some(at), Some(resource)) => format!("{at} on {resource}"),
                (Some(at), None) => at.clone(),
            };
            let mut fields = vec![
                ("key id", record.key_id.clone()),
                ("owner", record.owner.clone()),
                ("scope", record.scope.clone()),
                ("permissions", permissions_text(&record)),
                ("format", record.format.clone()),
                ("status", record.status.clone()),
                ("created", record.created_at.clone()),
                ("last used", last_used),
                ("valid from", record.not_before.clone()),
                ("expires", expires_text(&record)),
                ("description", record.description.clone()),
            ];
            if let Some(old) = &record.replaces {
                fields.push(("replaces", old.clone()));
            }
            if let Some(at) = &record.suspended_at {
                fields.push(("suspended", at.clone()));
            }
            if let Some(at) = &record.revoked_at {
                fields.push(("revoked", at.clone()));
                fields.push(("reason", record.revoked_reason.clone().unwrap_or_default()));
            }
            printer.fields(&fields)
        }
        ApiKeyCommand::Update { key, description } => {
            let id = key_named(plane, &key).await?.key_id;
            description_from("--description", &description)?;
            let record: KeyView =
                plane.send("PATCH", &key_path(&id), &json!({ "description": description })).await?;
            done(printer, &record, &format!("Updated the description of key {id}."))
        }
        ApiKeyCommand::Rotate { key, overlap, force } => {
            let record = key_named(plane, &key).await?;
            let id = record.key_id.clone();
            let mut body = json!({});
            if let Some(text) = overlap {
                span_from("--overlap", &text)?;
                body["overlap"] = json!(text);
            }
            // A second rotation would leave two replacements: say so, unless asked for.
            if let Some(newer) = record.replaced_by.as_ref().filter(|_| !force) {
                return Err(Failure::error(format!(
                    "key {id} was already rotated: {newer} replaces it; rotate {newer} instead, \
                     or give --force to issue another replacement"
                )));
            }
            let rotation: RotationView =
                plane.send("POST", &format!("{}/rotate", key_path(&id)), &body).await?;
            let kind = owner_kind(plane, &rotation.old.owner).await?;
            print_issued(printer, &rotation.new, kind, Some(&rotation.old))
        }
        ApiKeyCommand::Suspend { key } => {
            let id = key_named(plane, &key).await?.key_id;
            let record: KeyView =
                plane.send("POST", &format!("{}/suspend", key_path(&id)), &json!({})).await?;
            done(
                printer,
                &record,
                &format!("Suspended key {id}; `keygate api-key resume {id}` undoes it."),
            )
        }
        ApiKeyCommand::Resume { key } => {
            let id = key_named(plane, &key).await?.key_id;
            let record: KeyView =
                plane.send("POST", &format!("{}/resume", key_path(&id)), &json!({})).await?;
            done(printer, &record, &format!("Resumed key {id}."))
        }
        ApiKeyCommand::Revoke { key, reason } => {
            let current = key_named(plane, &key).await?;
            let id = current.key_id.clone();
            let mut body = json!({});
            if let Some(reason) = reason {
                description_from("--reason", &reason)?;
                body["reason"] = json!(reason);
            }
            if let Some(at) = &current.revoked_at {
                return done(
                    printer,
                    &current,
                    &format!("Key {id} was already revoked at {at}; nothing changed."),
                );
            }
            let record: KeyView =
                plane.send("POST", &format!("{}/revoke", key_path(&id)), &body).await?;
            done(printer, &record, &format!("Revoked key {id}."))
        }
        ApiKeyCommand::Delete { key, yes } => {
            let record = key_named(plane, &key).await?;
            let id = record.key_id.clone();
            let live = record.status != "revoked" && record.status != "expired";
            if live && !yes {
                return Err(Failure::error(format!(
                    "key {id} is still {}; give --yes to revoke and delete it, or revoke it \
                     first",
                    record.status
                )));
            }
            let record = if live {
                plane
                    .send(
                        "POST",
                        &format!("{}/revoke", key_path(&id)),
                        &json!({ "reason": "deleted" }),
                    )
                    .await?
            } else {
                record
            };
            plane.call("DELETE", &key_path(&id), None, &[]).await?;
            let revoked = if live { "Revoked and deleted" } else { "Deleted" };
            done(printer, &record, &format!("{revoked} key {id}."))
        }
        ApiKeyCommand::Due => {
            let mut keys: Vec<KeyView> = plane.all("/v1/api-keys?due=true").await?;
            // The longest overdue first.
            keys.sort_by(|a, b| (&a.created_at, &a.key_id).cmp(&(&b.created_at, &b.key_id)));
            if keys.is_empty() && !printer.is_json() {
                let policy: PolicyView = plane.get("/v1/policy").await?;
                return printer.line(match policy.rotation_period {
                    Some(_) => "No key is due for rotation.",
                    None => {
                        "The policy sets no rotation period, so no key is ever due; set one with \
                         `keygate policy set --rotation-period 90d`."
                    }
                });
            }
            print_keys(printer, &keys)
        }
        ApiKeyCommand::Expiring { within } => {
            let span = span_from("--within", &within)?;
            let path = format!("/v1/api-keys?expiring_within={}", encode(&span.to_string()));
            let mut keys: Vec<KeyView> = plane.all(&path).await?;
            keys.sort_by(|a, b| (&a.expires, &a.key_id).cmp(&(&b.expires, &b.key_id)));
            print_keys(printer, &keys)
        }
        ApiKeyCommand::Verify { resource, permission, key_id, secret, key, token, stdin } => {
            let resource = resource_from(&resource)?;
            if let Some(permission) = &permission {
                let parsed = permission
                    .parse::<Permission>()
                    .map_err(|e| Failure::error(format!("--permission: {e}")))?;
                // A typo here would make every key look refused; say so instead.
                let profile = keygate::Profile::default();
                let asked = keygate::core::Permissions::only([parsed]);
                if profile.unknown_permission(&asked).is_some() {
                    return Err(Failure::error(format!(
                        "--permission: unknown permission {permission}; known: {}",
                        profile.known_permissions()
                    )));
                }
            }
            let from_stdin = if stdin { Some(read_stdin()?) } else { None };
            let mut body = json!({ "resource": resource.as_str(), "permission": permission });
            match (&key_id, &secret, &key, &token, &from_stdin) {
                (Some(key_id), Some(secret), ..) => {
                    body["key_id"] = json!(key_id);
                    body["secret"] = json!(secret);
                }
                (_, _, Some(key), ..) => body["key"] = json!(key),
                (_, _, _, Some(token), _) => body["token"] = json!(token),
                (_, _, _, _, Some(text))
                    if text.trim().starts_with(keygate::token::API_KEY_PREFIX) =>
                {
                    body["key"] = json!(text.trim());
                }
                (_, _, _, _, Some(text)) => body["token"] = json!(text.trim()),
                _ => {
                    return Err(Failure::error(
                        "give KEY_ID SECRET, --key, --token, or -i to read the credential from standard input",
                    ));
                }
            }
            let verdict: Value = plane.send("POST", "/v1/api-keys/verify", &body).await?;
            match verdict["valid"].as_bool() {
                Some(true) => printer.json(&verdict["identity"]),
                _ => Err(Failure::Refused(
                    verdict["reason"].as_str().unwrap_or("refused").to_owned(),
                )),
            }
        }
    }
}

/// Prints a key just issued, with its secret, this once; after a rotation, with the old key.
fn print_issued(
    printer: Printer,
    issued: &IssuedKeyView,
    kind: PrincipalKind,
    rotated: Option<&KeyView>,
) -> Result<(), Failure> {
    let record = &issued.key;
    if printer.is_json() {
        let mut value = json!(issued);
        if let Some(old) = rotated {
            value["old_key_id"] = json!(old.key_id);
            value["old_expires"] = json!(old.expires);
        }
        return printer.json(&value);
    }
    if let Some(old) = rotated {
        printer.line(&format!(
            "Rotated key {}: it keeps working until {}, then only the new key does.",
            old.key_id,
            expires_text(old)
        ))?;
    }
    printer.line("API key created. Save the secret now: it cannot be shown again.")?;
    printer.line("")?;
    printer.fields(&[
        ("key id", record.key_id.clone()),
        ("secret", issued.secret.clone()),
        ("owner", format!("{} ({})", record.owner, noun(kind))),
        ("scope", record.scope.clone()),
        ("permissions", permissions_text(record)),
        ("format", record.format.clone()),
        ("expires", expires_text(record)),
    ])?;
    printer.line("")?;
    printer.line(if record.format == "jwt" {
        // A JWT is too long for a SASL/PLAIN password (255 bytes at most).
        "Kafka clients: SASL/OAUTHBEARER with the secret as the token. Pulsar clients: \
         token authentication with the secret as the token."
    } else {
        "Kafka clients using SASL/PLAIN: the key id is the username, the secret the password."
    })
}

/// Prints keys as a table or a JSON array.
fn print_keys(printer: Printer, keys: &[KeyView]) -> Result<(), Failure> {
    if printer.is_json() {
        return printer.json(&json!(keys));
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|key| {
            vec![
                key.key_id.clone(),
                key.owner.clone(),
                key.scope.clone(),
                permissions_text(key),
                key.format.clone(),
                key.status.clone(),
                key.created_at.clone(),
                key.last_used.clone().unwrap_or_else(|| "never".to_owned()),
                expires_text(key),
                key.replaced_by.clone().unwrap_or_default(),
                key.description.clone(),
            ]
        })
        .collect();
    let headers = [
        "KEY ID",
        "OWNER",
        "SCOPE",
        "PERMISSIONS",
        "FORMAT",
        "STATUS",
        "CREATED",
        "LAST USED",
        "EXPIRES",
        "REPLACED BY",
        "DESCRIPTION",
    ];
    printer.table(&headers, &rows)
}

/// Reports a change: a sentence for people, the key as it now is for scripts.
fn done(printer: Printer, record: &KeyView, sentence: &str) -> Result<(), Failure> {
    if printer.is_json() { printer.json(&json!(record)) } else { printer.line(sentence) }
}

/// The key `text` names, or a one-line reason why there is none.
async fn key_named(plane: &Plane, text: &str) -> Result<KeyView, Failure> {
    let id: KeyId = text.trim().parse().map_err(|_| {
        Failure::error(format!("{text:?} is not a key id (16 characters, like 5x7k2m9q4w8n6p1r)"))
    })?;
    plane.get(&key_path(&id.to_string())).await
}

fn key_path(id: &str) -> String {
    format!("/v1/api-keys/{}", encode(id))
}

/// `path` with `query` joined.
fn listing(path: &str, query: &[String]) -> String {
    if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
}

/// Whether `owner` is a service account or a user.
async fn owner_kind(plane: &Plane, owner: &str) -> Result<PrincipalKind, Failure> {
    let id = principal_id(owner)?;
    match find(plane, &id, PrincipalKind::ServiceAccount).await {
        Ok(_) => Ok(PrincipalKind::ServiceAccount),
        Err(_) => Ok(PrincipalKind::User),
    }
}

/// Permissions as people read them: `all`, or the names joined by commas.
fn permissions_text(key: &KeyView) -> String {
    match &key.permissions {
        None => "all".to_owned(),
        Some(names) if names.is_empty() => "none".to_owned(),
        Some(names) => names.join(","),
    }
}

fn expires_text(key: &KeyView) -> String {
    key.expires.clone().unwrap_or_else(|| "never".to_owned())
}

/// A lifetime as the API reads it.
fn lifetime_text(lifetime: Lifetime) -> String {
    match lifetime {
        Lifetime::Never => "never".to_owned(),
        Lifetime::Span(span) => span.to_string(),
    }
}

fn owner_named(owner: &Owner) -> (PrincipalKind, &str) {
    match (&owner.service_account, &owner.user) {
        (_, Some(user)) => (PrincipalKind::User, user),
        (Some(account), None) => (PrincipalKind::ServiceAccount, account),
        // clap requires exactly one of the two.
        (None, None) => (PrincipalKind::ServiceAccount, ""),
    }
}

fn scope_from(scope: &ScopeArgs) -> Result<Scope, Failure> {
    Ok(match &scope.resource {
        // Confluent's spelling of a cloud key.
        Some(resource) if resource == "cloud" => Scope::Cloud,
        Some(resource) => Scope::Resource(resource_from(resource)?),
        None if scope.cloud => Scope::Cloud,
        None => Scope::Global,
    })
}

pub(crate) fn resource_from(text: &str) -> Result<ResourceRef, Failure> {
    if !text.contains('/') {
        // Confluent names clusters by id alone: lkc-… a Kafka cluster, lsrc-… a schema registry.
        let kind = [("lkc-", "kafka-cluster"), ("lsrc-", "schema-registry")]
            .into_iter()
            .find_map(|(prefix, kind)| text.starts_with(prefix).then_some(kind));
        if let Some(kind) = kind {
            let spelled = format!("{kind}/{text}");
            eprintln!("keygate: reading {text} as {spelled}, keygate's spelling of it");
            return resource_from(&spelled);
        }
        return Err(Failure::error(format!(
            "{text:?} is not a resource: a resource is KIND/ID, like kafka-cluster/{text} (or \
             --cloud, --global for the other scopes)"
        )));
    }
    text.parse().map_err(|e| {
        Failure::error(format!(
            "{text:?} is not a resource (KIND/ID, like kafka-cluster/lkc-abc123): {e}"
        ))
    })
}

pub(crate) fn lifetime_from(option: &str, text: &str) -> Result<Lifetime, Failure> {
    text.parse()
        .map_err(|e| Failure::error(format!("{option}: {e} (a span like 30d or 1y, or never)")))
}

pub(crate) fn span_from(option: &str, text: &str) -> Result<Span, Failure> {
    text.parse().map_err(|e| Failure::error(format!("{option}: {e} (a span like 24h or 14d)")))
}

/// Free text given as `option`: a description, or a reason kept as one.
fn description_from(option: &str, text: &str) -> Result<Description, Failure> {
    text.parse().map_err(|error| {
        let why = match error {
            keygate::core::Error::TooLong { len, max, .. } => {
                format!("{len} bytes long; the limit is {max}")
            }
            keygate::core::Error::InvalidCharacter { at, .. } => {
                format!("a control character at byte {at}")
            }
            other => other.to_string(),
        };
        Failure::error(format!("{option}: {why}"))
    })
}

/// Whether `text` starts as a date does (`2027-`): an expiry meant as one.
fn looks_like_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() > 4 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-'
}
