//! keygate's own verification hot path: a narrow compact-JWS check over ring.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use keygate_core::{SigningAlgorithm, SigningKeyId, Span, Timestamp};

use crate::cache::{SignatureCache, Verified};
use crate::token::{SegmentBuffer, decode_segment_into};
use crate::{Claims, Error, UnverifiedToken, VerificationKey, json};

/// How many cached asymmetric signatures a [`Verifier`] keeps by default.
pub const DEFAULT_CACHE_SLOTS: usize = 4096;

/// The checks a verification applies besides the signature.
///
/// The defaults are the closed choices: an `exp` is required, `nbf` and `iat` are checked with a
/// 30-second leeway, a token that names an audience is refused unless an audience is
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
            leeway: Span::seconds(30),
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
/// Verification is one pass: signature on ring with the key loaded once, then one parse of the
/// claims into borrowed data, then the checks of [`VerifyOptions`]. Asymmetric signatures are
/// remembered in a bounded cache (see [`Verifier::with_cache_slots`]); a hit still re-checks
/// every claim against `now`. [`Verifier::verify_str_with`] looks a token up there by its text,
/// before anything of it is parsed: the path for a client that reconnects with the same token.
///
/// A `Verifier` is immutable, `Send + Sync`, and meant to be shared; build a new one when the keys
/// change.
pub struct Verifier {
    by_kid: HashMap<SigningKeyId, Arc<VerificationKey>>,
    without_kid: Option<Arc<VerificationKey>>,
    keys: Vec<Arc<VerificationKey>>,
    cache: Option<SignatureCache>,
}

/// A token whose signature verified and whose claims passed every check, at the instant given.
///
/// Only a [`Verifier`] makes one. It borrows the verifier's key, and its claims borrow from the
/// decoded token or the verifier's cache for the duration of [`Verifier::verify_with`].
pub struct VerifiedToken<'a> {
    key: &'a VerificationKey,
    claims: ClaimsRef<'a>,
}

// Lives on the stack for the duration of one verification; boxing the owned claims would add an
// allocation to `verify` and save nothing on the borrowed hot path.
#[allow(clippy::large_enum_variant)]
enum ClaimsRef<'a> {
    Owned(Claims<'a>),
    Borrowed(&'a Claims<'a>),
}

impl<'a> VerifiedToken<'a> {
    /// The verified claims.
    pub fn claims(&self) -> &Claims<'a> {
        match &self.claims {
            ClaimsRef::Owned(claims) => claims,
            ClaimsRef::Borrowed(claims) => claims,
        }
    }

    /// The claims, owned.
    pub fn into_claims(self) -> Claims<'static> {
        match self.claims {
            ClaimsRef::Owned(claims) => claims.into_owned(),
            ClaimsRef::Borrowed(claims) => claims.clone().into_owned(),
        }
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
    /// A verifier over `keys`. Two keys with the same `kid`, or more than one key without a
    /// `kid`, are refused: either would make the choice of key ambiguous.
    pub fn new(keys: impl IntoIterator<Item = Arc<VerificationKey>>) -> Result<Verifier, Error> {
        let keys: Vec<Arc<VerificationKey>> = keys.into_iter().collect();
        let mut by_kid = HashMap::with_capacity(keys.len());
        let mut without_kid = None;
        for key in &keys {
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
                None => without_kid = Some(Arc::clone(key)),
            }
        }
        if keys.len() == 1 {
            without_kid = keys.first().cloned();
        }
        let asymmetric = keys.iter().any(|key| !key.is_symmetric());
        let cache = asymmetric.then(|| SignatureCache::new(DEFAULT_CACHE_SLOTS));
        Ok(Verifier { by_kid, without_kid, keys, cache })
    }

    /// Sets how many verified asymmetric signatures are cached; 0 turns the cache off.
    pub fn with_cache_slots(mut self, slots: usize) -> Verifier {
        let asymmetric = self.keys.iter().any(|key| !key.is_symmetric());
        self.cache = (slots > 0 && asymmetric).then(|| SignatureCache::new(slots));
        self
    }

    /// The configured keys.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<VerificationKey>> {
        self.keys.iter()
    }

    /// Verifies `token` at `now`, and returns it with its claims owned.
    pub fn verify<'v>(
        &'v self,
        token: &UnverifiedToken<'_>,
        options: &VerifyOptions,
        now: Timestamp,
    ) -> Result<VerifiedToken<'v>, Error> {
        self.verify_raw(token, options, now, |key, claims| VerifiedToken {
            key,
            claims: ClaimsRef::Owned(claims.clone().into_owned()),
        })
    }

    /// Verifies `token` at `now` and hands the verified token to `inspect` without copying its
    /// claims out of the decoded token or the cache: the allocation-light form the facade uses.
    pub fn verify_with<R>(
        &self,
        token: &UnverifiedToken<'_>,
        options: &VerifyOptions,
        now: Timestamp,
        inspect: impl FnOnce(&VerifiedToken<'_>) -> R,
    ) -> Result<R, Error> {
        self.verify_raw(token, options, now, |key, claims| {
            inspect(&VerifiedToken { key, claims: ClaimsRef::Borrowed(claims) })
        })
    }

    /// Verifies the token `text` at `now`, as [`UnverifiedToken::parse`] and then
    /// [`Verifier::verify_with`] would, but a token in the signature cache is recognised by its
    /// text before anything of it is decoded: a client that reconnects with the same token costs
    /// a hash, a compare and the claim checks. Tokens longer than
    /// [`DEFAULT_MAX_TOKEN_LEN`](crate::DEFAULT_MAX_TOKEN_LEN) are refused as `parse` refuses
    /// them.
    pub fn verify_str_with<R>(
        &self,
        text: &str,
        options: &VerifyOptions,
        now: Timestamp,
        inspect: impl FnOnce(&VerifiedToken<'_>) -> R,
    ) -> Result<R, Error> {
        if text.len() <= crate::DEFAULT_MAX_TOKEN_LEN
            && let Some(hit) = self.cache.as_ref().and_then(|cache| cache.get(text))
            && let Some(verified) = hit.verified()
            && verified.read_with(&options.subject_claim)
            && let Some(key) = self.keys.get(verified.key)
        {
            check_type(verified.token_type.as_deref(), options)?;
            check_claims(&verified.claims, options, now)?;
            let claims = ClaimsRef::Borrowed(&verified.claims);
            return Ok(inspect(&VerifiedToken { key, claims }));
        }
        let token = UnverifiedToken::parse(text)?;
        self.verify_with(&token, options, now, inspect)
    }

    fn verify_raw<'v, R>(
        &'v self,
        token: &UnverifiedToken<'_>,
        options: &VerifyOptions,
        now: Timestamp,
        finish: impl FnOnce(&'v VerificationKey, &Claims<'_>) -> R,
    ) -> Result<R, Error> {
        let key = self.select_key(token)?;
        if token.algorithm() != key.algorithm() {
            return Err(Error::AlgorithmMismatch {
                expected: key.algorithm(),
                presented: token.algorithm(),
            });
        }
        check_header(token, options)?;

        let cache = if key.is_symmetric() { None } else { self.cache.as_ref() };
        if let Some(hit) = cache.and_then(|cache| cache.get(token.as_str()))
            && let Some(verified) = hit.verified()
            && verified.read_with(&options.subject_claim)
        {
            check_claims(&verified.claims, options, now)?;
            return Ok(finish(key, &verified.claims));
        }

        // The largest signature is RSA-8192's 1024 bytes; anything longer cannot verify.
        if token.signature().len() > 1368 {
            return Err(Error::InvalidSignature);
        }
        let mut signature = SegmentBuffer::<132>::new();
        let signature = decode_segment_into(
            token.signature(),
            signature.get(token.signature().len()),
            Error::Malformed("the signature is not unpadded base64url"),
        )?;
        key.verify_signature(token.signing_input().as_bytes(), signature)?;

        let mut payload = SegmentBuffer::<1024>::new();
        let payload = decode_segment_into(
            token.payload(),
            payload.get(token.payload().len()),
            Error::Malformed("the payload is not unpadded base64url"),
        )?;
        let claims = json::parse_claims(payload, &options.subject_claim)?;
        if let Some(cache) = cache
            && let Some(index) = self.keys.iter().position(|k| std::ptr::eq(k.as_ref(), key))
        {
            let token_type = token.token_type().map(Box::from);
            let verified = Verified {
                claims: claims.clone().into_owned(),
                subject_claim: Box::from(&*options.subject_claim),
                key: index,
                token_type,
            };
            cache.insert(token.as_str(), verified);
        }
        check_claims(&claims, options, now)?;
        Ok(finish(key, &claims))
    }

    fn select_key(&self, token: &UnverifiedToken<'_>) -> Result<&VerificationKey, Error> {
        match token.kid() {
            Some(kid) => {
                self.by_kid.get(kid.as_str()).map(AsRef::as_ref).ok_or(Error::UnknownKeyId)
            }
            None => self.without_kid.as_deref().ok_or(Error::MissingKeyId),
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

fn check_header(token: &UnverifiedToken<'_>, options: &VerifyOptions) -> Result<(), Error> {
    check_type(token.token_type(), options)
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
    match claims.expires {
        // Valid while now < exp + leeway.
        Some(at) if now.saturating_sub(leeway) >= at => return Err(Error::Expired { at, now }),
        None if options.require_expiry => return Err(Error::MissingClaim(Cow::Borrowed("exp"))),
        _ => {}
    }
    if let Some(at) = claims.not_before
        && now.saturating_add(leeway) < at
    {
        return Err(Error::NotYetValid { at, now });
    }
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
    if options.require_subject && claims.subject.is_none() {
        return Err(Error::MissingClaim(Cow::Owned(options.subject_claim.to_string())));
    }
    Ok(())
}
