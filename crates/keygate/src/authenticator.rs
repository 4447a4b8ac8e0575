//! The data plane: checks a credential in memory, with no I/O and no locks on the read path.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use keygate_core::{Expiry, KeyFormat, KeyRecord, KeyState, PrincipalId, Scope, Span, Timestamp};
use keygate_revocation::{CredentialFacts, Freshness, Reason};
use keygate_token::{
    API_KEY_TOKEN_TYPE, ApiKey, SecretHasher, UnverifiedToken, VerifiedToken, Verifier,
    VerifyOptions, token_digest,
};

use crate::state::{AuthState, session_deadline};
use crate::{AuthContext, AuthError, Credential, CredentialId, Identity};

/// How an [`Authenticator`] checks credentials.
///
/// The defaults are the closed choices: state older than 60 seconds (or never synced) refuses
/// every credential as "revocation status unknown"; JWT time claims get 30 seconds of leeway;
/// sessions last until their credential expires.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthConfig {
    /// How stale the state may be; `None` only through [`AuthConfig::accept_stale_state`].
    pub max_staleness: Option<Span>,
    /// Clock-skew leeway for JWT `exp`, `nbf` and `iat`.
    pub leeway: Span,
    /// A cap on session lifetimes (KIP-368 re-authentication, Pulsar auth refresh).
    pub max_session: Option<Span>,
    /// Required `iss` of keygate JWT API keys, if the minter sets one.
    pub issuer: Option<String>,
    /// Digests opaque secrets: must match the key manager's.
    pub hasher: Arc<SecretHasher>,
    /// Tokens from another issuer this authenticator also trusts.
    pub external: Option<ExternalTokens>,
}

/// Tokens minted outside keygate that an authenticator accepts too, as a Pulsar broker accepts
/// tokens signed with its `tokenSecretKey` or `tokenPublicKey`. They have no key record: the
/// signature, the claims and the revocation list decide. A token naming an audience must name
/// the resource it is presented to; one carrying keygate's scope claim must be scoped there.
#[derive(Clone, Debug)]
pub struct ExternalTokens {
    verifier: Arc<Verifier>,
    options: VerifyOptions,
}

impl ExternalTokens {
    /// Trusts tokens `verifier` verifies, checked with `options` (whose audience check is
    /// replaced by "absent, or the resource presented to").
    pub fn new(verifier: Verifier, options: VerifyOptions) -> ExternalTokens {
        ExternalTokens { verifier: Arc::new(verifier), options: options.without_audience_check() }
    }
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            max_staleness: Some(Span::seconds(60)),
            leeway: Span::seconds(30),
            max_session: None,
            issuer: None,
            hasher: Arc::new(SecretHasher::sha256()),
            external: None,
        }
    }
}

impl AuthConfig {
    /// Refuses every credential once the state is more than `max` out of date.
    pub fn with_max_staleness(mut self, max: Span) -> AuthConfig {
        self.max_staleness = Some(max);
        self
    }

    /// Keeps answering from stale state however old it is: revocations made since the last
    /// sync go unnoticed. An explicit, named choice.
    pub fn accept_stale_state(mut self) -> AuthConfig {
        self.max_staleness = None;
        self
    }

    /// Sets the JWT leeway.
    pub fn with_leeway(mut self, leeway: Span) -> AuthConfig {
        self.leeway = leeway;
        self
    }

    /// Caps session lifetimes.
    pub fn with_max_session(mut self, max: Span) -> AuthConfig {
        self.max_session = Some(max);
        self
    }

    /// Requires keygate JWT API keys to carry this `iss`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> AuthConfig {
        self.issuer = Some(issuer.into());
        self
    }

    /// Uses `hasher` for opaque secrets (a peppered one, if the manager uses one).
    pub fn with_hasher(mut self, hasher: Arc<SecretHasher>) -> AuthConfig {
        self.hasher = hasher;
        self
    }

    /// Trusts tokens from another issuer too.
    pub fn with_external_tokens(mut self, external: ExternalTokens) -> AuthConfig {
        self.external = Some(external);
        self
    }

    fn freshness(&self) -> Freshness {
        self.max_staleness.map_or_else(Freshness::accept_stale, Freshness::within)
    }

    fn api_key_options(&self) -> VerifyOptions {
        let options = VerifyOptions::default()
            .with_leeway(self.leeway)
            .with_token_type(API_KEY_TOKEN_TYPE)
            // The key record is the authority: it may never expire, and its scope (not `aud`)
            // decides where it is valid.
            .allow_no_expiry()
            .without_audience_check();
        match &self.issuer {
            Some(issuer) => options.with_issuer(issuer.clone()),
            None => options,
        }
    }
}

/// Checks credentials presented to a broker or gateway: synchronous, no I/O, shareable across
/// threads, and cheap to clone (clones share state).
///
/// It reads an immutable snapshot of keys, signing keys and revocations that a
/// [`Replica`](crate::Replica) keeps current; a check loads it with one atomic read and never
/// waits for a sync. Checks run cheapest first: the credential's format and checksum, the key,
/// the secret (in constant time) or the signature, the key's state, revocation, not-before and
/// expiry, the scope against the resource, and the permission.
///
/// An authenticator that has never synced, or whose state is older than
/// [`AuthConfig::max_staleness`], refuses everything with [`AuthError::StatusUnknown`].
#[derive(Clone)]
pub struct Authenticator {
    shared: Arc<Shared>,
}

struct Shared {
    state: ArcSwap<AuthState>,
    config: AuthConfig,
    freshness: Freshness,
    api_key_options: VerifyOptions,
}

impl Authenticator {
    /// An authenticator with no state yet; give it to a [`Replica`](crate::Replica).
    pub fn new(config: AuthConfig) -> Authenticator {
        Authenticator {
            shared: Arc::new(Shared {
                state: ArcSwap::from_pointee(AuthState::empty()),
                freshness: config.freshness(),
                api_key_options: config.api_key_options(),
                config,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.shared.config
    }

    /// The store position the state reflects, and when it was last synced.
    pub fn version(&self) -> (keygate_store::Seq, Option<Timestamp>) {
        let state = self.shared.state.load();
        (state.version, state.revocations.synced_at())
    }

    /// How many keys the state holds.
    pub fn key_count(&self) -> usize {
        self.shared.state.load().keys.len()
    }

    /// Checks `credential` in `context`, returning who it speaks for.
    pub fn authenticate(
        &self,
        credential: &Credential<'_>,
        context: &AuthContext<'_>,
    ) -> Result<Identity, AuthError> {
        let state = self.shared.state.load();
        match *credential {
            Credential::ApiKey(text) => {
                let presented =
                    ApiKey::parse(text).map_err(|e| AuthError::Malformed(e.to_string()))?;
                self.fresh(&state, context.now)?;
                self.opaque(&state, &presented, context)
            }
            Credential::KeyAndSecret { key_id, secret } => {
                let presented = ApiKey::from_pair(key_id, secret)
                    .map_err(|e| AuthError::Malformed(e.to_string()))?;
                self.fresh(&state, context.now)?;
                self.opaque(&state, &presented, context)
            }
            Credential::Bearer(token) => self.bearer(&state, token, context),
        }
    }

    /// State that is stale (or was never synced) cannot say which keys exist or are revoked, so
    /// it answers nothing: checked right after the credential's format, before any lookup.
    fn fresh(&self, state: &AuthState, now: Timestamp) -> Result<(), AuthError> {
        revocation(state, &CredentialFacts::new(), &self.shared.freshness, now)
    }

    /// Re-checks the credential behind an open session at `now`, without the secret: is its key
    /// still there, active and unrevoked, and when must the session end? Returns the (possibly
    /// earlier) deadline. Scope and permissions are not re-checked: they cannot change for a key.
    pub fn recheck(&self, identity: &Identity, now: Timestamp) -> Result<Expiry, AuthError> {
        let state = self.shared.state.load();
        let kid = identity.kid.as_ref().map(|kid| kid.as_str());
        match &identity.credential {
            CredentialId::ApiKey(id) => {
                let record = state.keys.get(id).ok_or(AuthError::UnknownKey(*id))?;
                let mut facts = key_facts(record, identity.issued_at);
                facts.kid = kid;
                self.check_key_state(&state, record, &facts, now)?;
                Ok(session_deadline(record.expires(), now, None).min(identity.session_deadline))
            }
            CredentialId::Token { jti, digest } => {
                let mut facts = CredentialFacts::new()
                    .with_principal(identity.principal.as_str())
                    .with_token_digest(digest);
                if let Some(jti) = jti {
                    facts = facts.with_jti(jti);
                }
                facts.kid = kid;
                facts.issued_at = identity.issued_at;
                revocation(&state, &facts, &self.shared.freshness, now)?;
                if let Expiry::At(at) = identity.expires
                    && now >= at
                {
                    return Err(AuthError::Expired { at, now });
                }
                Ok(identity.session_deadline)
            }
        }
    }

    pub(crate) fn load(&self) -> Arc<AuthState> {
        self.shared.state.load_full()
    }

    pub(crate) fn publish(&self, state: AuthState) {
        self.shared.state.store(Arc::new(state));
    }

    fn opaque(
        &self,
        state: &AuthState,
        presented: &ApiKey,
        context: &AuthContext<'_>,
    ) -> Result<Identity, AuthError> {
        let id = presented.key_id();
        // Computed before the lookup, so an unknown key costs what a wrong secret costs.
        let digest = self.shared.config.hasher.digest(presented);
        let record = state
            .keys
            .get(&id)
            .filter(|record| record.format() == KeyFormat::Opaque)
            .ok_or(AuthError::UnknownKey(id))?;
        let stored = record.secret_digest().ok_or(AuthError::UnknownKey(id))?;
        self.shared.config.hasher.matches(&digest, stored).map_err(|_| AuthError::BadSecret(id))?;
        let facts = key_facts(record, None);
        self.check_key(state, record, &facts, context, None)
    }

    fn bearer(
        &self,
        state: &AuthState,
        text: &str,
        context: &AuthContext<'_>,
    ) -> Result<Identity, AuthError> {
        let token = UnverifiedToken::parse(text).map_err(token_error)?;
        self.fresh(state, context.now)?;
        let typed_as_api_key =
            token.token_type().is_some_and(|typ| typ.eq_ignore_ascii_case(API_KEY_TOKEN_TYPE));
        if typed_as_api_key {
            return self.api_key_token(state, &token, context);
        }
        match &self.shared.config.external {
            Some(external) => self.external_token(state, &token, external, context),
            None => Err(AuthError::BadToken(
                "the token is not a keygate API key, and no other issuer is trusted here".into(),
            )),
        }
    }

    fn api_key_token(
        &self,
        state: &AuthState,
        token: &UnverifiedToken<'_>,
        context: &AuthContext<'_>,
    ) -> Result<Identity, AuthError> {
        let verifier = state.verifier.as_ref().ok_or(AuthError::UnknownSigningKey)?;
        let verified = verifier.verify_with(
            token,
            &self.shared.api_key_options,
            context.now,
            |verified: &VerifiedToken<'_>| {
                let claims = verified.claims();
                let id = claims.key_id().ok_or_else(|| {
                    AuthError::BadToken("the token's jti is not a keygate key id".into())
                })?;
                let record = state
                    .keys
                    .get(&id)
                    .filter(|record| record.format() == KeyFormat::Jwt)
                    .ok_or(AuthError::UnknownKey(id))?;
                if claims.subject() != Some(record.owner().as_str()) {
                    return Err(AuthError::BadToken(
                        "the token's subject is not its key's owner".into(),
                    ));
                }
                let digest =
                    state.revocations.has_token_digests().then(|| token_digest(token.as_str()));
                let mut facts = key_facts(record, claims.issued_at);
                facts.kid = verified.kid().map(|kid| kid.as_str());
                facts.token_digest = digest.as_ref();
                self.check_key(state, record, &facts, context, verified.kid().cloned())
            },
        );
        verified.map_err(token_error)?
    }

    fn external_token(
        &self,
        state: &AuthState,
        token: &UnverifiedToken<'_>,
        external: &ExternalTokens,
        context: &AuthContext<'_>,
    ) -> Result<Identity, AuthError> {
        let now = context.now;
        let verified = external.verifier.verify_with(
            token,
            &external.options,
            now,
            |verified: &VerifiedToken<'_>| {
                let claims = verified.claims();
                if claims.audience.is_present()
                    && !claims.audience.contains(context.resource.as_str())
                {
                    return Err(AuthError::BadToken(
                        "the token's audience is not this resource".into(),
                    ));
                }
                let principal: PrincipalId = claims
                    .subject()
                    .ok_or_else(|| AuthError::BadToken("the token names no principal".into()))?
                    .parse()
                    .map_err(|_| {
                        AuthError::BadToken(
                            "the token's principal is not a valid principal id".into(),
                        )
                    })?;
                let digest = token_digest(token.as_str());
                let mut facts = CredentialFacts::new()
                    .with_principal(principal.as_str())
                    .with_token_digest(&digest);
                if let Some(jti) = claims.jwt_id() {
                    facts = facts.with_jti(jti);
                }
                facts.issued_at = claims.issued_at;
                facts.kid = verified.kid().map(|kid| kid.as_str());
                revocation(state, &facts, &self.shared.freshness, now)?;
                let scope = claims
                    .scope()
                    .cloned()
                    .unwrap_or_else(|| Scope::Resource(context.resource.clone()));
                if !scope.admits(context.resource) {
                    return Err(AuthError::WrongResource {
                        scope,
                        presented: context.resource.clone(),
                    });
                }
                let permissions = claims.permissions().clone();
                if let Some(permission) = context.permission
                    && !permissions.permits(permission)
                {
                    return Err(AuthError::PermissionDenied { permission: permission.clone() });
                }
                let expires = claims.expires.map_or(Expiry::Never, Expiry::At);
                Ok(Identity {
                    principal,
                    credential: CredentialId::Token {
                        jti: claims.jwt_id().map(str::to_owned),
                        digest,
                    },
                    scope,
                    permissions,
                    expires,
                    session_deadline: session_deadline(
                        expires,
                        now,
                        self.shared.config.max_session,
                    ),
                    issued_at: claims.issued_at,
                    kid: verified.kid().cloned(),
                })
            },
        );
        verified.map_err(token_error)?
    }

    /// The checks after the secret or signature: state, revocation, validity window, scope and
    /// permission. Builds the identity.
    fn check_key(
        &self,
        state: &AuthState,
        record: &KeyRecord,
        facts: &CredentialFacts<'_>,
        context: &AuthContext<'_>,
        kid: Option<keygate_core::SigningKeyId>,
    ) -> Result<Identity, AuthError> {
        let now = context.now;
        self.check_key_state(state, record, facts, now)?;
        if !record.scope().admits(context.resource) {
            return Err(AuthError::WrongResource {
                scope: record.scope().clone(),
                presented: context.resource.clone(),
            });
        }
        if let Some(permission) = context.permission
            && !record.permissions().permits(permission)
        {
            return Err(AuthError::PermissionDenied { permission: permission.clone() });
        }
        Ok(Identity {
            principal: record.owner().clone(),
            credential: CredentialId::ApiKey(record.id()),
            scope: record.scope().clone(),
            permissions: record.permissions().clone(),
            expires: record.expires(),
            session_deadline: session_deadline(
                record.expires(),
                now,
                self.shared.config.max_session,
            ),
            issued_at: facts.issued_at,
            kid,
        })
    }

    fn check_key_state(
        &self,
        state: &AuthState,
        record: &KeyRecord,
        facts: &CredentialFacts<'_>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        match record.state() {
            KeyState::Suspended { .. } => return Err(AuthError::Suspended(record.id())),
            KeyState::Revoked { .. } => return Err(AuthError::Revoked(Reason::Key(record.id()))),
            _ => {}
        }
        revocation(state, facts, &self.shared.freshness, now)?;
        match crate::error::expired_or_pending(record.expires(), record.not_before(), now) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.load();
        f.debug_struct("Authenticator")
            .field("version", &state.version)
            .field("keys", &state.keys.len())
            .field("revocations", &state.revocations.len())
            .field("config", &self.shared.config)
            .finish()
    }
}

/// What the revocation list is told about a key: its id, its owner and when it was issued.
fn key_facts(record: &KeyRecord, issued_at: Option<Timestamp>) -> CredentialFacts<'_> {
    let mut facts =
        CredentialFacts::new().with_key_id(record.id()).with_principal(record.owner().as_str());
    facts.issued_at = Some(issued_at.unwrap_or(record.created_at()));
    facts
}

fn revocation(
    state: &AuthState,
    facts: &CredentialFacts<'_>,
    freshness: &Freshness,
    now: Timestamp,
) -> Result<(), AuthError> {
    match state.revocations.check(facts, freshness, now) {
        Ok(_) => Ok(()),
        Err(keygate_revocation::Error::Revoked(reason)) => Err(AuthError::Revoked(reason)),
        Err(keygate_revocation::Error::StatusUnknown { synced_at, now, max }) => {
            Err(AuthError::StatusUnknown { synced_at, now, max })
        }
        Err(other) => Err(AuthError::Malformed(other.to_string())),
    }
}

fn token_error(error: keygate_token::Error) -> AuthError {
    use keygate_token::Error as E;
    match error {
        E::InvalidSignature | E::AlgorithmMismatch { .. } => AuthError::InvalidSignature,
        E::UnknownKeyId | E::MissingKeyId => AuthError::UnknownSigningKey,
        E::Expired { at, now } => AuthError::Expired { at, now },
        E::NotYetValid { at, now } => AuthError::NotYetValid { at, now },
        E::TooLarge { .. }
        | E::Malformed(_)
        | E::AlgorithmNone
        | E::UnsupportedAlgorithm
        | E::UnsupportedHeader(_) => AuthError::Malformed(error.to_string()),
        other => AuthError::BadToken(other.to_string()),
    }
}
