-- keygate schema 7: who may do what through the control plane. A ServiceAccountOwner names the
-- service account it owns in target; the other roles leave it empty. Never in the feed.

CREATE TABLE keygate_role_bindings (
    principal TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (principal, role, target)
);
CREATE INDEX keygate_role_bindings_target ON keygate_role_bindings (target);
