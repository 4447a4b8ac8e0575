//! One client connection: what it may still do, and what the server tells it.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use keygate::core::{Expiry, Timestamp};
use keygate::{AuthError, Identity, SessionId};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::admission::Place;
use crate::{FrameError, FrameReader, Server};

/// What the sync task tells a connection.
#[derive(Clone, Debug)]
pub(crate) enum Control {
    /// Close now: the credential no longer holds.
    Close(AuthError),
    /// Re-authenticate (or end) by then, sooner than before.
    Reauthenticate(Timestamp),
}

/// What a connection has to handle next.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A frame from the client.
    Frame(Bytes),
    /// The session's deadline has passed: its credential expired, or the session cap (or a
    /// rotation that brought the key's expiry forward) ended it. Kafka closes the connection
    /// unless the client has re-authenticated; Pulsar asks the client for a fresh token. Until
    /// [`Connection::established`] or [`Connection::set_deadline`] sets a new one, it is not
    /// reported again.
    SessionExpired,
}

/// Why a connection ends. `Display` is for the operator's log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Ending {
    /// The client closed the connection between frames.
    #[error("the client hung up")]
    Hangup,
    /// The credential the connection authenticated with no longer holds: its key was revoked,
    /// suspended or deleted, its principal signed out, or it expired.
    #[error("the credential no longer holds: {0}")]
    Refused(#[source] AuthError),
    /// The client did not finish authenticating within [`Limits::auth_deadline`](crate::Limits::auth_deadline).
    #[error("did not authenticate within {0:?}")]
    AuthDeadline(Duration),
    /// The client sent no whole frame for [`Limits::idle_timeout`](crate::Limits::idle_timeout).
    #[error("idle for {0:?}")]
    Idle(Duration),
    /// A frame could not be read: too large for the connection's state, cut short, or a read
    /// error.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A connection the [`Server`] admitted, from accept to close.
///
/// Before it authenticates it may send frames of at most
/// [`Limits::max_frame_before_auth`](crate::Limits::max_frame_before_auth) and must authenticate
/// within [`Limits::auth_deadline`](crate::Limits::auth_deadline). Once
/// [established](Connection::established), the server's sync task may tell it to close (its key
/// was revoked) or to re-authenticate sooner; [`Connection::next`] turns all of that, the
/// client's frames and the session deadline into one stream of events. Dropping it gives its
/// place back and forgets its session.
pub struct Connection {
    server: Server,
    id: SessionId,
    controls: mpsc::UnboundedReceiver<Control>,
    place: Place,
    identity: Option<Identity>,
    authenticate_by: Instant,
    deadline: Option<Instant>,
    last_frame: Instant,
}

impl Connection {
    pub(crate) fn new(
        server: Server,
        id: SessionId,
        controls: mpsc::UnboundedReceiver<Control>,
        place: Place,
    ) -> Connection {
        let now = Instant::now();
        let authenticate_by = now + server.limits().auth_deadline;
        Connection {
            server,
            id,
            controls,
            place,
            identity: None,
            authenticate_by,
            deadline: None,
            last_frame: now,
        }
    }

    /// Its session id, unique within the server: for logs.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The server it belongs to.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Who it authenticated as, once it has.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// When its session ends unless it re-authenticates, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Records that the connection authenticated (or re-authenticated) as `identity`, and sets
    /// its session deadline from [`Identity::session_deadline`]. Refused if a sync that ran
    /// while the client was authenticating ended the credential, so that no connection slips
    /// between a revocation and the review that follows it.
    ///
    /// Whether a re-authentication may change the principal is the protocol's rule, applied
    /// before this by `keygate-wire`'s `finish` steps.
    pub fn established(&mut self, identity: Identity) -> Result<(), AuthError> {
        let shared = self.server.shared();
        shared.sessions.register(self.id, identity.clone());
        // The registry now holds the session, so a review from here on sees it; a revocation
        // published before the registration is seen by this check.
        if let Err(error) = shared.authenticator.recheck(&identity, self.server.now())
            && error.ends_sessions()
        {
            shared.sessions.unregister(self.id);
            return Err(error);
        }
        self.deadline = self.instant_of(identity.session_deadline());
        self.identity = Some(identity);
        shared.admission.authenticated(&mut self.place);
        Ok(())
    }

    /// Sets when [`Event::SessionExpired`] fires next (a grace period for a client asked to
    /// refresh its token, say), or `None` for never.
    pub fn set_deadline(&mut self, at: Option<Instant>) {
        self.deadline = at;
    }

    /// The largest frame the client may send now: smaller before it has authenticated.
    pub fn max_frame(&self) -> usize {
        let limits = self.server.limits();
        if self.identity.is_some() { limits.max_frame } else { limits.max_frame_before_auth }
    }

    /// The next thing to handle: a frame from the client, or the end of its session; or why
    /// the connection must close. Cancel-safe, so it can sit in a `select!` beside the
    /// server's other work (an upstream connection, say).
    pub async fn next<R: AsyncRead + Unpin>(
        &mut self,
        frames: &mut FrameReader<R>,
    ) -> Result<Event, Ending> {
        loop {
            let limits = self.server.limits();
            let idle_by = self.last_frame + limits.idle_timeout;
            let (auth_by, session_by) = match self.identity {
                None => (Some(self.authenticate_by), None),
                Some(_) => (None, self.deadline),
            };
            let stale_by = match self.identity {
                Some(_) => self.stale_at(),
                None => None,
            };
            let max = self.max_frame();
            tokio::select! {
                frame = frames.read(max) => {
                    self.last_frame = Instant::now();
                    return match frame? {
                        Some(frame) => Ok(Event::Frame(frame)),
                        None => Err(Ending::Hangup),
                    };
                }
                control = self.controls.recv() => match control {
                    Some(Control::Close(reason)) => return Err(Ending::Refused(reason)),
                    Some(Control::Reauthenticate(at)) => {
                        if let Some(at) = self.instant_of(Expiry::At(at)) {
                            self.deadline = Some(self.deadline.map_or(at, |d| d.min(at)));
                        }
                    }
                    // The server keeps a sender for every connection it has not forgotten.
                    None => return Err(Ending::Hangup),
                },
                () = sleep_until(auth_by) => {
                    return Err(Ending::AuthDeadline(limits.auth_deadline));
                }
                () = sleep_until(session_by) => {
                    self.deadline = None;
                    return Ok(Event::SessionExpired);
                }
                () = tokio::time::sleep_until(idle_by) => {
                    return Err(Ending::Idle(limits.idle_timeout));
                }
                () = sleep_until(stale_by) => {
                    // Synced since the wait began, the state is fresh again: wait anew.
                    if let Err(error) = self.server.authenticator().check_fresh(self.server.now()) {
                        return Err(Ending::Refused(error));
                    }
                }
            }
        }
    }

    /// When the authenticator's state becomes too old to answer, unless it syncs before: an
    /// open session is then served no more than a new one would be. `None` when the embedder
    /// accepts stale state.
    fn stale_at(&self) -> Option<Instant> {
        let authenticator = self.server.authenticator();
        let max = authenticator.config().max_staleness?;
        let synced_at = authenticator.version().synced_at?;
        // A second past the bound: instants are whole seconds, and the check is exclusive.
        let at = synced_at.saturating_add(max).saturating_add(keygate::core::Span::seconds(1));
        self.instant_of(Expiry::At(at))
    }

    /// The monotonic instant of `expiry`, by the server's clock; `None` for never.
    fn instant_of(&self, expiry: Expiry) -> Option<Instant> {
        let Expiry::At(at) = expiry else { return None };
        let left = at.saturating_since(self.server.now());
        Some(Instant::now() + Duration::from_secs(left.as_seconds()))
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("identity", &self.identity)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.server.shared().admission.release(&mut self.place);
        self.server.forget(self.id);
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
