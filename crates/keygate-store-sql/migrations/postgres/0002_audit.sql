-- keygate schema 2 for PostgreSQL: the audit log. Each entry is an event of the embedder's type
-- as JSON, with the instant, principal and keys it is looked up by.

CREATE TABLE keygate_audit (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    principal TEXT COLLATE "C",
    event TEXT NOT NULL
);
CREATE INDEX keygate_audit_by_at ON keygate_audit (at, id);
CREATE INDEX keygate_audit_by_principal ON keygate_audit (principal, id);

CREATE TABLE keygate_audit_keys (
    key_id TEXT COLLATE "C" NOT NULL,
    entry BIGINT NOT NULL REFERENCES keygate_audit (id),
    PRIMARY KEY (key_id, entry)
);
