//! [`PrincipalStore`] on SQL.

use async_trait::async_trait;
use keygate_core::{KeyRecord, Principal, PrincipalId, Timestamp};
use keygate_store::backend::principal_watermark;
use keygate_store::{
    AuditRecord, ChangeEvent, DeletedPrincipal, Page, PageRequest, PrincipalStore, Seq, StoreError,
};

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
        w.execute(sqlx::query("DELETE FROM keygate_principals WHERE id = $1").bind(id.as_str()))
            .await?;
        w.record(at, &ChangeEvent::PrincipalDeleted { id: id.clone() }).await?;
        w.audit(audit, keys.iter().map(KeyRecord::id)).await?;
        w.commit().await?;
        Ok(DeletedPrincipal::new(principal, keys))
    }
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
