//! Open connections, and which of them a sync says must end.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use keygate_core::{Expiry, KeyId, Timestamp};

use crate::{AuthError, Authenticator, Identity, SyncReport};

/// A broker's handle on one authenticated connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a review found: sessions to close now, and sessions whose deadline moved earlier.
#[derive(Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionReview {
    /// Close these now: their credential was revoked, suspended, deleted or has expired.
    pub close: Vec<(SessionId, AuthError)>,
    /// These must re-authenticate (or end) by the given time, earlier than before: their key's
    /// expiry was brought forward, by a rotation for instance.
    pub reauthenticate: Vec<(SessionId, Timestamp)>,
}

/// The open connections of a broker, and the credentials they were opened with. I/O-free: it
/// answers which sessions must end; the broker closes them.
///
/// Brokers today re-check at best a credential's expiry; a revoked key keeps every connection it
/// opened. The registry closes that gap: register each connection after it authenticates, and
/// after each sync, [`review`](SessionRegistry::review) the sessions the sync touched.
#[derive(Debug, Default)]
pub struct SessionRegistry {
    inner: Mutex<Sessions>,
}

#[derive(Debug, Default)]
struct Sessions {
    identities: HashMap<SessionId, Identity>,
    by_key: HashMap<KeyId, HashSet<SessionId>>,
}

impl SessionRegistry {
    /// An empty registry.
    pub fn new() -> SessionRegistry {
        SessionRegistry::default()
    }

    /// Records that `session` authenticated as `identity` (re-registering replaces it, as after
    /// a re-authentication).
    pub fn register(&self, session: SessionId, identity: Identity) {
        let mut sessions = self.lock();
        sessions.remove(session);
        if let Some(key) = identity.key_id() {
            sessions.by_key.entry(key).or_default().insert(session);
        }
        sessions.identities.insert(session, identity);
    }

    /// Forgets a closed session.
    pub fn unregister(&self, session: SessionId) {
        self.lock().remove(session);
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.lock().identities.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The identity `session` authenticated as.
    pub fn identity(&self, session: SessionId) -> Option<Identity> {
        self.lock().identities.get(&session).cloned()
    }

    /// Re-checks the sessions `report` may affect against `authenticator`'s current state at
    /// `now`: those of keys that changed, or every session after a bootstrap or a revocation that
    /// is not tied to one key (a principal, a signing key, a token). Sessions to close are
    /// unregistered; sessions whose deadline moved are updated.
    pub fn review(
        &self,
        authenticator: &Authenticator,
        report: &SyncReport,
        now: Timestamp,
    ) -> SessionReview {
        let mut sessions = self.lock();
        let everything = report.bootstrapped
            || report
                .revocations
                .iter()
                .any(|r| !matches!(r, keygate_revocation::Revocation::Key { .. }));
        let candidates: Vec<SessionId> = if everything {
            sessions.identities.keys().copied().collect()
        } else {
            let mut touched: Vec<SessionId> = report
                .changed_keys
                .iter()
                .chain(report.revocations.iter().filter_map(|r| match r {
                    keygate_revocation::Revocation::Key { id, .. } => Some(id),
                    _ => None,
                }))
                .filter_map(|key| sessions.by_key.get(key))
                .flatten()
                .copied()
                .collect();
            touched.sort();
            touched.dedup();
            touched
        };
        let mut review = SessionReview::default();
        for session in candidates {
            let Some(identity) = sessions.identities.get(&session) else { continue };
            match authenticator.recheck(identity, now) {
                Err(error) if error.ends_sessions() => {
                    sessions.remove(session);
                    review.close.push((session, error));
                }
                Err(_) => {}
                Ok(deadline) => {
                    if let (Expiry::At(at), true) =
                        (deadline, deadline != identity.session_deadline)
                    {
                        review.reauthenticate.push((session, at));
                        if let Some(identity) = sessions.identities.get_mut(&session) {
                            identity.session_deadline = deadline;
                        }
                    }
                }
            }
        }
        review
    }

    /// Sessions whose deadline has passed at `now`: re-authenticate them (KIP-368, Pulsar's
    /// auth refresh) or close them.
    pub fn due(&self, now: Timestamp) -> Vec<SessionId> {
        let sessions = self.lock();
        let mut due: Vec<SessionId> = sessions
            .identities
            .iter()
            .filter(|(_, identity)| identity.session_deadline.has_passed(now))
            .map(|(id, _)| *id)
            .collect();
        due.sort();
        due
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Sessions {
    fn remove(&mut self, session: SessionId) {
        if let Some(identity) = self.identities.remove(&session)
            && let Some(key) = identity.key_id()
            && let Some(sessions) = self.by_key.get_mut(&key)
        {
            sessions.remove(&session);
            if sessions.is_empty() {
                self.by_key.remove(&key);
            }
        }
    }
}
