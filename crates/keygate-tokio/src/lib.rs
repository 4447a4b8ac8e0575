//! What every server that embeds keygate needs on tokio, whatever protocol it speaks.
//!
//! keygate's other crates do no I/O. A broker or gateway has sockets, a runtime and a store,
//! and every one of them needs the same few things around the [`Authenticator`](keygate::Authenticator):
//!
//! - **The store**, opened from the location string the `keygate` command takes (a SQLite
//!   path, a `sqlite:` or a `postgres://` URL): [`Server::open`], through
//!   [`SqlStore::open_location`](keygate_store_sql::SqlStore::open_location).
//! - **The replica's sync task**: the first sync before [`Server::start`] returns (a store that
//!   cannot be read fails the start; it streams the store's snapshot, a million keys in seconds),
//!   then one as soon as the store announces a change (PostgreSQL's `LISTEN`/`NOTIFY`), and one
//!   every second besides; every 100 ms instead while the store cannot announce every change or
//!   its notifications are down ([`ServerConfig`] says how). A failed sync keeps the last
//!   state; a state older than the authenticator's staleness bound refuses everything.
//! - **Connections told what a sync means for them**: after each sync the
//!   [`SessionRegistry`](keygate::SessionRegistry) review is delivered to each [`Connection`]'s
//!   task, as [`Ending::Refused`] (close now, and why) or as an earlier session deadline.
//! - **Limits before authentication** ([`Limits`]): a cap on open connections, a smaller
//!   budget for connections still authenticating and a share of it per source address (so one
//!   host cannot lock out others), a deadline to finish authenticating, a small frame size until
//!   then (64 KiB), and an idle timeout. A declared frame size is checked before anything is
//!   buffered, and buffers grow with what arrives, so a client cannot make the server reserve
//!   memory by announcing it: all strangers together hold at most
//!   [`Limits::max_strangers`] × [`Limits::max_frame_before_auth`] of frames.
//! - **Fail-closed sessions**: once the authenticator's state is older than its staleness
//!   bound (the store unreachable), open connections end too, as new logins are refused, so a
//!   key revoked meanwhile is not served on a connection it already had.
//! - **Last use written back**: the authenticator notes each key's latest successful check in
//!   memory, and the sync task writes the uses since the last batch to the store once a minute
//!   ([`ServerConfig::last_use_interval`]), tagged with the server's resource, so `keygate
//!   api-key list` can say which keys nothing uses.
//!
//! A server's accept loop then reads, for a size-prefixed protocol such as Kafka or Pulsar:
//!
//! ```no_run
//! use keygate_tokio::{Event, FrameReader, Server, ServerConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::open("keygate.db", "kafka-cluster/lkc-abc123".parse()?, ServerConfig::default()).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9092").await?;
//! loop {
//!     let (stream, peer) = listener.accept().await?;
//!     // Over a cap (see `Limits`): dropping the stream closes it.
//!     let Ok(mut connection) = server.admit(peer.ip()) else { continue };
//!     tokio::spawn(async move {
//!         let (reader, _writer) = stream.into_split();
//!         let mut frames = FrameReader::new(reader);
//!         loop {
//!             match connection.next(&mut frames).await {
//!                 Ok(Event::Frame(frame)) => { /* the protocol: authenticate, then serve */ }
//!                 Ok(_) => break, // the session ended without re-authentication
//!                 Err(ending) => { eprintln!("connection {}: {ending}", connection.id()); break }
//!             }
//!         }
//!     });
//! }
//! # }
//! ```
//!
//! The facade's crate docs (`keygate`) show the whole job, SASL included.

mod admission;
mod connection;
mod frame;
mod limits;
mod log;
mod server;

pub use admission::{AdmitError, Source};
pub use connection::{Connection, Ending, Event};
pub use frame::{FrameError, FrameReader};
pub use limits::{LimitError, Limits};
pub use log::{Log, Untrusted};
pub use server::{Server, ServerConfig, StartError, SyncObserver};

pub(crate) use connection::Control;
