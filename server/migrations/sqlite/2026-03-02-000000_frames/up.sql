-- Areas (PSUs) of a project, frozen frames and drawn samples. Buildings, dwellings, cases and
-- assignments are sync entities (sync_entities); areas carry boundaries and measures of size that
-- the field does not edit. JSON documents are text.

CREATE TABLE areas (
    project_id TEXT NOT NULL REFERENCES projects (id),
    id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    stratum TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE UNIQUE INDEX areas_code ON areas (project_id, code);

-- A frame: the listing as it stood when frozen (numbered), with the hash of its frame.
CREATE TABLE frames (
    project_id TEXT NOT NULL REFERENCES projects (id),
    id TEXT NOT NULL,
    hash TEXT NOT NULL,
    dwellings BIGINT NOT NULL,
    listing TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, id)
);

-- A multi-stage draw from a frame: the whole draw (design, seed, PSUs, households, releases).
CREATE TABLE samples (
    project_id TEXT NOT NULL REFERENCES projects (id),
    id TEXT NOT NULL,
    frame_id TEXT NOT NULL,
    form_id TEXT,
    draw TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, id)
);
