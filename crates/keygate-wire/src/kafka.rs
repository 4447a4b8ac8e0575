//! Kafka session lifetimes (KIP-368): when a connection must re-authenticate.

use keygate::Identity;
use keygate::core::{Expiry, Timestamp};

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
    /// The lifetime of a session opened at `now` by `identity`: until its session deadline,
    /// which is the credential's expiry, or sooner where the authenticator caps sessions
    /// (`AuthConfig::max_session`, Kafka's `connections.max.reauth.ms`). At least one
    /// millisecond when it is finite, so that a session about to expire is not mistaken for one
    /// that never does.
    pub fn of(identity: &Identity, now: Timestamp) -> SessionLifetime {
        match identity.session_deadline() {
            Expiry::Never => SessionLifetime { session_lifetime_ms: 0, ends: Expiry::Never },
            Expiry::At(at) => {
                let seconds = at.unix().saturating_sub(now.unix());
                let ms = seconds.saturating_mul(1000).max(1);
                SessionLifetime { session_lifetime_ms: ms, ends: Expiry::At(at) }
            }
        }
    }
}
