//! Signing keys for JWT API keys: created, added, promoted, retired, published as JWKS, and
//! the minter that signs with the active one.

use std::sync::Arc;

use keygate_core::{
    Clock, KeyFormat, KeyRecord, KeyStatus, SecureRandom, SigningAlgorithm, SigningKeyId, base32,
};
use keygate_store::KeyFilter;
use keygate_store::{Sealed, SigningKeyRecord, SigningKeyStatus, StoreError, VerificationMaterial};
use keygate_token::jwk::JwkSet;
use keygate_token::{Minter, SigningKey, VerificationKey};

use crate::ManagerError;
use crate::audit::{Actor, AuditAction};

use super::KeyManager;

impl KeyManager {
    /// Creates a signing key for JWT API keys with `algorithm` (RSA keys cannot be generated
    /// here; load one with [`add_signing_key`](KeyManager::add_signing_key)). It becomes the
    /// active key if there is none, and verifies only otherwise, until promoted. Its private
    /// key is kept in the store, sealed under the master key (which this needs).
    pub async fn create_signing_key(
        &self,
        actor: &Actor,
        algorithm: SigningAlgorithm,
        kid: Option<SigningKeyId>,
    ) -> Result<SigningKeyRecord, ManagerError> {
        let mut key = SigningKey::generate(algorithm)?;
        if let Some(kid) = kid {
            key = key.with_kid(kid);
        }
        self.add_signing_key(actor, &key, true).await
    }

    /// Adds a signing key loaded elsewhere (an RSA key, say), under its `kid` or, without one, a
    /// generated `kg-…` id. With `store_private`, its private key goes into the store sealed
    /// under the master key, so a manager with that key can mint with it; without, the store
    /// gets only what verifies its tokens. An HMAC key's secret verifies its tokens, so it is
    /// always sealed, and an HMAC key always needs the master key: so does every replica that
    /// is to verify its tokens.
    pub async fn add_signing_key(
        &self,
        actor: &Actor,
        key: &SigningKey,
        store_private: bool,
    ) -> Result<SigningKeyRecord, ManagerError> {
        let now = self.clock.now();
        let kid = match key.kid() {
            Some(kid) => kid.clone(),
            None => {
                let mut bytes = [0u8; 5];
                self.random.fill(&mut bytes)?;
                format!("kg-{}", base32::encode(&bytes)).parse()?
            }
        };
        let seal = |bytes: &[u8]| -> Result<Sealed, ManagerError> {
            let sealed = self
                .master_key()?
                .seal(kid.as_str().as_bytes(), bytes)
                .map_err(|source| ManagerError::Sealed { kid: kid.clone(), source })?;
            Ok(Sealed::new(sealed))
        };
        let verification = if key.algorithm().is_symmetric() {
            VerificationMaterial::SealedSecret(seal(key.private_bytes())?)
        } else {
            VerificationMaterial::PublicKey(key.verification_key().to_spki_der()?)
        };
        let active =
            self.store.signing_keys().await?.iter().any(|k| k.status == SigningKeyStatus::Active);
        let status = if active { SigningKeyStatus::Verifying } else { SigningKeyStatus::Active };
        let record = SigningKeyRecord::new(kid.clone(), key.algorithm(), status, now, verification);
        let private = if store_private { Some(seal(key.private_bytes())?) } else { None };
        let action = AuditAction::SigningKeyCreated { kid, algorithm: key.algorithm() };
        let audited = self.audited(now, actor, action, None)?;
        self.store.add_signing_key(&record, private.as_ref(), now, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(record)
    }

    /// Makes `kid` the key that signs new JWT API keys; the previous one keeps verifying.
    pub async fn promote_signing_key(
        &self,
        actor: &Actor,
        kid: &SigningKeyId,
    ) -> Result<(), ManagerError> {
        let now = self.clock.now();
        let action = AuditAction::SigningKeyPromoted { kid: kid.clone() };
        let audited = self.audited(now, actor, action, None)?;
        self.store.promote_signing_key(kid, now, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(())
    }

    /// Removes a verifying signing key: the tokens it signed stop verifying. Refused with
    /// [`ManagerError::SigningKeyInUse`] while live JWT API keys depend on it (see
    /// [`signing_key_dependants`](KeyManager::signing_key_dependants));
    /// [`retire_signing_key_and_its_keys`](KeyManager::retire_signing_key_and_its_keys) retires
    /// it anyway.
    pub async fn retire_signing_key(
        &self,
        actor: &Actor,
        kid: &SigningKeyId,
    ) -> Result<(), ManagerError> {
        let keys = self.store.signing_keys().await?;
        let active = keys.iter().any(|k| &k.kid == kid && k.status == SigningKeyStatus::Active);
        // The active key cannot be retired at all; the store says so.
        let dependants = if active { Vec::new() } else { self.signing_key_dependants(kid).await? };
        if !dependants.is_empty() {
            let keys = dependants.iter().map(KeyRecord::id).collect();
            return Err(ManagerError::SigningKeyInUse { kid: kid.clone(), keys });
        }
        self.retire_signing_key_and_its_keys(actor, kid).await
    }

    /// Removes a verifying signing key even though live JWT API keys depend on it: they stop
    /// working with it.
    pub async fn retire_signing_key_and_its_keys(
        &self,
        actor: &Actor,
        kid: &SigningKeyId,
    ) -> Result<(), ManagerError> {
        let now = self.clock.now();
        let action = AuditAction::SigningKeyRetired { kid: kid.clone() };
        let audited = self.audited(now, actor, action, None)?;
        self.store.remove_signing_key(kid, now, Some(&audited.record)).await?;
        self.committed(audited).await;
        Ok(())
    }

    /// The JWT API keys that stop working if `kid` is retired: those not revoked or expired whose
    /// token it signed, and, to be safe, those issued before keygate recorded which key signed
    /// them.
    pub async fn signing_key_dependants(
        &self,
        kid: &SigningKeyId,
    ) -> Result<Vec<KeyRecord>, ManagerError> {
        let now = self.clock.now();
        let all = self.all_keys(&KeyFilter::all()).await?;
        Ok(all
            .into_iter()
            .filter(|key| key.format() == KeyFormat::Jwt)
            .filter(|key| key.signing_key().is_none_or(|signed_by| signed_by == kid))
            .filter(|key| !matches!(key.status_at(now), KeyStatus::Revoked | KeyStatus::Expired))
            .collect())
    }

    /// The signing keys.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, ManagerError> {
        Ok(self.store.signing_keys().await?)
    }

    /// The public signing keys as a JWKS, for other verifiers (HMAC keys are never exported).
    pub async fn jwks(&self) -> Result<JwkSet, ManagerError> {
        let mut keys = Vec::new();
        for record in self.store.signing_keys().await? {
            if let VerificationMaterial::PublicKey(der) = &record.verification {
                let key = VerificationKey::from_spki_der(record.algorithm, der)?
                    .with_kid(record.kid.clone());
                keys.push(key.to_jwk()?);
            }
        }
        Ok(JwkSet { keys })
    }

    /// A minter with the active signing key, from the store, opened with the master key.
    pub(super) async fn minter(&self) -> Result<Minter, ManagerError> {
        let keys = self.store.signing_keys().await?;
        let active = keys
            .into_iter()
            .find(|key| key.status == SigningKeyStatus::Active)
            .ok_or(ManagerError::NoSigningKey)?;
        let sealed = match self.store.signing_key_private(&active.kid).await {
            Ok(sealed) => sealed,
            Err(StoreError::NotFound { .. }) => return Err(ManagerError::NoSigningKey),
            Err(error) => return Err(error.into()),
        };
        let private = self
            .master_key()?
            .open(active.kid.as_str().as_bytes(), sealed.as_bytes())
            .map_err(|source| ManagerError::Sealed { kid: active.kid.clone(), source })?;
        let key = SigningKey::from_bytes(active.algorithm, &private)?.with_kid(active.kid);
        let minter = Minter::new(Arc::new(key));
        Ok(match &self.profile.issuer {
            Some(issuer) => minter.with_issuer(issuer.clone()),
            None => minter,
        })
    }
}
