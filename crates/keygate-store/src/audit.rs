//! The audit log a store keeps with its changes.
//!
//! A change made through the [`KeyManager`](https://docs.rs/keygate) carries the record of its
//! audit event, and the store appends that record in the same atomic step as the change: both
//! are there, or neither is. The store does not read the event; it keeps its JSON text and files
//! it by instant, principal, key and action.

use keygate_core::{KeyId, PrincipalId, Timestamp};

use crate::StoreError;

/// The record of one audited change, as a store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditRecord {
    /// When the change happened.
    pub at: Timestamp,
    /// The principal it concerns, if any: the owner of the keys it touched, or the principal
    /// created or deleted.
    pub principal: Option<PrincipalId>,
    /// The keys it concerns. Deleting a principal also files the record under each key the
    /// deletion removed.
    pub keys: Vec<KeyId>,
    /// What kind of change it was (`key_created`, …), to find it by.
    pub action: Option<String>,
    /// The event, as JSON text of at most [`AuditRecord::MAX_EVENT_LEN`] bytes.
    pub event: String,
}

impl AuditRecord {
    /// The longest event text a store accepts, in bytes.
    pub const MAX_EVENT_LEN: usize = 16 * 1024;

    /// The record of `event` (JSON text), which happened at `at`.
    pub fn new(at: Timestamp, event: String) -> AuditRecord {
        AuditRecord { at, principal: None, keys: Vec::new(), action: None, event }
    }

    /// Files the record under the kind of change it was.
    pub fn with_action(mut self, action: impl Into<String>) -> AuditRecord {
        self.action = Some(action.into());
        self
    }

    /// Files the record under `principal`.
    pub fn with_principal(mut self, principal: PrincipalId) -> AuditRecord {
        self.principal = Some(principal);
        self
    }

    /// Files the record under each of `keys`.
    pub fn with_keys(mut self, keys: impl IntoIterator<Item = KeyId>) -> AuditRecord {
        self.keys.extend(keys);
        self.keys.sort();
        self.keys.dedup();
        self
    }

    /// Refuses a record no store keeps: an empty event, or one longer than
    /// [`MAX_EVENT_LEN`](AuditRecord::MAX_EVENT_LEN). Stores call this before they change
    /// anything, so a refused record leaves the change undone.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.event.is_empty() {
            return Err(StoreError::Invalid("an audit event must not be empty"));
        }
        if self.event.len() > Self::MAX_EVENT_LEN {
            return Err(StoreError::Invalid("an audit event is longer than 16 KiB"));
        }
        if self.action.as_ref().is_some_and(|action| !is_action_name(action)) {
            return Err(StoreError::Invalid("an audit action is not a snake_case name"));
        }
        Ok(())
    }
}

/// One entry of the audit log: a record and its position.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEntry {
    /// Its position in the log, from 1, in commit order.
    pub position: u64,
    /// What was recorded.
    pub record: AuditRecord,
}

impl AuditEntry {
    /// An entry.
    pub fn new(position: u64, record: AuditRecord) -> AuditEntry {
        AuditEntry { position, record }
    }
}

/// Whether `name` can name an audit action: 1 to 64 bytes of lowercase letters and `_`.
pub fn is_action_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Which entries of the audit log to read. Every field narrows.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Entries at or after this instant.
    pub since: Option<Timestamp>,
    /// Entries before this instant.
    pub until: Option<Timestamp>,
    /// Entries at positions before this one: the cursor of the next page, newest first.
    pub before: Option<u64>,
    /// Entries filed under this principal.
    pub principal: Option<PrincipalId>,
    /// Entries filed under this key.
    pub key: Option<KeyId>,
    /// Entries of this action.
    pub action: Option<String>,
    /// The most entries to return: the newest that match, returned oldest first.
    pub limit: usize,
}

impl Default for AuditQuery {
    fn default() -> AuditQuery {
        AuditQuery {
            since: None,
            until: None,
            before: None,
            principal: None,
            key: None,
            action: None,
            limit: 1000,
        }
    }
}

impl AuditQuery {
    /// Entries at or after `since`.
    pub fn since(mut self, since: Timestamp) -> AuditQuery {
        self.since = Some(since);
        self
    }

    /// Entries before `until`.
    pub fn until(mut self, until: Timestamp) -> AuditQuery {
        self.until = Some(until);
        self
    }

    /// Entries at positions before `position`.
    pub fn before(mut self, position: u64) -> AuditQuery {
        self.before = Some(position);
        self
    }

    /// Entries of `action`.
    pub fn of_action(mut self, action: impl Into<String>) -> AuditQuery {
        self.action = Some(action.into());
        self
    }

    /// Entries filed under `principal`.
    pub fn about_principal(mut self, principal: PrincipalId) -> AuditQuery {
        self.principal = Some(principal);
        self
    }

    /// Entries filed under `key`.
    pub fn about_key(mut self, key: KeyId) -> AuditQuery {
        self.key = Some(key);
        self
    }

    /// At most `limit` entries, the newest.
    pub fn with_limit(mut self, limit: usize) -> AuditQuery {
        self.limit = limit;
        self
    }

    /// Whether `entry` passes every filter but the limit.
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let record = &entry.record;
        self.since.is_none_or(|since| record.at >= since)
            && self.until.is_none_or(|until| record.at < until)
            && self.before.is_none_or(|before| entry.position < before)
            && self.action.as_ref().is_none_or(|a| record.action.as_ref() == Some(a))
            && self.principal.as_ref().is_none_or(|p| record.principal.as_ref() == Some(p))
            && self.key.is_none_or(|key| record.keys.contains(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_refused_when_empty_or_too_long() {
        let at = Timestamp::from_unix(5).unwrap();
        assert!(AuditRecord::new(at, "{}".into()).check().is_ok());
        assert!(AuditRecord::new(at, String::new()).check().is_err());
        let long = "x".repeat(AuditRecord::MAX_EVENT_LEN + 1);
        assert!(matches!(AuditRecord::new(at, long).check(), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn keys_are_kept_once_in_order() {
        let at = Timestamp::from_unix(5).unwrap();
        let (a, b) = (KeyId::from_bytes([1; 10]), KeyId::from_bytes([2; 10]));
        let record = AuditRecord::new(at, "{}".into()).with_keys([b, a, b]);
        assert_eq!(record.keys, vec![a, b]);
    }
}
