-- Sync (SQLite): the per-project operation log, the entities it produced, refused operations and
-- each device's last sequence number. The PostgreSQL migration of the same name defines the same
-- columns. Ids are UUID text; operations, acknowledgements, entities and reasons are JSON text.

-- Every processed operation, numbered 1, 2, 3… per project without gaps. `device_id` and
-- `device_seq` are set only for operations that take their device's sequence number (not for an
-- operation naming another device than the signed-in one), so that redelivery is recognised by
-- `op_id` or by `(device_id, device_seq)`.
CREATE TABLE sync_log (
    project_id TEXT NOT NULL REFERENCES projects (id),
    seq BIGINT NOT NULL,
    op_id TEXT NOT NULL,
    device_id TEXT,
    device_seq BIGINT,
    op TEXT NOT NULL,
    ack TEXT NOT NULL,
    PRIMARY KEY (project_id, seq)
);
CREATE UNIQUE INDEX sync_log_op ON sync_log (project_id, op_id);
CREATE UNIQUE INDEX sync_log_device_seq ON sync_log (project_id, device_id, device_seq);

-- The current state of every entity. `last_seq` is the operation that last changed it and `ord`
-- its place among the entities that operation wrote. `interviewer`, `status`, `area` and
-- `open_conflicts` are copied out of `body` for queries (scopes, lists, queues).
CREATE TABLE sync_entities (
    project_id TEXT NOT NULL REFERENCES projects (id),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    version BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    ord INTEGER NOT NULL,
    deleted BOOLEAN NOT NULL,
    interviewer TEXT,
    status TEXT,
    area TEXT,
    open_conflicts INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX sync_entities_scope_seq ON sync_entities (project_id, scope, last_seq);
CREATE INDEX sync_entities_seq ON sync_entities (project_id, last_seq);
CREATE INDEX sync_entities_interviewer ON sync_entities (project_id, interviewer, kind);

-- Refused operations, kept with their reason: shown to their device and to supervisors.
CREATE TABLE sync_refusals (
    project_id TEXT NOT NULL REFERENCES projects (id),
    seq BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    author TEXT NOT NULL,
    scope TEXT,
    op TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (project_id, seq)
);
CREATE INDEX sync_refusals_device ON sync_refusals (project_id, device_id, seq);

-- The last `device_seq` processed per device (the next expected is one more).
CREATE TABLE sync_devices (
    project_id TEXT NOT NULL REFERENCES projects (id),
    device_id TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (project_id, device_id)
);
