//! Persistence with sqlx: the pool, the migrations under `migrations/`, the writer task that
//! stores what sessions record, and the queries that read it back.
//!
//! One writer task ([`Writer`], in its own file) takes [`Record`](crate::sandbox::Record)s
//! from a bounded channel and writes them in batches, one transaction per batch, so the
//! sessions never wait on the database and the database never sees one transaction per
//! event. The cluster's node registry is in `nodes.rs`. This file opens the database and
//! holds the queries.
//!
//! Two backends: SQLite (a file, WAL mode) is the embedded default; PostgreSQL
//! (`postgres://…`) is what several nodes share. Each has its own migrations
//! (`migrations/sqlite/`, `migrations/postgres/`) for the same tables. The queries are written
//! once for both: placeholders are `$1`, `$2`, … (sqlx's SQLite driver takes them too), upserts
//! are `ON CONFLICT`, new ids come back with `RETURNING`, and every integer is read as an
//! `i64`. `on_pool!` compiles such a query once per backend.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};

use crate::i18n::Message;
use crate::sandbox::{
    Credentials, Event, HostInfo, IsolationMode, SandboxLimits, SessionId, SessionInfo, Snapshot,
    now_ms,
};

mod nodes;
mod writer;

pub use nodes::NodeRow;
pub use writer::{INSERT_ROWS, MAX_BATCH, RECORD_QUEUE, Writer};

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is: the body is
/// written once and compiled for each, since the SQL they share differs only in the types
/// sqlx gives it. Used as `on_pool!(self, |pool| …)`.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite { pool: $pool, .. } => $body,
            $crate::store::Backend::Postgres { pool: $pool, .. } => $body,
        }
    };
}
use on_pool;

/// Connections in the pool.
const POOL_SIZE: u32 = 4;
/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes the WAL file is cut back to after a checkpoint.
const WAL_SIZE_LIMIT: u64 = 64 << 20;

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database has handed out all 65535 node ids (a node id is 16 bits of every session \
         id); no node can register until the nodes table starts over"
    )]
    NodeIdsExhausted,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// Rows of the writer's largest multi-row insert.
    insert_rows: usize,
}

/// Which database the store runs on; the writer connects with `options`, on a connection of
/// its own outside the pool.
#[derive(Debug, Clone)]
enum Backend {
    /// A SQLite file (the embedded default).
    Sqlite {
        pool: SqlitePool,
        options: SqliteConnectOptions,
    },
    /// A PostgreSQL server (shared by the nodes of a cluster).
    Postgres {
        pool: PgPool,
        options: PgConnectOptions,
    },
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
    pub end_reason: Option<Message>,
    pub hosts: Vec<HostInfo>,
    pub last_seq: u64,
}

impl StoredSession {
    /// The session as its snapshot shows it once ended: hosts without sockets, and why it
    /// ended.
    pub fn snapshot(&self) -> Snapshot {
        let isolation = match self.isolation.as_str() {
            "netns" => IsolationMode::Netns,
            _ => IsolationMode::Loopback,
        };
        // Limits stored by an older version may lack fields: the defaults stand in.
        let limits: SandboxLimits = serde_json::from_value(self.limits.clone()).unwrap_or_default();
        let info = Arc::new(SessionInfo {
            id: self.id,
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            isolation,
            exercise: self.exercise.clone(),
            limits,
            credentials: Credentials::default(),
        });
        let ended = self
            .end_reason
            .clone()
            .unwrap_or_else(|| Message::new("ended", "已结束"));
        Snapshot::ended(
            info,
            self.last_seq,
            self.ended_ms.unwrap_or(self.expires_ms),
            Some(ended),
            self.hosts.clone(),
        )
    }
}

impl Store {
    /// Open and migrate the database at `url`: `postgres://` (or `postgresql://`) for a
    /// PostgreSQL server, anything else a SQLite file (created if needed).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url).await?
        } else {
            Self::connect_sqlite(url).await?
        };
        Ok(Store {
            backend,
            insert_rows: INSERT_ROWS,
        })
    }

    async fn connect_sqlite(url: &str) -> Result<Backend, StoreError> {
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
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Backend::Sqlite { pool, options })
    }

    /// PostgreSQL as the server is configured: its default `synchronous_commit = on` is what
    /// makes an acknowledged event durable, and the writer insists on it for its own commits
    /// (see `spawn_writer`). Nodes starting together migrate one at a time: sqlx holds an
    /// advisory lock while it migrates.
    async fn connect_postgres(url: &str) -> Result<Backend, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Backend::Postgres { pool, options })
    }

    /// The same store, its writer inserting at most `rows` events per statement (1 to
    /// [`INSERT_ROWS`]). For the benchmark, which measures what multi-row inserts are worth.
    pub fn with_insert_rows(mut self, rows: usize) -> Store {
        self.insert_rows = rows.clamp(1, INSERT_ROWS);
        self
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .is_ok())
    }

    /// Mark the sessions of `node` (0 when not clustered) still live in the database (a
    /// previous run of that node stopped without ending them) as ended; returns how many.
    /// Other nodes' sessions are theirs to end.
    pub async fn end_leftover_sessions(
        &self,
        node: u16,
        reason: &Message,
    ) -> Result<u64, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "UPDATE sessions SET ended_ms = $1, end_reason = $2 \
             WHERE node = $3 AND ended_ms IS NULL"
        )
        .bind(now_ms() as i64)
        .bind(reason.stored())
        .bind(i64::from(node))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done)
    }

    /// A stored session.
    pub async fn session(&self, id: SessionId) -> Result<Option<StoredSession>, StoreError> {
        let key = id.to_string();
        on_pool!(self, |pool| {
            let Some(row) = sqlx::query(
                "SELECT created_ms, expires_ms, isolation, exercise_id, owner_token_hash, \
                 viewer_token_hash, limits, ended_ms, end_reason, \
                 (SELECT COALESCE(MAX(seq), 0) FROM events WHERE session_id = sessions.id) \
                 AS last_seq FROM sessions WHERE id = $1",
            )
            .bind(&key)
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let host_rows =
                sqlx::query("SELECT name, addrs FROM hosts WHERE session_id = $1 ORDER BY name")
                    .bind(&key)
                    .fetch_all(pool)
                    .await?;
            let hosts = host_rows
                .iter()
                .filter_map(|r| {
                    let name = r.get::<String, _>("name").parse().ok()?;
                    let addrs = serde_json::from_str(&r.get::<String, _>("addrs")).ok()?;
                    Some(HostInfo {
                        name,
                        addrs,
                        ephemeral_ports: None,
                    })
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
                end_reason: row
                    .get::<Option<String>, _>("end_reason")
                    .map(Message::from_stored),
                hosts,
                last_seq: row.get::<i64, _>("last_seq") as u64,
            }))
        })
    }

    /// Up to `limit` stored events of a session with seq above `after`, as JSON text.
    pub async fn events_after(
        &self,
        id: SessionId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let bodies = on_pool!(self, |pool| sqlx::query(
            "SELECT body FROM events WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(id.to_string())
        .bind(after.min(i64::MAX as u64) as i64)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.get::<String, _>("body"))
        .collect());
        Ok(bodies)
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
        let exercises: Vec<_> = exercises.into_iter().collect();
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut changed = 0;
            for e in &exercises {
                let body = serde_json::to_string(e).unwrap_or_default();
                let done = sqlx::query(
                    "INSERT INTO exercises (id, version, title, body, loaded_ms) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id) DO UPDATE SET version = excluded.version, \
                     title = excluded.title, body = excluded.body, loaded_ms = excluded.loaded_ms \
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
        })
    }

    /// The stored version of an exercise.
    pub async fn exercise_version(&self, id: &str) -> Result<Option<u32>, StoreError> {
        let version = on_pool!(self, |pool| sqlx::query(
            "SELECT version FROM exercises WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|r| r.get::<i64, _>("version") as u32));
        Ok(version)
    }

    /// Store a grading attempt; returns its id.
    pub async fn insert_attempt(
        &self,
        session: SessionId,
        report: &crate::exercise::grader::Report,
    ) -> Result<i64, StoreError> {
        let sql = "INSERT INTO attempts (session_id, exercise_id, exercise_version, created_ms, \
                   passed, passed_checks, total_checks, report) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
        let id = on_pool!(self, |pool| sqlx::query(sql)
            .bind(session.to_string())
            .bind(&report.exercise)
            .bind(i64::from(report.version))
            .bind(now_ms() as i64)
            .bind(report.passed)
            .bind(report.passed_checks as i64)
            .bind(report.total_checks as i64)
            .bind(serde_json::to_string(report).unwrap_or_default())
            .fetch_one(pool)
            .await?
            .get::<i64, _>("id"));
        Ok(id)
    }

    /// Attempts at an exercise, newest first, at most `limit`.
    pub async fn attempts(&self, exercise: &str, limit: u32) -> Result<Vec<Attempt>, StoreError> {
        let attempts = on_pool!(self, |pool| sqlx::query(
            "SELECT id, session_id, exercise_id, exercise_version, created_ms, passed, report \
             FROM attempts WHERE exercise_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(exercise)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
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
        .collect());
        Ok(attempts)
    }
}
