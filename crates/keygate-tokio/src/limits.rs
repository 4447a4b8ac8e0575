//! The limits every network server needs before a client has authenticated.

use std::time::Duration;

/// Bounds on what a client can make a server hold. Before a client authenticates it is a
/// stranger: it gets a small frame size and a short deadline, and the number of connections is
/// capped whatever their state.
///
/// The defaults follow Kafka brokers where they have a setting of the same meaning:
///
/// | limit | default | Kafka's |
/// |---|---|---|
/// | [`max_connections`](Limits::max_connections) | 10 000 | `max.connections` (unbounded there) |
/// | [`auth_deadline`](Limits::auth_deadline) | 10 s | none |
/// | [`max_frame_before_auth`](Limits::max_frame_before_auth) | 512 KiB | `sasl.server.max.receive.size` |
/// | [`max_frame`](Limits::max_frame) | 100 MiB | `socket.request.max.bytes` |
/// | [`idle_timeout`](Limits::idle_timeout) | 10 min | `connections.max.idle.ms` |
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// How long a connection has, from being accepted, to finish authenticating.
    pub auth_deadline: Duration,
    /// The largest frame a client may declare before it has authenticated.
    pub max_frame_before_auth: usize,
    /// The largest frame an authenticated client may declare.
    pub max_frame: usize,
    /// How long a connection may go without completing a frame before it is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 10_000,
            auth_deadline: Duration::from_secs(10),
            max_frame_before_auth: 512 * 1024,
            max_frame: 100 * 1024 * 1024,
            idle_timeout: Duration::from_secs(600),
        }
    }
}

impl Limits {
    /// Caps open connections at `max`.
    pub fn with_max_connections(mut self, max: usize) -> Limits {
        self.max_connections = max;
        self
    }

    /// Gives clients `deadline` to authenticate.
    pub fn with_auth_deadline(mut self, deadline: Duration) -> Limits {
        self.auth_deadline = deadline;
        self
    }

    /// Caps frames before authentication at `max` bytes.
    pub fn with_max_frame_before_auth(mut self, max: usize) -> Limits {
        self.max_frame_before_auth = max;
        self
    }

    /// Caps frames after authentication at `max` bytes.
    pub fn with_max_frame(mut self, max: usize) -> Limits {
        self.max_frame = max;
        self
    }

    /// Closes connections idle for `timeout`.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Limits {
        self.idle_timeout = timeout;
        self
    }
}
