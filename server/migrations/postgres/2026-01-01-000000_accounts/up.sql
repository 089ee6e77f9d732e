-- Accounts, sessions, devices and projects (PostgreSQL). Ids are UUID text, times are milliseconds
-- since the Unix epoch; the SQLite migration of the same name defines the same columns.

CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'interviewer')),
    team_id TEXT REFERENCES teams (id),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX users_team ON users (team_id);

CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    device_id TEXT REFERENCES devices (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_device ON tokens (device_id);

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
