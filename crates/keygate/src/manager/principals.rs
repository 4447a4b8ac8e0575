//! Principals: service accounts and users, the owners of keys.

use keygate_core::{
    Clock, Description, DisplayName, KeyId, KeyRecord, Principal, PrincipalId, Role, RoleBinding,
};
use keygate_store::{DeletedPrincipal, KeyFilter, Page, PageRequest, StoreError};

use crate::ManagerError;
use crate::audit::{Actor, AuditAction};

use super::{KeyManager, NewPrincipal};

impl KeyManager {
    /// Creates a principal. Its id must follow the naming rule of
    /// [`PrincipalId::check_name`]: lowercase, at most 64 bytes.
    pub async fn create_principal(
        &self,
        actor: &Actor,
        new: NewPrincipal,
    ) -> Result<Principal, ManagerError> {
        new.id.check_name()?;
        let now = self.clock.now();
        let mut principal = Principal::new(new.id, new.kind, now).with_description(new.description);
        if let Some(display_name) = new.display_name {
            principal = principal.with_display_name(display_name);
        }
        let action =
            AuditAction::PrincipalCreated { id: principal.id.clone(), kind: principal.kind };
        let audited = self.audited(now, actor, action, None)?;
        self.store.create_principal(&principal, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(principal)
    }

    /// The principal `id`.
    pub async fn principal(&self, id: &PrincipalId) -> Result<Principal, ManagerError> {
        Ok(self.store.principal(id).await?)
    }

    /// Replaces a principal's description, and its display name when given; audited.
    pub async fn update_principal(
        &self,
        actor: &Actor,
        id: &PrincipalId,
        display_name: Option<&DisplayName>,
        description: &Description,
    ) -> Result<Principal, ManagerError> {
        let now = self.clock.now();
        let action = AuditAction::PrincipalUpdated { id: id.clone() };
        let audited = self.audited(now, actor, action, None)?;
        let principal = self
            .store
            .update_principal(id, display_name, description, now, Some(&audited.record))
            .await?;
        self.committed(audited).await;
        Ok(principal)
    }

    /// Signs `id` out everywhere: every credential of it issued before now (its API keys, and
    /// tokens minted for it elsewhere) is refused from each server's next sync; keys issued
    /// after keep working. Returns the instant before which credentials are refused.
    pub async fn sign_out(
        &self,
        actor: &Actor,
        id: &PrincipalId,
    ) -> Result<keygate_core::Timestamp, ManagerError> {
        let now = self.clock.now();
        self.store.principal(id).await?;
        let watermark = keygate_store::backend::principal_watermark(id, now);
        self.revoke_credential(actor, watermark).await?;
        Ok(now)
    }

    /// Principals, a page at a time.
    pub async fn list_principals(
        &self,
        page: &PageRequest<PrincipalId>,
    ) -> Result<Page<Principal, PrincipalId>, ManagerError> {
        Ok(self.store.list_principals(page).await?)
    }

    /// Deletes a principal, revoking and removing every key it owns in the same step. The audit
    /// event names the keys it owned when the deletion began; the store files the event under
    /// every key the deletion removed, one created meanwhile included.
    pub async fn delete_principal(
        &self,
        actor: &Actor,
        id: &PrincipalId,
    ) -> Result<DeletedPrincipal, ManagerError> {
        let now = self.clock.now();
        let owned = self.all_keys(&KeyFilter::all().with_owner(id.clone())).await?;
        let keys: Vec<KeyId> = owned.iter().map(KeyRecord::id).collect();
        let action =
            AuditAction::PrincipalDeleted { id: id.clone(), keys_deleted: keys.len(), keys };
        let audited = self.audited(now, actor, action, None)?;
        let deleted = self.store.delete_principal(id, now, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(deleted)
    }

    /// Binds `principal` to `role` for the control plane, audited: the first administrator is
    /// made this way, by whoever holds the store.
    pub async fn bind_role(
        &self,
        actor: &Actor,
        principal: &PrincipalId,
        role: Role,
    ) -> Result<RoleBinding, ManagerError> {
        let now = self.clock.now();
        let binding = RoleBinding::new(principal.clone(), role, now);
        let action = AuditAction::RoleBound { binding: binding.clone() };
        let audited = self.audited(now, actor, action, None)?;
        self.store.add_role_binding(&binding, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(binding)
    }

    /// Removes the binding of `principal` to `role`, audited, and returns it.
    pub async fn unbind_role(
        &self,
        actor: &Actor,
        principal: &PrincipalId,
        role: &Role,
    ) -> Result<RoleBinding, ManagerError> {
        let now = self.clock.now();
        let bound = self.store.role_bindings(Some(principal)).await?;
        let binding = bound.into_iter().find(|binding| &binding.role == role).ok_or_else(|| {
            StoreError::not_found("role binding", format!("{role} for {principal}"))
        })?;
        let action = AuditAction::RoleUnbound { binding };
        let audited = self.audited(now, actor, action, None)?;
        let removed =
            self.store.remove_role_binding(principal, role, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(removed)
    }

    /// The role bindings, of `principal` only when given.
    pub async fn role_bindings(
        &self,
        principal: Option<&PrincipalId>,
    ) -> Result<Vec<RoleBinding>, ManagerError> {
        Ok(self.store.role_bindings(principal).await?)
    }
}
