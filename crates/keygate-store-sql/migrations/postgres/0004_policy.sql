-- keygate schema 4: the key policy every writer enforces, kept with the keys it governs. One
-- row, absent until a policy is set.

CREATE TABLE keygate_policy (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    policy TEXT NOT NULL
);
