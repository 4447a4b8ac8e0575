//! Where a key is valid.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, ResourceKind, ResourceRef};

/// Where a key may be used.
///
/// - `Resource(r)`: on exactly the resource `r`. Presented anywhere else it is refused as a
///   wrong resource, the way a WarpStream agent key pointed at another cluster is.
/// - `Cloud`: on the organization's management API only. The management API names itself with
///   a resource of kind [`ResourceKind::CLOUD`], e.g. `cloud/org-42` or `cloud/api`; a cloud
///   key is valid on every resource of that kind and on nothing else, so it never opens a
///   cluster.
/// - `Global`: on every resource, the management API included; what the key can then do is
///   still bounded by the owner's ACLs and the key's [`Permissions`](crate::Permissions).
///
/// Each broker or gateway passes the resource it serves (`kafka-cluster/lkc-abc123`,
/// `pulsar-tenant/acme`) on every authentication, and [`Scope::admits`] decides.
///
/// It prints and parses as `global`, `cloud` or the resource reference itself, which is
/// unambiguous because every resource reference contains a `/`. Stores and the JWT scope claim
/// use that text.
///
/// ```
/// use keygate_core::{ResourceRef, Scope};
///
/// let cluster: ResourceRef = "kafka-cluster/lkc-abc123".parse()?;
/// let other: ResourceRef = "kafka-cluster/lkc-zzz999".parse()?;
/// let api: ResourceRef = "cloud/org-42".parse()?;
///
/// assert!(Scope::Resource(cluster.clone()).admits(&cluster));
/// assert!(!Scope::Resource(cluster.clone()).admits(&other));
/// assert!(Scope::Cloud.admits(&api) && !Scope::Cloud.admits(&cluster));
/// assert!(Scope::Global.admits(&other));
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scope {
    /// Valid on exactly this resource.
    Resource(ResourceRef),
    /// Valid on the organization's management API (resources of kind `cloud`).
    Cloud,
    /// Valid on every resource.
    Global,
}

impl Scope {
    /// Whether a key with this scope may be used on `resource`: its own resource, or a part
    /// of it (a key for a Pulsar tenant is valid on each of the tenant's namespaces).
    pub fn admits(&self, resource: &ResourceRef) -> bool {
        match self {
            Scope::Resource(own) => own == resource || own.contains(resource),
            Scope::Cloud => resource.is_kind(&ResourceKind::CLOUD),
            Scope::Global => true,
        }
    }

    /// Whether a key with this scope may be used on `resource` or on some part of it: what a
    /// server that fronts a whole Pulsar tenant checks when a client connects, before it checks
    /// each request's part (a topic's namespace) against the scope. A key for one namespace
    /// reaches its tenant, and is admitted only on that namespace.
    pub fn reaches(&self, resource: &ResourceRef) -> bool {
        self.admits(resource) || matches!(self, Scope::Resource(own) if resource.contains(own))
    }

    /// Whether every resource this scope admits is admitted by `other` too.
    pub fn is_within(&self, other: &Scope) -> bool {
        match (self, other) {
            (_, Scope::Global) => true,
            (Scope::Global, _) => false,
            (Scope::Cloud, Scope::Cloud) => true,
            (Scope::Cloud, Scope::Resource(_)) => false,
            (Scope::Resource(own), other) => other.admits(own),
        }
    }

    /// The resource of a `Resource` scope.
    pub fn resource(&self) -> Option<&ResourceRef> {
        match self {
            Scope::Resource(resource) => Some(resource),
            Scope::Cloud | Scope::Global => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Resource(resource) => resource.fmt(f),
            Scope::Cloud => f.write_str("cloud"),
            Scope::Global => f.write_str("global"),
        }
    }
}

impl FromStr for Scope {
    type Err = Error;

    fn from_str(text: &str) -> Result<Scope, Error> {
        Scope::try_from(text.to_owned())
    }
}

impl TryFrom<String> for Scope {
    type Error = Error;

    fn try_from(text: String) -> Result<Scope, Error> {
        match text.as_str() {
            "global" => Ok(Scope::Global),
            "cloud" => Ok(Scope::Cloud),
            _ if text.contains('/') => ResourceRef::try_from(text).map(Scope::Resource),
            _ => Err(Error::Malformed { what: "scope", expected: "global, cloud or kind/id" }),
        }
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> String {
        match scope {
            Scope::Resource(resource) => resource.into(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_key_is_admitted_on_its_namespaces_and_a_namespace_key_reaches_its_tenant() {
        let resource = |text: &str| text.parse::<ResourceRef>().unwrap();
        let tenant = Scope::Resource(resource("pulsar-tenant/acme"));
        let namespace = Scope::Resource(resource("pulsar-namespace/acme/orders"));
        assert!(tenant.admits(&resource("pulsar-namespace/acme/orders")));
        assert!(!tenant.admits(&resource("pulsar-namespace/other/orders")));
        assert!(!namespace.admits(&resource("pulsar-tenant/acme")));
        assert!(namespace.reaches(&resource("pulsar-tenant/acme")));
        assert!(!namespace.reaches(&resource("pulsar-tenant/other")));
        assert!(!namespace.reaches(&resource("pulsar-namespace/acme/billing")));
        assert!(namespace.is_within(&tenant) && !tenant.is_within(&namespace));
        assert!(!Scope::Cloud.reaches(&resource("pulsar-tenant/acme")));
    }

    fn r(text: &str) -> ResourceRef {
        text.parse().unwrap()
    }

    #[test]
    fn cloud_admits_only_the_management_api() {
        assert!(Scope::Cloud.admits(&r("cloud/api")));
        assert!(!Scope::Cloud.admits(&r("kafka-cluster/lkc-1")));
        assert!(!Scope::Cloud.admits(&r("cloudy/x")));
    }

    #[test]
    fn is_within_orders_scopes() {
        let one = Scope::Resource(r("kafka-cluster/lkc-1"));
        let api = Scope::Resource(r("cloud/api"));
        assert!(one.is_within(&Scope::Global));
        assert!(!one.is_within(&Scope::Cloud));
        assert!(api.is_within(&Scope::Cloud));
        assert!(Scope::Cloud.is_within(&Scope::Global));
        assert!(!Scope::Global.is_within(&Scope::Cloud));
        assert!(!Scope::Cloud.is_within(&api));
        assert!(one.is_within(&one));
    }

    #[test]
    fn text_form_round_trips() {
        for text in ["global", "cloud", "kafka-cluster/lkc-1"] {
            let scope: Scope = text.parse().unwrap();
            assert_eq!(scope.to_string(), text);
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
        }
        for bad in ["", "Global", "everything", "kafka-cluster"] {
            assert!(bad.parse::<Scope>().is_err(), "{bad:?}");
        }
    }
}
