//! The life of a key: active, suspended, revoked; and expired, which is derived from `now`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Description, Error, Timestamp};

/// The stored state of a key, the only part of a key record besides its description that
/// changes after creation.
///
/// ```text
///            suspend             revoke
///   Active ───────────► Suspended ──────► Revoked (final)
///     ▲  ◄─────────────     │                ▲
///     │       resume        │                │
///     └─────────────────────┴── revoke ──────┘
/// ```
///
/// Expiry is not a state: a key is expired when `now` has reached its expiry, which every
/// replica decides for itself from the record and its clock. See [`KeyStatus`].
///
/// Serialised as an object tagged by `status`: `{"status":"active"}`,
/// `{"status":"suspended","at":…}`, `{"status":"revoked","at":…,"reason":"…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyState {
    /// Usable within its validity window.
    Active,
    /// Temporarily unusable; can be resumed.
    Suspended {
        /// When it was suspended.
        at: Timestamp,
    },
    /// Permanently unusable.
    Revoked {
        /// When it was revoked.
        at: Timestamp,
        /// Why, as the operator put it.
        #[serde(default)]
        reason: Description,
    },
}

/// A requested change of [`KeyState`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// Active → Suspended.
    Suspend {
        /// When.
        at: Timestamp,
    },
    /// Suspended → Active.
    Resume,
    /// Active or Suspended → Revoked.
    Revoke {
        /// When.
        at: Timestamp,
        /// Why.
        reason: Description,
    },
}

impl Transition {
    /// The verb, as used in messages: "suspend", "resume" or "revoke".
    pub fn verb(&self) -> &'static str {
        match self {
            Transition::Suspend { .. } => "suspend",
            Transition::Resume => "resume",
            Transition::Revoke { .. } => "revoke",
        }
    }
}

impl KeyState {
    /// The state after `transition`, or [`Error::IllegalTransition`].
    ///
    /// Revoked is final; suspending a suspended key or resuming an active one is refused too,
    /// so a caller can tell a transition that happened from one that was already in effect.
    pub fn apply(&self, transition: &Transition) -> Result<KeyState, Error> {
        let next = match (self, transition) {
            (KeyState::Active, Transition::Suspend { at }) => KeyState::Suspended { at: *at },
            (KeyState::Suspended { .. }, Transition::Resume) => KeyState::Active,
            (KeyState::Active | KeyState::Suspended { .. }, Transition::Revoke { at, reason }) => {
                KeyState::Revoked { at: *at, reason: reason.clone() }
            }
            _ => {
                return Err(Error::IllegalTransition {
                    transition: transition.verb(),
                    status: self.status(),
                });
            }
        };
        Ok(next)
    }

    /// Whether this is the final state.
    pub fn is_revoked(&self) -> bool {
        matches!(self, KeyState::Revoked { .. })
    }

    /// The status this state shows before expiry and not-before are considered.
    pub fn status(&self) -> KeyStatus {
        match self {
            KeyState::Active => KeyStatus::Active,
            KeyState::Suspended { .. } => KeyStatus::Suspended,
            KeyState::Revoked { .. } => KeyStatus::Revoked,
        }
    }
}

/// What a key is at a given instant: its state combined with its validity window.
///
/// Precedence, highest first: revoked, suspended, expired, pending (before not-before), active.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyStatus {
    /// Usable now.
    Active,
    /// Not yet valid: `now` is before its not-before.
    Pending,
    /// Its expiry has passed.
    Expired,
    /// Suspended by an operator.
    Suspended,
    /// Revoked by an operator.
    Revoked,
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyStatus::Active => "active",
            KeyStatus::Pending => "pending",
            KeyStatus::Expired => "expired",
            KeyStatus::Suspended => "suspended",
            KeyStatus::Revoked => "revoked",
        })
    }
}

impl std::str::FromStr for KeyStatus {
    type Err = Error;

    fn from_str(text: &str) -> Result<KeyStatus, Error> {
        Ok(match text {
            "active" => KeyStatus::Active,
            "pending" => KeyStatus::Pending,
            "expired" => KeyStatus::Expired,
            "suspended" => KeyStatus::Suspended,
            "revoked" => KeyStatus::Revoked,
            _ => {
                return Err(Error::Malformed {
                    what: "key status",
                    expected: "active, pending, expired, suspended or revoked",
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    fn revoke() -> Transition {
        Transition::Revoke { at: at(3), reason: "leaked".parse().unwrap() }
    }

    #[test]
    fn legal_transitions() {
        let suspended = KeyState::Active.apply(&Transition::Suspend { at: at(1) }).unwrap();
        assert_eq!(suspended, KeyState::Suspended { at: at(1) });
        assert_eq!(suspended.apply(&Transition::Resume).unwrap(), KeyState::Active);
        assert!(suspended.apply(&revoke()).unwrap().is_revoked());
        assert!(KeyState::Active.apply(&revoke()).unwrap().is_revoked());
    }

    #[test]
    fn revoked_is_final() {
        let revoked = KeyState::Active.apply(&revoke()).unwrap();
        for transition in [Transition::Resume, Transition::Suspend { at: at(4) }, revoke()] {
            assert_eq!(
                revoked.apply(&transition),
                Err(Error::IllegalTransition {
                    transition: transition.verb(),
                    status: KeyStatus::Revoked
                })
            );
        }
    }

    #[test]
    fn no_op_transitions_are_refused() {
        assert!(KeyState::Active.apply(&Transition::Resume).is_err());
        let suspended = KeyState::Suspended { at: at(1) };
        assert!(suspended.apply(&Transition::Suspend { at: at(2) }).is_err());
        assert_eq!(
            KeyState::Active.apply(&Transition::Resume).unwrap_err().to_string(),
            "cannot resume a key that is active"
        );
    }

    #[test]
    fn serialised_form_is_tagged() {
        let revoked = KeyState::Revoked { at: at(3), reason: "leaked".parse().unwrap() };
        let json = serde_json::to_value(&revoked).unwrap();
        assert_eq!(json, serde_json::json!({"status": "revoked", "at": 3, "reason": "leaked"}));
        assert_eq!(serde_json::from_value::<KeyState>(json).unwrap(), revoked);
        assert_eq!(
            serde_json::to_value(KeyState::Active).unwrap(),
            serde_json::json!({"status": "active"})
        );
    }
}
