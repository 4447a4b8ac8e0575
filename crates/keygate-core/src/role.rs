//! What a principal may do through the control plane: roles, bound to principals. Roles belong
//! to principals, never to keys; a key's permissions can only narrow its principal's role.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, PrincipalId, Timestamp};

/// A control-plane role, as Confluent Cloud's RBAC names its counterparts.
///
/// ```
/// use keygate_core::Role;
///
/// let owner = Role::new("ServiceAccountOwner", Some("orders".parse()?))?;
/// assert_eq!(owner.to_string(), "ServiceAccountOwner of orders");
/// assert!(Role::new("ServiceAccountOwner", None).is_err(), "owner of which account?");
/// assert!(Role::new("Viewer", Some("orders".parse()?)).is_err(), "a viewer sees everything");
/// # Ok::<(), keygate_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Everything: principals, keys, signing keys, policy, role bindings.
    OrganizationAdmin,
    /// One service account's keys: create, rotate, revoke and delete them.
    ServiceAccountOwner(PrincipalId),
    /// Read everything but secrets (which nothing can read).
    Viewer,
}

impl Role {
    /// The role names, for help and errors.
    pub const NAMES: [&'static str; 3] = ["OrganizationAdmin", "ServiceAccountOwner", "Viewer"];

    /// The role of `name`, on `target` where the role takes one (the service account a
    /// `ServiceAccountOwner` owns) and only there.
    pub fn new(name: &str, target: Option<PrincipalId>) -> Result<Role, Error> {
        let role = match (name, target) {
            ("OrganizationAdmin", None) => Role::OrganizationAdmin,
            ("Viewer", None) => Role::Viewer,
            ("ServiceAccountOwner", Some(account)) => Role::ServiceAccountOwner(account),
            ("ServiceAccountOwner", None) => {
                return Err(Error::Malformed {
                    what: "role",
                    expected: "the service account a ServiceAccountOwner owns",
                });
            }
            ("OrganizationAdmin" | "Viewer", Some(_)) => {
                return Err(Error::Malformed {
                    what: "role",
                    expected: "no service account for OrganizationAdmin or Viewer",
                });
            }
            _ => {
                return Err(Error::Malformed {
                    what: "role",
                    expected: "OrganizationAdmin, ServiceAccountOwner or Viewer",
                });
            }
        };
        Ok(role)
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            Role::OrganizationAdmin => "OrganizationAdmin",
            Role::ServiceAccountOwner(_) => "ServiceAccountOwner",
            Role::Viewer => "Viewer",
        }
    }

    /// The service account it is about, for a `ServiceAccountOwner`.
    pub fn target(&self) -> Option<&PrincipalId> {
        match self {
            Role::ServiceAccountOwner(account) => Some(account),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target() {
            Some(target) => write!(f, "{} of {target}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

/// A principal bound to a role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BindingForm", into = "BindingForm")]
#[non_exhaustive]
pub struct RoleBinding {
    /// Who has the role.
    pub principal: PrincipalId,
    /// The role.
    pub role: Role,
    /// When it was bound.
    pub created_at: Timestamp,
}

impl RoleBinding {
    /// `principal` bound to `role` at `created_at`.
    pub fn new(principal: PrincipalId, role: Role, created_at: Timestamp) -> RoleBinding {
        RoleBinding { principal, role, created_at }
    }
}

/// How a binding is written: the role by name, its service account beside it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingForm {
    principal: PrincipalId,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_account: Option<PrincipalId>,
    created_at: Timestamp,
}

impl TryFrom<BindingForm> for RoleBinding {
    type Error = Error;

    fn try_from(form: BindingForm) -> Result<RoleBinding, Error> {
        let role = Role::new(&form.role, form.service_account)?;
        Ok(RoleBinding { principal: form.principal, role, created_at: form.created_at })
    }
}

impl From<RoleBinding> for BindingForm {
    fn from(binding: RoleBinding) -> BindingForm {
        BindingForm {
            principal: binding.principal,
            role: binding.role.name().to_owned(),
            service_account: binding.role.target().cloned(),
            created_at: binding.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_round_trip_through_json() {
        let at = Timestamp::from_unix(1_767_225_600).unwrap();
        for role in [
            Role::OrganizationAdmin,
            Role::Viewer,
            Role::ServiceAccountOwner("orders".parse().unwrap()),
        ] {
            let binding = RoleBinding::new("ops-bot".parse().unwrap(), role, at);
            let text = serde_json::to_string(&binding).unwrap();
            assert_eq!(serde_json::from_str::<RoleBinding>(&text).unwrap(), binding, "{text}");
        }
        let bad = r#"{"principal":"a","role":"Root","created_at":"2026-01-01T00:00:00Z"}"#;
        assert!(serde_json::from_str::<RoleBinding>(bad).is_err());
    }

    #[test]
    fn names_parse_back() {
        for name in Role::NAMES {
            let target = (name == "ServiceAccountOwner").then(|| "orders".parse().unwrap());
            assert_eq!(Role::new(name, target).unwrap().name(), name);
        }
        assert!(Role::new("organizationadmin", None).is_err());
    }
}
