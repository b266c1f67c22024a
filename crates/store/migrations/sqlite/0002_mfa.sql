-- Keyward schema, version 2: virtual MFA devices and the record of refused MFA codes.

CREATE TABLE mfa_devices (
    serial       TEXT PRIMARY KEY,
    -- Serial numbers are compared without regard to case: this is the serial lower-cased.
    serial_key   TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    name         TEXT NOT NULL,
    path         TEXT NOT NULL,
    -- The user the device is assigned to; NULL while unassigned.
    user_id      TEXT REFERENCES users (user_id),
    enable_ms    INTEGER,
    created_ms   INTEGER NOT NULL,
    -- AES-256-GCM under the master key, bound to the serial number.
    sealed_seed  BLOB NOT NULL,
    offset_steps INTEGER NOT NULL DEFAULT 0,
    -- The last TOTP step whose code was accepted (replay protection).
    last_step    INTEGER,
    tags         TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX mfa_devices_by_user ON mfa_devices (account_id, user_id);

-- Every refused MFA code (never the code itself): the throttle counts these, the doctor reads
-- matched_offset_secs to estimate a device's drift.
CREATE TABLE mfa_failures (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    serial              TEXT NOT NULL,
    serial_key          TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    user_id             TEXT,
    reason              TEXT NOT NULL,
    matched_offset_secs INTEGER,
    time_ms             INTEGER NOT NULL,
    request_id          TEXT
);
CREATE INDEX mfa_failures_by_serial ON mfa_failures (serial_key, time_ms);
CREATE INDEX mfa_failures_by_time ON mfa_failures (time_ms);
