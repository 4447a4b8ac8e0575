//! The limits every network server needs before a client has authenticated.

use std::time::Duration;

use keygate::core::Span;

/// Bounds on what a client can make a server hold. Before a client authenticates it is a
/// stranger: it gets a small frame size and a short deadline, strangers together have a budget
/// below the connection cap, and each source address a share of that budget; the number of
/// connections is capped whatever their state.
///
/// The defaults follow Kafka brokers where they have a setting of the same meaning:
///
/// | limit | default | Kafka's |
/// |---|---|---|
/// | [`max_connections`](Limits::max_connections) | 10 000 | `max.connections` (unbounded there) |
/// | [`max_strangers`](Limits::max_strangers) | 1 000 | none |
/// | [`max_strangers_per_address`](Limits::max_strangers_per_address) | 64 | `max.connections.per.ip` (for every connection there, unbounded by default) |
/// | [`auth_deadline`](Limits::auth_deadline) | 10 s | none |
/// | [`max_frame_before_auth`](Limits::max_frame_before_auth) | 64 KiB | `sasl.server.max.receive.size` (512 KiB) |
/// | [`max_frame`](Limits::max_frame) | 100 MiB | `socket.request.max.bytes` |
/// | [`idle_timeout`](Limits::idle_timeout) | 10 min | `connections.max.idle.ms` |
///
/// Strangers' frames hold at most `max_strangers × max_frame_before_auth` (64 MiB by default)
/// at once. SASL and Pulsar's CONNECT fit well within 64 KiB: a JWT API key is under 2 KB.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// The most connections that have not authenticated yet, open at once.
    pub max_strangers: usize,
    /// The most connections from one source address (an IPv4 address, or an IPv6 /64) that
    /// have not authenticated yet, open at once.
    pub max_strangers_per_address: usize,
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
            max_strangers: 1_000,
            max_strangers_per_address: 64,
            auth_deadline: Duration::from_secs(10),
            max_frame_before_auth: 64 * 1024,
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

    /// Caps connections that have not authenticated at `max`.
    pub fn with_max_strangers(mut self, max: usize) -> Limits {
        self.max_strangers = max;
        self
    }

    /// Caps connections from one source address that have not authenticated at `max`.
    pub fn with_max_strangers_per_address(mut self, max: usize) -> Limits {
        self.max_strangers_per_address = max;
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

    /// Applies one `NAME=VALUE` setting, as an operator writes it on a command line:
    /// `max-connections=N`, `max-strangers=N`, `max-strangers-per-address=N`,
    /// `auth-deadline=SPAN`, `max-frame-before-auth=BYTES`, `max-frame=BYTES` or
    /// `idle-timeout=SPAN` (spans as keygate writes them: `10s`, `5m`).
    pub fn with_setting(self, setting: &str) -> Result<Limits, LimitError> {
        let (name, value) = setting.split_once('=').ok_or(LimitError::Shape)?;
        let count =
            || value.parse::<usize>().map_err(|_| LimitError::Value { name: name.to_owned() });
        let span = || {
            value
                .parse::<Span>()
                .map(|span| Duration::from_secs(span.as_seconds()))
                .map_err(|_| LimitError::Value { name: name.to_owned() })
        };
        Ok(match name {
            "max-connections" => self.with_max_connections(count()?),
            "max-strangers" => self.with_max_strangers(count()?),
            "max-strangers-per-address" => self.with_max_strangers_per_address(count()?),
            "auth-deadline" => self.with_auth_deadline(span()?),
            "max-frame-before-auth" => self.with_max_frame_before_auth(count()?),
            "max-frame" => self.with_max_frame(count()?),
            "idle-timeout" => self.with_idle_timeout(span()?),
            _ => return Err(LimitError::Unknown { name: name.to_owned() }),
        })
    }
}

/// A limit setting that could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// Not `NAME=VALUE`.
    #[error("a limit is written NAME=VALUE, e.g. auth-deadline=10s")]
    Shape,
    /// No limit has this name.
    #[error(
        "unknown limit {name:?}; the limits are max-connections, max-strangers, \
         max-strangers-per-address, auth-deadline, max-frame-before-auth, max-frame and \
         idle-timeout"
    )]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The value is not a count (for connections and frame sizes) or a span (for times).
    #[error("the value of {name} is not a count of bytes or connections, or a span such as 10s")]
    Value {
        /// The limit's name.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_apply_by_name_and_refuse_what_they_do_not_know() {
        let limits = Limits::default()
            .with_setting("max-connections=3")
            .and_then(|l| l.with_setting("auth-deadline=2s"))
            .and_then(|l| l.with_setting("max-frame-before-auth=1024"))
            .and_then(|l| l.with_setting("idle-timeout=1m"))
            .and_then(|l| l.with_setting("max-strangers=100"))
            .and_then(|l| l.with_setting("max-strangers-per-address=8"))
            .unwrap();
        assert_eq!((limits.max_strangers, limits.max_strangers_per_address), (100, 8));
        assert_eq!(limits.max_connections, 3);
        assert_eq!(limits.auth_deadline, Duration::from_secs(2));
        assert_eq!(limits.max_frame_before_auth, 1024);
        assert_eq!(limits.idle_timeout, Duration::from_secs(60));
        assert_eq!(Limits::default().with_setting("auth-deadline"), Err(LimitError::Shape));
        assert!(matches!(
            Limits::default().with_setting("bogus=1"),
            Err(LimitError::Unknown { .. })
        ));
        assert!(matches!(
            Limits::default().with_setting("max-frame=lots"),
            Err(LimitError::Value { .. })
        ));
        assert!(matches!(
            Limits::default().with_setting("max-strangers-per-address=-1"),
            Err(LimitError::Value { .. })
        ));
    }
}
