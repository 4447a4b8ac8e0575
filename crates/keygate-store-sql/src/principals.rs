//! [`PrincipalStore`] on SQL.

use async_trait::async_trait;
use keygate_core::{
    Description, DisplayName, KeyRecord, Principal, PrincipalId, Role, RoleBinding, Timestamp,
};
use keygate_store::backend::principal_watermark;
use keygate_store::{
    AuditRecord, ChangeEvent, DeletedPrincipal, Page, PageRequest, PrincipalStore,
    RoleBindingStore, Seq, StoreError,
};
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::codec::{from_json, to_json};
use crate::store::column;
use crate::writer::{Writer, decode_key};

#[async_trait]
impl PrincipalStore for SqlStore {
    async fn create_principal(
        &self,
        principal: &Principal,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        if w.principal(&principal.id).await?.is_some() {
            return Err(StoreError::already_exists("principal", &principal.id));
        }
        w.execute(
            sqlx::query("INSERT INTO keygate_principals (id, record) VALUES ($1, $2)")
                .bind(principal.id.as_str())
                .bind(to_json(principal)?),
        )
        .await?;
        let event = ChangeEvent::PrincipalCreated { principal: principal.clone() };
        let seq = w.record(principal.created_at, &event).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(seq)
    }

    async fn update_principal(
        &self,
        id: &PrincipalId,
        display_name: Option<&DisplayName>,
        description: &Description,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Principal, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let mut principal =
            w.principal(id).await?.ok_or_else(|| StoreError::not_found("principal", id))?;
        if let Some(display_name) = display_name {
            principal.display_name = display_name.clone();
        }
        principal.description = description.clone();
        w.execute(
            sqlx::query("UPDATE keygate_principals SET record = $2 WHERE id = $1")
                .bind(id.as_str())
                .bind(to_json(&principal)?),
        )
        .await?;
        w.record(at, &ChangeEvent::PrincipalUpdated { principal: principal.clone() }).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(principal)
    }

    async fn principal(&self, id: &PrincipalId) -> Result<Principal, StoreError> {
        let row = self
            .shared
            .fetch_optional(
                sqlx::query("SELECT record FROM keygate_principals WHERE id = $1")
                    .bind(id.as_str()),
            )
            .await?
            .ok_or_else(|| StoreError::not_found("principal", id))?;
        Ok(from_json("principal", id, &column::<String>(&row, "record")?)?)
    }

    async fn list_principals(
        &self,
        page: &PageRequest<PrincipalId>,
    ) -> Result<Page<Principal, PrincipalId>, StoreError> {
        let limit = i64::try_from(page.limit).unwrap_or(i64::MAX);
        let query = match &page.after {
            None => sqlx::query("SELECT id, record FROM keygate_principals ORDER BY id LIMIT $1")
                .bind(limit),
            Some(after) => sqlx::query(
                "SELECT id, record FROM keygate_principals WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after.as_str())
            .bind(limit),
        };
        let rows = self.shared.fetch_all(query).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = column(row, "id")?;
            items.push(from_json::<Principal>(
                "principal",
                &id,
                &column::<String>(row, "record")?,
            )?);
        }
        let next =
            (items.len() == page.limit).then(|| items.last().map(|p| p.id.clone())).flatten();
        Ok(Page::new(items, next))
    }

    async fn delete_principal(
        &self,
        id: &PrincipalId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<DeletedPrincipal, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let principal =
            w.principal(id).await?.ok_or_else(|| StoreError::not_found("principal", id))?;
        let rows = w
            .fetch_all(
                sqlx::query("SELECT id, record FROM keygate_keys WHERE owner = $1 ORDER BY id")
                    .bind(id.as_str()),
            )
            .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let key_id: String = column(row, "id")?;
            keys.push(decode_key(&key_id, row)?);
        }
        for key in &keys {
            w.delete_key(key, at).await?;
        }
        w.revoke(&principal_watermark(id, at), at).await?;
        w.execute(
            sqlx::query("DELETE FROM keygate_role_bindings WHERE principal = $1 OR target = $2")
                .bind(id.as_str())
                .bind(id.as_str()),
        )
        .await?;
        w.execute(sqlx::query("DELETE FROM keygate_principals WHERE id = $1").bind(id.as_str()))
            .await?;
        w.record(at, &ChangeEvent::PrincipalDeleted { id: id.clone() }).await?;
        w.audit(audit, keys.iter().map(KeyRecord::id)).await?;
        w.commit().await?;
        Ok(DeletedPrincipal::new(principal, keys))
    }
}

#[async_trait]
impl RoleBindingStore for SqlStore {
    async fn add_role_binding(
        &self,
        binding: &RoleBinding,
        audit: Option<&AuditRecord>,
    ) -> Result<(), StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        for principal in [Some(&binding.principal), binding.role.target()].into_iter().flatten() {
            if w.principal(principal).await?.is_none() {
                return Err(StoreError::not_found("principal", principal));
            }
        }
        let target = binding.role.target().map_or("", PrincipalId::as_str);
        let existing = w
            .fetch_optional(
                sqlx::query(
                    "SELECT 1 FROM keygate_role_bindings \
                     WHERE principal = $1 AND role = $2 AND target = $3",
                )
                .bind(binding.principal.as_str())
                .bind(binding.role.name())
                .bind(target),
            )
            .await?;
        if existing.is_some() {
            let binding = format!("{} for {}", binding.role, binding.principal);
            return Err(StoreError::already_exists("role binding", binding));
        }
        w.execute(
            sqlx::query(
                "INSERT INTO keygate_role_bindings (principal, role, target, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(binding.principal.as_str())
            .bind(binding.role.name())
            .bind(target)
            .bind(binding.created_at.unix()),
        )
        .await?;
        w.audit(audit, []).await?;
        w.commit().await
    }

    async fn remove_role_binding(
        &self,
        principal: &PrincipalId,
        role: &Role,
        audit: Option<&AuditRecord>,
    ) -> Result<RoleBinding, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let row = w
            .fetch_optional(
                sqlx::query(
                    "DELETE FROM keygate_role_bindings \
                     WHERE principal = $1 AND role = $2 AND target = $3 \
                     RETURNING principal, role, target, created_at",
                )
                .bind(principal.as_str())
                .bind(role.name())
                .bind(role.target().map_or("", PrincipalId::as_str)),
            )
            .await?
            .ok_or_else(|| {
                StoreError::not_found("role binding", format!("{role} for {principal}"))
            })?;
        let removed = decode_binding(&row)?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(removed)
    }

    async fn role_bindings(
        &self,
        principal: Option<&PrincipalId>,
    ) -> Result<Vec<RoleBinding>, StoreError> {
        let query = match principal {
            Some(principal) => sqlx::query(
                "SELECT principal, role, target, created_at FROM keygate_role_bindings \
                 WHERE principal = $1 ORDER BY principal, role, target",
            )
            .bind(principal.as_str()),
            None => sqlx::query(
                "SELECT principal, role, target, created_at FROM keygate_role_bindings \
                 ORDER BY principal, role, target",
            ),
        };
        self.shared.fetch_all(query).await?.iter().map(decode_binding).collect()
    }
}

/// A role binding as its row holds it.
fn decode_binding(row: &AnyRow) -> Result<RoleBinding, StoreError> {
    const UNREADABLE: StoreError = StoreError::Invalid("a role binding the store cannot read");
    let principal: String = column(row, "principal")?;
    let role: String = column(row, "role")?;
    let target: String = column(row, "target")?;
    let created_at: i64 = column(row, "created_at")?;
    let principal = principal.parse().map_err(|_| UNREADABLE)?;
    let target =
        if target.is_empty() { None } else { Some(target.parse().map_err(|_| UNREADABLE)?) };
    let role = Role::new(&role, target).map_err(|_| UNREADABLE)?;
    let created_at = Timestamp::from_unix(created_at).map_err(|_| UNREADABLE)?;
    Ok(RoleBinding::new(principal, role, created_at))
}

impl Writer<'_> {
    /// The principal `id`, if it exists.
    pub(crate) async fn principal(
        &mut self,
        id: &PrincipalId,
    ) -> Result<Option<Principal>, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query("SELECT record FROM keygate_principals WHERE id = $1")
                    .bind(id.as_str()),
            )
            .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(from_json("principal", id, &column::<String>(&row, "record")?)?)),
        }
    }
}
