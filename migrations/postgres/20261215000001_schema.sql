-- The whole schema as of the first PostgreSQL version; the same tables as the SQLite
-- migrations (../sqlite/) build step by step. Integers are BIGINT throughout: the store
-- reads every number as a 64-bit integer, as SQLite gives it.

-- Sessions, their hosts and their full event log.

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    created_ms        BIGINT NOT NULL,
    expires_ms        BIGINT NOT NULL,
    isolation         TEXT NOT NULL,
    exercise_id       TEXT,
    -- SHA-256 of the tokens; the tokens themselves are never stored.
    owner_token_hash  BYTEA NOT NULL,
    viewer_token_hash BYTEA NOT NULL,
    -- The session's limits as JSON.
    limits            TEXT NOT NULL,
    ended_ms          BIGINT,
    end_reason        TEXT,
    -- The node that owns it (0: not clustered).
    node              BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX sessions_live ON sessions (ended_ms) WHERE ended_ms IS NULL;
CREATE INDEX sessions_live_by_node ON sessions (node) WHERE ended_ms IS NULL;

CREATE TABLE hosts (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    -- JSON array of addresses.
    addrs      TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
);

-- No foreign key to sessions: the writer inserts every session before its events on the same
-- connection, and checking the key row by row would cost each insert a trigger and a lookup
-- (the SQLite writer does not check it either).
CREATE TABLE events (
    session_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    -- The whole event as JSON, as the API shows it.
    body       TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- The exercise catalog as loaded at start, and every grading attempt.

CREATE TABLE exercises (
    id         TEXT PRIMARY KEY NOT NULL,
    version    BIGINT NOT NULL,
    title      TEXT NOT NULL,
    -- The whole exercise as JSON.
    body       TEXT NOT NULL,
    loaded_ms  BIGINT NOT NULL
);

CREATE TABLE attempts (
    id               BIGSERIAL PRIMARY KEY,
    -- No foreign key: an attempt may be graded before the writer has stored its session.
    session_id       TEXT NOT NULL,
    exercise_id      TEXT NOT NULL,
    -- The version the attempt was graded against; a newer catalog does not change it.
    exercise_version BIGINT NOT NULL,
    created_ms       BIGINT NOT NULL,
    passed           BOOLEAN NOT NULL,
    passed_checks    BIGINT NOT NULL,
    total_checks     BIGINT NOT NULL,
    -- The report as JSON.
    report           TEXT NOT NULL
);

CREATE INDEX attempts_by_exercise ON attempts (exercise_id, created_ms);

-- The nodes of a cluster sharing this database. Each node registers with a lease it renews;
-- one whose lease ran out is reaped by the others, which end its live sessions.

CREATE TABLE nodes (
    -- Assigned by the database, never reused: it becomes the top 16 bits of the node's
    -- session ids, so a session id names its owner even after the node is gone.
    id             BIGSERIAL PRIMARY KEY,
    -- Where the other nodes reach it (forwarded requests).
    addr           TEXT NOT NULL,
    started_ms     BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL,
    draining       BOOLEAN NOT NULL DEFAULT false,
    live_sessions  BIGINT NOT NULL DEFAULT 0,
    -- Sessions it can still take.
    room           BIGINT NOT NULL DEFAULT 0,
    -- Set once it is declared gone (lease run out, or a clean exit); its id stays taken.
    reaped_ms      BIGINT
);
