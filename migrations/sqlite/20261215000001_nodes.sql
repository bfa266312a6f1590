-- The nodes of a cluster sharing one database, and which node owns each session. Each node
-- registers with a lease it renews; one whose lease ran out is reaped by the others, which end
-- its live sessions. A single-node server has no row here and owns its sessions as node 0.

CREATE TABLE nodes (
    -- Assigned by the database, never reused: it becomes the top 16 bits of the node's
    -- session ids, so a session id names its owner even after the node is gone.
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Where the other nodes reach it (forwarded requests).
    addr           TEXT NOT NULL,
    started_ms     INTEGER NOT NULL,
    lease_until_ms INTEGER NOT NULL,
    draining       BOOLEAN NOT NULL DEFAULT false,
    live_sessions  INTEGER NOT NULL DEFAULT 0,
    -- Sessions it can still take.
    room           INTEGER NOT NULL DEFAULT 0,
    -- Set once it is declared gone (lease run out, or a clean exit); its id stays taken.
    reaped_ms      INTEGER
);

ALTER TABLE sessions ADD COLUMN node INTEGER NOT NULL DEFAULT 0;

CREATE INDEX sessions_live_by_node ON sessions (node) WHERE ended_ms IS NULL;
