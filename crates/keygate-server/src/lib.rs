//! keygate's control plane over HTTP: the management API under `/v1`, opened by keygate's own
//! API keys scoped to `cloud` (or `global`), the way Confluent Cloud's API is opened by cloud
//! API keys.
//!
//! - **Stateless over its store.** Every request reads the store; several servers over one
//!   PostgreSQL serve one view, and the store's atomic steps keep quotas across them.
//! - **Authentication** ([`caller`](crate) module docs): HTTP Basic with a key id and secret, or
//!   Bearer with a `kgk_…` key or a JWT API key, checked by the same authenticator every keygate
//!   server runs. Failed attempts are budgeted per client address (429 with `Retry-After`).
//! - **Authorization** by role bindings in the store (`OrganizationAdmin`,
//!   `ServiceAccountOwner`, `Viewer`), narrowed by the calling key's permissions; every change
//!   is audited with the caller's principal and key as its actor.
//! - **Conventions**: RFC 9457 problem documents with a stable `type` per kind and the field
//!   at fault; cursor pagination with tokens checked against their listing; `ETag` and
//!   `If-Match`; unknown fields refused; bodies capped at 1 MiB; requests time out; responses
//!   never cached. The OpenAPI 3.1 document at `GET /v1/openapi.json` is generated from the
//!   handlers as they are registered.
//! - **Discovery**: `/.well-known/jwks.json` and `/.well-known/openid-configuration`, so JWT
//!   API keys can be checked without keygate (by Kafka's OAUTHBEARER JWKS validation, KIP-768,
//!   or any JWT library). Such verifiers see signatures and expiry, **not revocation**: a
//!   revoked key's token passes them until it expires. Put keygate's own authenticator (the
//!   proxy, a broker linking keygate) wherever revocation must hold.
//! - **Operations**: `/healthz`, `/readyz` (the store answers), `/metrics` (Prometheus).
//!
//! The server is the `keygate serve` subcommand of the `keygate` command; this crate is its
//! library, for embedding and tests.

mod api;
mod app;
mod caller;
mod client;
mod extract;
mod metrics;
mod page;
mod problem;
mod serve;
mod view;

pub use app::{App, AppConfig};
pub use caller::Peer;
pub use client::{Client, ClientError};
pub use extract::MAX_BODY;
pub use page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use problem::{Kind, PROBLEM_JSON, Problem};
pub use serve::{ServeError, check_plaintext, serve, tls_acceptor};
pub use view::{
    AuditEventView, IssuedKeyView, KeyContext, KeyView, PolicyView, PrincipalView, ResourceView,
    RoleBindingView, RotationView, SigningKeyView, with_rfc3339_times,
};
