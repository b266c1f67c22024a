-- Managed policies with versions, attachments, inline policies, groups, permissions boundaries.

ALTER TABLE users ADD COLUMN permissions_boundary TEXT;

CREATE TABLE managed_policies (
    policy_id       TEXT PRIMARY KEY,
    -- The owning account, or 'aws' for AWS managed policies.
    account_id      TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    path            TEXT NOT NULL,
    arn             TEXT NOT NULL UNIQUE,
    description     TEXT,
    default_version TEXT NOT NULL,
    next_version    INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    tags            TEXT NOT NULL DEFAULT '[]',
    UNIQUE (account_id, name_key)
);

CREATE TABLE policy_versions (
    policy_id  TEXT NOT NULL REFERENCES managed_policies (policy_id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (policy_id, version_id)
);

-- entity_kind is 'user', 'group' or 'role'; entity_id the entity's unique ID.
CREATE TABLE policy_attachments (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    policy_arn  TEXT NOT NULL REFERENCES managed_policies (arn),
    PRIMARY KEY (entity_kind, entity_id, policy_arn)
);
CREATE INDEX policy_attachments_by_policy ON policy_attachments (policy_arn);

CREATE TABLE inline_policies (
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, name)
);

CREATE TABLE groups (
    group_id   TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (account_id, name_key)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (group_id),
    user_id  TEXT NOT NULL REFERENCES users (user_id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);
