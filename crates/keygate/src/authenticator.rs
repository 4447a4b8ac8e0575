//! The data plane: checks a credential in memory, with no I/O and no locks on the read path.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use keygate_core::{
    DEFAULT_LEEWAY, Expiry, KeyFormat, KeyId, PrincipalId, Scope, Span, Timestamp, Validity,
};
use keygate_revocation::{CredentialFacts, DEFAULT_MAX_STALENESS, Freshness, Reason};
use keygate_token::{
    API_KEY_TOKEN_TYPE, ApiKey, ClaimsBuffer, MasterKey, VerifiedToken, Verifier, VerifyOptions,
    token_digest,
};

use crate::error::TokenRejection;
use crate::identity::{Source, TokenGrant};
use crate::index::{IndexedKey, Standing};
use crate::state::{AuthState, session_deadline};
use crate::{AuthContext, AuthError, Credential, CredentialId, Identity, Profile};

/// How an [`Authenticator`] checks credentials.
///
/// The defaults are the closed choices: state older than
/// [`DEFAULT_MAX_STALENESS`] (60 seconds), or never synced, refuses every credential as
/// "revocation status unknown"; JWT time claims get [`DEFAULT_LEEWAY`] (30 seconds); sessions
/// last until their credential expires.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthConfig {
    /// How stale the state may be; `None` only through [`AuthConfig::accept_stale_state`].
    pub max_staleness: Option<Span>,
    /// Clock-skew leeway for JWT `exp`, `nbf` and `iat`.
    pub leeway: Span,
    /// A cap on session lifetimes (KIP-368 re-authentication, Pulsar auth refresh): the one
    /// place a server sets it.
    pub max_session: Option<Span>,
    /// What this authenticator shares with the key manager: the secret hasher and the issuer.
    pub profile: Profile,
    /// How many verified JWTs are remembered, so that a client presenting the same token again
    /// skips the signature and the parse; 0 turns it off.
    pub token_cache_slots: usize,
    /// Tokens from another issuer this authenticator also trusts.
    pub external: Option<ExternalTokens>,
    /// The key-encryption key that opens HMAC signing keys' sealed secrets. Only an
    /// authenticator that must accept HS-signed JWT API keys needs it; without it, those keys
    /// are left out and their tokens refused, while opaque keys and asymmetric JWT keys verify
    /// with public material alone.
    pub master_key: Option<Arc<MasterKey>>,
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
            max_staleness: Some(DEFAULT_MAX_STALENESS),
            leeway: DEFAULT_LEEWAY,
            max_session: None,
            profile: Profile::default(),
            token_cache_slots: keygate_token::DEFAULT_CACHE_SLOTS,
            external: None,
            master_key: None,
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

    /// Shares `profile` with the key manager whose keys this checks: give both the same.
    pub fn with_profile(mut self, profile: Profile) -> AuthConfig {
        self.profile = profile;
        self
    }

    /// Remembers up to `slots` verified JWTs; 0 turns the cache off.
    pub fn with_token_cache_slots(mut self, slots: usize) -> AuthConfig {
        self.token_cache_slots = slots;
        self
    }

    /// Opens HMAC signing keys' sealed secrets with `master_key`, so HS-signed JWT API keys
    /// verify here. This puts the power to mint those keys on this host: prefer asymmetric
    /// signing keys for a fleet.
    pub fn with_master_key(mut self, master_key: Arc<MasterKey>) -> AuthConfig {
        self.master_key = Some(master_key);
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
        match &self.profile.issuer {
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

/// The position an authenticator's state reflects.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateVersion {
    /// The position in the store's change feed.
    pub seq: keygate_store::Seq,
    /// When the state was last synced; `None` if never.
    pub synced_at: Option<Timestamp>,
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
    pub fn version(&self) -> StateVersion {
        let state = self.shared.state.load();
        StateVersion { seq: state.version, synced_at: state.revocations.synced_at() }
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
        // State that is stale (or was never synced) cannot say which keys exist or are revoked,
        // so it answers nothing; checked once, before any lookup.
        self.fresh(&state, context.now)?;
        match *credential {
            Credential::ApiKey(text) => {
                let presented = ApiKey::parse(text)?;
                self.opaque(&state, &presented, context)
            }
            Credential::KeyAndSecret { key_id, secret } => {
                let presented = ApiKey::from_pair(key_id, secret)?;
                self.opaque(&state, &presented, context)
            }
            Credential::Bearer(token) => self.bearer(&state, token, context),
        }
    }

    /// Whether the state is recent enough to answer at `now`: asked once per call, with no
    /// facts, so the list answers on its age alone.
    fn fresh(&self, state: &AuthState, now: Timestamp) -> Result<(), AuthError> {
        match state.revocations.check(&CredentialFacts::new(), &self.shared.freshness, now) {
            Ok(_) => Ok(()),
            Err(keygate_revocation::Error::StatusUnknown { synced_at, now, max }) => {
                Err(AuthError::StatusUnknown { synced_at, now, max })
            }
            Err(other) => Err(AuthError::Internal(other)),
        }
    }

    /// Whether the state is recent enough to answer at `now`: [`AuthError::StatusUnknown`]
    /// once it is older than [`AuthConfig::max_staleness`] (or was never synced). Every check
    /// asks this first; a server asks it for its open sessions too, which must stop being
    /// served when new ones would be refused.
    pub fn check_fresh(&self, now: Timestamp) -> Result<(), AuthError> {
        self.fresh(&self.shared.state.load(), now)
    }

    /// Re-checks the credential behind an open session at `now`, without the secret: is its key
    /// still there, active and unrevoked, and when must the session end? Returns the (possibly
    /// earlier) deadline. Scope and permissions are not re-checked: they cannot change for a key.
    pub fn recheck(&self, identity: &Identity, now: Timestamp) -> Result<Expiry, AuthError> {
        let state = self.shared.state.load();
        self.fresh(&state, now)?;
        let kid = identity.kid.as_ref().map(|kid| kid.as_str());
        match &identity.credential {
            CredentialId::ApiKey(id) => {
                let key = state.keys.get(id).ok_or(AuthError::UnknownKey(*id))?;
                let mut facts = key_facts(*id, key, identity.issued_at);
                facts.kid = kid;
                self.check_key_state(&state, *id, key, &facts, now)?;
                Ok(session_deadline(key.expires, now, None).min(identity.session_deadline))
            }
            CredentialId::Token { jti, digest } => {
                let mut facts = CredentialFacts::new()
                    .with_principal(identity.principal().as_str())
                    .with_token_digest(digest);
                if let Some(jti) = jti {
                    facts = facts.with_jti(jti);
                }
                facts.kid = kid;
                facts.issued_at = identity.issued_at;
                revocation(&state, &facts, now)?;
                Validity::new(None, identity.expires).check(now, Span::ZERO)?;
                Ok(identity.session_deadline)
            }
        }
    }

    pub(crate) fn load(&self) -> Arc<AuthState> {
        self.shared.state.load_full()
    }

    /// The keys authenticated here after `since`, each with its latest use: what a server
    /// writes back to the store's record of last use (see `keygate-tokio`). A scan of the keys
    /// held, off the hot path.
    pub fn key_uses_since(&self, since: Timestamp) -> Vec<(KeyId, Timestamp)> {
        let state = self.shared.state.load();
        state
            .keys
            .iter()
            .filter_map(|(id, key)| {
                key.last_used.get().filter(|at| *at > since).map(|at| (*id, at))
            })
            .collect()
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
        let hasher = &self.shared.config.profile.hasher;
        let digest = hasher.digest(presented);
        let key = state
            .keys
            .get(&id)
            .filter(|key| key.format == KeyFormat::Opaque)
            .ok_or(AuthError::UnknownKey(id))?;
        let stored = key.digest.as_ref().ok_or(AuthError::UnknownKey(id))?;
        hasher.matches(&digest, stored).map_err(|_| AuthError::BadSecret(id))?;
        let facts = key_facts(id, key, None);
        self.check_key(state, id, key, &facts, context, None)
    }

    /// One call into keygate-token per token: the API-key verifier first (a token of another
    /// `typ` is refused there before any cryptography), then the external issuer's, if one is
    /// trusted.
    fn bearer(
        &self,
        state: &AuthState,
        text: &str,
        context: &AuthContext<'_>,
    ) -> Result<Identity, AuthError> {
        let mut buffer = ClaimsBuffer::new();
        let options = &self.shared.api_key_options;
        match &state.verifier {
            Some(verifier) => match verifier.verify_str(text, options, context.now, &mut buffer) {
                Ok(verified) => return self.api_key_token(state, text, &verified, context),
                Err(keygate_token::Error::WrongType { .. }) => {}
                Err(error) => return Err(error.into()),
            },
            // No signing key yet: an API-key token cannot verify, whatever it says.
            None => {
                let token = keygate_token::UnverifiedToken::parse(text)?;
                if token
                    .token_type()
                    .is_some_and(|typ| typ.eq_ignore_ascii_case(API_KEY_TOKEN_TYPE))
                {
                    return Err(AuthError::UnknownSigningKey);
                }
            }
        }
        let Some(external) = &self.shared.config.external else {
            return Err(AuthError::BadToken(TokenRejection::UntrustedIssuer));
        };
        let mut buffer = ClaimsBuffer::new();
        let verified =
            external.verifier.verify_str(text, &external.options, context.now, &mut buffer)?;
        self.external_token(state, text, &verified, context)
    }

    fn api_key_token(
        &self,
        state: &AuthState,
        text: &str,
        verified: &VerifiedToken<'_>,
        context: &AuthContext<'_>,
    ) -> Result<Identity, AuthError> {
        let claims = verified.claims();
        let id = verified.key_id().ok_or(AuthError::BadToken(TokenRejection::NotAKeyId))?;
        let key = state
            .keys
            .get(&id)
            .filter(|key| key.format == KeyFormat::Jwt)
            .ok_or(AuthError::UnknownKey(id))?;
        if claims.subject() != Some(key.grant.owner.as_str()) {
            return Err(AuthError::BadToken(TokenRejection::SubjectNotOwner));
        }
        let digest = state.revocations.has_token_digests().then(|| token_digest(text));
        let mut facts = key_facts(id, key, claims.issued_at);
        facts.kid = verified.kid().map(|kid| kid.as_str());
        facts.token_digest = digest.as_ref();
        self.check_key(state, id, key, &facts, context, verified.kid().cloned())
    }

    fn external_token(
        &self,
        state: &AuthState,
        text: &str,
        verified: &VerifiedToken<'_>,
        context: &AuthContext<'_>,
    ) -> Result<Identity, AuthError> {
        let now = context.now;
        let claims = verified.claims();
        if claims.audience.is_present() && !claims.audience.contains(context.resource.as_str()) {
            return Err(AuthError::BadToken(TokenRejection::AudienceNotHere));
        }
        let principal: PrincipalId = claims
            .subject()
            .ok_or(AuthError::BadToken(TokenRejection::NoPrincipal))?
            .parse()
            .map_err(|_| AuthError::BadToken(TokenRejection::InvalidPrincipal))?;
        let digest = token_digest(text);
        let mut facts =
            CredentialFacts::new().with_principal(principal.as_str()).with_token_digest(&digest);
        if let Some(jti) = claims.jwt_id() {
            facts = facts.with_jti(jti);
        }
        facts.issued_at = claims.issued_at;
        facts.kid = verified.kid().map(|kid| kid.as_str());
        revocation(state, &facts, now)?;
        let scope =
            claims.scope().cloned().unwrap_or_else(|| Scope::Resource(context.resource.clone()));
        if !context.scope_fits(&scope) {
            return Err(AuthError::WrongResource { scope, presented: context.resource.clone() });
        }
        let permissions = claims.permissions().clone();
        if let Some(permission) = context.permission
            && !permissions.permits(permission)
        {
            return Err(AuthError::PermissionDenied { permission: permission.clone() });
        }
        let expires = claims.expires.map_or(Expiry::Never, Expiry::At);
        Ok(Identity {
            source: Source::Token(Arc::new(TokenGrant { principal, scope, permissions })),
            credential: CredentialId::Token { jti: claims.jwt_id().map(str::to_owned), digest },
            expires,
            session_deadline: session_deadline(expires, now, self.shared.config.max_session),
            issued_at: claims.issued_at,
            kid: verified.kid().cloned(),
        })
    }

    /// The checks after the secret or signature: state, revocation, validity window, scope and
    /// permission. Builds the identity, sharing the key's entry.
    fn check_key(
        &self,
        state: &AuthState,
        id: KeyId,
        key: &Arc<IndexedKey>,
        facts: &CredentialFacts<'_>,
        context: &AuthContext<'_>,
        kid: Option<keygate_core::SigningKeyId>,
    ) -> Result<Identity, AuthError> {
        let now = context.now;
        self.check_key_state(state, id, key, facts, now)?;
        if !context.scope_fits(&key.grant.scope) {
            return Err(AuthError::WrongResource {
                scope: key.grant.scope.clone(),
                presented: context.resource.clone(),
            });
        }
        if let Some(permission) = context.permission
            && !key.grant.permissions.permits(permission)
        {
            return Err(AuthError::PermissionDenied { permission: permission.clone() });
        }
        key.last_used.note(now);
        Ok(Identity {
            source: Source::Key(Arc::clone(key)),
            credential: CredentialId::ApiKey(id),
            expires: key.expires,
            session_deadline: session_deadline(key.expires, now, self.shared.config.max_session),
            issued_at: facts.issued_at,
            kid,
        })
    }

    fn check_key_state(
        &self,
        state: &AuthState,
        id: KeyId,
        key: &IndexedKey,
        facts: &CredentialFacts<'_>,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        match key.standing {
            Standing::Suspended => return Err(AuthError::Suspended(id)),
            Standing::Revoked => return Err(AuthError::Revoked(Reason::Key(id))),
            Standing::Active => {}
        }
        revocation(state, facts, now)?;
        key.validity().check(now, Span::ZERO)?;
        Ok(())
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
fn key_facts(id: KeyId, key: &IndexedKey, issued_at: Option<Timestamp>) -> CredentialFacts<'_> {
    let mut facts = CredentialFacts::new().with_key_id(id).with_principal(key.grant.owner.as_str());
    facts.issued_at = Some(issued_at.unwrap_or(key.created_at));
    facts
}

/// Whether the revocation list holds anything against `facts`. Freshness was checked once, at
/// the start of the call; the list is not asked again.
fn revocation(
    state: &AuthState,
    facts: &CredentialFacts<'_>,
    now: Timestamp,
) -> Result<(), AuthError> {
    match state.revocations.check(facts, &Freshness::accept_stale(), now) {
        Ok(_) => Ok(()),
        Err(keygate_revocation::Error::Revoked(reason)) => Err(AuthError::Revoked(reason)),
        Err(keygate_revocation::Error::StatusUnknown { synced_at, now, max }) => {
            Err(AuthError::StatusUnknown { synced_at, now, max })
        }
        Err(other) => Err(AuthError::Internal(other)),
    }
}
