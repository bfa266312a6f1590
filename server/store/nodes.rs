//! The cluster's node registry: the nodes sharing this database, each with a lease it renews,
//! and the reaping of nodes whose lease ran out.
//!
//! A node registers once at start and gets an id from the database (1 to 65535, never
//! reused: it is the top 16 bits of the node's session ids). It renews its lease with its
//! figures; any node may reap the ones whose lease ran out, which ends their live sessions.
//! Reaping is exclusive: of several nodes reaping at once, only the one whose update marks a
//! node reaped ends that node's sessions (PostgreSQL re-checks `reaped_ms IS NULL` once the
//! first reaper's row lock is released; SQLite has one writer at a time). No election, no
//! consensus: the database's transactions are the shared truth.

use sqlx::Row;

use super::{Store, StoreError, on_pool};
use crate::sandbox::now_ms;

/// A node as the registry holds it.
#[derive(Debug, Clone)]
pub struct NodeRow {
    /// Its id, the top 16 bits of its session ids.
    pub id: u16,
    /// Where the other nodes reach it.
    pub addr: String,
    /// When it registered, ms since the epoch.
    pub started_ms: u64,
    /// Until when it is taken to be alive, unless it renews.
    pub lease_until_ms: u64,
    /// Whether it is stopping: it takes no new sessions.
    pub draining: bool,
    /// Its live sessions at its last renewal.
    pub live_sessions: u64,
    /// Sessions it could still take at its last renewal.
    pub room: u64,
    /// Whether it was declared gone (lease run out, or a clean exit).
    pub reaped: bool,
}

/// The columns [`NodeRow::from_row`] reads.
const NODE_COLUMNS: &str =
    "id, addr, started_ms, lease_until_ms, draining, live_sessions, room, reaped_ms";

impl NodeRow {
    fn from_row<R: Row>(row: &R) -> NodeRow
    where
        for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'a> &'a str: sqlx::ColumnIndex<R>,
    {
        let number = |column: &str| row.get::<i64, _>(column).max(0) as u64;
        NodeRow {
            // The registry never hands out an id above u16::MAX.
            id: row.get::<i64, _>("id") as u16,
            addr: row.get("addr"),
            started_ms: number("started_ms"),
            lease_until_ms: number("lease_until_ms"),
            draining: row.get("draining"),
            live_sessions: number("live_sessions"),
            room: number("room"),
            reaped: row.get::<Option<i64>, _>("reaped_ms").is_some(),
        }
    }
}

impl Store {
    /// Register a node reached at `addr`, alive until `lease_until_ms`; returns its id (1 to
    /// 65535). Fails with [`StoreError::NodeIdsExhausted`] once the database has handed out
    /// 65535 ids: an id is never reused, since old session ids still name their node.
    pub async fn register_node(&self, addr: &str, lease_until_ms: u64) -> Result<u16, StoreError> {
        let id = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query(
                "INSERT INTO nodes (addr, started_ms, lease_until_ms) VALUES ($1, $2, $3) \
                 RETURNING id",
            )
            .bind(addr)
            .bind(now_ms() as i64)
            .bind(lease_until_ms as i64)
            .fetch_one(&mut *tx)
            .await?
            .get("id");
            match u16::try_from(id) {
                Ok(id) => {
                    tx.commit().await?;
                    Ok(id)
                }
                // Dropping the transaction takes the row back.
                Err(_) => Err(StoreError::NodeIdsExhausted),
            }
        })?;
        Ok(id)
    }

    /// Renew `node`'s lease with its current figures. Returns false if it was reaped (the
    /// others declared it dead and ended its sessions) or is unknown: it must not go on
    /// serving as that node.
    pub async fn renew_lease(
        &self,
        node: u16,
        lease_until_ms: u64,
        live_sessions: u64,
        room: u64,
        draining: bool,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE nodes SET lease_until_ms = $1, live_sessions = $2, room = $3, \
                   draining = $4 WHERE id = $5 AND reaped_ms IS NULL";
        let renewed = on_pool!(self, |pool| sqlx::query(sql)
            .bind(lease_until_ms as i64)
            .bind(live_sessions.min(i64::MAX as u64) as i64)
            .bind(room.min(i64::MAX as u64) as i64)
            .bind(draining)
            .bind(i64::from(node))
            .execute(pool)
            .await?
            .rows_affected());
        Ok(renewed == 1)
    }

    /// The database's clock, ms since the epoch. Leases are reckoned by it rather than by each
    /// node's own clock, so that nodes whose clocks differ still agree on whose lease ran out.
    pub async fn clock_ms(&self) -> Result<u64, StoreError> {
        let ms: i64 = match &self.backend {
            super::Backend::Sqlite { pool, .. } => sqlx::query(
                "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS ms",
            )
            .fetch_one(pool)
            .await?
            .get("ms"),
            super::Backend::Postgres { pool, .. } => sqlx::query(
                "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS ms",
            )
            .fetch_one(pool)
            .await?
            .get("ms"),
        };
        Ok(ms.max(0) as u64)
    }

    /// Every node not reaped, by id.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        let sql = format!("SELECT {NODE_COLUMNS} FROM nodes WHERE reaped_ms IS NULL ORDER BY id");
        let nodes = on_pool!(self, |pool| sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(NodeRow::from_row)
            .collect());
        Ok(nodes)
    }

    /// Node `id`, reaped or not.
    pub async fn node(&self, id: u16) -> Result<Option<NodeRow>, StoreError> {
        let sql = format!("SELECT {NODE_COLUMNS} FROM nodes WHERE id = $1");
        let node = on_pool!(self, |pool| sqlx::query(&sql)
            .bind(i64::from(id))
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(NodeRow::from_row));
        Ok(node)
    }

    /// Reap every node whose lease ran out before `now_ms`: mark it reaped and end its live
    /// sessions with `reason(node)`, all in one transaction. Returns each node reaped here
    /// with the number of sessions ended; a node another caller reaped first is not in it.
    pub async fn reap_dead_nodes(
        &self,
        now_ms: u64,
        reason: impl Fn(u16) -> crate::i18n::Message,
    ) -> Result<Vec<(u16, u64)>, StoreError> {
        let reaped = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            // The update comes first, so the transaction holds the write lock (SQLite) or the
            // nodes' row locks (PostgreSQL) before it reads anything: a concurrent reaper waits,
            // then finds `reaped_ms` set and updates nothing.
            let mut nodes: Vec<u16> = sqlx::query(
                "UPDATE nodes SET reaped_ms = $1 \
                 WHERE lease_until_ms < $1 AND reaped_ms IS NULL RETURNING id",
            )
            .bind(now_ms as i64)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.get::<i64, _>("id") as u16)
            .collect();
            nodes.sort_unstable();
            let mut reaped = Vec::with_capacity(nodes.len());
            for node in nodes {
                let ended = sqlx::query(
                    "UPDATE sessions SET ended_ms = $1, end_reason = $2 \
                     WHERE node = $3 AND ended_ms IS NULL",
                )
                .bind(now_ms as i64)
                .bind(reason(node).stored())
                .bind(i64::from(node))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                reaped.push((node, ended));
            }
            tx.commit().await?;
            reaped
        });
        Ok(reaped)
    }

    /// Mark `node` reaped as it exits cleanly (its sessions already ended): its id stays
    /// taken and the others stop counting on it.
    pub async fn deregister_node(&self, node: u16, now_ms: u64) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE nodes SET reaped_ms = $1 WHERE id = $2 AND reaped_ms IS NULL"
        )
        .bind(now_ms as i64)
        .bind(i64::from(node))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }
}
