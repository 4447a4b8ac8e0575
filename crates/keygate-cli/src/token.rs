//! `keygate token`: tokens signed with the operator's own keys, as `pulsar tokens` makes them.

use std::io::Read;
use std::sync::Arc;

use keygate::core::{Clock, Lifetime, Permission, Permissions, SigningKeyId, SystemClock};
use keygate::token::dangerous::peek_unverified;
use keygate::token::{Claims, Minter, UnverifiedToken, Verifier, VerifyOptions};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{TokenCommand, TokenInput};
use crate::error::Failure;
use crate::keys::{signing_key, verification_key};
use crate::output::Printer;

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
            let mut claims = Claims::new(subject)
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

/// Parses `--permission` values.
pub(crate) fn permissions_from(names: &[String]) -> Result<Permissions, Failure> {
    let permissions = names
        .iter()
        .map(|name| {
            name.parse::<Permission>()
                .map_err(|e| Failure::error(format!("--permission {name}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Permissions::only(permissions))
}

/// The token from the command line, a file, or standard input, without surrounding whitespace.
fn read_token(input: &TokenInput) -> Result<Zeroizing<String>, Failure> {
    let text = match (&input.token, &input.file, input.stdin) {
        (Some(token), _, _) => Zeroizing::new(token.clone()),
        (None, Some(path), _) => Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| Failure::io(path.display(), e))?,
        ),
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
    let mut text = Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut text).map_err(|e| Failure::io("standard input", e))?;
    Ok(text)
}
