//! `keygate token`: tokens signed with the operator's own keys, as `pulsar tokens` makes them.

use std::sync::Arc;

use keygate::core::{
    Clock, Description, Lifetime, Permission, Permissions, SigningKeyId, SystemClock,
};
use keygate::token::dangerous::peek_unverified;
use keygate::token::{Claims, KeyValue, Minter, UnverifiedToken, Verifier, VerifyOptions};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{TokenCommand, TokenInput};
use crate::error::Failure;
use crate::keys::{signing_key, verification_key};
use crate::output::Printer;
use crate::plane::Plane;

pub(crate) fn run(command: TokenCommand, printer: Printer) -> Result<(), Failure> {
    match command {
        TokenCommand::Create {
            secret_key,
            private_key,
            algorithm,
            subject,
            expiry,
            audience,
            issuer,
            key_id,
            jti,
            permissions,
        } => {
            let mut key =
                signing_key(secret_key.as_deref(), private_key.as_deref(), algorithm.as_deref())?;
            if let Some(kid) = key_id {
                let kid: SigningKeyId =
                    kid.parse().map_err(|e| Failure::error(format!("--key-id: {e}")))?;
                key = key.with_kid(kid);
            }
            let now = SystemClock.now();
            let lifetime: Lifetime = expiry.parse().map_err(|e| {
                Failure::error(format!("--expiry-time: {e} (a span like 12h or 90d, or never)"))
            })?;
            // The subject names a principal: held to a principal id's rules (its length, its
            // characters), as the broker that reads it will.
            let subject: keygate::core::PrincipalId =
                subject.parse().map_err(|e| Failure::error(format!("--subject: {e}")))?;
            let mut claims = Claims::new(subject.as_str())
                .with_issued_at(now)
                .with_expires(lifetime.expiry_from(now)?.at());
            for audience in audience {
                claims = claims.with_audience(audience);
            }
            if let Some(issuer) = issuer {
                claims = claims.with_issuer(issuer);
            }
            if let Some(jti) = jti {
                claims = claims.with_jwt_id(jti);
            }
            if !permissions.is_empty() {
                claims = claims.with_permissions(permissions_from(&permissions)?);
            }
            // No `typ`, like `pulsar tokens create`: these are plain tokens, not API keys.
            let minter = Minter::new(Arc::new(key)).with_token_type(None);
            let token = minter.mint(&claims)?;
            printer.line(token.expose())
        }
        TokenCommand::Revoke { .. } => {
            Err(Failure::error("token revoke needs the store; this is a bug, please report it"))
        }
        TokenCommand::Show { input } => {
            let token = read_token(&input)?;
            let (header, claims) = peek_unverified(&token)
                .map_err(|e| Failure::error(format!("the token cannot be read: {e}")))?;
            if printer.is_json() {
                printer.json(&json!({ "verified": false, "header": header, "claims": claims }))
            } else {
                printer
                    .line("NOT VERIFIED: this is what the token says, not whether it is true.")?;
                printer.line(&format!("header: {header}"))?;
                printer.line(&format!("claims: {claims}"))
            }
        }
        TokenCommand::Validate {
            secret_key,
            public_key,
            algorithm,
            audience,
            issuer,
            allow_no_expiry,
            input,
        } => {
            let key = verification_key(
                secret_key.as_deref(),
                public_key.as_deref(),
                algorithm.as_deref(),
            )?;
            let token = read_token(&input)?;
            let mut options = VerifyOptions::default();
            if let Some(audience) = audience {
                options = options.with_audience(audience);
            }
            if let Some(issuer) = issuer {
                options = options.with_issuer(issuer);
            }
            if allow_no_expiry {
                options = options.allow_no_expiry();
            }
            let verifier = Verifier::new([Arc::new(key)])?;
            let parsed =
                UnverifiedToken::parse(&token).map_err(|e| Failure::Refused(e.to_string()))?;
            verifier.verify(&parsed, &options, SystemClock.now()).map_err(|error| match error {
                keygate::token::Error::MissingClaim(claim) if claim == "exp" => Failure::Refused(
                    "the token has no exp claim: it never expires (pass --allow-no-expiry to \
                         accept such tokens)"
                        .to_owned(),
                ),
                error => Failure::Refused(error.to_string()),
            })?;
            // Verified: what the token says can now be shown as its claims.
            let (_, claims) = peek_unverified(&token)?;
            printer.json(&claims)
        }
    }
}

/// `keygate token revoke`: a token revoked until its expiry, by `jti` or else by digest. A
/// keygate JWT API key is revoked as its key, so its record says so too.
pub(crate) async fn revoke(
    input: &TokenInput,
    reason: Option<String>,
    plane: &Plane,
    printer: Printer,
) -> Result<(), Failure> {
    let token = read_token(input)?;
    let mut body = json!({ "token": token.as_str() });
    if let Some(reason) = reason {
        reason.parse::<Description>().map_err(|e| Failure::error(format!("--reason: {e}")))?;
        body["reason"] = json!(reason);
    }
    let revoked: serde_json::Value =
        plane.send("POST", "/v1/tokens/revoke", &body).await.map_err(|failure| {
            match failure.message().strip_prefix("token is not") {
                Some(_) => Failure::error("the token cannot be read: it is not a JWT"),
                None => failure,
            }
        })?;
    let text = |name: &str| revoked[name].as_str().unwrap_or_default().to_owned();
    if printer.is_json() {
        return printer.json(&json!({
            "revoked": { "by": text("by"), "id": text("id"), "expires": revoked["expires"] }
        }));
    }
    let until = match revoked["expires"].as_str() {
        Some(at) => format!("until it expires at {at}"),
        None => "for good (it never expires)".to_owned(),
    };
    printer.line(&format!(
        "Revoked the token by {} {}, {until}: every broker refuses it from its next sync.",
        text("by"),
        text("id")
    ))
}

/// Parses `--permission` values.
pub(crate) fn permissions_from(names: &[String]) -> Result<Permissions, Failure> {
    let permissions = names
        .iter()
        .map(|name| {
            name.parse::<Permission>()
                .map_err(|e| Failure::error(format!("--permission {name}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let permissions = Permissions::only(permissions);
    // A typo would make every check of the token look refused; say so instead.
    let profile = keygate::Profile::default();
    if let Some(unknown) = profile.unknown_permission(&permissions) {
        return Err(Failure::error(format!(
            "--permission: unknown permission {unknown}; known: {}",
            profile.known_permissions()
        )));
    }
    Ok(permissions)
}

/// The token from the command line, a file, or standard input, without surrounding whitespace.
fn read_token(input: &TokenInput) -> Result<Zeroizing<String>, Failure> {
    let text = match (&input.token, &input.file, input.stdin) {
        (Some(token), _, _) => Zeroizing::new(token.clone()),
        (None, Some(path), _) => {
            let bytes = std::fs::File::open(path)
                .and_then(KeyValue::read_capped)
                .map_err(|e| Failure::io(path.display(), e))?;
            text_of(&bytes, &path.display())?
        }
        (None, None, true) => read_stdin()?,
        (None, None, false) => {
            return Err(Failure::error(
                "give the token, -f FILE, or -i to read it from standard input",
            ));
        }
    };
    Ok(Zeroizing::new(text.trim().to_owned()))
}

/// Standard input, whole.
pub(crate) fn read_stdin() -> Result<Zeroizing<String>, Failure> {
    let bytes =
        KeyValue::read_capped(std::io::stdin()).map_err(|e| Failure::io("standard input", e))?;
    text_of(&bytes, &"standard input")
}

/// `bytes` as text, or an error naming `what` they came from.
fn text_of(bytes: &[u8], what: &dyn std::fmt::Display) -> Result<Zeroizing<String>, Failure> {
    std::str::from_utf8(bytes)
        .map(|text| Zeroizing::new(text.to_owned()))
        .map_err(|_| Failure::error(format!("{what}: not UTF-8 text")))
}
