-- Keyward schema, version 9: attempts at MFA codes, which the throttle counts.
--
-- A request reserves an attempt before it looks at a code, in one step with counting the device's
-- earlier attempts, and the reservation stays when the request rolls back: concurrent requests
-- cannot check more codes than the throttle allows. An accepted code's attempt is deleted, so a
-- row is a refused code, or one being checked. `mfa_failures` keeps the refusals' details.

CREATE TABLE mfa_attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The serial number lower-cased (any serial offered, whether a device has it or not).
    serial_key TEXT NOT NULL,
    time_ms    INTEGER NOT NULL
);
CREATE INDEX mfa_attempts_by_serial ON mfa_attempts (serial_key, time_ms);

-- The refusals recorded before this version counted for the throttle: they still do.
INSERT INTO mfa_attempts (serial_key, time_ms)
    SELECT serial_key, time_ms FROM mfa_failures WHERE reason <> 'throttled' ORDER BY seq;
