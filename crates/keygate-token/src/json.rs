//! Strict JSON readers for JWT headers and claims.
//!
//! Ordinary headers and claims take [`flat`]'s fast path; everything else is read here. Both are
//! objects read in one pass with a visitor that borrows strings from the decoded bytes
//! when they contain no escapes, refuses a known member that appears twice, refuses members of
//! the wrong JSON type, and skips unknown members. A visitor reports keygate's own typed error
//! through a side channel, because serde's error type can only carry text.

use std::borrow::Cow;
use std::fmt;

use keygate_core::{Permission, Permissions, Scope, SigningAlgorithm, SigningKeyId, Timestamp};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::claims::{Audience, Claims, PERMISSIONS_CLAIM, SCOPE_CLAIM};
use crate::jose::{Header, ShortText};
use crate::{Error, Malformed, flat};

/// Parses a decoded JWT header.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    if let Some(header) = flat::header(bytes) {
        return Ok(header);
    }
    let mut problem = None;
    let seed = HeaderSeed { problem: &mut problem };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let header =
        seed.deserialize(&mut deserializer).and_then(|header| deserializer.end().map(|()| header));
    header.map_err(|_| problem.unwrap_or(Error::Malformed(Malformed::HeaderNotObject)))
}

/// Parses decoded JWT claims, reading the principal from `subject_claim`.
pub(crate) fn parse_claims<'de>(
    bytes: &'de [u8],
    subject_claim: &str,
) -> Result<Claims<'de>, Error> {
    if subject_claim == "sub"
        && let Some(claims) = flat::claims(bytes)
    {
        return Ok(claims);
    }
    let mut problem = None;
    let seed = ClaimsSeed { subject_claim, problem: &mut problem };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let claims =
        seed.deserialize(&mut deserializer).and_then(|claims| deserializer.end().map(|()| claims));
    claims.map_err(|_| problem.unwrap_or(Error::Malformed(Malformed::ClaimsNotObject)))
}

/// How deeply an unknown member may nest arrays and objects. keygate reads no nested member, so
/// this only bounds the work a hostile token can ask for.
const MAX_DEPTH: u8 = 32;

/// Skips one JSON value, refusing nesting deeper than its budget. (serde's `IgnoredAny` skips
/// without any limit.)
struct Skip(u8);

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.0.checked_sub(1).ok_or_else(|| de::Error::custom(Malformed::TooDeep))?;
        while seq.next_element_seed(Skip(inner))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.0.checked_sub(1).ok_or_else(|| de::Error::custom(Malformed::TooDeep))?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip(inner))?;
        }
        Ok(())
    }
}

/// Records `error` and returns a serde error that stops the parse.
fn fail<E: de::Error, T>(slot: &mut Option<Error>, error: Error) -> Result<T, E> {
    *slot = Some(error);
    Err(E::custom("stopped"))
}

struct HeaderSeed<'p> {
    problem: &'p mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = Header;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Header, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut alg: Option<Cow<'de, str>> = None;
        let mut kid: Option<Option<Cow<'de, str>>> = None;
        let mut typ: Option<Option<Cow<'de, str>>> = None;
        let mut seen_other_strings: u8 = 0;
        while let Some(name) = map.next_key::<Text<'de>>()? {
            match name.0.as_ref() {
                "alg" => {
                    if alg.is_some() {
                        return fail(self.problem, Error::Malformed(Malformed::TwoAlgs));
                    }
                    match map.next_value::<Option<Text<'de>>>() {
                        Ok(Some(value)) => alg = Some(value.0),
                        _ => {
                            return fail(self.problem, Error::Malformed(Malformed::AlgNotString));
                        }
                    }
                }
                "kid" | "typ" => {
                    let slot = if name.0 == "kid" { &mut kid } else { &mut typ };
                    if slot.is_some() {
                        return fail(
                            self.problem,
                            Error::Malformed(Malformed::RepeatedHeaderMember),
                        );
                    }
                    match map.next_value::<Option<Text<'de>>>() {
                        Ok(value) => *slot = Some(value.map(|text| text.0)),
                        Err(_) => {
                            return fail(
                                self.problem,
                                Error::Malformed(Malformed::HeaderMemberNotString),
                            );
                        }
                    }
                }
                // Members jsonwebtoken types as strings: keep the same rule, so both accept the
                // same headers.
                "cty" | "x5t" | "x5t#S256" | "url" | "nonce" => {
                    let bit = match name.0.as_ref() {
                        "cty" => 1,
                        "x5t" => 2,
                        "x5t#S256" => 4,
                        "url" => 8,
                        _ => 16,
                    };
                    if seen_other_strings & bit != 0 {
                        return fail(
                            self.problem,
                            Error::Malformed(Malformed::RepeatedHeaderMember),
                        );
                    }
                    seen_other_strings |= bit;
                    if map.next_value::<Option<Text<'de>>>().is_err() {
                        return fail(
                            self.problem,
                            Error::Malformed(Malformed::HeaderMemberNotString),
                        );
                    }
                }
                // Never trusted, so never accepted: keys and key locations in the header, critical
                // extensions keygate does not implement, and JWE or compression.
                refused @ ("crit" | "jku" | "jwk" | "x5u" | "x5c" | "enc" | "zip") => {
                    let refused = match refused {
                        "crit" => "crit",
                        "jku" => "jku",
                        "jwk" => "jwk",
                        "x5u" => "x5u",
                        "x5c" => "x5c",
                        "enc" => "enc",
                        _ => "zip",
                    };
                    return fail(self.problem, Error::UnsupportedHeader(refused));
                }
                _ => {
                    if map.next_value_seed(Skip(MAX_DEPTH)).is_err() {
                        return fail(self.problem, Error::Malformed(Malformed::TooDeep));
                    }
                }
            }
        }
        let Some(alg) = alg else {
            return fail(self.problem, Error::Malformed(Malformed::NoAlg));
        };
        let algorithm = match SigningAlgorithm::from_name(alg.as_bytes()) {
            Some(algorithm) => algorithm,
            None if alg == "none" => return fail(self.problem, Error::AlgorithmNone),
            None => return fail(self.problem, Error::UnsupportedAlgorithm),
        };
        let kid = match kid.flatten() {
            None => None,
            Some(kid) => match SigningKeyId::validate(&kid) {
                Ok(()) => Some(ShortText::new(&kid)),
                Err(_) => {
                    return fail(self.problem, Error::Malformed(Malformed::KidCharacters));
                }
            },
        };
        Ok(Header { algorithm, kid, token_type: typ.flatten().map(|typ| ShortText::new(&typ)) })
    }
}

struct ClaimsSeed<'s, 'p> {
    subject_claim: &'s str,
    problem: &'p mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_, '_> {
    type Value = Claims<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Claims<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

/// The claims keygate reads, by position in the duplicate-tracking bit set.
#[derive(Copy, Clone)]
enum Known {
    Subject = 0,
    JwtId = 1,
    IssuedAt = 2,
    NotBefore = 3,
    Expires = 4,
    Issuer = 5,
    Audience = 6,
    Scope = 7,
    Permissions = 8,
}

impl<'de> Visitor<'de> for ClaimsSeed<'_, '_> {
    type Value = Claims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims<'de>, A::Error> {
        let mut claims = Claims::default();
        let mut seen: u16 = 0;
        while let Some(name) = map.next_key::<Text<'de>>()? {
            let known = match name.0.as_ref() {
                // The subject claim may be renamed (Pulsar's tokenAuthClaim), and then `sub` is an
                // ordinary claim with no meaning to keygate.
                claim if claim == self.subject_claim => Known::Subject,
                "jti" => Known::JwtId,
                "iat" => Known::IssuedAt,
                "nbf" => Known::NotBefore,
                "exp" => Known::Expires,
                "iss" => Known::Issuer,
                "aud" => Known::Audience,
                SCOPE_CLAIM => Known::Scope,
                PERMISSIONS_CLAIM => Known::Permissions,
                _ => {
                    if map.next_value_seed(Skip(MAX_DEPTH)).is_err() {
                        return fail(self.problem, Error::Malformed(Malformed::TooDeep));
                    }
                    continue;
                }
            };
            let claim_name = || -> Cow<'static, str> {
                match known {
                    Known::Subject => Cow::Owned(self.subject_claim.to_owned()),
                    Known::JwtId => Cow::Borrowed("jti"),
                    Known::IssuedAt => Cow::Borrowed("iat"),
                    Known::NotBefore => Cow::Borrowed("nbf"),
                    Known::Expires => Cow::Borrowed("exp"),
                    Known::Issuer => Cow::Borrowed("iss"),
                    Known::Audience => Cow::Borrowed("aud"),
                    Known::Scope => Cow::Borrowed(SCOPE_CLAIM),
                    Known::Permissions => Cow::Borrowed(PERMISSIONS_CLAIM),
                }
            };
            let bit = 1u16 << known as u16;
            if seen & bit != 0 {
                return fail(self.problem, Error::DuplicateClaim(claim_name()));
            }
            seen |= bit;
            let parsed = match known {
                // RFC 7519 makes `sub` a string; a renamed role claim may be a list, read as
                // Pulsar reads it.
                Known::Subject if self.subject_claim == "sub" => {
                    map.next_value::<Text<'de>>().map(|v| claims.subject = Some(v.0))
                }
                Known::Subject => {
                    map.next_value::<SubjectValue<'de>>().map(|v| claims.subject = v.0)
                }
                Known::JwtId => map.next_value::<Text<'de>>().map(|v| claims.jwt_id = Some(v.0)),
                Known::Issuer => map.next_value::<Text<'de>>().map(|v| claims.issuer = Some(v.0)),
                Known::IssuedAt => {
                    map.next_value::<NumericDate>().map(|v| claims.issued_at = Some(v.0))
                }
                Known::NotBefore => {
                    map.next_value::<NumericDate>().map(|v| claims.not_before = Some(v.0))
                }
                Known::Expires => {
                    map.next_value::<NumericDate>().map(|v| claims.expires = Some(v.0))
                }
                Known::Audience => {
                    map.next_value::<AudienceValue<'de>>().map(|v| claims.audience = v.0)
                }
                Known::Scope => match map.next_value::<Text<'de>>() {
                    Ok(text) => match Scope::try_from(text.0.into_owned()) {
                        Ok(scope) => {
                            claims.scope = Some(Cow::Owned(scope));
                            Ok(())
                        }
                        Err(_) => return fail(self.problem, Error::InvalidClaim(claim_name())),
                    },
                    Err(error) => Err(error),
                },
                Known::Permissions => match map.next_value::<PermissionsValue>() {
                    Ok(PermissionsValue(Some(permissions))) => {
                        claims.permissions = Some(Cow::Owned(permissions));
                        Ok(())
                    }
                    Ok(PermissionsValue(None)) => {
                        return fail(self.problem, Error::InvalidClaim(claim_name()));
                    }
                    Err(error) => Err(error),
                },
            };
            if parsed.is_err() {
                return fail(self.problem, Error::InvalidClaim(claim_name()));
            }
        }
        Ok(claims)
    }
}

/// A JSON string, borrowed when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text<'de>, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(text)))
    }
}

/// The subject: a string, or a list whose first string is taken (as Pulsar reads a list-valued
/// role claim). An empty list or a list without a string is invalid.
struct SubjectValue<'de>(Option<Cow<'de, str>>);

impl<'de> de::Deserialize<'de> for SubjectValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SubjectValue<'de>, D::Error> {
        struct SubjectVisitor;

        impl<'de> Visitor<'de> for SubjectVisitor {
            type Value = SubjectValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_borrowed_str<E: de::Error>(
                self,
                text: &'de str,
            ) -> Result<SubjectValue<'de>, E> {
                Ok(SubjectValue(Some(Cow::Borrowed(text))))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<SubjectValue<'de>, E> {
                Ok(SubjectValue(Some(Cow::Owned(text.to_owned()))))
            }

            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SubjectValue<'de>, A::Error> {
                let first =
                    seq.next_element::<Text<'de>>()?.ok_or_else(|| de::Error::custom("empty"))?;
                while seq.next_element_seed(Skip(MAX_DEPTH))?.is_some() {}
                Ok(SubjectValue(Some(first.0)))
            }
        }

        deserializer.deserialize_any(SubjectVisitor)
    }
}

/// `aud`: one string or a list of strings.
struct AudienceValue<'de>(Audience<'de>);

impl<'de> de::Deserialize<'de> for AudienceValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AudienceValue<'de>, D::Error> {
        struct AudienceVisitor;

        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = AudienceValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_borrowed_str<E: de::Error>(
                self,
                text: &'de str,
            ) -> Result<AudienceValue<'de>, E> {
                Ok(AudienceValue(Audience::One(Cow::Borrowed(text))))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<AudienceValue<'de>, E> {
                Ok(AudienceValue(Audience::One(Cow::Owned(text.to_owned()))))
            }

            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AudienceValue<'de>, A::Error> {
                let mut all = Vec::new();
                while let Some(text) = seq.next_element::<Text<'de>>()? {
                    all.push(text.0);
                }
                Ok(AudienceValue(Audience::Many(all)))
            }
        }

        deserializer.deserialize_any(AudienceVisitor)
    }
}

/// keygate's permission claim: a list of permission names.
struct PermissionsValue(Option<Permissions>);

impl<'de> de::Deserialize<'de> for PermissionsValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PermissionsValue, D::Error> {
        let names = Vec::<Text<'de>>::deserialize(deserializer)?;
        let parsed: Result<Vec<Permission>, _> = names.iter().map(|name| name.0.parse()).collect();
        Ok(PermissionsValue(parsed.ok().map(Permissions::only)))
    }
}

/// A NumericDate keygate accepts: a non-negative integer number of seconds, no later than
/// 9999-12-31T23:59:59Z. Strings, floats and negative numbers are refused, even though RFC 7519
/// allows fractions, because no issuer keygate serves emits them and a wrong type is the shape of
/// a confused or hostile issuer.
struct NumericDate(Timestamp);

impl<'de> de::Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NumericDate, D::Error> {
        struct DateVisitor;

        impl Visitor<'_> for DateVisitor {
            type Value = NumericDate;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer")
            }

            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<NumericDate, E> {
                i64::try_from(seconds)
                    .ok()
                    .and_then(|seconds| Timestamp::from_unix(seconds).ok())
                    .map(NumericDate)
                    .ok_or_else(|| E::custom("out of range"))
            }

            fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<NumericDate, E> {
                Timestamp::from_unix(seconds)
                    .map(NumericDate)
                    .map_err(|_| E::custom("out of range"))
            }
        }

        deserializer.deserialize_any(DateVisitor)
    }
}
