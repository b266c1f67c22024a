-- Keyward schema, version 8: the change feed.
--
-- One row whose `version` every committed write transaction that changed anything raises (the
-- engine bumps it in the request's savepoint, so a request that rolls back leaves it). A process
-- that caches what it read (credentials, gathered policies) reads it to learn that another
-- process, or another handle, changed the data: the row lives in this file, so any writer of the
-- file is seen by the next transaction of every reader.

CREATE TABLE change_feed (
    id      INTEGER PRIMARY KEY CHECK (id = 0),
    version INTEGER NOT NULL
);

INSERT INTO change_feed (id, version) VALUES (0, 0);
