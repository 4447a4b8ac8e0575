//! [`SigningKeyStore`] on SQL.

use async_trait::async_trait;
use keygate_core::{SigningKeyId, Timestamp};
use keygate_store::{
    AuditRecord, ChangeEvent, Sealed, Seq, SigningKeyRecord, SigningKeyStatus, SigningKeyStore,
    StoreError, VerificationMaterial,
};
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::codec::{from_json, secret_from_json, to_json};
use crate::store::column;
use crate::writer::Writer;

#[async_trait]
impl SigningKeyStore for SqlStore {
    async fn add_signing_key(
        &self,
        key: &SigningKeyRecord,
        private: Option<&Sealed>,
        at: Timestamp,
        audit: Option<&AuditRecord>,
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
        let sealed = private.map(to_json).transpose()?;
        w.execute(
            sqlx::query(
                "INSERT INTO keygate_signing_keys (kid, active, record, sealed_private_key) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(key.kid.as_str())
            .bind(is_active(key))
            .bind(to_json(key)?)
            .bind(sealed),
        )
        .await?;
        let seq = w.record(at, &ChangeEvent::SigningKeyChanged { key: key.clone() }).await?;
        w.audit(audit, []).await?;
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

    async fn signing_key_private(&self, kid: &SigningKeyId) -> Result<Sealed, StoreError> {
        let row = self
            .shared
            .fetch_optional(
                sqlx::query(
                    "SELECT sealed_private_key, \
                     CAST(CASE WHEN private_key IS NULL THEN 0 ELSE 1 END AS BIGINT) AS clear \
                     FROM keygate_signing_keys WHERE kid = $1",
                )
                .bind(kid.as_str()),
            )
            .await?
            .ok_or_else(|| StoreError::not_found("signing key", kid))?;
        let sealed: Option<String> = column(&row, "sealed_private_key")?;
        match sealed {
            Some(text) => Ok(from_json("signing key", kid, &text)?),
            None if column::<i64>(&row, "clear")? == 1 => Err(StoreError::Invalid(
                "this private signing key was stored in the clear by an older keygate; \
                 seal it first (the keygate command does on its first run with a master key)",
            )),
            None => Err(StoreError::not_found("signing key", kid)),
        }
    }

    async fn promote_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
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
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(seq)
    }

    async fn remove_signing_key(
        &self,
        kid: &SigningKeyId,
        at: Timestamp,
        audit: Option<&AuditRecord>,
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
        w.audit(audit, []).await?;
        w.commit().await?;
        Ok(seq)
    }
}

impl SqlStore {
    /// Whether the store holds signing key material in the clear, as stores of schema 2 did:
    /// what [`seal_plaintext_signing_keys`](SqlStore::seal_plaintext_signing_keys) would seal.
    pub async fn holds_plaintext_signing_keys(&self) -> Result<bool, StoreError> {
        let pending = self
            .shared
            .fetch_optional(sqlx::query(
                "SELECT 1 AS pending FROM keygate_signing_keys \
                 WHERE private_key IS NOT NULL OR record LIKE '%\"shared_secret\"%' \
                 UNION ALL SELECT 1 FROM keygate_unsealed_changes",
            ))
            .await?;
        Ok(pending.is_some())
    }

    /// Seals what a store of schema 2 kept in the clear: every private signing key, and every
    /// HMAC key's secret, in its record and in the change feed's copies of it. `seal` seals
    /// one key's bytes for its kid. One write: all of it is sealed, or nothing changes. Returns
    /// the kids it sealed, none for a store with nothing in the clear.
    ///
    /// Afterwards a SQLite file is checkpointed and its write-ahead log emptied, and the space
    /// the plaintext took was overwritten (the store runs with `secure_delete`), so no copy of
    /// it stays in the files.
    pub async fn seal_plaintext_signing_keys(
        &self,
        seal: impl Fn(&SigningKeyId, &[u8]) -> Result<Sealed, StoreError> + Send + Sync,
    ) -> Result<Vec<SigningKeyId>, StoreError> {
        // A read first, so a store with nothing in the clear costs no write.
        if !self.holds_plaintext_signing_keys().await? {
            return Ok(Vec::new());
        }
        let mut w = Writer::begin(&self.shared).await?;
        let rows = w
            .fetch_all(sqlx::query(
                "SELECT kid, record, private_key FROM keygate_signing_keys ORDER BY kid",
            ))
            .await?;
        let mut sealed_kids = Vec::new();
        for row in &rows {
            let mut record = decode(row)?;
            let private: Option<String> = column(row, "private_key")?;
            let private = private.map(zeroize::Zeroizing::new);
            let in_the_clear = matches!(record.verification, VerificationMaterial::SharedSecret(_));
            if private.is_none() && !in_the_clear {
                continue;
            }
            if let VerificationMaterial::SharedSecret(secret) = &record.verification {
                record.verification =
                    VerificationMaterial::SealedSecret(seal(&record.kid, secret.expose())?);
            }
            let sealed = match &private {
                Some(text) => {
                    let secret = secret_from_json(&record.kid, text)?;
                    Some(to_json(&seal(&record.kid, secret.expose())?)?)
                }
                None => None,
            };
            w.execute(
                sqlx::query(
                    "UPDATE keygate_signing_keys \
                     SET record = $2, sealed_private_key = COALESCE($3, sealed_private_key), \
                         private_key = NULL \
                     WHERE kid = $1",
                )
                .bind(record.kid.as_str())
                .bind(to_json(&record)?)
                .bind(sealed),
            )
            .await?;
            sealed_kids.push(record.kid);
        }
        // The feed's copies of HMAC keys' records, the removed keys' among them, as listed when
        // the store moved to schema 3 (nothing since writes a secret in the clear).
        let changes = w
            .fetch_all(sqlx::query(
                "SELECT seq, event FROM keygate_changes \
                 WHERE seq IN (SELECT seq FROM keygate_unsealed_changes)",
            ))
            .await?;
        for row in &changes {
            let seq: i64 = column(row, "seq")?;
            let mut event: ChangeEvent =
                from_json("change", seq, &column::<String>(row, "event")?)?;
            let ChangeEvent::SigningKeyChanged { key } = &mut event else { continue };
            let VerificationMaterial::SharedSecret(secret) = &key.verification else { continue };
            key.verification = VerificationMaterial::SealedSecret(seal(&key.kid, secret.expose())?);
            if !sealed_kids.contains(&key.kid) {
                sealed_kids.push(key.kid.clone());
            }
            w.execute(
                sqlx::query("UPDATE keygate_changes SET event = $2 WHERE seq = $1")
                    .bind(seq)
                    .bind(to_json(&event)?),
            )
            .await?;
        }
        w.execute(sqlx::query("DELETE FROM keygate_unsealed_changes")).await?;
        w.commit().await?;
        if !sealed_kids.is_empty() && self.shared.backend == crate::Backend::Sqlite {
            self.shared.fetch_optional(sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")).await?;
        }
        Ok(sealed_kids)
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
pub(crate) fn is_active(key: &SigningKeyRecord) -> i64 {
    i64::from(key.status == SigningKeyStatus::Active)
}

/// Decodes a row of `kid` and `record`.
pub(crate) fn decode(row: &AnyRow) -> Result<SigningKeyRecord, StoreError> {
    let kid: String = column(row, "kid")?;
    Ok(from_json("signing key", kid, &column::<String>(row, "record")?)?)
}
