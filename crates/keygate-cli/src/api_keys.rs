//! `keygate api-key`: the lifecycle of API keys, and verifying one as a broker would.

use std::collections::HashMap;
use std::sync::Arc;

use keygate::core::{
    Clock, Description, KeyFormat, KeyId, KeyRecord, KeyStatus, Lifetime, Permission,
    PrincipalKind, ResourceRef, Scope, Span, SystemClock, Timestamp,
};
use keygate::store::{KeyFilter, KeyUse, PageRequest, StoreError, UsageStore};
use keygate::{
    AuthConfig, AuthContext, Authenticator, Credential, CredentialId, Identity, IssuedKey,
    ManagerError, NewKey, Replica, Revoked,
};
use serde_json::{Value, json};

use crate::cli::{ApiKeyCommand, Owner, ScopeArgs};
use crate::error::Failure;
use crate::output::{Printer, expiry, key_json};
use crate::principals::{find, noun, principal_id};
use crate::store::Workspace;
use crate::token::{permissions_from, read_stdin};

pub(crate) async fn run(
    command: ApiKeyCommand,
    workspace: &Workspace,
    printer: Printer,
) -> Result<(), Failure> {
    let manager = &workspace.manager;
    let actor = &workspace.actor;
    let now = SystemClock.now();
    match command {
        ApiKeyCommand::Create { owner, scope, expiry, format, permissions, description } => {
            let (kind, name) = owner_named(&owner);
            let owner = find(workspace, &principal_id(name)?, kind).await?;
            let mut new = NewKey::new(owner.id.clone(), scope_from(&scope)?)
                .with_format(format.parse::<KeyFormat>()?);
            if expiry.is_none() {
                // Under a policy that allows `never`, the default would be a key that never
                // expires: that is to be asked for, not fallen into.
                let policy = workspace.manager.policy_in_force().await?;
                if policy.expiry.longest(now) == keygate::core::Expiry::Never {
                    return Err(Failure::error(
                        "the policy lets keys never expire, so a key needs --expiry: a span \
                         (90d), a date, or `never` for a key that never expires",
                    ));
                }
            }
            if let Some(expiry) = expiry {
                // A date (RFC 3339), or a span or `never`.
                new = match expiry.parse::<Timestamp>() {
                    Ok(at) => new.with_expires_at(at),
                    // Four digits and a dash: meant as a date, and told why it is not one.
                    Err(error) if looks_like_date(&expiry) => {
                        return Err(Failure::error(format!(
                            "--expiry: {expiry:?} is not a date keygate reads: {error}"
                        )));
                    }
                    Err(_) => new.with_lifetime(lifetime_from("--expiry", &expiry)?),
                };
            }
            if !permissions.is_empty() {
                new = new.with_permissions(permissions_from(&permissions)?);
            }
            if let Some(description) = description {
                new = new.with_description(description_from("--description", &description)?);
            }
            let issued = manager.create_key(actor, new).await?;
            print_issued(printer, &issued, kind, now, None)
        }
        ApiKeyCommand::List { service_account, user, resource, state, unused_since } => {
            let mut filter = KeyFilter::all();
            match (service_account, user) {
                (Some(_), Some(_)) => {
                    return Err(Failure::error("give --service-account or --user, not both"));
                }
                (Some(name), None) => {
                    let owner =
                        find(workspace, &principal_id(&name)?, PrincipalKind::ServiceAccount)
                            .await?;
                    filter = filter.with_owner(owner.id);
                }
                (None, Some(name)) => {
                    let owner = find(workspace, &principal_id(&name)?, PrincipalKind::User).await?;
                    filter = filter.with_owner(owner.id);
                }
                (None, None) => {}
            }
            if let Some(resource) = resource {
                filter = filter.with_resource(resource_from(&resource)?);
            }
            if let Some(state) = state {
                filter = filter.with_status(state.parse::<KeyStatus>()?, now);
            }
            let mut keys = all_keys(workspace, &filter).await?;
            let listing = Listing::load(workspace).await?;
            if let Some(span) = unused_since {
                // Keys old enough to have been used in the window, and not used in it.
                let cutoff = now.saturating_sub(span_from("--unused-since", &span)?);
                keys.retain(|key| {
                    key.created_at() <= cutoff
                        && listing.last_use(key).is_none_or(|used| used.at < cutoff)
                });
            }
            print_keys(printer, &keys, now, &listing)
        }
        ApiKeyCommand::Describe { key } => {
            let record = key_named(workspace, &key).await?;
            let listing = Listing::load(workspace).await?;
            let status = listing.status(&record, now);
            if printer.is_json() {
                return printer.json(&listing.json(&record, now));
            }
            let mut fields = vec![
                ("key id", record.id().to_string()),
                ("owner", record.owner().to_string()),
                ("scope", record.scope().to_string()),
                ("permissions", record.permissions().to_string()),
                ("format", record.format().to_string()),
                ("status", status),
                ("created", record.created_at().to_string()),
                ("last used", listing.last_use_text(&record)),
                ("valid from", record.not_before().to_string()),
                ("expires", expiry(record.expires())),
                ("description", record.description().to_string()),
            ];
            if let Some(old) = record.replaces() {
                fields.push(("replaces", old.to_string()));
            }
            match record.state() {
                keygate::core::KeyState::Suspended { at } => {
                    fields.push(("suspended", at.to_string()))
                }
                keygate::core::KeyState::Revoked { at, reason } => {
                    fields.push(("revoked", at.to_string()));
                    fields.push(("reason", reason.to_string()));
                }
                _ => {}
            }
            printer.fields(&fields)
        }
        ApiKeyCommand::Update { key, description } => {
            let id = key_named(workspace, &key).await?.id();
            let record = manager
                .update_description(actor, id, description_from("--description", &description)?)
                .await?;
            done(printer, &record, now, &format!("Updated the description of key {id}."))
        }
        ApiKeyCommand::Rotate { key, overlap, force } => {
            let id = key_named(workspace, &key).await?.id();
            let overlap = overlap.map(|text| span_from("--overlap", &text)).transpose()?;
            // A second rotation would leave two replacements: say so, unless asked for.
            let all = all_keys(workspace, &KeyFilter::all()).await?;
            if let Some(newer) = all.iter().find(|k| k.replaces() == Some(id)).filter(|_| !force) {
                return Err(Failure::error(format!(
                    "key {id} was already rotated: {} replaces it; rotate {} instead, or give \
                     --force to issue another replacement",
                    newer.id(),
                    newer.id()
                )));
            }
            let rotation = manager.rotate(actor, id, overlap).await?;
            let kind = manager.principal(rotation.old.owner()).await?.kind;
            print_issued(printer, &rotation.new, kind, now, Some(&rotation.old))
        }
        ApiKeyCommand::Suspend { key } => {
            let id = key_named(workspace, &key).await?.id();
            let record = manager.suspend(actor, id).await?;
            done(
                printer,
                &record,
                now,
                &format!("Suspended key {id}; `keygate api-key resume {id}` undoes it."),
            )
        }
        ApiKeyCommand::Resume { key } => {
            let id = key_named(workspace, &key).await?.id();
            let record = manager.resume(actor, id).await?;
            done(printer, &record, now, &format!("Resumed key {id}."))
        }
        ApiKeyCommand::Revoke { key, reason } => {
            let id = key_named(workspace, &key).await?.id();
            let reason = match reason {
                Some(reason) => description_from("--reason", &reason)?,
                None => Description::empty(),
            };
            match manager.revoke(actor, id, reason).await? {
                Revoked::Now(record) => done(printer, &record, now, &format!("Revoked key {id}.")),
                Revoked::Already(record) => {
                    let when = match record.state() {
                        keygate::core::KeyState::Revoked { at, .. } => format!(" at {at}"),
                        _ => String::new(),
                    };
                    done(
                        printer,
                        &record,
                        now,
                        &format!("Key {id} was already revoked{when}; nothing changed."),
                    )
                }
                _ => Ok(()),
            }
        }
        ApiKeyCommand::Delete { key, yes } => {
            let record = key_named(workspace, &key).await?;
            let id = record.id();
            let live = !matches!(record.status_at(now), KeyStatus::Revoked | KeyStatus::Expired);
            if live && !yes {
                return Err(Failure::error(format!(
                    "key {id} is still {}; give --yes to revoke and delete it, or revoke it \
                     first",
                    record.status_at(now)
                )));
            }
            if live {
                manager.revoke(actor, id, description_from("--reason", "deleted")?).await?;
            }
            let record = manager.delete_key(actor, id).await?;
            let revoked = if live { "Revoked and deleted" } else { "Deleted" };
            done(printer, &record, now, &format!("{revoked} key {id}."))
        }
        ApiKeyCommand::Due => {
            let keys = manager.due_keys().await?;
            if keys.is_empty() && !printer.is_json() {
                let policy = manager.policy_in_force().await?;
                return printer.line(match policy.rotation_period {
                    Some(_) => "No key is due for rotation.",
                    None => {
                        "The policy sets no rotation period, so no key is ever due; set one with \
                         `keygate policy set --rotation-period 90d`."
                    }
                });
            }
            print_keys(printer, &keys, now, &Listing::load(workspace).await?)
        }
        ApiKeyCommand::Expiring { within } => {
            let keys = manager.expiring_within(span_from("--within", &within)?).await?;
            print_keys(printer, &keys, now, &Listing::load(workspace).await?)
        }
        ApiKeyCommand::Verify { resource, permission, key_id, secret, key, token, stdin } => {
            let resource = resource_from(&resource)?;
            let permission = permission
                .map(|p| {
                    p.parse::<Permission>()
                        .map_err(|e| Failure::error(format!("--permission: {e}")))
                })
                .transpose()?;
            // A typo here would make every key look refused; say so instead.
            if let Some(permission) = &permission {
                let profile = workspace.manager.profile();
                let asked = keygate::core::Permissions::only([permission.clone()]);
                if profile.unknown_permission(&asked).is_some() {
                    return Err(Failure::error(format!(
                        "--permission: unknown permission {permission}; known: {}",
                        profile.known_permissions()
                    )));
                }
            }
            let from_stdin = if stdin { Some(read_stdin()?) } else { None };
            let credential = match (&key_id, &secret, &key, &token, &from_stdin) {
                (Some(key_id), Some(secret), ..) => Credential::KeyAndSecret { key_id, secret },
                (_, _, Some(key), ..) => Credential::ApiKey(key),
                (_, _, _, Some(token), _) => Credential::Bearer(token),
                (_, _, _, _, Some(text))
                    if text.trim().starts_with(keygate::token::API_KEY_PREFIX) =>
                {
                    Credential::ApiKey(text.trim())
                }
                (_, _, _, _, Some(text)) => Credential::Bearer(text.trim()),
                _ => {
                    return Err(Failure::error(
                        "give KEY_ID SECRET, --key, --token, or -i to read the credential from standard input",
                    ));
                }
            };
            let identity = verify(workspace, &credential, &resource, permission.as_ref()).await?;
            printer.json(&identity_json(&identity))
        }
    }
}

/// Authenticates `credential` at `resource` through an Authenticator synced from the store,
/// exactly as a broker's.
async fn verify(
    workspace: &Workspace,
    credential: &Credential<'_>,
    resource: &ResourceRef,
    permission: Option<&Permission>,
) -> Result<Identity, Failure> {
    let authenticator = broker_authenticator(workspace).await?;
    let mut context = AuthContext::new(resource, SystemClock.now());
    if let Some(permission) = permission {
        context = context.with_permission(permission);
    }
    authenticator.authenticate(credential, &context).map_err(|e| Failure::Refused(e.to_string()))
}

/// An authenticator synced from the store, as a broker's is. A broker verifies HMAC-signed keys
/// only with the master key; so does this.
pub(crate) async fn broker_authenticator(workspace: &Workspace) -> Result<Authenticator, Failure> {
    let config = match &workspace.master_key {
        Some(master_key) => AuthConfig::default().with_master_key(Arc::clone(master_key)),
        None => AuthConfig::default(),
    };
    let authenticator = Authenticator::new(config);
    let mut replica = Replica::new(authenticator.clone(), Arc::new(SystemClock));
    replica
        .sync_once(&*workspace.store)
        .await
        .map_err(|e| Failure::error(format!("cannot load the store's keys: {e}")))?;
    Ok(authenticator)
}

fn identity_json(identity: &Identity) -> Value {
    let credential = match identity.credential() {
        CredentialId::ApiKey(id) => json!({ "api_key": id.to_string() }),
        CredentialId::Token { jti, .. } => json!({ "token": { "jti": jti } }),
        _ => Value::Null,
    };
    json!({
        "principal": identity.principal().as_str(),
        "credential": credential,
        "scope": identity.scope().to_string(),
        "permissions": json!(identity.permissions()),
        "expires": identity.expires().at().map(|at| at.to_string()),
        "session_deadline": identity.session_deadline().at().map(|at| at.to_string()),
    })
}

/// Prints a key just issued, with its secret, this once; after a rotation, with the old key.
fn print_issued(
    printer: Printer,
    issued: &IssuedKey,
    kind: PrincipalKind,
    now: Timestamp,
    rotated: Option<&KeyRecord>,
) -> Result<(), Failure> {
    let record = &issued.record;
    if printer.is_json() {
        let mut value = key_json(record, now);
        value["secret"] = json!(issued.secret.expose());
        if let Some(old) = rotated {
            value["old_key_id"] = json!(old.id().to_string());
            value["old_expires"] = json!(old.expires().at().map(|at| at.to_string()));
        }
        return printer.json(&value);
    }
    if let Some(old) = rotated {
        printer.line(&format!(
            "Rotated key {}: it keeps working until {}, then only the new key does.",
            old.id(),
            expiry(old.expires())
        ))?;
    }
    printer.line("API key created. Save the secret now: it cannot be shown again.")?;
    printer.line("")?;
    printer.fields(&[
        ("key id", record.id().to_string()),
        ("secret", issued.secret.expose().to_owned()),
        ("owner", format!("{} ({})", record.owner(), noun(kind))),
        ("scope", record.scope().to_string()),
        ("permissions", record.permissions().to_string()),
        ("format", record.format().to_string()),
        ("expires", expiry(record.expires())),
    ])?;
    printer.line("")?;
    printer.line(match record.format() {
        // A JWT is too long for a SASL/PLAIN password (255 bytes at most).
        KeyFormat::Jwt => {
            "Kafka clients: SASL/OAUTHBEARER with the secret as the token. Pulsar clients: \
             token authentication with the secret as the token."
        }
        _ => "Kafka clients using SASL/PLAIN: the key id is the username, the secret the password.",
    })
}

/// Prints keys as a table or a JSON array.
fn print_keys(
    printer: Printer,
    keys: &[KeyRecord],
    now: Timestamp,
    listing: &Listing,
) -> Result<(), Failure> {
    if printer.is_json() {
        let values = keys.iter().map(|key| listing.json(key, now));
        return printer.json(&Value::Array(values.collect()));
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|key| {
            vec![
                key.id().to_string(),
                key.owner().to_string(),
                key.scope().to_string(),
                key.permissions().to_string(),
                key.format().to_string(),
                listing.status(key, now),
                key.created_at().to_string(),
                listing
                    .last_use(key)
                    .map_or_else(|| "never".to_owned(), |used| used.at.to_string()),
                expiry(key.expires()),
                listing.replaced_by(key).map(|id| id.to_string()).unwrap_or_default(),
                key.description().to_string(),
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

/// What a listing shows beside each key: whether its signing key still exists (a JWT key whose
/// signing key was retired can no longer be verified), the key that replaced it, and its last
/// use.
struct Listing {
    signing_keys: Vec<keygate::core::SigningKeyId>,
    replaced_by: HashMap<KeyId, KeyId>,
    uses: HashMap<KeyId, KeyUse>,
}

impl Listing {
    async fn load(workspace: &Workspace) -> Result<Listing, Failure> {
        let signing_keys = workspace.manager.signing_keys().await?;
        let all = all_keys(workspace, &KeyFilter::all()).await?;
        let uses = workspace.store.key_uses().await?;
        Ok(Listing {
            signing_keys: signing_keys.into_iter().map(|key| key.kid).collect(),
            replaced_by: all
                .iter()
                .filter_map(|key| key.replaces().map(|old| (old, key.id())))
                .collect(),
            uses: uses.into_iter().map(|used| (used.key, used)).collect(),
        })
    }

    /// The key's status at `now`, or "unusable" when it would be usable but its signing key is
    /// gone.
    fn status(&self, key: &KeyRecord, now: Timestamp) -> String {
        match key.signing_key() {
            Some(kid) if key.is_usable_at(now) && !self.signing_keys.contains(kid) => {
                format!("unusable (signing key {kid} retired)")
            }
            _ => key.status_at(now).to_string(),
        }
    }

    fn replaced_by(&self, key: &KeyRecord) -> Option<KeyId> {
        self.replaced_by.get(&key.id()).copied()
    }

    fn last_use(&self, key: &KeyRecord) -> Option<&KeyUse> {
        self.uses.get(&key.id())
    }

    /// `key` as JSON, with what the listing knows of it.
    fn json(&self, key: &KeyRecord, now: Timestamp) -> Value {
        let mut value = key_json(key, now);
        let used = self.last_use(key);
        value["status"] = json!(self.status(key, now));
        value["replaced_by"] = json!(self.replaced_by(key).map(|id| id.to_string()));
        value["last_used"] = json!(used.map(|used| used.at.to_string()));
        value["last_used_on"] =
            json!(used.and_then(|used| used.resource.as_ref()).map(ToString::to_string));
        value
    }

    /// The last use as people read it: when, and where.
    fn last_use_text(&self, key: &KeyRecord) -> String {
        match self.last_use(key) {
            None => "never".to_owned(),
            Some(KeyUse { at, resource: Some(resource), .. }) => format!("{at} on {resource}"),
            Some(used) => used.at.to_string(),
        }
    }
}

/// Reports a change: a sentence for people, the key as it now is for scripts.
fn done(
    printer: Printer,
    record: &KeyRecord,
    now: Timestamp,
    sentence: &str,
) -> Result<(), Failure> {
    if printer.is_json() { printer.json(&key_json(record, now)) } else { printer.line(sentence) }
}

/// The key `text` names, or a one-line reason why there is none.
async fn key_named(workspace: &Workspace, text: &str) -> Result<KeyRecord, Failure> {
    let id: KeyId = text.trim().parse().map_err(|_| {
        Failure::error(format!("{text:?} is not a key id (16 characters, like 5x7k2m9q4w8n6p1r)"))
    })?;
    workspace.manager.key(id).await.map_err(|error| match error {
        ManagerError::Store(StoreError::NotFound { .. }) => {
            Failure::error(format!("there is no key {id}"))
        }
        error => error.into(),
    })
}

async fn all_keys(workspace: &Workspace, filter: &KeyFilter) -> Result<Vec<KeyRecord>, Failure> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let batch = workspace.manager.list_keys(filter, &page).await?;
        all.extend(batch.items);
        match batch.next {
            Some(next) => page = PageRequest::after(next, 500),
            None => return Ok(all),
        }
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
