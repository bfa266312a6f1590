//! The writer: one task that takes the sessions' [`Record`]s from a bounded channel and writes
//! them in batches, one transaction per batch (multi-row inserts for runs of events), and
//! reports to each session's [`StoreProgress`] how far its log is committed. On SQLite a task
//! beside it checkpoints the WAL off the commit path.
//!
//! The batch's SQL is the same on both backends; [`BatchSql`] is written once, generic over
//! sqlx's database type, and the writer's connection ([`WriterConnection`]) picks the
//! instance.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{
    ConnectOptions, Connection, Database, Encode, Executor, IntoArguments, PgConnection, Postgres,
    Row, Sqlite, SqliteConnection, SqlitePool, Type,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{Backend, Store, StoreError};
use crate::metrics::Metrics;
use crate::sandbox::{Event, EventKind, Record, Seq, SessionId, SessionInfo, StoreProgress};

/// Records the channel to the writer holds before sessions keep them themselves.
pub const RECORD_QUEUE: usize = 16_384;
/// Most records written in one transaction.
pub const MAX_BATCH: usize = 2_048;
/// How often the WAL is copied into the database file (the writer never does it itself).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Pages of the WAL not yet copied past which the next checkpoint waits for the writer.
const WAL_RESTART_PAGES: i64 = 16_384;
/// Tries of a batch before its records are given up (and logged as lost).
const WRITE_TRIES: u32 = 3;

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
    /// Start the writer task on `records`. It reports to each session's [`StoreProgress`]
    /// (handed over in its first record) how far its log is committed, and when the whole of
    /// it, end included, is: the writer never calls into the sandbox.
    ///
    /// The writer has a connection of its own, so a commit waits on no pool, and that
    /// connection never checkpoints: a checkpoint copies the WAL into the database file and
    /// syncs it, which on the commit path would stall every call waiting for its commit. A
    /// task beside it checkpoints instead, every [`CHECKPOINT_EVERY`], from the pool (a
    /// passive checkpoint runs alongside the writer).
    ///
    /// On PostgreSQL the writer's connection commits with `synchronous_commit = on` whatever
    /// the server's default: a call is acknowledged once its event is committed, and only a
    /// commit flushed to disk survives a crash of the database server.
    pub async fn spawn_writer(
        &self,
        records: mpsc::Receiver<Record>,
        metrics: Arc<Metrics>,
    ) -> Result<Writer, StoreError> {
        let (connection, checkpointer) = match &self.backend {
            Backend::Sqlite { pool, options } => {
                let connection = options
                    .clone()
                    .pragma("wal_autocheckpoint", "0")
                    // One prepared insert per row count, and the few other statements.
                    .statement_cache_capacity(INSERT_ROWS + 16)
                    // Every event's session is inserted before it, by this connection:
                    // checking the key on each event costs a lookup and proves nothing.
                    .foreign_keys(false)
                    .connect()
                    .await?;
                let checkpointer = tokio::spawn(checkpoint_loop(pool.clone()));
                (WriterConnection::Sqlite(connection), Some(checkpointer))
            }
            Backend::Postgres { options, .. } => {
                let options = options
                    .clone()
                    .statement_cache_capacity(INSERT_ROWS + 16)
                    .options([("synchronous_commit", "on")]);
                let connection = options.connect().await?;
                (
                    WriterConnection::Postgres {
                        connection,
                        options: Box::new(options),
                    },
                    None,
                )
            }
        };
        let (finish, finish_rx) = oneshot::channel();
        let task = tokio::spawn(write_loop(
            connection,
            checkpointer,
            self.insert_rows,
            records,
            finish_rx,
            metrics,
        ));
        Ok(Writer { finish, task })
    }
}

/// The writer's own connection, outside the pool.
enum WriterConnection {
    Sqlite(SqliteConnection),
    /// With what it connected, to connect again (boxed: the options are large, and used
    /// only then).
    Postgres {
        connection: PgConnection,
        options: Box<PgConnectOptions>,
    },
}

impl WriterConnection {
    /// After a failed write: a PostgreSQL connection that no longer answers (the server
    /// restarted, the network dropped it) is replaced, or every later batch would fail on it
    /// too. A SQLite connection is a file handle and does not break that way.
    async fn recover(&mut self) {
        let WriterConnection::Postgres {
            connection,
            options,
        } = self
        else {
            return;
        };
        if connection.ping().await.is_ok() {
            return;
        }
        match options.connect().await {
            Ok(fresh) => {
                tracing::warn!("the event writer's database connection broke; reconnected");
                drop(std::mem::replace(connection, fresh));
            }
            Err(e) => {
                tracing::warn!(error = %e, "the event writer cannot reconnect yet; the next write tries again");
            }
        }
    }
}

/// Take records as they come and write them in batches until told to finish; once done, stop
/// the checkpointer (SQLite) and checkpoint fully.
async fn write_loop(
    mut connection: WriterConnection,
    checkpointer: Option<JoinHandle<()>>,
    rows: usize,
    mut records: mpsc::Receiver<Record>,
    mut finish: oneshot::Receiver<()>,
    metrics: Arc<Metrics>,
) {
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
    if let Some(checkpointer) = checkpointer {
        checkpointer.abort();
    }
    match connection {
        WriterConnection::Sqlite(mut connection) => {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut connection)
                .await
            {
                tracing::warn!(error = %e, "final checkpoint failed; the next start replays the WAL");
            }
            connection.close().await.ok(/* closing a file-backed connection cannot lose anything committed */);
        }
        WriterConnection::Postgres { connection, .. } => {
            connection.close().await.ok(/* every batch was committed before; nothing is pending */);
        }
    }
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
    connection: &'a mut WriterConnection,
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
                    self.connection.recover().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, records = batch.len(), "a batch failed; writing its records one by one");
                    self.connection.recover().await;
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

/// Write one batch in one transaction on the writer's connection; returns the number of
/// events written.
async fn write_batch(
    connection: &mut WriterConnection,
    rows: usize,
    batch: &[Record],
) -> Result<u64, sqlx::Error> {
    match connection {
        WriterConnection::Sqlite(c) => BatchSql::<Sqlite>::write(c, rows, batch).await,
        WriterConnection::Postgres { connection, .. } => {
            BatchSql::<Postgres>::write(connection, rows, batch).await
        }
    }
}

/// The SQL of a batch, written once for every backend whose types it takes: sqlx's SQLite
/// driver reads the `$n` placeholders PostgreSQL needs, and both understand `ON CONFLICT`.
struct BatchSql<DB>(PhantomData<DB>);

impl<DB> BatchSql<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    /// Write one batch in one transaction; returns the number of events written. Runs of
    /// events go in multi-row inserts of [`INSERT_ROWS`] rows (and smaller powers of two for
    /// the rest), so a batch costs a handful of statements, each prepared once per connection.
    async fn write(
        connection: &mut DB::Connection,
        rows: usize,
        batch: &[Record],
    ) -> Result<u64, sqlx::Error> {
        if let Some(run) = one_insert(batch, rows) {
            // One statement is a transaction of its own: no BEGIN and COMMIT round trips,
            // which are most of the wait of a call acknowledged alone.
            Self::insert_events(&mut *connection, &run, rows).await?;
            return Ok(run.len() as u64);
        }
        let mut tx = connection.begin().await?;
        let mut events = 0;
        let mut run: Vec<(SessionId, &Event)> = Vec::with_capacity(rows);
        for record in batch {
            match record {
                Record::SessionStarted(info, _) => Self::insert_session(&mut *tx, info).await?,
                Record::Event(id, event) => {
                    if matches!(event.kind, EventKind::SessionStarted | EventKind::HostAdded) {
                        Self::insert_hosts(&mut *tx, *id, event).await?;
                    }
                    run.push((*id, event));
                    if run.len() == rows {
                        Self::insert_events(&mut *tx, &run, rows).await?;
                        run.clear();
                    }
                    events += 1;
                }
                Record::SessionEnded { id, at_ms, reason } => {
                    Self::insert_events(&mut *tx, &run, rows).await?;
                    run.clear();
                    // A session the cluster already ended (its node was reaped) keeps the end
                    // and reason every node has reported since.
                    let reason = reason.stored();
                    sqlx::query("UPDATE sessions SET ended_ms = $1, end_reason = $2 WHERE id = $3 AND ended_ms IS NULL")
                        .bind(*at_ms as i64)
                        .bind(reason.as_str())
                        .bind(id.to_string().as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        Self::insert_events(&mut *tx, &run, rows).await?;
        tx.commit().await?;
        Ok(events)
    }

    /// Insert events, at most `rows` per statement. Each statement's bodies are written into
    /// one buffer and its session ids kept once each, so a row costs no allocation of its own.
    async fn insert_events(
        connection: &mut DB::Connection,
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
                // Texts for people keep every language, for readers of any (i18n::for_storage).
                crate::i18n::for_storage(|| serde_json::to_writer(&mut bodies, event))
                    .map_err(|e| sqlx::Error::Encode(e.into()))?;
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

    /// The session's row, with the node that owns it (the top bits of its id).
    async fn insert_session(
        connection: &mut DB::Connection,
        info: &SessionInfo,
    ) -> Result<(), sqlx::Error> {
        let limits = serde_json::to_string(&info.limits).unwrap_or_default();
        sqlx::query(
            "INSERT INTO sessions (id, created_ms, expires_ms, isolation, exercise_id, \
             owner_token_hash, viewer_token_hash, limits, node) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(info.id.to_string().as_str())
        .bind(info.created_ms as i64)
        .bind(info.expires_ms as i64)
        .bind(info.isolation.to_string().as_str())
        .bind(info.exercise.as_deref())
        .bind(info.credentials.owner.as_slice())
        .bind(info.credentials.viewer.as_slice())
        .bind(limits.as_str())
        .bind(i64::from(info.id.node()))
        .execute(connection)
        .await?;
        Ok(())
    }

    /// The hosts an event adds (a host's addresses replace those stored before).
    async fn insert_hosts(
        connection: &mut DB::Connection,
        id: SessionId,
        event: &Event,
    ) -> Result<(), sqlx::Error> {
        let key = id.to_string();
        for host in event.hosts.iter().flatten() {
            let name = host.name.to_string();
            let addrs = serde_json::to_string(&host.addrs).unwrap_or_default();
            sqlx::query(
                "INSERT INTO hosts (session_id, name, addrs) VALUES ($1, $2, $3) \
                 ON CONFLICT (session_id, name) DO UPDATE SET addrs = excluded.addrs",
            )
            .bind(key.as_str())
            .bind(name.as_str())
            .bind(addrs.as_str())
            .execute(&mut *connection)
            .await?;
        }
        Ok(())
    }
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

/// Rows of the largest multi-row insert (3 values each: well under SQLite's variable limit
/// and PostgreSQL's 65535 parameters).
pub const INSERT_ROWS: usize = 128;

/// `INSERT INTO events … VALUES ($1, $2, $3), ($4, …)` with `rows` rows (1 to
/// [`INSERT_ROWS`]); built once.
fn insert_events_sql(rows: usize) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=INSERT_ROWS)
            .map(|n| {
                let values: Vec<String> = (0..n)
                    .map(|row| format!("(${}, ${}, ${})", 3 * row + 1, 3 * row + 2, 3 * row + 3))
                    .collect();
                format!(
                    "INSERT INTO events (session_id, seq, body) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    &all[rows - 1]
}
