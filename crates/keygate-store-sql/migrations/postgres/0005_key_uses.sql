-- keygate schema 5: when each key was last used, as servers report it. Bookkeeping, not state:
-- no feed entry, no audit event.

CREATE TABLE keygate_key_uses (
    key_id TEXT COLLATE "C" PRIMARY KEY,
    at BIGINT NOT NULL,
    resource TEXT
);
