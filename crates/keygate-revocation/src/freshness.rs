//! How stale a revocation list may be before its answers stop counting.

use keygate_core::{Span, Timestamp};

use crate::Error;

/// The default staleness bound: a list not synced for a minute answers "unknown".
pub const DEFAULT_MAX_STALENESS: Span = Span::seconds(60);

/// The staleness a check tolerates.
///
/// A revocation list is only as good as its last sync: a broker cut off from the control plane
/// keeps accepting a key revoked after the cut. So a check past the bound does not answer "not
/// revoked" but [`Error::StatusUnknown`], and the credential is refused. An embedder that would
/// rather keep serving on a stale list says so with [`Freshness::accept_stale`], by name.
///
/// ```
/// use keygate_core::Span;
/// use keygate_revocation::Freshness;
///
/// let strict = Freshness::within(Span::seconds(5));
/// let lenient = Freshness::accept_stale(); // an explicit, visible choice
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Freshness {
    /// The largest allowed time since the last sync; `None` accepts any.
    pub max_staleness: Option<Span>,
}

impl Default for Freshness {
    fn default() -> Freshness {
        Freshness::within(DEFAULT_MAX_STALENESS)
    }
}

impl Freshness {
    /// Answers "unknown" once the list is more than `max` out of date, or if it has never synced.
    pub fn within(max: Span) -> Freshness {
        Freshness { max_staleness: Some(max) }
    }

    /// Answers from the list however old it is. Revocations that happened since the last sync
    /// are then silently missed; choose this knowingly.
    pub fn accept_stale() -> Freshness {
        Freshness { max_staleness: None }
    }

    #[inline]
    pub(crate) fn check(&self, synced_at: Option<Timestamp>, now: Timestamp) -> Result<(), Error> {
        let Some(max) = self.max_staleness else { return Ok(()) };
        match synced_at {
            Some(at) if now.saturating_since(at) <= max => Ok(()),
            _ => Err(Error::StatusUnknown { synced_at, now, max }),
        }
    }
}
