//! Persistence with sqlx: the pool, the migrations under `migrations/`, the writer task that
//! stores what sessions record, and the queries that read it back.
//!
//! One writer task takes [`Record`]s from a bounded channel and writes them in batches, one
//! transaction per batch, so the sessions never wait on the database and the database never
//! sees one transaction per event. SQLite (a file, WAL mode) is the embedded default.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::sandbox::{
    Event, EventKind, HostInfo, Record, Seq, SessionId, SessionInfo, StoreProgress, now_ms,
};

/// Records the channel to the writer holds before sessions keep them themselves.
pub const RECORD_QUEUE: usize = 16_384;
/// Most records written in one transaction.
pub const MAX_BATCH: usize = 2_048;
/// Connections in the pool.
const POOL_SIZE: u32 = 4;
/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the WAL is copied into the database file (the writer never does it itself).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Pages of the WAL not yet copied past which the next checkpoint waits for the writer.
const WAL_RESTART_PAGES: i64 = 16_384;
/// Bytes the WAL file is cut back to after a checkpoint.
const WAL_SIZE_LIMIT: u64 = 64 << 20;
/// Tries of a batch before its records are given up (and logged as lost).
const WRITE_TRIES: u32 = 3;

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    /// How the writer connects (its own connection, outside the pool).
    options: SqliteConnectOptions,
    /// Rows of the writer's largest multi-row insert.
    insert_rows: usize,
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub id: SessionId,
    pub created_ms: u64,
    pub expires_ms: u64,
    pub isolation: String,
    pub exercise: Option<String>,
    pub owner_token_hash: Vec<u8>,
    pub viewer_token_hash: Vec<u8>,
    pub limits: serde_json::Value,
    pub ended_ms: Option<u64>,
    pub end_reason: Option<String>,
    pub hosts: Vec<HostInfo>,
    pub last_seq: u64,
}

/// The writer task, to stop it once every session has ended.
#[derive(Debug)]
pub struct Writer {
    /// Tells the writer to drain the channel and stop.
    finish: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Writer {
    /// Write everything still queued, then stop.
    pub async fn finish(self) {
        self.finish.send(()).ok(/* the writer already stopped */);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "event writer task failed");
        }
    }
}

impl Store {
    /// Open (creating the file if needed) and migrate the database at `url`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // The WAL file is cut back to this after a checkpoint resets it.
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            options,
            insert_rows: INSERT_ROWS,
        })
    }

    /// The same store, its writer inserting at most `rows` events per statement (1 to
    /// [`INSERT_ROWS`]). For the benchmark, which measures what multi-row inserts are worth.
    pub fn with_insert_rows(mut self, rows: usize) -> Store {
        self.insert_rows = rows.clamp(1, INSERT_ROWS);
        self
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Mark sessions still live in the database (a previous run stopped without ending them)
    /// as ended; returns how many.
    pub async fn end_leftover_sessions(&self, reason: &str) -> Result<u64, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET ended_ms = ?, end_reason = ? WHERE ended_ms IS NULL")
                .bind(now_ms() as i64)
                .bind(reason)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    /// Start the writer task on `records`. It reports to each session's [`StoreProgress`]
    /// (handed over in its first record) how far its log is committed, and when the whole of
    /// it, end included, is: the writer never calls into the sandbox.
    ///
    /// The writer has a connection of its own, so a commit waits on no pool, and that
    /// connection never checkpoints: a checkpoint copies the WAL into the database file and
    /// syncs it, which on the commit path would stall every call waiting for its commit. A
    /// task beside it checkpoints instead, every [`CHECKPOINT_EVERY`], from the pool (a
    /// passive checkpoint runs alongside the writer).
    pub async fn spawn_writer(
        &self,
        records: mpsc::Receiver<Record>,
        metrics: Arc<Metrics>,
    ) -> Result<Writer, StoreError> {
        let connection = self
            .options
            .clone()
            .pragma("wal_autocheckpoint", "0")
            // One prepared insert per row count, and the few other statements.
            .statement_cache_capacity(INSERT_ROWS + 16)
            // Every event's session is inserted before it, by this connection: checking the
            // key on each event costs a lookup and proves nothing.
            .foreign_keys(false)
            .connect()
            .await?;
        let (finish, finish_rx) = oneshot::channel();
        let task = tokio::spawn(write_loop(
            connection,
            self.pool.clone(),
            self.insert_rows,
            records,
            finish_rx,
            metrics,
        ));
        Ok(Writer { finish, task })
    }

    /// A stored session.
    pub async fn session(&self, id: SessionId) -> Result<Option<StoredSession>, StoreError> {
        let key = id.to_string();
        let Some(row) = sqlx::query(
            "SELECT created_ms, expires_ms, isolation, exercise_id, owner_token_hash, \
             viewer_token_hash, limits, ended_ms, end_reason, \
             (SELECT COALESCE(MAX(seq), 0) FROM events WHERE session_id = sessions.id) AS last_seq \
             FROM sessions WHERE id = ?",
        )
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let host_rows =
            sqlx::query("SELECT name, addrs FROM hosts WHERE session_id = ? ORDER BY name")
                .bind(&key)
                .fetch_all(&self.pool)
                .await?;
        let hosts = host_rows
            .iter()
            .filter_map(|r| {
                let name = r.get::<String, _>("name").parse().ok()?;
                let addrs = serde_json::from_str(&r.get::<String, _>("addrs")).ok()?;
                Some(HostInfo { name, addrs })
            })
            .collect();
        Ok(Some(StoredSession {
            id,
            created_ms: row.get::<i64, _>("created_ms") as u64,
            expires_ms: row.get::<i64, _>("expires_ms") as u64,
            isolation: row.get("isolation"),
            exercise: row.get("exercise_id"),
            owner_token_hash: row.get("owner_token_hash"),
            viewer_token_hash: row.get("viewer_token_hash"),
            limits: serde_json::from_str(&row.get::<String, _>("limits")).unwrap_or_default(),
            ended_ms: row.get::<Option<i64>, _>("ended_ms").map(|v| v as u64),
            end_reason: row.get("end_reason"),
            hosts,
            last_seq: row.get::<i64, _>("last_seq") as u64,
        }))
    }

    /// Up to `limit` stored events of a session with seq above `after`, as JSON text.
    pub async fn events_after(
        &self,
        id: SessionId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(id.to_string())
        .bind(after.min(i64::MAX as u64) as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>("body")).collect())
    }

    /// Stored events of a session with seq above `after`, parsed.
    pub async fn events(
        &self,
        id: SessionId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .events_after(id, after, limit)
            .await?
            .iter()
            .filter_map(|body| serde_json::from_str(body).ok())
            .collect())
    }
}

/// A stored grading attempt.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    /// The attempt's number.
    pub id: i64,
    /// The session graded.
    pub session_id: String,
    /// The exercise.
    pub exercise_id: String,
    /// The exercise version graded against.
    pub exercise_version: u32,
    /// When, ms since the epoch.
    pub created_ms: u64,
    /// Whether every check passed.
    pub passed: bool,
    /// The report.
    pub report: crate::exercise::grader::Report,
}

impl Store {
    /// Load the catalog: a new version of an exercise replaces the stored one; attempts keep
    /// the version they were graded against. Returns how many exercises changed.
    pub async fn load_exercises<'a>(
        &self,
        exercises: impl IntoIterator<Item = &'a crate::exercise::Exercise>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut changed = 0;
        for e in exercises {
            let body = serde_json::to_string(e).unwrap_or_default();
            let done = sqlx::query(
                "INSERT INTO exercises (id, version, title, body, loaded_ms) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, title = excluded.title, \
                 body = excluded.body, loaded_ms = excluded.loaded_ms \
                 WHERE exercises.version != excluded.version OR exercises.body != excluded.body",
            )
            .bind(&e.id)
            .bind(i64::from(e.version))
            .bind(&e.title)
            .bind(body)
            .bind(now_ms() as i64)
            .execute(&mut *tx)
            .await?;
            changed += done.rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The stored version of an exercise.
    pub async fn exercise_version(&self, id: &str) -> Result<Option<u32>, StoreError> {
        let row = sqlx::query("SELECT version FROM exercises WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<i64, _>("version") as u32))
    }

    /// Store a grading attempt; returns its id.
    pub async fn insert_attempt(
        &self,
        session: SessionId,
        report: &crate::exercise::grader::Report,
    ) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO attempts (session_id, exercise_id, exercise_version, created_ms, passed, \
             passed_checks, total_checks, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(session.to_string())
        .bind(&report.exercise)
        .bind(i64::from(report.version))
        .bind(now_ms() as i64)
        .bind(report.passed)
        .bind(report.passed_checks as i64)
        .bind(report.total_checks as i64)
        .bind(serde_json::to_string(report).unwrap_or_default())
        .execute(&self.pool)
        .await?;
        Ok(done.last_insert_rowid())
    }

    /// Attempts at an exercise, newest first, at most `limit`.
    pub async fn attempts(&self, exercise: &str, limit: u32) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, session_id, exercise_id, exercise_version, created_ms, passed, report \
             FROM attempts WHERE exercise_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(exercise)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Attempt {
                    id: r.get("id"),
                    session_id: r.get("session_id"),
                    exercise_id: r.get("exercise_id"),
                    exercise_version: r.get::<i64, _>("exercise_version") as u32,
                    created_ms: r.get::<i64, _>("created_ms") as u64,
                    passed: r.get("passed"),
                    report: serde_json::from_str(&r.get::<String, _>("report")).ok()?,
                })
            })
            .collect())
    }
}

/// Take records as they come and write them in batches until told to finish; checkpoint the
/// WAL beside it, and fully once done.
async fn write_loop(
    mut connection: SqliteConnection,
    pool: SqlitePool,
    rows: usize,
    mut records: mpsc::Receiver<Record>,
    mut finish: oneshot::Receiver<()>,
    metrics: Arc<Metrics>,
) {
    let checkpointer = tokio::spawn(checkpoint_loop(pool.clone()));
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut progress = Progress::default();
    let mut writer = BatchWriter {
        connection: &mut connection,
        rows,
        metrics: &metrics,
        progress: &mut progress,
    };
    loop {
        let first = tokio::select! {
            record = records.recv() => match record {
                Some(r) => r,
                None => break,
            },
            _ = &mut finish => break,
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match records.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        writer.write(&mut batch).await;
    }
    // Finishing: everything still queued is written before the task ends.
    records.close();
    while let Some(r) = records.recv().await {
        batch.push(r);
        if batch.len() == MAX_BATCH {
            writer.write(&mut batch).await;
        }
    }
    writer.write(&mut batch).await;
    checkpointer.abort();
    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut connection)
        .await
    {
        tracing::warn!(error = %e, "final checkpoint failed; the next start replays the WAL");
    }
    connection.close().await.ok(/* closing a file-backed connection cannot lose anything committed */);
}

/// Copy the WAL into the database file now and then, off the writer's path. A passive
/// checkpoint never waits for the writer, but under steady writing it may never catch up with
/// it, and the WAL only starts over once it has: past [`WAL_RESTART_PAGES`] pages still to
/// copy, one checkpoint waits for the writer between two commits and lets the WAL start over.
async fn checkpoint_loop(pool: SqlitePool) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut mode = "PASSIVE";
    loop {
        every.tick().await;
        let sql = format!("PRAGMA wal_checkpoint({mode})");
        match sqlx::query(&sql).fetch_one(&pool).await {
            Ok(row) => {
                // (busy, pages in the WAL, pages copied)
                let log: i64 = row.try_get(1).unwrap_or(0);
                let copied: i64 = row.try_get(2).unwrap_or(0);
                mode = if log - copied > WAL_RESTART_PAGES {
                    "RESTART"
                } else {
                    "PASSIVE"
                };
            }
            Err(e) => tracing::debug!(error = %e, "checkpoint failed; the next one tries again"),
        }
    }
}

/// What writing a batch needs.
struct BatchWriter<'a> {
    connection: &'a mut SqliteConnection,
    rows: usize,
    metrics: &'a Metrics,
    progress: &'a mut Progress,
}

/// Where the writer reports, per live session, how far its log is committed.
#[derive(Default)]
struct Progress {
    sessions: HashMap<SessionId, StoreProgress>,
    /// Newest seq per session in the batch being reported (reused between batches).
    newest: HashMap<SessionId, Seq>,
    /// Sessions a record of which was lost: their progress stays where the loss left it.
    failed: HashSet<SessionId>,
}

impl Progress {
    /// The records are committed (or, for those that failed alone, given up): tell whoever
    /// waits on them, and tell sessions whose end is stored that the store is done with them.
    fn done(&mut self, records: &[Record]) {
        for record in records {
            match record {
                Record::SessionStarted(info, progress) => {
                    self.sessions.insert(info.id, progress.clone());
                }
                Record::Event(id, event) => {
                    let newest = self.newest.entry(*id).or_default();
                    *newest = (*newest).max(event.seq);
                }
                Record::SessionEnded { .. } => {}
            }
        }
        for (id, seq) in self.newest.drain() {
            if let Some(progress) = self.sessions.get(&id) {
                if !self.failed.contains(&id) {
                    progress.stored_through(seq);
                }
            }
        }
        for record in records {
            if let Record::SessionEnded { id, .. } = record {
                if let Some(progress) = self.sessions.remove(id) {
                    progress.finish();
                }
                self.failed.remove(id);
            }
        }
    }

    /// A record could not be written: its session's later events are not "stored through"
    /// it, and whoever waits on them hears so.
    fn lost(&mut self, record: &Record) {
        let id = match record {
            Record::SessionStarted(info, progress) => {
                progress.give_up();
                info.id
            }
            Record::Event(id, _) | Record::SessionEnded { id, .. } => *id,
        };
        if let Some(progress) = self.sessions.get(&id) {
            progress.give_up();
        }
        self.failed.insert(id);
    }
}

impl BatchWriter<'_> {
    /// Write `batch` (then empty it), trying again a few times; if it still fails, write its
    /// records one by one and give up only on those that fail alone.
    async fn write(&mut self, batch: &mut Vec<Record>) {
        if batch.is_empty() {
            return;
        }
        let mut tries = 0;
        loop {
            tries += 1;
            match write_batch(self.connection, self.rows, batch).await {
                Ok(events) => {
                    self.metrics
                        .events_written
                        .fetch_add(events, Ordering::Relaxed);
                    self.metrics.store_batches.fetch_add(1, Ordering::Relaxed);
                    self.progress.done(batch);
                    break;
                }
                Err(e) if tries < WRITE_TRIES => {
                    tracing::warn!(error = %e, records = batch.len(), tries, "writing events failed; trying again");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(tries))).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, records = batch.len(), "a batch failed; writing its records one by one");
                    let mut lost = 0;
                    for record in batch.iter() {
                        match write_batch(self.connection, self.rows, std::slice::from_ref(record))
                            .await
                        {
                            Ok(events) => {
                                self.metrics
                                    .events_written
                                    .fetch_add(events, Ordering::Relaxed);
                            }
                            Err(e) => {
                                lost += 1;
                                tracing::error!(error = %e, record = ?record_kind(record), "record lost");
                                // Whoever waits on it hears it will not be stored.
                                self.progress.lost(record);
                            }
                        }
                        self.progress.done(std::slice::from_ref(record));
                    }
                    if lost > 0 {
                        tracing::error!(lost, "writing records failed");
                    }
                    break;
                }
            }
        }
        batch.clear();
    }
}

/// What a record is, for logs.
fn record_kind(record: &Record) -> (&'static str, SessionId) {
    match record {
        Record::SessionStarted(info, _) => ("session_started", info.id),
        Record::Event(id, _) => ("event", *id),
        Record::SessionEnded { id, .. } => ("session_ended", *id),
    }
}

/// Write one batch in one transaction; returns the number of events written. Runs of events
/// go in multi-row inserts of [`INSERT_ROWS`] rows (and smaller powers of two for the rest),
/// so a batch costs a handful of statements, each prepared once per connection.
async fn write_batch(
    connection: &mut SqliteConnection,
    rows: usize,
    batch: &[Record],
) -> Result<u64, sqlx::Error> {
    if let Some(run) = one_insert(batch, rows) {
        // One statement is a transaction of its own: no BEGIN and COMMIT round trips, which
        // are most of the wait of a call acknowledged alone.
        insert_events(&mut *connection, &run, rows).await?;
        return Ok(run.len() as u64);
    }
    let mut tx = connection.begin().await?;
    let mut events = 0;
    let mut run: Vec<(SessionId, &Event)> = Vec::with_capacity(rows);
    for record in batch {
        match record {
            Record::SessionStarted(info, _) => insert_session(&mut tx, info).await?,
            Record::Event(id, event) => {
                if matches!(event.kind, EventKind::SessionStarted | EventKind::HostAdded) {
                    insert_hosts(&mut tx, *id, event).await?;
                }
                run.push((*id, event));
                if run.len() == rows {
                    insert_events(&mut tx, &run, rows).await?;
                    run.clear();
                }
                events += 1;
            }
            Record::SessionEnded { id, at_ms, reason } => {
                insert_events(&mut tx, &run, rows).await?;
                run.clear();
                sqlx::query("UPDATE sessions SET ended_ms = ?, end_reason = ? WHERE id = ?")
                    .bind(*at_ms as i64)
                    .bind(reason)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    insert_events(&mut tx, &run, rows).await?;
    tx.commit().await?;
    Ok(events)
}

/// The batch's events, if the whole batch is one multi-row insert: events only, none that
/// also stores hosts, as many as one statement takes.
fn one_insert(batch: &[Record], rows: usize) -> Option<Vec<(SessionId, &Event)>> {
    if batch.len() > rows {
        return None;
    }
    batch
        .iter()
        .map(|record| match record {
            Record::Event(id, event)
                if !matches!(event.kind, EventKind::SessionStarted | EventKind::HostAdded) =>
            {
                Some((*id, &**event))
            }
            _ => None,
        })
        .collect()
}

/// Rows of the largest multi-row insert (3 values each, well under SQLite's variable limit).
pub const INSERT_ROWS: usize = 128;

/// `INSERT INTO events … VALUES (…), (…)` with `rows` rows (1 to [`INSERT_ROWS`]); built once.
fn insert_events_sql(rows: usize) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=INSERT_ROWS)
            .map(|n| {
                let values = vec!["(?, ?, ?)"; n].join(", ");
                format!("INSERT INTO events (session_id, seq, body) VALUES {values}")
            })
            .collect()
    });
    &all[rows - 1]
}

/// Insert events, at most `rows` per statement. Each statement's bodies are written into one
/// buffer and its session ids kept once each, so a row costs no allocation of its own.
async fn insert_events(
    connection: &mut SqliteConnection,
    events: &[(SessionId, &Event)],
    rows: usize,
) -> Result<(), sqlx::Error> {
    let mut bodies = Vec::new();
    let mut ends = Vec::with_capacity(rows);
    let mut ids: Vec<(SessionId, String)> = Vec::new();
    for chunk in events.chunks(rows) {
        bodies.clear();
        ends.clear();
        for (id, event) in chunk {
            serde_json::to_writer(&mut bodies, event).map_err(|e| sqlx::Error::Encode(e.into()))?;
            ends.push(bodies.len());
            if !ids.iter().any(|(known, _)| known == id) {
                ids.push((*id, id.to_string()));
            }
        }
        // serde_json writes UTF-8.
        let text = std::str::from_utf8(&bodies).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let mut query = sqlx::query(insert_events_sql(chunk.len()));
        let mut start = 0;
        for ((id, event), &end) in chunk.iter().zip(&ends) {
            let key = ids
                .iter()
                .find(|(known, _)| known == id)
                .map_or("", |(_, key)| key.as_str());
            query = query
                .bind(key)
                .bind(event.seq as i64)
                .bind(&text[start..end]);
            start = end;
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

async fn insert_session(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    info: &SessionInfo,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id, created_ms, expires_ms, isolation, exercise_id, \
         owner_token_hash, viewer_token_hash, limits) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(info.id.to_string())
    .bind(info.created_ms as i64)
    .bind(info.expires_ms as i64)
    .bind(info.isolation.to_string())
    .bind(info.exercise.as_deref())
    .bind(info.credentials.owner.as_slice())
    .bind(info.credentials.viewer.as_slice())
    .bind(serde_json::to_string(&info.limits).unwrap_or_default())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_hosts(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: SessionId,
    event: &Event,
) -> Result<(), sqlx::Error> {
    let key = id.to_string();
    for host in event.hosts.iter().flatten() {
        sqlx::query("INSERT OR REPLACE INTO hosts (session_id, name, addrs) VALUES (?, ?, ?)")
            .bind(&key)
            .bind(host.name.to_string())
            .bind(serde_json::to_string(&host.addrs).unwrap_or_default())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
