//! A cluster: servers sharing one PostgreSQL database, each a node that owns the sessions it
//! started (their sockets and namespaces cannot move), with no coordinator but the database.
//!
//! What this module owns:
//! - membership: a row in `nodes` with this node's internal address and a lease it renews
//!   every third of the lease, carrying its live sessions, its room and whether it drains;
//! - what it knows of the others (the rows, read at each renewal), and so which node answers
//!   a request: a session id names its node ([`SessionId::node`]);
//! - the end of dead nodes: a node whose lease ran out is reaped by whichever node sees it
//!   first, which marks its live sessions ended with the reason every node then reports.
//!
//! Forwarding itself is in [`forward`], the signatures between nodes in [`sign`]; the HTTP
//! edge decides per request (`http::owner`).

pub mod forward;
pub mod sign;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ClusterConfig;
use crate::i18n::Message;
use crate::sandbox::{Sandbox, SessionId, now_ms};
use crate::store::{NodeRow, Store, StoreError};
use forward::Forwarder;

/// Who answers a request about a session.
#[derive(Debug, Clone)]
pub enum Owner {
    /// This node: the session is (or was) its own.
    Here,
    /// A live node, at this address.
    There { node: u16, addr: String },
    /// A node that is gone (its sessions are ended in the database): the database answers.
    Gone,
}

/// Where a new session goes.
#[derive(Debug, Clone)]
pub enum Placement {
    /// This node has room and is not draining.
    Here,
    /// Another node, with the most room.
    There { node: u16, addr: String },
    /// No node has room.
    Full,
}

/// This node's part in the cluster.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    store: Store,
    /// This node's id (it changes only if the cluster took this node for dead and it joined
    /// again).
    me: AtomicU16,
    /// The database's clock less this machine's, ms, as last read: leases are reckoned by
    /// the database's clock, so nodes whose clocks differ agree on whose lease ran out.
    clock_offset: AtomicI64,
    /// Set once the node is told to stop: it takes no new sessions.
    draining: AtomicBool,
    /// When this node last renewed its lease (by this machine's monotonic clock).
    renewed_at: Mutex<Instant>,
    /// Since when every renewal has succeeded; none right after a failure. A node reaps
    /// others only once it has renewed for a whole lease without a break: after an outage of
    /// the database every node gets a lease's time to renew before anyone is taken for dead.
    healthy_since: Mutex<Option<Instant>>,
    /// The other nodes, as last read.
    nodes: RwLock<HashMap<u16, NodeRow>>,
    /// Nodes known to be gone (ids are never reused, so this only grows, by at most one entry
    /// per node that ever ran): a request naming one costs no database read.
    gone: Mutex<HashSet<u16>>,
    /// The client requests are forwarded with.
    forwarder: Forwarder,
}

impl Cluster {
    /// Join the cluster of every node on `store`: register this node and take a lease.
    pub async fn join(config: ClusterConfig, store: Store) -> Result<Arc<Cluster>, StoreError> {
        let offset = store.clock_ms().await? as i64 - now_ms() as i64;
        let lease_until = (now_ms() as i64 + offset) as u64 + config.lease.as_millis() as u64;
        let me = store
            .register_node(&config.advertise_url, lease_until)
            .await?;
        tracing::info!(node = me, addr = %config.advertise_url, "joined the cluster");
        let cluster = Arc::new(Cluster {
            config,
            store,
            me: AtomicU16::new(me),
            clock_offset: AtomicI64::new(offset),
            draining: AtomicBool::new(false),
            renewed_at: Mutex::new(Instant::now()),
            healthy_since: Mutex::new(Some(Instant::now())),
            nodes: RwLock::new(HashMap::new()),
            gone: Mutex::new(HashSet::new()),
            forwarder: Forwarder::default(),
        });
        cluster.refresh().await?;
        Ok(cluster)
    }

    /// This node's id.
    pub fn node(&self) -> u16 {
        self.me.load(Ordering::Relaxed)
    }

    /// The secret requests between nodes are signed with.
    pub fn secret(&self) -> &[u8] {
        self.config.secret.as_bytes()
    }

    /// The client to forward with.
    pub fn forwarder(&self) -> &Forwarder {
        &self.forwarder
    }

    /// How long a lease lasts.
    pub fn lease(&self) -> Duration {
        self.config.lease
    }

    /// Stop taking new sessions (the node is stopping); the next renewal tells the others.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether this node takes no new sessions.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Whether this node has failed to renew its lease for two thirds of it: the others may
    /// soon take it for dead, so it starts no session they would report ended.
    pub fn fenced(&self) -> bool {
        let renewed = *self.renewed_at.lock().unwrap_or_else(|e| e.into_inner());
        renewed.elapsed() > self.config.lease * 2 / 3
    }

    /// Now by the database's clock, as last compared with this machine's.
    fn now(&self) -> u64 {
        (now_ms() as i64 + self.clock_offset.load(Ordering::Relaxed)).max(0) as u64
    }

    /// The nodes alive as last read (this one included).
    pub fn members(&self) -> Vec<NodeRow> {
        let now = self.now();
        let mut nodes: Vec<NodeRow> = self
            .read_nodes()
            .values()
            .filter(|n| !n.reaped && n.lease_until_ms >= now)
            .cloned()
            .collect();
        nodes.sort_by_key(|n| n.id);
        nodes
    }

    fn read_nodes(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u16, NodeRow>> {
        self.nodes.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Which node answers for session `id`. Only the lease task takes nodes for dead: here a
    /// node is gone once the database says it was reaped (or never was).
    pub async fn owner_of(&self, id: SessionId) -> Result<Owner, StoreError> {
        let node = id.node();
        if node == 0 || node == self.node() {
            return Ok(Owner::Here);
        }
        if self.is_gone(node) {
            return Ok(Owner::Gone);
        }
        let known = self.read_nodes().get(&node).cloned();
        let row = match known {
            Some(row) => Some(row),
            // A node that joined since the last read, or one that left.
            None => self.store.node(node).await?,
        };
        match row {
            Some(row) if !row.reaped => Ok(Owner::There {
                node,
                addr: row.addr,
            }),
            _ => {
                self.mark_gone(node);
                Ok(Owner::Gone)
            }
        }
    }

    fn is_gone(&self, node: u16) -> bool {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&node)
    }

    fn mark_gone(&self, node: u16) {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node);
        self.nodes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&node);
    }

    /// Read node `node` again after it failed to answer; whether it is still a member (not
    /// reaped: a node whose lease merely ran out is reaped by the lease task, not here).
    pub async fn recheck(&self, node: u16) -> Result<bool, StoreError> {
        let row = self.store.node(node).await?;
        let member = row.as_ref().is_some_and(|r| !r.reaped);
        if !member {
            self.mark_gone(node);
        }
        Ok(member)
    }

    /// Where a new session goes, this node having `room` for more. This node when it has
    /// room and is not draining: the load balancer in front already spreads requests, and
    /// starting here saves a hop and acts on exact figures rather than the others' last
    /// renewals. Otherwise the node with the most room.
    pub fn placement(&self, room: usize) -> Placement {
        if room > 0 && !self.draining() && !self.fenced() {
            return Placement::Here;
        }
        let me = self.node();
        let now = self.now();
        self.read_nodes()
            .values()
            .filter(|n| {
                n.id != me && !n.reaped && !n.draining && n.room > 0 && n.lease_until_ms >= now
            })
            .max_by_key(|n| (n.room, std::cmp::Reverse(n.id)))
            .map_or(Placement::Full, |n| Placement::There {
                node: n.id,
                addr: n.addr.clone(),
            })
    }

    /// Read the nodes table again.
    async fn refresh(&self) -> Result<(), StoreError> {
        let rows = self.store.nodes().await?;
        let map = rows.into_iter().map(|n| (n.id, n)).collect();
        *self.nodes.write().unwrap_or_else(|e| e.into_inner()) = map;
        Ok(())
    }

    /// Reap every node whose lease ran out before `now`.
    async fn reap(&self, now: u64) -> Result<(), StoreError> {
        let addrs: HashMap<u16, String> = self
            .read_nodes()
            .values()
            .map(|n| (n.id, n.addr.clone()))
            .collect();
        let reaped = self
            .store
            .reap_dead_nodes(now, |node| {
                let at = addrs
                    .get(&node)
                    .map_or(String::new(), |a| format!(" at {a}"));
                Message::new(
                    format!(
                        "the node that ran this session (node {node}{at}) stopped answering: \
                         its lease ran out and the cluster ended its sessions"
                    ),
                    format!(
                        "运行这个会话的节点（节点 {node}{at}）不再应答：它的租约到期了，集群结束了\
                         它的会话"
                    ),
                )
            })
            .await?;
        for (node, sessions) in reaped {
            tracing::warn!(
                node,
                sessions,
                "a node's lease ran out; its live sessions are ended"
            );
        }
        Ok(())
    }

    /// Renew the lease every third of it, reap dead nodes and read the others, until `stop`.
    pub fn spawn_lease(
        self: &Arc<Self>,
        sandbox: Sandbox,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(cluster.config.lease / 3);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
                if let Err(e) = cluster.tick(&sandbox).await {
                    tracing::warn!(error = %e, "renewing the cluster lease failed; trying again");
                }
            }
        })
    }

    /// Renew now, so the others learn at once what changed (that this node drains).
    pub async fn announce(&self, sandbox: &Sandbox) {
        if let Err(e) = self.tick(sandbox).await {
            tracing::warn!(error = %e, "telling the cluster this node drains failed; the next renewal will");
        }
    }

    /// One renewal: renew, and only then, if this node has renewed without a break for a
    /// whole lease, reap the nodes whose lease ran out; read the others.
    async fn tick(&self, sandbox: &Sandbox) -> Result<(), StoreError> {
        let renewed = self.renew(sandbox).await;
        let healthy_since = {
            let mut since = self.healthy_since.lock().unwrap_or_else(|e| e.into_inner());
            match renewed {
                Ok(_) => *since.get_or_insert_with(Instant::now),
                Err(_) => {
                    *since = None;
                    Instant::now()
                }
            }
        };
        if !renewed? {
            self.rejoin(sandbox).await?;
        } else if healthy_since.elapsed() >= self.config.lease {
            self.reap(self.now()).await?;
        }
        self.refresh().await
    }

    /// Renew this node's lease, by the database's clock; false if the cluster reaped it.
    async fn renew(&self, sandbox: &Sandbox) -> Result<bool, StoreError> {
        let clock = self.store.clock_ms().await?;
        self.clock_offset
            .store(clock as i64 - now_ms() as i64, Ordering::Relaxed);
        let lease_until = clock + self.config.lease.as_millis() as u64;
        let live = sandbox.live_sessions() as u64;
        let room = sandbox.room() as u64;
        let renewed = self
            .store
            .renew_lease(self.node(), lease_until, live, room, self.draining())
            .await?;
        if renewed {
            *self.renewed_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
        Ok(renewed)
    }

    /// The cluster took this node for dead (it could not renew in time) and ended its
    /// sessions in the database: end them here too, since every other node reports them
    /// ended, and join again under a new id.
    async fn rejoin(&self, sandbox: &Sandbox) -> Result<(), StoreError> {
        let old = self.node();
        tracing::error!(
            node = old,
            "the cluster took this node for dead (its lease ran out); ending its sessions and joining again"
        );
        let lease_until = self.now() + self.config.lease.as_millis() as u64;
        let me = self
            .store
            .register_node(&self.config.advertise_url, lease_until)
            .await?;
        // New sessions carry the new id before the old ones are ended, so none starts under
        // the id the cluster has taken for dead.
        let old_sessions = sandbox.live_handles();
        self.me.store(me, Ordering::Relaxed);
        sandbox.set_node(me);
        *self.renewed_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        for handle in old_sessions.into_iter().filter(|h| h.id().node() == old) {
            handle
                .end(Message::new(
                    "this session's node lost its place in the cluster (it could not renew its \
                     lease in time)",
                    "这个会话所在的节点失去了它在集群中的位置（没能及时续租）",
                ))
                .await
                .ok(/* ended meanwhile */);
        }
        tracing::info!(node = me, old, "joined the cluster again");
        Ok(())
    }

    /// Leave the cluster at a clean stop: the node's row is marked gone at once, so no one
    /// waits out its lease.
    pub async fn leave(&self) {
        if let Err(e) = self.store.deregister_node(self.node(), self.now()).await {
            tracing::warn!(error = %e, "could not leave the cluster; the lease will run out");
        }
    }
}
