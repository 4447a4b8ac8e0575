-- keygate schema 8: the names tools give keys, unique per owner, and the action of each audit
-- entry, to find entries by. Older rows have neither; their names are NULL, which never
-- collide.

ALTER TABLE keygate_keys ADD COLUMN name TEXT;
CREATE UNIQUE INDEX keygate_keys_by_name ON keygate_keys (owner, name);

ALTER TABLE keygate_audit ADD COLUMN action TEXT;
CREATE INDEX keygate_audit_by_action ON keygate_audit (action, id);
