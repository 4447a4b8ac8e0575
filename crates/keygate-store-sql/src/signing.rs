//! [`SigningKeyStore`] on SQL.

use async_trait::async_trait;
use keygate_core::{SigningKeyId, Timestamp};
use keygate_store::{
    ChangeEvent, SecretBytes, Seq, SigningKeyRecord, SigningKeyStatus, SigningKeyStore, StoreError,
};
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::codec::{from_json, secret_from_json, secret_to_json, to_json};
use crate::store::column;
use crate::writer::Writer;

#[async_trait]
impl SigningKeyStore for SqlStore {
    async fn add_signing_key(
        &self,
        key: &SigningKeyRecord,
        private: Option<&SecretBytes>,
        at: Timestamp,
    ) -> Result<Seq, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let ring = w.signing_keys().await?;
        if ring.iter().any(|k| k.kid == key.kid) {
            return Err(StoreError::already_exists("signing key", &key.kid));
        }
        let active = ring.iter().any(|k| k.status == SigningKeyStatus::Active);
        if key.status == SigningKeyStatus::Active && active {
            return Err(StoreError::Conflict {
                reason: "another signing key is active; add this one and promote it",
                current: None,
            });
        }
        let private = private.map(secret_to_json).transpose()?;
        w.execute(
            sqlx::query(
                "INSERT INTO keygate_signing_keys (kid, active, record, private_key) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(key.kid.as_str())
            .bind(is_active(key))
            .bind(to_json(key)?)
            .bind(private.as_ref().map(|text| text.as_str())),
        )
        .await?;
        let seq = w.record(at, &ChangeEvent::SigningKeyChanged { key: key.clone() }).await?;
        w.commit().await?;
        Ok(seq)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = self
            .shared
            .fetch_all(sqlx::query("SELECT kid, record FROM keygate_signing_keys ORDER BY kid"))
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn signing_key_private(&self, kid: &SigningKeyId) -> Result<SecretBytes, StoreError> {
        let row = self
            .shared
            .fetch_optional(
                sqlx::query("SELECT private_key FROM keygate_signing_keys WHERE kid = $1")
                    .bind(kid.as_str()),
            )
            .await?;
        let text: Option<String> = match &row {
            Some(row) => column(row, "private_key")?,
            None => None,
        };
        let text =
            zeroize::Zeroizing::new(text.ok_or_else(|| StoreError::not_found("signing key", kid))?);
        Ok(secret_from_json(kid, &text)?)
    }

    async fn promote_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
    ) -> Result<Seq, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let ring = w.signing_keys().await?;
        if !ring.iter().any(|k| k.kid == *kid) {
            return Err(StoreError::not_found("signing key", kid));
        }
        let mut changed = Vec::new();
        for mut key in ring {
            let status = if key.kid == *kid {
                SigningKeyStatus::Active
            } else {
                SigningKeyStatus::Verifying
            };
            if key.status != status {
                key.status = status;
                changed.push(key);
            }
        }
        // Demote before promoting: at most one active key at every statement, as the unique
        // index requires. The feed still lists the changes in kid order.
        let mut ordered: Vec<&SigningKeyRecord> = changed.iter().collect();
        ordered.sort_by_key(|key| key.status == SigningKeyStatus::Active);
        for key in ordered {
            w.execute(
                sqlx::query(
                    "UPDATE keygate_signing_keys SET active = $2, record = $3 WHERE kid = $1",
                )
                .bind(key.kid.as_str())
                .bind(is_active(key))
                .bind(to_json(key)?),
            )
            .await?;
        }
        for key in changed {
            w.record(at, &ChangeEvent::SigningKeyChanged { key }).await?;
        }
        let seq = w.head();
        w.commit().await?;
        Ok(seq)
    }

    async fn remove_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
    ) -> Result<Seq, StoreError> {
        let mut w = Writer::begin(&self.shared).await?;
        let ring = w.signing_keys().await?;
        match ring.iter().find(|k| k.kid == *kid) {
            None => return Err(StoreError::not_found("signing key", kid)),
            Some(key) if key.status == SigningKeyStatus::Active => {
                return Err(StoreError::Conflict {
                    reason: "the active signing key cannot be removed",
                    current: None,
                });
            }
            Some(_) => {}
        }
        w.execute(
            sqlx::query("DELETE FROM keygate_signing_keys WHERE kid = $1").bind(kid.as_str()),
        )
        .await?;
        let seq = w.record(at, &ChangeEvent::SigningKeyRemoved { kid: kid.clone() }).await?;
        w.commit().await?;
        Ok(seq)
    }
}

impl Writer<'_> {
    /// The whole ring, in kid order.
    async fn signing_keys(&mut self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = self
            .fetch_all(sqlx::query("SELECT kid, record FROM keygate_signing_keys ORDER BY kid"))
            .await?;
        rows.iter().map(decode).collect()
    }
}

/// The `active` column: 1 for the active key, 0 otherwise.
fn is_active(key: &SigningKeyRecord) -> i64 {
    i64::from(key.status == SigningKeyStatus::Active)
}

/// Decodes a row of `kid` and `record`.
pub(crate) fn decode(row: &AnyRow) -> Result<SigningKeyRecord, StoreError> {
    let kid: String = column(row, "kid")?;
    Ok(from_json("signing key", kid, &column::<String>(row, "record")?)?)
}
