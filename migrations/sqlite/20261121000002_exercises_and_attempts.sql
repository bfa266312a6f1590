-- The exercise catalog as loaded at start, and every grading attempt.

CREATE TABLE exercises (
    id         TEXT PRIMARY KEY NOT NULL,
    version    INTEGER NOT NULL,
    title      TEXT NOT NULL,
    -- The whole exercise as JSON.
    body       TEXT NOT NULL,
    loaded_ms  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- No foreign key: an attempt may be graded before the writer has stored its session.
    session_id       TEXT NOT NULL,
    exercise_id      TEXT NOT NULL,
    -- The version the attempt was graded against; a newer catalog does not change it.
    exercise_version INTEGER NOT NULL,
    created_ms       INTEGER NOT NULL,
    passed           INTEGER NOT NULL,
    passed_checks    INTEGER NOT NULL,
    total_checks     INTEGER NOT NULL,
    -- The report as JSON.
    report           TEXT NOT NULL
);

CREATE INDEX attempts_by_exercise ON attempts (exercise_id, created_ms);
