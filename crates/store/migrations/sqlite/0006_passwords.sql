-- Console passwords, the account password policy, account aliases, key last use, sign-in failures.

ALTER TABLE users ADD COLUMN password_last_used_ms INTEGER;

ALTER TABLE access_keys ADD COLUMN last_used_ms INTEGER;
ALTER TABLE access_keys ADD COLUMN last_used_service TEXT;
ALTER TABLE access_keys ADD COLUMN last_used_region TEXT;

CREATE TABLE login_profiles (
    user_id                 TEXT PRIMARY KEY REFERENCES users (user_id),
    -- argon2id, PHC string format.
    password_hash           TEXT NOT NULL,
    password_reset_required INTEGER NOT NULL,
    created_ms              INTEGER NOT NULL,
    password_changed_ms     INTEGER NOT NULL
);

CREATE TABLE password_history (
    user_id       TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    changed_ms    INTEGER NOT NULL
);
CREATE INDEX password_history_by_user ON password_history (user_id, changed_ms);

CREATE TABLE password_policies (
    account_id TEXT PRIMARY KEY REFERENCES accounts (account_id),
    -- JSON object with the PasswordPolicy fields.
    policy     TEXT NOT NULL
);

CREATE TABLE account_aliases (
    account_id TEXT PRIMARY KEY REFERENCES accounts (account_id),
    alias      TEXT NOT NULL UNIQUE
);

CREATE TABLE signin_failures (
    account_id TEXT NOT NULL,
    -- The user name as typed, lower-cased (the user may not exist).
    user_key   TEXT NOT NULL,
    at_ms      INTEGER NOT NULL
);
CREATE INDEX signin_failures_by_user ON signin_failures (account_id, user_key, at_ms);
