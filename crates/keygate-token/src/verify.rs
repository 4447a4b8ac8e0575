//! keygate's own verification hot path: a narrow compact-JWS check over ring.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use keygate_core::{
    DEFAULT_LEEWAY, Expiry, SigningAlgorithm, SigningKeyId, Span, Timestamp, Validity,
};

use crate::cache::{Cached, SignatureCache, Verified};
use crate::jose::{self, SegmentBuffer};
use crate::{
    Claims, DEFAULT_MAX_TOKEN_LEN, Error, Malformed, UnverifiedToken, VerificationKey, json,
};

/// How many verified tokens a [`Verifier`] remembers by default.
pub const DEFAULT_CACHE_SLOTS: usize = 4096;

/// The checks a verification applies besides the signature.
///
/// The defaults are the closed choices: an `exp` is required, `nbf` and `iat` are checked with
/// [`DEFAULT_LEEWAY`] (30 seconds), a token that names an audience is refused unless an audience is
/// configured, and the subject claim (`sub`) must be present. Each opening is a named method.
///
/// ```
/// use keygate_core::Span;
/// use keygate_token::VerifyOptions;
///
/// // What a Pulsar broker checks: tokens may never expire, the role is in `sub`, and a token
/// // that names an audience must name this tenant.
/// let pulsar = VerifyOptions::default()
///     .allow_no_expiry()
///     .with_audience("pulsar-tenant/acme")
///     .with_leeway(Span::seconds(5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Span,
    /// Whether a token without `exp` is refused.
    pub require_expiry: bool,
    /// What the `aud` claim must satisfy.
    pub audience: AudienceCheck,
    /// The issuers accepted; `None` leaves `iss` unchecked.
    pub issuers: Option<Vec<String>>,
    /// The `typ` header required (compared ASCII case-insensitively); `None` leaves it unchecked.
    pub token_type: Option<String>,
    /// The claim that names the principal, like Pulsar's `tokenAuthClaim`.
    pub subject_claim: Cow<'static, str>,
    /// Whether a token without the subject claim is refused.
    pub require_subject: bool,
}

/// What the `aud` claim must satisfy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudienceCheck {
    /// A token that names an audience is refused (RFC 7519 §4.1.3: a recipient that does not
    /// identify itself with the audience must reject the token). Tokens without `aud` pass.
    RejectIfPresent,
    /// `aud` must be present and name at least one of these.
    RequireOneOf(Vec<String>),
    /// `aud` may be absent; if present it must name at least one of these. What a Pulsar broker
    /// with `tokenAudience` set does for tokens minted without an audience.
    OneOfIfPresent(Vec<String>),
    /// `aud` is not looked at: for callers that check where a token may be used by other means,
    /// as the keygate facade does with the key record's scope.
    Unchecked,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            leeway: DEFAULT_LEEWAY,
            require_expiry: true,
            audience: AudienceCheck::RejectIfPresent,
            issuers: None,
            token_type: None,
            subject_claim: Cow::Borrowed("sub"),
            require_subject: true,
        }
    }
}

impl VerifyOptions {
    /// Sets the clock-skew leeway.
    pub fn with_leeway(mut self, leeway: Span) -> VerifyOptions {
        self.leeway = leeway;
        self
    }

    /// Accepts tokens without `exp`, which never expire (Pulsar's default tokens).
    pub fn allow_no_expiry(mut self) -> VerifyOptions {
        self.require_expiry = false;
        self
    }

    /// Requires `aud` to name `audience` (or one of the audiences added before).
    pub fn with_audience(mut self, audience: impl Into<String>) -> VerifyOptions {
        match &mut self.audience {
            AudienceCheck::RequireOneOf(accepted) => accepted.push(audience.into()),
            other => *other = AudienceCheck::RequireOneOf(vec![audience.into()]),
        }
        self
    }

    /// Accepts tokens without `aud`, and requires one that has it to name `audience`; see
    /// [`AudienceCheck::OneOfIfPresent`].
    pub fn with_audience_if_present(mut self, audience: impl Into<String>) -> VerifyOptions {
        match &mut self.audience {
            AudienceCheck::OneOfIfPresent(accepted) => accepted.push(audience.into()),
            other => *other = AudienceCheck::OneOfIfPresent(vec![audience.into()]),
        }
        self
    }

    /// Leaves `aud` unchecked; see [`AudienceCheck::Unchecked`].
    pub fn without_audience_check(mut self) -> VerifyOptions {
        self.audience = AudienceCheck::Unchecked;
        self
    }

    /// Requires `iss` to be `issuer` (or one of the issuers added before).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> VerifyOptions {
        self.issuers.get_or_insert_with(Vec::new).push(issuer.into());
        self
    }

    /// Requires the `typ` header.
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> VerifyOptions {
        self.token_type = Some(token_type.into());
        self
    }

    /// Reads the principal from `claim` instead of `sub`.
    pub fn with_subject_claim(mut self, claim: impl Into<Cow<'static, str>>) -> VerifyOptions {
        self.subject_claim = claim.into();
        self
    }

    /// Accepts tokens without the subject claim.
    pub fn allow_no_subject(mut self) -> VerifyOptions {
        self.require_subject = false;
        self
    }
}

/// Verifies compact JWS tokens against a fixed set of keys.
///
/// The key is chosen by the token's `kid`; a token without one is verified with the only
/// configured key, or with the one key configured without a `kid`. The header's `alg` must be
/// the algorithm that key is bound to, checked before any cryptography runs. An unknown `kid`
/// fails; `none` never gets this far.
///
/// [`Verifier::verify_str`] is the one call a server makes per token: the token's text in, a
/// [`VerifiedToken`] out. A token this verifier has verified before is recognised by its text
/// in a bounded cache (every algorithm, HMAC included), before any of it is parsed; otherwise
/// the header is read, the signature checked on ring with the key loaded once, the claims
/// decoded once into the caller's [`ClaimsBuffer`] and borrowed from it (only keygate's scope
/// and permission claims are copied out, into their model types), and the verified token
/// remembered. Every check of [`VerifyOptions`] (the type, the times, the audience, the issuer,
/// the subject) runs on every call, cached or not; a hit allocates nothing.
///
/// A `Verifier` is immutable, `Send + Sync`, and meant to be shared; build a new one when the keys
/// change.
pub struct Verifier {
    by_kid: HashMap<SigningKeyId, Arc<VerificationKey>>,
    without_kid: Option<(usize, Arc<VerificationKey>)>,
    keys: Vec<Arc<VerificationKey>>,
    cache: Option<SignatureCache>,
}

/// Room for a token's decoded claims, which a [`VerifiedToken`] borrows: on the caller's stack
/// rather than the heap. It is only initialised when a token is actually decoded into it; a
/// token recognised in the cache never touches it.
pub struct ClaimsBuffer(Option<SegmentBuffer<1024>>);

impl ClaimsBuffer {
    /// An empty buffer.
    pub fn new() -> ClaimsBuffer {
        ClaimsBuffer(None)
    }

    fn get(&mut self, encoded_len: usize) -> &mut [u8] {
        self.0.get_or_insert_with(SegmentBuffer::new).get(encoded_len)
    }
}

impl Default for ClaimsBuffer {
    fn default() -> ClaimsBuffer {
        ClaimsBuffer::new()
    }
}

impl fmt::Debug for ClaimsBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClaimsBuffer")
    }
}

/// A token whose signature verified and whose claims passed every check, at the instant given.
///
/// Only a [`Verifier`] makes one. It borrows the verifier's key, and its claims borrow from the
/// [`ClaimsBuffer`] they were decoded into or hold on to the verifier's cache entry.
pub struct VerifiedToken<'a> {
    key: &'a VerificationKey,
    claims: ClaimsRef<'a>,
}

// Lives on the stack for the duration of one verification; boxing the claims would add an
// allocation to every verification and save nothing.
#[allow(clippy::large_enum_variant)]
enum ClaimsRef<'a> {
    Parsed(Claims<'a>),
    Cached(Cached),
}

/// What a cache entry's claims read as if it were somehow empty: nothing, so every check of a
/// required claim fails.
static NO_CLAIMS: Claims<'static> = Claims {
    subject: None,
    jwt_id: None,
    issued_at: None,
    not_before: None,
    expires: None,
    issuer: None,
    audience: crate::Audience::None,
    scope: None,
    permissions: None,
};

impl<'a> VerifiedToken<'a> {
    /// The verified claims.
    pub fn claims(&self) -> &Claims<'_> {
        match &self.claims {
            ClaimsRef::Parsed(claims) => claims,
            ClaimsRef::Cached(hit) => {
                hit.verified().map_or(&NO_CLAIMS, |verified| &verified.claims)
            }
        }
    }

    /// The `jti` read as a keygate key id, as [`Claims::key_id`] reads it (remembered with a
    /// cached token, so a hit does not read it again).
    pub fn key_id(&self) -> Option<keygate_core::KeyId> {
        match &self.claims {
            ClaimsRef::Parsed(claims) => claims.key_id(),
            ClaimsRef::Cached(hit) => hit.verified().and_then(|verified| verified.key_id),
        }
    }

    /// The claims, owned.
    pub fn into_claims(self) -> Claims<'static> {
        self.claims().clone().into_owned()
    }

    /// The key that verified it.
    pub fn key(&self) -> &'a VerificationKey {
        self.key
    }

    /// The algorithm it was signed with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.key.algorithm()
    }

    /// The `kid` of the key that verified it.
    pub fn kid(&self) -> Option<&'a SigningKeyId> {
        self.key.kid()
    }
}

impl fmt::Debug for VerifiedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("key", &self.key)
            .field("claims", self.claims())
            .finish()
    }
}

impl Verifier {
    /// A verifier over `keys`, remembering up to [`DEFAULT_CACHE_SLOTS`] verified tokens. Two
    /// keys with the same `kid`, or more than one key without a `kid`, are refused: either would
    /// make the choice of key ambiguous.
    pub fn new(keys: impl IntoIterator<Item = Arc<VerificationKey>>) -> Result<Verifier, Error> {
        let keys: Vec<Arc<VerificationKey>> = keys.into_iter().collect();
        let mut by_kid = HashMap::with_capacity(keys.len());
        let mut without_kid = None;
        for (index, key) in keys.iter().enumerate() {
            match key.kid() {
                Some(kid) => {
                    if by_kid.insert(kid.clone(), Arc::clone(key)).is_some() {
                        return Err(Error::KeyRejected("two verification keys have the same kid"));
                    }
                }
                None if without_kid.is_some() => {
                    return Err(Error::KeyRejected(
                        "only one verification key may be without a kid",
                    ));
                }
                None => without_kid = Some((index, Arc::clone(key))),
            }
        }
        if let [only] = keys.as_slice() {
            without_kid = Some((0, Arc::clone(only)));
        }
        let cache = Some(SignatureCache::new(DEFAULT_CACHE_SLOTS));
        Ok(Verifier { by_kid, without_kid, keys, cache })
    }

    /// Sets how many verified tokens are remembered; 0 turns the cache off.
    pub fn with_cache_slots(mut self, slots: usize) -> Verifier {
        self.cache = (slots > 0).then(|| SignatureCache::new(slots));
        self
    }

    /// The configured keys.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<VerificationKey>> {
        self.keys.iter()
    }

    /// Verifies the token `text` at `now`: the one call a server makes per token.
    ///
    /// A token in the cache is recognised by its text, compared in constant time, before
    /// anything of it is decoded; then only the checks of `options` run. Otherwise the token is
    /// parsed ([`UnverifiedToken::parse`]'s rules, its `typ` checked first), its signature
    /// verified, its claims decoded into `buffer` and checked, and the verified token
    /// remembered. Tokens longer than [`DEFAULT_MAX_TOKEN_LEN`] are refused unread.
    pub fn verify_str<'s>(
        &'s self,
        text: &str,
        options: &VerifyOptions,
        now: Timestamp,
        buffer: &'s mut ClaimsBuffer,
    ) -> Result<VerifiedToken<'s>, Error> {
        if text.len() > DEFAULT_MAX_TOKEN_LEN {
            return Err(Error::TooLarge { len: text.len(), max: DEFAULT_MAX_TOKEN_LEN });
        }
        if let Some(hit) = self.cache.as_ref().and_then(|cache| cache.get(text)) {
            // An entry read with another subject claim names another principal: verify anew.
            let usable = hit
                .verified()
                .filter(|verified| verified.read_with(&options.subject_claim))
                .and_then(|verified| Some((self.keys.get(verified.key)?, verified)));
            if let Some((key, verified)) = usable {
                check_type(verified.token_type.as_deref(), options)?;
                check_claims(&verified.claims, options, now)?;
                return Ok(VerifiedToken { key, claims: ClaimsRef::Cached(hit) });
            }
        }
        let token = UnverifiedToken::parse(text)?;
        let (index, key, claims) = self.verify_parsed(&token, options, buffer)?;
        if let Some(cache) = &self.cache {
            let verified = Verified {
                key_id: claims.key_id(),
                claims: claims.clone().into_owned(),
                subject_claim: Box::from(&*options.subject_claim),
                key: index,
                token_type: token.token_type().map(Box::from),
            };
            cache.insert(text, verified);
        }
        check_claims(&claims, options, now)?;
        Ok(VerifiedToken { key, claims: ClaimsRef::Parsed(claims) })
    }

    /// Verifies a token already parsed, at `now`, and returns it with its claims owned: for
    /// tools that show a token's parts before verifying it. It neither reads nor fills the
    /// cache.
    pub fn verify<'v>(
        &'v self,
        token: &UnverifiedToken<'_>,
        options: &VerifyOptions,
        now: Timestamp,
    ) -> Result<VerifiedToken<'v>, Error> {
        let mut buffer = ClaimsBuffer::new();
        let (_, key, claims) = self.verify_parsed(token, options, &mut buffer)?;
        check_claims(&claims, options, now)?;
        Ok(VerifiedToken { key, claims: ClaimsRef::Parsed(claims.into_owned()) })
    }

    /// The type, the key, the algorithm, the signature and the claims' syntax: everything but
    /// the checks that depend on `now`.
    fn verify_parsed<'v, 'b>(
        &'v self,
        token: &UnverifiedToken<'_>,
        options: &VerifyOptions,
        buffer: &'b mut ClaimsBuffer,
    ) -> Result<(usize, &'v VerificationKey, Claims<'b>), Error> {
        // A token of another type is not this verifier's, whatever its key.
        check_type(token.token_type(), options)?;
        let (index, key) = self.select_key(token)?;
        if token.algorithm() != key.algorithm() {
            return Err(Error::AlgorithmMismatch {
                expected: key.algorithm(),
                presented: token.algorithm(),
            });
        }
        let segments = token.segments();
        // The largest signature is RSA-8192's 1024 bytes; anything longer cannot verify.
        if segments.signature.len() > 1368 {
            return Err(Error::InvalidSignature);
        }
        let mut signature = SegmentBuffer::<132>::new();
        let signature = jose::decode_segment_into(
            segments.signature,
            signature.get(segments.signature.len()),
            Malformed::SignatureEncoding,
        )?;
        key.verify_signature(segments.signing_input.as_bytes(), signature)?;

        let payload = jose::decode_segment_into(
            segments.payload,
            buffer.get(segments.payload.len()),
            Malformed::PayloadEncoding,
        )?;
        let claims = json::parse_claims(payload, &options.subject_claim)?;
        Ok((index, key, claims))
    }

    fn select_key(&self, token: &UnverifiedToken<'_>) -> Result<(usize, &VerificationKey), Error> {
        match token.kid() {
            Some(kid) => {
                let key = self.by_kid.get(kid).ok_or(Error::UnknownKeyId)?;
                let index = self.keys.iter().position(|k| Arc::ptr_eq(k, key)).unwrap_or(0);
                Ok((index, key))
            }
            None => self
                .without_kid
                .as_ref()
                .map(|(index, key)| (*index, key.as_ref()))
                .ok_or(Error::MissingKeyId),
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("cache_slots", &self.cache.as_ref().map_or(0, SignatureCache::capacity))
            .finish()
    }
}

fn check_type(token_type: Option<&str>, options: &VerifyOptions) -> Result<(), Error> {
    if let Some(expected) = &options.token_type {
        let matches = token_type.is_some_and(|typ| typ.eq_ignore_ascii_case(expected));
        if !matches {
            return Err(Error::WrongType { expected: expected.clone() });
        }
    }
    Ok(())
}

/// The claim checks, in order: expiry, not-before, issued-at, audience, issuer, subject.
fn check_claims(claims: &Claims<'_>, options: &VerifyOptions, now: Timestamp) -> Result<(), Error> {
    let leeway = options.leeway;
    if claims.expires.is_none() && options.require_expiry {
        return Err(Error::MissingClaim(Cow::Borrowed("exp")));
    }
    let expires = claims.expires.map_or(Expiry::Never, Expiry::At);
    Validity::new(claims.not_before, expires).check(now, leeway)?;
    if let Some(at) = claims.issued_at
        && at > now.saturating_add(leeway)
    {
        return Err(Error::IssuedInFuture { at, now });
    }
    match &options.audience {
        AudienceCheck::RejectIfPresent if claims.audience.is_present() => {
            return Err(Error::UnexpectedAudience);
        }
        AudienceCheck::RequireOneOf(accepted)
            if !accepted.iter().any(|a| claims.audience.contains(a)) =>
        {
            return Err(Error::WrongAudience { expected: accepted.join(" or ") });
        }
        AudienceCheck::OneOfIfPresent(accepted)
            if claims.audience.is_present()
                && !accepted.iter().any(|a| claims.audience.contains(a)) =>
        {
            return Err(Error::WrongAudience { expected: accepted.join(" or ") });
        }
        _ => {}
    }
    if let Some(accepted) = &options.issuers {
        match claims.issuer.as_deref() {
            None => return Err(Error::MissingClaim(Cow::Borrowed("iss"))),
            Some(issuer) if !accepted.iter().any(|a| a == issuer) => {
                return Err(Error::WrongIssuer);
            }
            Some(_) => {}
        }
    }
    match claims.subject.as_deref() {
        // No principal is named by nothing: an empty subject is refused whether or not one is
        // required.
        Some("") => return Err(Error::InvalidClaim(Cow::Owned(options.subject_claim.to_string()))),
        None if options.require_subject => {
            return Err(Error::MissingClaim(Cow::Owned(options.subject_claim.to_string())));
        }
        _ => {}
    }
    Ok(())
}
