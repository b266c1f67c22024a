-- Keyward schema, version 1: accounts, users, access keys, the audit trail.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);

CREATE TABLE users (
    user_id    TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    name       TEXT NOT NULL,
    -- IAM names are unique without regard to case: this is the name lower-cased.
    name_key   TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    -- JSON array of {"Key": ..., "Value": ...} in the order they were added.
    tags       TEXT NOT NULL DEFAULT '[]',
    UNIQUE (account_id, name_key)
);

CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (account_id),
    -- NULL for the root user's keys.
    user_id       TEXT REFERENCES users (user_id),
    status        TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created_ms    INTEGER NOT NULL,
    -- AES-256-GCM under the master key, bound to access_key_id.
    sealed_secret BLOB NOT NULL
);
CREATE INDEX access_keys_by_owner ON access_keys (account_id, user_id);

CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE,
    event_time_ms   INTEGER NOT NULL,
    event_source    TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    aws_region      TEXT NOT NULL,
    source_ip       TEXT NOT NULL,
    user_agent      TEXT,
    request_id      TEXT NOT NULL,
    read_only       INTEGER NOT NULL,
    identity_type   TEXT,
    principal_id    TEXT,
    principal_arn   TEXT,
    account_id      TEXT,
    access_key_id   TEXT,
    user_name       TEXT,
    error_code      TEXT,
    error_message   TEXT
);
CREATE INDEX audit_events_by_time ON audit_events (event_time_ms);
