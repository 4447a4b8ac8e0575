//! Pulsar topic names, and whether an identity may produce to or consume from a topic.
//!
//! Pulsar accepts a topic by several names: `persistent://tenant/namespace/topic`, the same with
//! `non-persistent://`, the short `tenant/namespace/topic` (persistent), and the bare `topic`,
//! which means `persistent://public/default/topic`. A partition of a partitioned topic is the
//! topic's name with `-partition-N` appended. [`Topic::parse`] reads every one of them into the
//! same parts, so that a check made on the tenant cannot be dodged by writing the name another
//! way.
//!
//! A credential scoped to `pulsar-tenant/T` covers every namespace and topic of tenant T; one
//! scoped to `pulsar-namespace/T/NS` covers the topics of that namespace; `global` covers every
//! tenant; `cloud` (the management API) covers none; a scope of any other kind covers none
//! either. A server that fronts a whole tenant authenticates with
//! `AuthContext::reaching_parts`, so that a namespace's key can connect, and then authorizes
//! every topic here. The permission is checked too: `produce` for producers, `consume` for
//! subscriptions and readers.

use keygate::Identity;
use keygate::core::{Permission, ResourceKind, Scope};

/// The longest topic name accepted, in bytes.
pub const TOPIC_MAX_LEN: usize = 1024;

/// A topic name, read into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic<'a> {
    persistent: bool,
    tenant: &'a str,
    namespace: &'a str,
    local: &'a str,
}

/// What a client wants to do with a topic.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicAction {
    /// Open a producer.
    Produce,
    /// Subscribe, or open a reader.
    Consume,
    /// Look the topic up (PARTITIONED_METADATA, LOOKUP): either of the others will follow, so
    /// the scope is checked and no permission is.
    Lookup,
}

/// Why a topic name was refused. Messages name the rule, never the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The name is empty.
    #[error("the topic name is empty")]
    Empty,
    /// The name is longer than [`TOPIC_MAX_LEN`].
    #[error("the topic name is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The domain before `://` is neither `persistent` nor `non-persistent`.
    #[error("the topic's domain is neither persistent nor non-persistent")]
    Domain,
    /// The name is not `tenant/namespace/topic` (with a domain or without) or a bare topic.
    #[error("a topic name is tenant/namespace/topic, with or without a domain, or a bare topic")]
    Form,
    /// The name has a cluster part (`tenant/cluster/namespace/topic`), Pulsar's old form.
    #[error("topic names with a cluster part (tenant/cluster/namespace/topic) are not served")]
    Legacy,
    /// A part has characters Pulsar does not allow in it.
    #[error("the topic's {part} has characters Pulsar does not allow")]
    Characters {
        /// Which part.
        part: &'static str,
    },
}

/// Why an identity may not use a topic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicRefusal {
    /// The credential's scope does not cover the topic's namespace.
    #[error("a credential scoped to {scope} does not cover namespace {namespace}")]
    OutOfScope {
        /// The credential's scope.
        scope: Scope,
        /// The topic's namespace, `tenant/namespace`.
        namespace: String,
    },
    /// The credential does not permit the action.
    #[error("the credential does not permit {permission}")]
    PermissionDenied {
        /// The permission the action needs.
        permission: Permission,
    },
}

impl TopicRefusal {
    /// What to tell the client: the identity has authenticated, so the reason can be named.
    pub fn client_message(&self) -> &'static str {
        match self {
            TopicRefusal::OutOfScope { .. } => {
                "the credential is not valid for this topic's tenant"
            }
            TopicRefusal::PermissionDenied { .. } => {
                "the credential does not permit this operation on the topic"
            }
        }
    }
}

impl<'a> Topic<'a> {
    /// Reads `name` in any of the forms Pulsar accepts.
    pub fn parse(name: &'a str) -> Result<Topic<'a>, TopicError> {
        if name.is_empty() {
            return Err(TopicError::Empty);
        }
        if name.len() > TOPIC_MAX_LEN {
            return Err(TopicError::TooLong { len: name.len(), max: TOPIC_MAX_LEN });
        }
        let (persistent, rest) = match name.split_once("://") {
            Some(("persistent", rest)) => (true, rest),
            Some(("non-persistent", rest)) => (false, rest),
            Some(_) => return Err(TopicError::Domain),
            None => (true, name),
        };
        let domain_given = rest.len() != name.len();
        let mut parts = rest.splitn(4, '/');
        let topic = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(local), None, None, None) if !domain_given => {
                Topic { persistent, tenant: "public", namespace: "default", local }
            }
            (Some(tenant), Some(namespace), Some(local), None) => {
                Topic { persistent, tenant, namespace, local }
            }
            (Some(_), Some(_), Some(_), Some(_)) => return Err(TopicError::Legacy),
            _ => return Err(TopicError::Form),
        };
        for (part, text) in [("tenant", topic.tenant), ("namespace", topic.namespace)] {
            if text.is_empty() || !text.bytes().all(is_name_byte) {
                return Err(TopicError::Characters { part });
            }
        }
        if topic.local.is_empty() || !topic.local.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80)
        {
            return Err(TopicError::Characters { part: "topic" });
        }
        Ok(topic)
    }

    /// Whether it is persistent.
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// Its tenant.
    pub fn tenant(&self) -> &'a str {
        self.tenant
    }

    /// Its namespace, within the tenant.
    pub fn namespace(&self) -> &'a str {
        self.namespace
    }

    /// Its local name, a partition's suffix included.
    pub fn local_name(&self) -> &'a str {
        self.local
    }

    /// The partition this name is, when it ends with `-partition-N`.
    pub fn partition(&self) -> Option<u32> {
        let (_, index) = self.local.rsplit_once("-partition-")?;
        let canonical = !index.is_empty() && (index == "0" || !index.starts_with('0'));
        if canonical && index.bytes().all(|b| b.is_ascii_digit()) {
            index.parse().ok()
        } else {
            None
        }
    }
}

impl std::fmt::Display for Topic<'_> {
    /// The complete name, as Pulsar writes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let domain = if self.persistent { "persistent" } else { "non-persistent" };
        write!(f, "{domain}://{}/{}/{}", self.tenant, self.namespace, self.local)
    }
}

/// Whether `scope` covers `topic`: `global`, the topic's tenant, or its namespace.
pub fn covers(scope: &Scope, topic: &Topic<'_>) -> bool {
    match scope {
        Scope::Global => true,
        Scope::Resource(resource) if resource.is_kind(&ResourceKind::PULSAR_TENANT) => {
            resource.id() == topic.tenant
        }
        Scope::Resource(resource) if resource.is_kind(&ResourceKind::PULSAR_NAMESPACE) => {
            resource.id().split_once('/') == Some((topic.tenant, topic.namespace))
        }
        _ => false,
    }
}

/// Whether `identity` may do `action` on `topic`: its scope covers the topic and, for producing
/// and consuming, it has the permission.
pub fn authorize(
    identity: &Identity,
    topic: &Topic<'_>,
    action: TopicAction,
) -> Result<(), TopicRefusal> {
    if !covers(identity.scope(), topic) {
        return Err(TopicRefusal::OutOfScope {
            scope: identity.scope().clone(),
            namespace: format!("{}/{}", topic.tenant, topic.namespace),
        });
    }
    let permission = match action {
        TopicAction::Produce => Permission::PRODUCE,
        TopicAction::Consume => Permission::CONSUME,
        TopicAction::Lookup => return Ok(()),
    };
    if identity.permits(&permission) {
        Ok(())
    } else {
        Err(TopicRefusal::PermissionDenied { permission })
    }
}

/// The characters Pulsar allows in tenant and namespace names: letters, digits and `_ - = : .`.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-=:.".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: &str) -> (bool, &str, &str, &str) {
        let topic = Topic::parse(name).unwrap();
        (topic.is_persistent(), topic.tenant(), topic.namespace(), topic.local_name())
    }

    #[test]
    fn every_form_reads_into_the_same_parts() {
        assert_eq!(parts("persistent://acme/orders/events"), (true, "acme", "orders", "events"));
        assert_eq!(
            parts("non-persistent://acme/orders/events"),
            (false, "acme", "orders", "events")
        );
        assert_eq!(parts("acme/orders/events"), (true, "acme", "orders", "events"));
        assert_eq!(parts("events"), (true, "public", "default", "events"));
        let partition = Topic::parse("persistent://acme/orders/events-partition-12").unwrap();
        assert_eq!(partition.partition(), Some(12));
        assert_eq!(Topic::parse("events-partition-012").unwrap().partition(), None);
        assert_eq!(
            Topic::parse("acme/orders/events").unwrap().to_string(),
            "persistent://acme/orders/events"
        );
    }

    #[test]
    fn malformed_names_are_refused_by_rule() {
        assert_eq!(Topic::parse(""), Err(TopicError::Empty));
        assert_eq!(Topic::parse("kafka://acme/orders/events"), Err(TopicError::Domain));
        assert_eq!(Topic::parse("persistent://events"), Err(TopicError::Form));
        assert_eq!(Topic::parse("acme/events"), Err(TopicError::Form));
        assert_eq!(Topic::parse("acme/us-east/orders/events"), Err(TopicError::Legacy));
        assert_eq!(
            Topic::parse("persistent://acme//events"),
            Err(TopicError::Characters { part: "namespace" })
        );
        assert_eq!(
            Topic::parse("persistent://ac me/orders/x"),
            Err(TopicError::Characters { part: "tenant" })
        );
        assert_eq!(
            Topic::parse("persistent://acme/orders/"),
            Err(TopicError::Characters { part: "topic" })
        );
        assert_eq!(Topic::parse("bad\ntopic"), Err(TopicError::Characters { part: "topic" }));
        assert!(matches!(
            Topic::parse(&"x".repeat(TOPIC_MAX_LEN + 1)),
            Err(TopicError::TooLong { .. })
        ));
    }
}
