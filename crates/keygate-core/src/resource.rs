//! What keys are valid on: clusters, registries, tenants, the management API.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::text::check_identifier;

/// The kind half of a [`ResourceRef`]: an open vocabulary of lowercase names.
///
/// Kinds are not a closed enum because every platform has its own (Confluent's
/// `schema-registry`, WarpStream's `agent-cluster`); the well-known ones are constants.
/// A kind is 1 to 32 bytes of `a-z`, `0-9` and `-`, starting with a letter.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKind(Cow<'static, str>);

impl ResourceKind {
    /// A Kafka cluster, e.g. `kafka-cluster/lkc-abc123`.
    pub const KAFKA_CLUSTER: ResourceKind = ResourceKind(Cow::Borrowed("kafka-cluster"));
    /// A schema registry, e.g. `schema-registry/lsrc-9`.
    pub const SCHEMA_REGISTRY: ResourceKind = ResourceKind(Cow::Borrowed("schema-registry"));
    /// A Pulsar tenant, e.g. `pulsar-tenant/acme`.
    pub const PULSAR_TENANT: ResourceKind = ResourceKind(Cow::Borrowed("pulsar-tenant"));
    /// One namespace of a Pulsar tenant, e.g. `pulsar-namespace/acme/orders`: its id is the
    /// tenant and the namespace, the one kind whose id has a `/`.
    pub const PULSAR_NAMESPACE: ResourceKind = ResourceKind(Cow::Borrowed("pulsar-namespace"));
    /// A Pulsar cluster, e.g. `pulsar-cluster/us-east`.
    pub const PULSAR_CLUSTER: ResourceKind = ResourceKind(Cow::Borrowed("pulsar-cluster"));
    /// A cluster of stateless agents, as WarpStream binds agent keys, e.g. `agent-cluster/vci_1`.
    pub const AGENT_CLUSTER: ResourceKind = ResourceKind(Cow::Borrowed("agent-cluster"));
    /// The organization's management API. See [`Scope::Cloud`](crate::Scope::Cloud).
    pub const CLOUD: ResourceKind = ResourceKind(Cow::Borrowed("cloud"));

    /// The kinds keygate names. Embedders that serve more declare them (the facade's
    /// `Profile::with_resource_kind`).
    pub const WELL_KNOWN: [ResourceKind; 7] = [
        ResourceKind::KAFKA_CLUSTER,
        ResourceKind::SCHEMA_REGISTRY,
        ResourceKind::PULSAR_TENANT,
        ResourceKind::PULSAR_NAMESPACE,
        ResourceKind::PULSAR_CLUSTER,
        ResourceKind::AGENT_CLUSTER,
        ResourceKind::CLOUD,
    ];

    /// The longest kind, in bytes.
    pub const MAX_LEN: usize = 32;

    /// The kind as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(text: &str) -> Result<(), Error> {
        const WHAT: &str = "resource kind";
        check_identifier(
            WHAT,
            text,
            Self::MAX_LEN,
            |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-',
            "a-z, 0-9 and -",
        )?;
        if !text.as_bytes()[0].is_ascii_lowercase() {
            return Err(Error::InvalidCharacter { what: WHAT, at: 0, allowed: "a letter first" });
        }
        Ok(())
    }
}

impl FromStr for ResourceKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<ResourceKind, Error> {
        ResourceKind::check(text)?;
        Ok(ResourceKind(Cow::Owned(text.to_owned())))
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceKind({})", self.0)
    }
}

/// A reference to one resource: `kind/id`, e.g. `kafka-cluster/lkc-abc123`.
///
/// The id is 1 to 128 bytes of ASCII letters, digits and `. _ - : =` (the characters Pulsar
/// allows in tenant names and Confluent in resource ids). The whole reference is kept as one
/// string so that comparing it with the resource a broker serves is one string comparison.
///
/// A broker names itself with the reference of the resource it serves, and passes it on every
/// authentication; a key scoped elsewhere is then refused as a wrong resource.
///
/// ```
/// use keygate_core::{ResourceKind, ResourceRef};
///
/// let cluster: ResourceRef = "kafka-cluster/lkc-abc123".parse()?;
/// assert_eq!(cluster.kind(), ResourceKind::KAFKA_CLUSTER.as_str());
/// assert_eq!(cluster.id(), "lkc-abc123");
/// assert!("kafka-cluster".parse::<ResourceRef>().is_err());
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceRef {
    text: String,
    slash: usize,
}

impl ResourceRef {
    /// The longest id part, in bytes.
    pub const MAX_ID_LEN: usize = 128;

    /// The reference of `id` of kind `kind`.
    pub fn new(kind: &ResourceKind, id: &str) -> Result<ResourceRef, Error> {
        Self::check_id_of(kind.as_str(), id)?;
        Ok(ResourceRef { text: format!("{kind}/{id}"), slash: kind.as_str().len() })
    }

    /// The whole reference, `kind/id`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The kind part.
    pub fn kind(&self) -> &str {
        &self.text[..self.slash]
    }

    /// The id part.
    pub fn id(&self) -> &str {
        &self.text[self.slash + 1..]
    }

    /// Whether this is a resource of `kind`.
    pub fn is_kind(&self, kind: &ResourceKind) -> bool {
        self.kind() == kind.as_str()
    }

    /// Whether `other` is a part of this resource: a namespace of a Pulsar tenant is part of
    /// the tenant. No other kinds nest.
    pub fn contains(&self, other: &ResourceRef) -> bool {
        self.is_kind(&ResourceKind::PULSAR_TENANT)
            && other.is_kind(&ResourceKind::PULSAR_NAMESPACE)
            && other.id().split_once('/').is_some_and(|(tenant, _)| tenant == self.id())
    }

    /// The resource this one is a part of, if any: a namespace's tenant. The inverse of
    /// [`ResourceRef::contains`].
    ///
    /// ```
    /// use keygate_core::ResourceRef;
    ///
    /// let namespace: ResourceRef = "pulsar-namespace/acme/orders".parse()?;
    /// let tenant: ResourceRef = "pulsar-tenant/acme".parse()?;
    /// assert_eq!(namespace.whole(), Some(tenant.clone()));
    /// assert!(tenant.contains(&namespace));
    /// assert_eq!(tenant.whole(), None);
    /// # Ok::<(), keygate_core::Error>(())
    /// ```
    pub fn whole(&self) -> Option<ResourceRef> {
        if !self.is_kind(&ResourceKind::PULSAR_NAMESPACE) {
            return None;
        }
        let (tenant, _) = self.id().split_once('/')?;
        format!("{}/{tenant}", ResourceKind::PULSAR_TENANT.as_str()).parse().ok()
    }

    /// An id of `kind`: a `pulsar-namespace` is `tenant/namespace`, two ids; every other kind's
    /// is one.
    fn check_id_of(kind: &str, id: &str) -> Result<(), Error> {
        if kind == ResourceKind::PULSAR_NAMESPACE.as_str() {
            let (tenant, namespace) = id.split_once('/').ok_or(Error::Malformed {
                what: "pulsar namespace",
                expected: "pulsar-namespace/TENANT/NAMESPACE",
            })?;
            Self::check_id(tenant)?;
            return Self::check_id(namespace);
        }
        Self::check_id(id)
    }

    fn check_id(id: &str) -> Result<(), Error> {
        check_identifier(
            "resource id",
            id,
            Self::MAX_ID_LEN,
            |b| b.is_ascii_alphanumeric() || b"._-:=".contains(&b),
            "ASCII letters, digits and . _ - : =",
        )
    }

    fn parse(text: String) -> Result<ResourceRef, Error> {
        let slash = text.find('/').ok_or(Error::Malformed {
            what: "resource",
            expected: "kind/id, e.g. kafka-cluster/lkc-abc123",
        })?;
        ResourceKind::check(&text[..slash])?;
        Self::check_id_of(&text[..slash], &text[slash + 1..])?;
        Ok(ResourceRef { text, slash })
    }
}

impl FromStr for ResourceRef {
    type Err = Error;

    fn from_str(text: &str) -> Result<ResourceRef, Error> {
        ResourceRef::parse(text.to_owned())
    }
}

impl TryFrom<String> for ResourceRef {
    type Error = Error;

    fn try_from(text: String) -> Result<ResourceRef, Error> {
        ResourceRef::parse(text)
    }
}

impl From<ResourceRef> for String {
    fn from(resource: ResourceRef) -> String {
        resource.text
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceRef({})", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pulsar_namespace_is_a_tenant_and_a_namespace_and_part_of_its_tenant() {
        let namespace: ResourceRef = "pulsar-namespace/acme/orders".parse().unwrap();
        assert_eq!(namespace.kind(), "pulsar-namespace");
        assert_eq!(namespace.id(), "acme/orders");
        let tenant: ResourceRef = "pulsar-tenant/acme".parse().unwrap();
        let other: ResourceRef = "pulsar-tenant/other".parse().unwrap();
        assert!(tenant.contains(&namespace) && !other.contains(&namespace));
        assert!(!namespace.contains(&tenant) && !tenant.contains(&tenant));
        for bad in [
            "pulsar-namespace/acme",
            "pulsar-namespace/acme/",
            "pulsar-namespace//orders",
            "pulsar-namespace/acme/orders/x",
            "pulsar-tenant/acme/orders",
            "kafka-cluster/a/b",
        ] {
            assert!(bad.parse::<ResourceRef>().is_err(), "{bad}");
        }
        let made = ResourceRef::new(&ResourceKind::PULSAR_NAMESPACE, "acme/orders").unwrap();
        assert_eq!(made, namespace);
    }

    #[test]
    fn parses_the_platforms_resource_names() {
        for text in [
            "kafka-cluster/lkc-abc123",
            "schema-registry/lsrc-9",
            "pulsar-tenant/acme",
            "agent-cluster/vci_1",
            "cloud/org-42",
            "pulsar-tenant/public:ns=1",
        ] {
            let resource: ResourceRef = text.parse().unwrap();
            assert_eq!(resource.as_str(), text);
            assert_eq!(format!("{}/{}", resource.kind(), resource.id()), text);
        }
    }

    #[test]
    fn refuses_malformed_references() {
        for bad in [
            "",
            "kafka-cluster",
            "/lkc-1",
            "kafka-cluster/",
            "Kafka-cluster/lkc-1",
            "1kafka/lkc-1",
            "kafka-cluster/lkc 1",
            "kafka-cluster/lkc/1",
            "kafka-cluster/../etc",
        ] {
            assert!(bad.parse::<ResourceRef>().is_err(), "{bad:?}");
        }
        let long_id = format!("kafka-cluster/{}", "a".repeat(129));
        assert!(matches!(long_id.parse::<ResourceRef>(), Err(Error::TooLong { .. })));
    }

    #[test]
    fn builds_from_a_well_known_kind() {
        let tenant = ResourceRef::new(&ResourceKind::PULSAR_TENANT, "acme").unwrap();
        assert_eq!(tenant.as_str(), "pulsar-tenant/acme");
        assert!(tenant.is_kind(&ResourceKind::PULSAR_TENANT));
        assert!(!tenant.is_kind(&ResourceKind::KAFKA_CLUSTER));
        assert!(ResourceRef::new(&ResourceKind::CLOUD, "").is_err());
    }

    #[test]
    fn serialises_as_one_string() {
        let resource: ResourceRef = "kafka-cluster/lkc-1".parse().unwrap();
        assert_eq!(serde_json::to_string(&resource).unwrap(), "\"kafka-cluster/lkc-1\"");
        assert!(serde_json::from_str::<ResourceRef>("\"kafka-cluster\"").is_err());
    }
}
