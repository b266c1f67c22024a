-- Roles (trust policy, session duration, boundary, tags, last use).

CREATE TABLE roles (
    role_id              TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts (account_id),
    name                 TEXT NOT NULL,
    name_key             TEXT NOT NULL,
    path                 TEXT NOT NULL,
    created_ms           INTEGER NOT NULL,
    assume_role_policy   TEXT NOT NULL,
    description          TEXT,
    max_session_duration INTEGER NOT NULL,
    permissions_boundary TEXT,
    tags                 TEXT NOT NULL DEFAULT '[]',
    last_used_ms         INTEGER,
    last_used_region     TEXT,
    UNIQUE (account_id, name_key)
);
