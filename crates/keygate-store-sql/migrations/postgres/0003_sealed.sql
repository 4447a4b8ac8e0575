-- keygate schema 3 for PostgreSQL: private signing keys are kept sealed under a key-encryption
-- key that the store never holds. `private_key` is what stores of schema 2 kept in the clear;
-- the `keygate` command moves it, sealed, into `sealed_private_key` on its first run with a
-- master key, and seals the HMAC secrets of the records and feed entries listed here with it.

ALTER TABLE keygate_signing_keys ADD COLUMN sealed_private_key TEXT;

CREATE TABLE keygate_unsealed_changes (seq BIGINT PRIMARY KEY);
INSERT INTO keygate_unsealed_changes (seq)
    SELECT seq FROM keygate_changes WHERE event LIKE '%"shared_secret"%';
