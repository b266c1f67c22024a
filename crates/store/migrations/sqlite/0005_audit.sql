-- Keyward schema, version 5: the audit trail holds CloudTrail records.
--
-- Each row is one record as CloudTrail's JSON (`record`) plus the columns LookupEvents filters on.
-- `seq` is a plain INTEGER PRIMARY KEY (the rowid: no AUTOINCREMENT, so no sqlite_sequence write
-- per record); event IDs are time-ordered UUIDs, so their index grows at its right edge instead of
-- taking a random-page B-tree insert per request, and it is not UNIQUE (an ID is 74 random bits
-- after a millisecond timestamp).

CREATE TABLE audit_records (
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
    record         TEXT NOT NULL
);

INSERT INTO audit_records (seq, event_id, event_time_ms, account_id, event_source, event_name,
    read_only, user_name, access_key_id, error_code, resource_names, record)
SELECT seq, event_id, event_time_ms, account_id, event_source, event_name, read_only, user_name,
    access_key_id, error_code, '',
    json_object(
        'eventVersion', '1.09',
        'userIdentity', json_object('type', identity_type, 'principalId', principal_id,
            'arn', principal_arn, 'accountId', account_id, 'accessKeyId', access_key_id,
            'userName', user_name),
        'eventTime', strftime('%Y-%m-%dT%H:%M:%SZ', event_time_ms / 1000, 'unixepoch'),
        'eventSource', event_source,
        'eventName', event_name,
        'awsRegion', aws_region,
        'sourceIPAddress', source_ip,
        'userAgent', user_agent,
        'errorCode', error_code,
        'errorMessage', error_message,
        'requestParameters', NULL,
        'responseElements', NULL,
        'requestID', request_id,
        'eventID', event_id,
        'readOnly', json(CASE WHEN read_only != 0 THEN 'true' ELSE 'false' END),
        'eventType', 'AwsApiCall',
        'managementEvent', json('true'),
        'recipientAccountId', account_id,
        'eventCategory', 'Management')
FROM audit_events;

DROP TABLE audit_events;

CREATE INDEX audit_records_by_time ON audit_records (event_time_ms);
CREATE INDEX audit_records_by_event_id ON audit_records (event_id);
