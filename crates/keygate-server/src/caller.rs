//! Who is calling, and what they may do.
//!
//! A caller proves itself with one of keygate's own API keys, scoped to `cloud` or `global`:
//! `Authorization: Basic base64(key_id:secret)` as Confluent Cloud's API keys are presented, or
//! `Authorization: Bearer` with the `kgk_…` API key or a JWT API key. The authenticator is the
//! one every keygate server uses, kept current from the store, so a revoked or suspended key is
//! refused from the next sync; a key scoped to one cluster is refused as any bad credential is,
//! with a generic 401 (the reason goes to the log and the metrics only).
//!
//! What the caller may then do comes from the role bindings of its principal, read from the
//! store on each request, so a binding removed on one server holds on all of them at once:
//!
//! | role | may |
//! |---|---|
//! | `OrganizationAdmin` | everything |
//! | `ServiceAccountOwner` of S | read S and its keys; create, rotate, suspend, resume, revoke, describe and delete S's keys |
//! | `Viewer` | read everything (no secret is ever readable) |
//! | a user, with no role | read itself and its keys, and manage its own keys, unless the policy forbids user keys |
//!
//! The calling key's permissions narrow its principal's role and never widen it: a key
//! restricted to `describe` only reads, and changes need `admin` (an unrestricted key has
//! both).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use keygate::core::{Permission, PrincipalId, PrincipalKind, Role};
use keygate::{Actor, AuthError};
use keygate_wire::HttpCredential;

use crate::app::App;
use crate::problem::{Kind, Problem};

/// The address a connection came from, set by the server on every request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// An authenticated caller.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub(crate) principal: PrincipalId,
    actor: Actor,
    kind: PrincipalKind,
    roles: Vec<Role>,
    may_read: bool,
    may_write: bool,
    user_keys_allowed: bool,
}

/// What an operation needs.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Need<'a> {
    /// To read anything: principals, keys, bindings, the audit log, the policy.
    ReadAll,
    /// To read one principal and its keys.
    ReadAbout(&'a PrincipalId),
    /// To make and end keys of one principal.
    ManageKeysOf(&'a PrincipalId, PrincipalKind),
    /// Everything else that changes something: principals, signing keys, policy, bindings,
    /// resources, revocations by token.
    Administer,
}

impl Caller {
    /// The actor of the changes this caller makes, for the audit log.
    pub(crate) fn actor(&self) -> Actor {
        self.actor.clone()
    }

    /// Refuses, with 403, what the caller may not do.
    pub(crate) fn require(&self, need: Need<'_>) -> Result<(), Problem> {
        let (writes, allowed) = match need {
            Need::ReadAll => {
                (false, self.has(|r| matches!(r, Role::OrganizationAdmin | Role::Viewer)))
            }
            Need::ReadAbout(principal) => (false, self.reads_about(principal)),
            Need::ManageKeysOf(owner, kind) => (true, self.manages_keys_of(owner, kind)),
            Need::Administer => (true, self.has(|r| matches!(r, Role::OrganizationAdmin))),
        };
        if !allowed {
            return Err(Problem::forbidden(format!(
                "{} has no role that allows this",
                self.principal
            )));
        }
        let permitted = if writes { self.may_write } else { self.may_read };
        if !permitted {
            let needed = if writes { "admin" } else { "describe or admin" };
            return Err(Problem::forbidden(format!(
                "the API key {} is restricted to permissions that exclude this (it needs {needed})",
                match self.actor.origin() {
                    keygate::Origin::ApiKey { key, .. } => key.to_string(),
                    _ => String::new(),
                }
            )));
        }
        Ok(())
    }

    fn has(&self, role: impl Fn(&Role) -> bool) -> bool {
        self.roles.iter().any(role)
    }

    fn reads_about(&self, principal: &PrincipalId) -> bool {
        self.has(|r| match r {
            Role::OrganizationAdmin | Role::Viewer => true,
            Role::ServiceAccountOwner(account) => account == principal,
            _ => false,
        }) || *principal == self.principal
    }

    fn manages_keys_of(&self, owner: &PrincipalId, kind: PrincipalKind) -> bool {
        let own_user_keys = *owner == self.principal
            && self.kind == PrincipalKind::User
            && kind == PrincipalKind::User
            && self.user_keys_allowed;
        own_user_keys
            || self.has(|r| match r {
                Role::OrganizationAdmin => true,
                Role::ServiceAccountOwner(account) => {
                    account == owner && kind == PrincipalKind::ServiceAccount
                }
                _ => false,
            })
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Caller, Problem> {
        let Some(auth) = app.auth() else {
            // In process, the operator holding the store: every right, audited as local.
            let actor = app.local_actor().cloned().ok_or_else(Problem::internal)?;
            return Ok(Caller {
                principal: "local-operator".parse().map_err(|_| Problem::internal())?,
                actor,
                kind: PrincipalKind::ServiceAccount,
                roles: vec![Role::OrganizationAdmin],
                may_read: true,
                may_write: true,
                user_keys_allowed: true,
            });
        };
        let peer = parts
            .extensions
            .get::<Peer>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.0.ip());
        if let Some(wait) = app.limiter().blocked(peer) {
            app.metrics().authentication("refused", "rate_limited");
            return Err(Problem::new(
                Kind::RateLimited,
                "too many failed authentications from this address; retry later",
            )
            .retry_after(wait.as_secs().max(1)));
        }
        let header = parts.headers.get(header::AUTHORIZATION);
        let Some(header) = header else {
            app.metrics().authentication("failure", "missing");
            return Err(unauthenticated("send Authorization: Basic (key id and secret) or Bearer"));
        };
        let refuse = |reason: &'static str, log: &dyn std::fmt::Display| {
            app.metrics().authentication("failure", reason);
            app.limiter().failed(peer);
            app.log().refusal(format_args!("{peer}: authentication refused: {log}"));
            unauthenticated(AuthError::GENERIC)
        };
        let Ok(text) = header.to_str() else {
            return Err(refuse("malformed", &"the Authorization header is not text"));
        };
        let credential = match HttpCredential::parse(text) {
            Ok(credential) => credential,
            Err(error) => return Err(refuse("malformed", &error)),
        };
        let identity = match auth.authenticate(&credential.credential(), None) {
            Ok(identity) => identity,
            Err(error @ AuthError::StatusUnknown { .. }) => {
                app.metrics().authentication("failure", "status_unknown");
                app.log().line(format_args!("{peer}: cannot authenticate: {error}"));
                return Err(Problem::new(Kind::Unavailable, error.client_message()));
            }
            Err(error) => return Err(refuse(error.kind().as_str(), &error)),
        };
        let Some(key) = identity.key_id() else {
            return Err(refuse("not_a_key", &"a token with no keygate key behind it"));
        };
        let principal = identity.principal().clone();
        let store = app.manager().store();
        let owner = store
            .principal(&principal)
            .await
            .map_err(|e| Problem::from(keygate::ManagerError::from(e)))?;
        let roles = store
            .role_bindings(Some(&principal))
            .await
            .map_err(|e| Problem::from(keygate::ManagerError::from(e)))?
            .into_iter()
            .map(|binding| binding.role)
            .collect();
        let user_keys_allowed = match owner.kind {
            PrincipalKind::User => app.manager().policy_in_force().await?.allow_user_keys,
            _ => false,
        };
        app.metrics().authentication("success", "");
        Ok(Caller {
            actor: Actor::authenticated(&principal, key),
            principal,
            kind: owner.kind,
            roles,
            may_read: identity.permits(&Permission::DESCRIBE)
                || identity.permits(&Permission::ADMIN),
            may_write: identity.permits(&Permission::ADMIN),
            user_keys_allowed,
        })
    }
}

fn unauthenticated(detail: &str) -> Problem {
    Problem::new(Kind::Unauthenticated, detail)
}

/// Failed authentications per client address: each address has a budget of `burst` failures,
/// refilled by one every `refill`; an address that spent it gets 429 with `Retry-After` until
/// the next refill, before its credentials are even read. At most [`Limiter::ADDRESSES`]
/// addresses are tracked; when full, the ones whose budgets have refilled are forgotten first,
/// then the oldest.
#[derive(Debug)]
pub(crate) struct Limiter {
    burst: u32,
    refill: Duration,
    budgets: Mutex<HashMap<IpAddr, Budget>>,
}

#[derive(Copy, Clone, Debug)]
struct Budget {
    spent: u32,
    since: Instant,
}

impl Limiter {
    const ADDRESSES: usize = 10_000;

    /// `burst` failures per address, one more every `refill`.
    pub(crate) fn new(burst: u32, refill: Duration) -> Limiter {
        Limiter { burst, refill: refill.max(Duration::from_millis(1)), budgets: Mutex::default() }
    }

    /// How long `peer` must wait, if it spent its budget.
    pub(crate) fn blocked(&self, peer: IpAddr) -> Option<Duration> {
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        let budget = budgets.get_mut(&peer)?;
        let now = Instant::now();
        budget.refill(now, self.refill);
        if budget.spent < self.burst {
            return None;
        }
        Some(self.refill.saturating_sub(now.duration_since(budget.since)))
    }

    /// Counts a failed authentication from `peer`.
    pub(crate) fn failed(&self, peer: IpAddr) {
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if budgets.len() >= Self::ADDRESSES && !budgets.contains_key(&peer) {
            budgets.retain(|_, budget| {
                budget.refill(now, self.refill);
                budget.spent > 0
            });
            if budgets.len() >= Self::ADDRESSES
                && let Some(oldest) = budgets.iter().min_by_key(|(_, b)| b.since).map(|(a, _)| *a)
            {
                budgets.remove(&oldest);
            }
        }
        let budget = budgets.entry(peer).or_insert(Budget { spent: 0, since: now });
        budget.refill(now, self.refill);
        budget.spent = budget.spent.saturating_add(1);
    }
}

impl Budget {
    fn refill(&mut self, now: Instant, every: Duration) {
        let elapsed = now.duration_since(self.since);
        let refills =
            u32::try_from(elapsed.as_millis() / every.as_millis().max(1)).unwrap_or(u32::MAX);
        if refills > 0 {
            self.spent = self.spent.saturating_sub(refills);
            self.since = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use keygate::core::KeyId;

    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_burst_and_others_are_not() {
        let limiter = Limiter::new(10, Duration::from_secs(6));
        let (one, two): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..10 {
            assert!(limiter.blocked(one).is_none());
            limiter.failed(one);
        }
        let wait = limiter.blocked(one).expect("blocked after the burst");
        assert!(wait <= Duration::from_secs(6));
        assert!(limiter.blocked(two).is_none());
    }

    fn caller(kind: PrincipalKind, roles: Vec<Role>, read: bool, write: bool) -> Caller {
        let principal: PrincipalId = "me".parse().unwrap();
        Caller {
            actor: Actor::authenticated(&principal, KeyId::from_bytes([1; 10])),
            principal,
            kind,
            roles,
            may_read: read,
            may_write: write,
            user_keys_allowed: true,
        }
    }

    #[test]
    fn roles_allow_and_permissions_narrow() {
        let orders: PrincipalId = "orders".parse().unwrap();
        let billing: PrincipalId = "billing".parse().unwrap();
        let sa = PrincipalKind::ServiceAccount;
        let admin = caller(sa, vec![Role::OrganizationAdmin], true, true);
        assert!(admin.require(Need::Administer).is_ok());
        let reading_admin = caller(sa, vec![Role::OrganizationAdmin], true, false);
        assert!(reading_admin.require(Need::ReadAll).is_ok());
        assert!(reading_admin.require(Need::Administer).is_err());
        let viewer = caller(sa, vec![Role::Viewer], true, true);
        assert!(viewer.require(Need::ReadAll).is_ok());
        assert!(viewer.require(Need::ManageKeysOf(&orders, sa)).is_err());
        let owner = caller(sa, vec![Role::ServiceAccountOwner(orders.clone())], true, true);
        assert!(owner.require(Need::ManageKeysOf(&orders, sa)).is_ok());
        assert!(owner.require(Need::ManageKeysOf(&billing, sa)).is_err());
        assert!(owner.require(Need::ReadAbout(&orders)).is_ok());
        assert!(owner.require(Need::ReadAll).is_err());
        let user = caller(PrincipalKind::User, vec![], true, true);
        let me: PrincipalId = "me".parse().unwrap();
        assert!(user.require(Need::ManageKeysOf(&me, PrincipalKind::User)).is_ok());
        assert!(user.require(Need::ReadAbout(&me)).is_ok());
        assert!(user.require(Need::ReadAll).is_err());
        let mut forbidden_user = user.clone();
        forbidden_user.user_keys_allowed = false;
        assert!(forbidden_user.require(Need::ManageKeysOf(&me, PrincipalKind::User)).is_err());
    }
}
