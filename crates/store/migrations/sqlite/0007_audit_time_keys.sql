-- Keyward schema, version 7: audit records keyed by time, with no secondary index.
--
-- `seq` (the rowid) is now `event_time_ms * 65536 + n`, n telling apart records of the same
-- millisecond. The trail is therefore stored in event-time order, a time range is a rowid range,
-- an event ID (a time-ordered UUID whose first 48 bits are its millisecond) is found within its
-- millisecond's range, and retention deletes a rowid range. The two indexes of version 5 cost
-- every request two more B-tree inserts and their pages in every commit; they are gone.
--
-- A record written from now on keeps, beside the columns, only `compact` (the rest of the record
-- with short names, `AuditEvent::compact_json`), and its CloudTrail JSON is rendered when it is
-- read: a third of the bytes, and no rendering on the request path. Records of earlier versions
-- keep their JSON in `record`.

CREATE TABLE audit_records_v7 (
    seq            INTEGER PRIMARY KEY,
    event_id       TEXT NOT NULL,
    event_time_ms  INTEGER NOT NULL,
    account_id     TEXT,
    event_source   TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    read_only      INTEGER NOT NULL,
    user_name      TEXT,
    access_key_id  TEXT,
    error_code     TEXT,
    -- Resource names, each followed by a newline and the first preceded by one.
    resource_names TEXT NOT NULL DEFAULT '',
    -- The whole CloudTrail JSON (records of earlier versions), or NULL ...
    record         TEXT,
    -- ... and the rest of the record beside the columns.
    compact        TEXT,
    CHECK ((record IS NULL) != (compact IS NULL))
);

INSERT INTO audit_records_v7 (seq, event_id, event_time_ms, account_id, event_source, event_name,
    read_only, user_name, access_key_id, error_code, resource_names, record)
SELECT max(event_time_ms, 0) * 65536
        + (row_number() OVER (PARTITION BY max(event_time_ms, 0) ORDER BY seq) - 1),
    event_id, event_time_ms, account_id, event_source, event_name, read_only, user_name,
    access_key_id, error_code, resource_names, record
FROM audit_records;

DROP TABLE audit_records;

ALTER TABLE audit_records_v7 RENAME TO audit_records;
