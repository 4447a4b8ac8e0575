-- keygate schema 6: the resources deleted and not restored, so that no new key is scoped to one.
-- Control-plane state: the data plane never reads it (the deletion revoked the keys).

CREATE TABLE keygate_deleted_resources (
    resource TEXT COLLATE "C" PRIMARY KEY,
    at BIGINT NOT NULL
);
