//! The key record: everything known about an API key except its secret.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    Description, Error, Expiry, KeyId, KeyName, KeyState, KeyStatus, Permissions, PrincipalId,
    Scope, SigningKeyId, Span, Timestamp, Transition, Validity, ValidityError,
};

/// How the secret of a key is presented.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyFormat {
    /// A signed JWT whose `jti` is the key id (Pulsar, StreamNative, Kafka OAUTHBEARER).
    Jwt,
    /// A key id and a random secret (SASL/PLAIN, HTTP Basic, or one prefixed string).
    Opaque,
}

impl fmt::Display for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyFormat::Jwt => "jwt",
            KeyFormat::Opaque => "opaque",
        })
    }
}

impl FromStr for KeyFormat {
    type Err = Error;

    fn from_str(text: &str) -> Result<KeyFormat, Error> {
        match text {
            "jwt" => Ok(KeyFormat::Jwt),
            "opaque" => Ok(KeyFormat::Opaque),
            _ => Err(Error::Malformed { what: "key format", expected: "jwt or opaque" }),
        }
    }
}

/// How a [`SecretDigest`] was computed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestScheme {
    /// SHA-256 of the secret bytes.
    Sha256,
    /// HMAC-SHA256 of the secret bytes under a server-side pepper, so that a copy of the store
    /// alone does not let anyone test guesses offline.
    HmacSha256,
}

impl DigestScheme {
    fn name(self) -> &'static str {
        match self {
            DigestScheme::Sha256 => "sha256",
            DigestScheme::HmacSha256 => "hmac-sha256",
        }
    }
}

/// The stored verifier of an opaque key's secret: a 32-byte digest and how it was made.
///
/// The secret itself is never stored. keygate-token computes digests and compares them in
/// constant time; this type only carries them. It serialises as `scheme:hex`, e.g.
/// `sha256:9f86d0…`, and its `Debug` shows the scheme only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretDigest {
    scheme: DigestScheme,
    bytes: [u8; 32],
}

impl SecretDigest {
    /// A digest computed with `scheme`.
    pub const fn new(scheme: DigestScheme, bytes: [u8; 32]) -> SecretDigest {
        SecretDigest { scheme, bytes }
    }

    /// How it was computed.
    pub const fn scheme(&self) -> DigestScheme {
        self.scheme
    }

    /// The digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretDigest").field("scheme", &self.scheme).finish_non_exhaustive()
    }
}

impl fmt::Display for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.name())?;
        f.write_str(":")?;
        self.bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl FromStr for SecretDigest {
    type Err = Error;

    fn from_str(text: &str) -> Result<SecretDigest, Error> {
        const WHAT: &str = "secret digest";
        const SHAPE: &str = "sha256:<64 hex digits> or hmac-sha256:<64 hex digits>";
        let (scheme, hex) =
            text.split_once(':').ok_or(Error::Malformed { what: WHAT, expected: SHAPE })?;
        let scheme = match scheme {
            "sha256" => DigestScheme::Sha256,
            "hmac-sha256" => DigestScheme::HmacSha256,
            _ => return Err(Error::Malformed { what: WHAT, expected: SHAPE }),
        };
        if hex.len() != 64 {
            return Err(Error::Malformed { what: WHAT, expected: SHAPE });
        }
        let mut bytes = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            let digit = |b: u8| match b {
                b'0'..=b'9' => Some(b - b'0'),
                b'a'..=b'f' => Some(b - b'a' + 10),
                _ => None,
            };
            match (digit(pair[0]), digit(pair[1])) {
                (Some(high), Some(low)) => bytes[i] = high << 4 | low,
                _ => {
                    return Err(Error::InvalidCharacter {
                        what: WHAT,
                        at: scheme.name().len() + 1 + 2 * i,
                        allowed: "lowercase hex digits",
                    });
                }
            }
        }
        Ok(SecretDigest { scheme, bytes })
    }
}

impl Serialize for SecretDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SecretDigest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What to issue: everything a new key needs except its id, its creation time and its secret.
///
/// [`KeyRecord::issue`] turns a template into a record; rotation planning produces one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyTemplate {
    /// The principal that will own the key.
    pub owner: PrincipalId,
    /// Where the key is valid.
    pub scope: Scope,
    /// An optional restriction on what it may do.
    pub permissions: Permissions,
    /// How its secret is presented.
    pub format: KeyFormat,
    /// A note for operators.
    pub description: Description,
    /// When it becomes valid; `None` for its time of creation.
    pub not_before: Option<Timestamp>,
    /// When it stops being valid.
    pub expires: Expiry,
    /// The key it replaces, in a rotation.
    pub replaces: Option<KeyId>,
    /// For a JWT key, the signing key its token is signed with.
    pub signing_key: Option<SigningKeyId>,
    /// The name a tool gave it, unique among its owner's keys.
    pub name: Option<KeyName>,
}

impl KeyTemplate {
    /// An unrestricted key with no description, valid from creation until `expires`.
    pub fn new(
        owner: PrincipalId,
        scope: Scope,
        format: KeyFormat,
        expires: Expiry,
    ) -> KeyTemplate {
        KeyTemplate {
            owner,
            scope,
            permissions: Permissions::Unrestricted,
            format,
            description: Description::empty(),
            not_before: None,
            expires,
            replaces: None,
            signing_key: None,
            name: None,
        }
    }

    /// Restricts the key's permissions.
    pub fn with_permissions(mut self, permissions: Permissions) -> KeyTemplate {
        self.permissions = permissions;
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: Description) -> KeyTemplate {
        self.description = description;
        self
    }

    /// Delays validity until `not_before`.
    pub fn with_not_before(mut self, not_before: Timestamp) -> KeyTemplate {
        self.not_before = Some(not_before);
        self
    }

    /// Marks the key as the replacement of `old`.
    pub fn with_replaces(mut self, old: KeyId) -> KeyTemplate {
        self.replaces = Some(old);
        self
    }

    /// Records the signing key a JWT key's token is signed with.
    pub fn with_signing_key(mut self, kid: SigningKeyId) -> KeyTemplate {
        self.signing_key = Some(kid);
        self
    }

    /// Names the key, uniquely among its owner's keys.
    pub fn with_name(mut self, name: KeyName) -> KeyTemplate {
        self.name = Some(name);
        self
    }
}

/// Everything known about an API key except its secret.
///
/// The id, owner, scope, permissions, format, times and rotation link never change after
/// issue; to change scope or permissions, issue a new key. The description can be edited, the
/// state moves through [`KeyState`]'s transitions, and the expiry can be brought forward (never
/// pushed back), which is how rotation ends the old key's overlap.
///
/// Invariants, checked whenever a record is built or deserialised: an opaque key carries a
/// [`SecretDigest`] and a JWT key does not; not-before is not before creation; the validity
/// window `[not_before, expires)` is not empty; a key does not replace itself.
///
/// Serialised with the field names of [`KeyRecordParts`], which stores and replicas rely on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "KeyRecordParts", into = "KeyRecordParts")]
pub struct KeyRecord {
    parts: KeyRecordParts,
}

/// The fields of a [`KeyRecord`], for stores that rebuild records from rows and for serde.
///
/// [`KeyRecord::from_parts`] checks the invariants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is documented by the accessor of the same name on KeyRecord.
pub struct KeyRecordParts {
    pub id: KeyId,
    pub owner: PrincipalId,
    pub scope: Scope,
    pub permissions: Permissions,
    pub format: KeyFormat,
    pub description: Description,
    pub created_at: Timestamp,
    pub not_before: Timestamp,
    pub expires: Expiry,
    pub state: KeyState,
    pub replaces: Option<KeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_digest: Option<SecretDigest>,
    /// Absent in records written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<KeyName>,
    /// Absent in records rotated before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<KeyId>,
}

impl KeyRecord {
    /// Issues a key from a template: `id` and `secret_digest` come from the credential that was
    /// just generated (a digest for opaque keys, none for JWT keys), `now` is its creation time.
    pub fn issue(
        template: KeyTemplate,
        id: KeyId,
        now: Timestamp,
        secret_digest: Option<SecretDigest>,
    ) -> Result<KeyRecord, Error> {
        KeyRecord::from_parts(KeyRecordParts {
            id,
            owner: template.owner,
            scope: template.scope,
            permissions: template.permissions,
            format: template.format,
            description: template.description,
            created_at: now,
            not_before: template.not_before.unwrap_or(now),
            expires: template.expires,
            state: KeyState::Active,
            replaces: template.replaces,
            secret_digest,
            signing_key: template.signing_key,
            name: template.name,
            replaced_by: None,
        })
    }

    /// A record from its fields, if they are consistent.
    pub fn from_parts(parts: KeyRecordParts) -> Result<KeyRecord, Error> {
        match (parts.format, &parts.secret_digest) {
            (KeyFormat::Opaque, None) => {
                return Err(Error::InconsistentRecord("an opaque key needs a secret digest"));
            }
            (KeyFormat::Jwt, Some(_)) => {
                return Err(Error::InconsistentRecord("a JWT key has no secret digest"));
            }
            _ => {}
        }
        if parts.not_before < parts.created_at {
            return Err(Error::InconsistentRecord("not-before precedes creation"));
        }
        if parts.expires.has_passed(parts.not_before) {
            return Err(Error::InconsistentRecord("the key expires before it becomes valid"));
        }
        if parts.replaces == Some(parts.id) || parts.replaced_by == Some(parts.id) {
            return Err(Error::InconsistentRecord("a key cannot replace itself"));
        }
        if parts.format != KeyFormat::Jwt && parts.signing_key.is_some() {
            return Err(Error::InconsistentRecord("only a JWT key has a signing key"));
        }
        Ok(KeyRecord { parts })
    }

    /// The fields.
    pub fn parts(&self) -> &KeyRecordParts {
        &self.parts
    }

    /// The fields, by value.
    pub fn into_parts(self) -> KeyRecordParts {
        self.parts
    }

    /// The public key id.
    pub fn id(&self) -> KeyId {
        self.parts.id
    }

    /// For a JWT key, the signing key its token was signed with; `None` for opaque keys and for
    /// JWT keys issued before keygate recorded it.
    pub fn signing_key(&self) -> Option<&SigningKeyId> {
        self.parts.signing_key.as_ref()
    }

    /// The principal that owns the key.
    pub fn owner(&self) -> &PrincipalId {
        &self.parts.owner
    }

    /// Where the key is valid.
    pub fn scope(&self) -> &Scope {
        &self.parts.scope
    }

    /// The restriction on what it may do.
    pub fn permissions(&self) -> &Permissions {
        &self.parts.permissions
    }

    /// How its secret is presented.
    pub fn format(&self) -> KeyFormat {
        self.parts.format
    }

    /// The operator's note.
    pub fn description(&self) -> &Description {
        &self.parts.description
    }

    /// When it was issued.
    pub fn created_at(&self) -> Timestamp {
        self.parts.created_at
    }

    /// When it becomes valid.
    pub fn not_before(&self) -> Timestamp {
        self.parts.not_before
    }

    /// When it stops being valid.
    pub fn expires(&self) -> Expiry {
        self.parts.expires
    }

    /// Its stored state.
    pub fn state(&self) -> &KeyState {
        &self.parts.state
    }

    /// The key this one replaced in a rotation.
    pub fn replaces(&self) -> Option<KeyId> {
        self.parts.replaces
    }

    /// The digest of an opaque key's secret.
    pub fn secret_digest(&self) -> Option<&SecretDigest> {
        self.parts.secret_digest.as_ref()
    }

    /// The name a tool gave it, unique among its owner's keys.
    pub fn name(&self) -> Option<&KeyName> {
        self.parts.name.as_ref()
    }

    /// Hands its name on (to its replacement in a rotation): the name then finds the new key.
    pub fn take_name(&mut self) -> Option<KeyName> {
        self.parts.name.take()
    }

    /// The key that replaced this one in a rotation, as recorded when it did.
    pub fn replaced_by(&self) -> Option<KeyId> {
        self.parts.replaced_by
    }

    /// Records that `replacement` replaced this key; a key cannot replace itself.
    pub fn set_replaced_by(&mut self, replacement: KeyId) -> Result<(), Error> {
        if replacement == self.parts.id {
            return Err(Error::InconsistentRecord("a key cannot replace itself"));
        }
        self.parts.replaced_by = Some(replacement);
        Ok(())
    }

    /// What the key is at `now`; see [`KeyStatus`] for the precedence.
    pub fn status_at(&self, now: Timestamp) -> KeyStatus {
        match (self.parts.state.status(), self.validity().check(now, Span::ZERO)) {
            (KeyStatus::Active, Err(ValidityError::Expired { .. })) => KeyStatus::Expired,
            (KeyStatus::Active, Err(_)) => KeyStatus::Pending,
            (status, _) => status,
        }
    }

    /// When it is valid: from its not-before until its expiry. Key records are the server's
    /// own times, so they are checked with no leeway.
    pub fn validity(&self) -> Validity {
        Validity::new(Some(self.parts.not_before), self.parts.expires)
    }

    /// Whether the key may be used at `now`: active, not before its not-before, not expired.
    pub fn is_usable_at(&self, now: Timestamp) -> bool {
        self.status_at(now) == KeyStatus::Active
    }

    /// Applies a state transition; see [`KeyState::apply`].
    pub fn apply(&mut self, transition: &Transition) -> Result<(), Error> {
        self.parts.state = self.parts.state.apply(transition)?;
        Ok(())
    }

    /// Replaces the description, the one free-form edit a key allows.
    pub fn set_description(&mut self, description: Description) {
        self.parts.description = description;
    }

    /// Brings the expiry forward to `expires`; an expiry later than the current one, or one
    /// that would end the key before its not-before, is refused.
    pub fn shorten_expiry(&mut self, expires: Expiry) -> Result<(), Error> {
        if !expires.is_no_later_than(self.parts.expires) {
            return Err(Error::ExpiryWouldLengthen);
        }
        if expires.has_passed(self.parts.not_before) {
            return Err(Error::InconsistentRecord("the key expires before it becomes valid"));
        }
        self.parts.expires = expires;
        Ok(())
    }
}

impl TryFrom<KeyRecordParts> for KeyRecord {
    type Error = Error;

    fn try_from(parts: KeyRecordParts) -> Result<KeyRecord, Error> {
        KeyRecord::from_parts(parts)
    }
}

impl From<KeyRecord> for KeyRecordParts {
    fn from(record: KeyRecord) -> KeyRecordParts {
        record.parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    fn id(byte: u8) -> KeyId {
        KeyId::from_bytes([byte; KeyId::BYTES])
    }

    fn digest() -> SecretDigest {
        SecretDigest::new(DigestScheme::Sha256, [7; 32])
    }

    fn opaque(expires: Expiry) -> KeyRecord {
        let template = KeyTemplate::new(
            "orders".parse().unwrap(),
            "kafka-cluster/lkc-1".parse().unwrap(),
            KeyFormat::Opaque,
            expires,
        );
        KeyRecord::issue(template, id(1), at(100), Some(digest())).unwrap()
    }

    #[test]
    fn status_follows_the_validity_window() {
        let mut record = opaque(Expiry::At(at(200)));
        assert_eq!(record.status_at(at(99)), KeyStatus::Pending);
        assert_eq!(record.status_at(at(100)), KeyStatus::Active);
        assert_eq!(record.status_at(at(199)), KeyStatus::Active);
        assert_eq!(record.status_at(at(200)), KeyStatus::Expired);
        record.apply(&Transition::Suspend { at: at(150) }).unwrap();
        assert_eq!(record.status_at(at(250)), KeyStatus::Suspended);
        assert!(!record.is_usable_at(at(150)));
    }

    #[test]
    fn invariants_are_checked() {
        let template = KeyTemplate::new(
            "orders".parse().unwrap(),
            Scope::Global,
            KeyFormat::Opaque,
            Expiry::Never,
        );
        assert!(KeyRecord::issue(template.clone(), id(1), at(5), None).is_err());
        let jwt = KeyTemplate { format: KeyFormat::Jwt, ..template.clone() };
        assert!(KeyRecord::issue(jwt, id(1), at(5), Some(digest())).is_err());
        let backdated = template.clone().with_not_before(at(4));
        assert!(KeyRecord::issue(backdated, id(1), at(5), Some(digest())).is_err());
        let empty_window = KeyTemplate { expires: Expiry::At(at(5)), ..template.clone() };
        assert!(KeyRecord::issue(empty_window, id(1), at(5), Some(digest())).is_err());
        let own_replacement = template.with_replaces(id(1));
        assert!(KeyRecord::issue(own_replacement, id(1), at(5), Some(digest())).is_err());
    }

    #[test]
    fn expiry_only_moves_forward() {
        let mut record = opaque(Expiry::At(at(200)));
        assert_eq!(record.shorten_expiry(Expiry::At(at(201))), Err(Error::ExpiryWouldLengthen));
        assert_eq!(record.shorten_expiry(Expiry::Never), Err(Error::ExpiryWouldLengthen));
        assert!(record.shorten_expiry(Expiry::At(at(100))).is_err());
        record.shorten_expiry(Expiry::At(at(150))).unwrap();
        assert_eq!(record.expires(), Expiry::At(at(150)));
        let mut never = opaque(Expiry::Never);
        never.shorten_expiry(Expiry::At(at(300))).unwrap();
        assert_eq!(never.expires(), Expiry::At(at(300)));
    }

    #[test]
    fn serialises_with_stable_names_and_checks_on_the_way_in() {
        let record = opaque(Expiry::At(at(200)));
        let json = serde_json::to_value(&record).unwrap();
        let fields: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            fields,
            [
                "created_at",
                "description",
                "expires",
                "format",
                "id",
                "not_before",
                "owner",
                "permissions",
                "replaces",
                "scope",
                "secret_digest",
                "state"
            ]
        );
        assert_eq!(serde_json::from_value::<KeyRecord>(json.clone()).unwrap(), record);
        let mut tampered = json;
        tampered["format"] = "jwt".into();
        assert!(serde_json::from_value::<KeyRecord>(tampered).is_err());
    }

    #[test]
    fn digest_text_round_trips_and_debug_hides_it() {
        let digest = SecretDigest::new(DigestScheme::HmacSha256, [0xab; 32]);
        let text = digest.to_string();
        assert_eq!(text, format!("hmac-sha256:{}", "ab".repeat(32)));
        assert_eq!(text.parse::<SecretDigest>().unwrap(), digest);
        assert!(!format!("{digest:?}").contains("ab"));
        for bad in ["sha256", "md5:00", "sha256:zz", &format!("sha256:{}", "AB".repeat(32))] {
            assert!(bad.parse::<SecretDigest>().is_err(), "{bad}");
        }
    }
}
