//! The serialisable forms that move revocations between processes: snapshots and deltas.

use serde::{Deserialize, Serialize};

use crate::{Error, Revocation};

/// Every revocation of a list at one version: what a new replica starts from.
///
/// JSON through serde: `{"version":…,"entries":[…]}`, entries in a canonical order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    version: u64,
    entries: Vec<Revocation>,
}

impl Snapshot {
    pub(crate) fn new(version: u64, entries: Vec<Revocation>) -> Snapshot {
        Snapshot { version, entries }
    }

    /// The version it holds.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Its entries.
    pub fn entries(&self) -> &[Revocation] {
        &self.entries
    }
}

/// The revocations added between two versions.
///
/// Versions need not be consecutive integers (the keygate facade uses its store's change
/// sequence numbers), but a delta must start exactly where the list is, and end after it starts.
/// Deltas only add revocations, so applying one twice changes nothing, and two consecutive
/// deltas compose into one ([`Delta::then`]).
///
/// JSON through serde: `{"from":…,"to":…,"entries":[…]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DeltaFields")]
pub struct Delta {
    from: u64,
    to: u64,
    entries: Vec<Revocation>,
}

#[derive(Deserialize)]
struct DeltaFields {
    from: u64,
    to: u64,
    entries: Vec<Revocation>,
}

impl TryFrom<DeltaFields> for Delta {
    type Error = Error;

    fn try_from(fields: DeltaFields) -> Result<Delta, Error> {
        Delta::new(fields.from, fields.to, fields.entries)
    }
}

impl Delta {
    /// The revocations `entries` taking a list from version `from` to version `to`.
    pub fn new(from: u64, to: u64, entries: Vec<Revocation>) -> Result<Delta, Error> {
        if to <= from {
            return Err(Error::InvalidDelta("a delta must end after it starts"));
        }
        for entry in &entries {
            entry.validate()?;
        }
        Ok(Delta { from, to, entries })
    }

    /// Where it starts.
    pub fn from(&self) -> u64 {
        self.from
    }

    /// Where it ends.
    pub fn to(&self) -> u64 {
        self.to
    }

    /// What it adds.
    pub fn entries(&self) -> &[Revocation] {
        &self.entries
    }

    /// This delta followed by `next`, as one; `next` must start where this one ends.
    pub fn then(mut self, next: Delta) -> Result<Delta, Error> {
        if next.from != self.to {
            return Err(Error::InvalidDelta(
                "the second delta does not start where the first ends",
            ));
        }
        self.entries.extend(next.entries);
        self.to = next.to;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use keygate_core::{Expiry, KeyId};

    use super::*;

    #[test]
    fn deltas_validate_on_the_way_in() {
        assert!(Delta::new(3, 3, vec![]).is_err());
        assert!(serde_json::from_str::<Delta>(r#"{"from":5,"to":4,"entries":[]}"#).is_err());
        let long_jti = serde_json::json!({"from": 0, "to": 1, "entries": [{"by": "jti", "jti": "x".repeat(300), "expires": null}]});
        assert!(serde_json::from_value::<Delta>(long_jti).is_err());
        let good =
            r#"{"from":0,"to":1,"entries":[{"by":"key","id":"0w3ge1r70w3ge1r7","expires":12}]}"#;
        let delta: Delta = serde_json::from_str(good).unwrap();
        assert_eq!(delta.entries().len(), 1);
        assert_eq!(serde_json::to_string(&delta).unwrap(), good);
    }

    #[test]
    fn consecutive_deltas_compose() {
        let entry =
            |n: u8| Revocation::Key { id: KeyId::from_bytes([n; 10]), expires: Expiry::Never };
        let composed = Delta::new(0, 2, vec![entry(1)])
            .unwrap()
            .then(Delta::new(2, 7, vec![entry(2)]).unwrap())
            .unwrap();
        assert_eq!((composed.from(), composed.to(), composed.entries().len()), (0, 7, 2));
        assert!(Delta::new(0, 2, vec![]).unwrap().then(Delta::new(3, 4, vec![]).unwrap()).is_err());
    }
}
