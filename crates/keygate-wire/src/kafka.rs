//! Kafka session lifetimes (KIP-368): when a connection must re-authenticate.

use keygate::Identity;
use keygate::core::{Expiry, Span, Timestamp};

/// How long a Kafka session may last: the `session_lifetime_ms` a broker sends in its
/// SaslAuthenticate response, and the instant it stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SessionLifetime {
    /// What to send: milliseconds until the client must re-authenticate, or 0 for never
    /// (Kafka's "no re-authentication required").
    pub session_lifetime_ms: i64,
    /// When the session ends unless re-authenticated; `Never` with a lifetime of 0.
    pub ends: Expiry,
}

impl SessionLifetime {
    /// The lifetime of a session opened at `now` by `identity`: until its session deadline
    /// (the credential's expiry, or sooner if the authenticator caps sessions), and no longer
    /// than `max` (the broker's `connections.max.reauth.ms`) when given. Never past the
    /// credential's expiry; at least one millisecond when it is finite, so that a session
    /// about to expire is not mistaken for one that never does.
    pub fn of(identity: &Identity, now: Timestamp, max: Option<Span>) -> SessionLifetime {
        let capped = match max {
            Some(max) => identity.session_deadline().min(Expiry::At(now.saturating_add(max))),
            None => identity.session_deadline(),
        };
        match capped {
            Expiry::Never => SessionLifetime { session_lifetime_ms: 0, ends: Expiry::Never },
            Expiry::At(at) => {
                let seconds = at.unix().saturating_sub(now.unix());
                let ms = seconds.saturating_mul(1000).max(1);
                SessionLifetime { session_lifetime_ms: ms, ends: Expiry::At(at) }
            }
        }
    }
}
