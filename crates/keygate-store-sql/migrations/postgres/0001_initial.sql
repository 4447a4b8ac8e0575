-- keygate schema 1 for PostgreSQL. Records are JSON text (serde's form of the keygate-core and
-- keygate-store types); the columns beside them exist to be filtered, ordered and locked on.
-- Id columns use the "C" collation: bytewise, the order of the ids in Rust, whatever the
-- database's default collation.

-- The single row every writer locks first: the change feed's head, and how far it was compacted.
CREATE TABLE keygate_feed (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    head BIGINT NOT NULL,
    compacted_through BIGINT NOT NULL
);
INSERT INTO keygate_feed (id, head, compacted_through) VALUES (1, 0, 0);

CREATE TABLE keygate_principals (
    id TEXT COLLATE "C" PRIMARY KEY,
    record TEXT NOT NULL
);

CREATE TABLE keygate_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    owner TEXT COLLATE "C" NOT NULL REFERENCES keygate_principals (id),
    resource TEXT COLLATE "C",
    record TEXT NOT NULL
);
CREATE INDEX keygate_keys_by_owner ON keygate_keys (owner, id);
CREATE INDEX keygate_keys_by_resource ON keygate_keys (resource, id);

-- Revocations, keyed by the sequence number of the change that recorded them.
CREATE TABLE keygate_revocations (
    seq BIGINT PRIMARY KEY,
    expires BIGINT,
    entry TEXT NOT NULL
);
CREATE INDEX keygate_revocations_by_expiry ON keygate_revocations (expires);

CREATE TABLE keygate_signing_keys (
    kid TEXT COLLATE "C" PRIMARY KEY,
    active BIGINT NOT NULL CHECK (active IN (0, 1)),
    record TEXT NOT NULL,
    private_key TEXT
);
CREATE UNIQUE INDEX keygate_signing_keys_one_active ON keygate_signing_keys (active) WHERE active = 1;

CREATE TABLE keygate_changes (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL
);
