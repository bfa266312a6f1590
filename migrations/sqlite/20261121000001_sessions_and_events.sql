-- Sessions, their hosts and their full event log.

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    created_ms        INTEGER NOT NULL,
    expires_ms        INTEGER NOT NULL,
    isolation         TEXT NOT NULL,
    exercise_id       TEXT,
    -- SHA-256 of the tokens; the tokens themselves are never stored.
    owner_token_hash  BLOB NOT NULL,
    viewer_token_hash BLOB NOT NULL,
    -- The session's limits as JSON.
    limits            TEXT NOT NULL,
    ended_ms          INTEGER,
    end_reason        TEXT
);

CREATE INDEX sessions_live ON sessions (ended_ms) WHERE ended_ms IS NULL;

CREATE TABLE hosts (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    -- JSON array of addresses.
    addrs      TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
) WITHOUT ROWID;

CREATE TABLE events (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    time_ms    INTEGER NOT NULL,
    host       TEXT,
    fd         INTEGER,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    -- The whole event as JSON, as the API shows it.
    body       TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
