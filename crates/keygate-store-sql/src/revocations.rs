//! [`RevocationStore`] on SQL.

use async_trait::async_trait;
use keygate_core::Timestamp;
use keygate_revocation::Revocation;
use keygate_store::{AuditRecord, RevocationStore, Seq, StoreError};

use crate::SqlStore;
use crate::writer::Writer;

#[async_trait]
impl RevocationStore for SqlStore {
    async fn add_revocation(
        &self,
        revocation: &Revocation,
        at: Timestamp,
        audit: Option<&AuditRecord>,
    ) -> Result<Seq, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let seq = w.revoke(revocation, at).await?;
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(seq)
    }

    async fn prune_revocations(&self, before: Timestamp) -> Result<usize, StoreError> {
        // An entry whose credentials expired at or before `before` can no longer refuse
        // anything (`Expiry::has_passed`); one that never expires stays.
        let mut w = Writer::begin(&self.shared).await?;
        let pruned = w
            .execute(
                sqlx::query(
                    "DELETE FROM keygate_revocations WHERE expires IS NOT NULL AND expires <= $1",
                )
                .bind(before.unix()),
            )
            .await?;
        w.commit().await?;
        Ok(usize::try_from(pruned).unwrap_or(usize::MAX))
    }
}
