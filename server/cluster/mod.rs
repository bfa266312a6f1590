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

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ClusterConfig;
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
    /// Until when this node's lease runs, as last renewed.
    lease_until: AtomicU64,
    /// Set once the node is told to stop: it takes no new sessions.
    draining: AtomicBool,
    /// The other nodes, as last read.
    nodes: RwLock<HashMap<u16, NodeRow>>,
    /// The client requests are forwarded with.
    forwarder: Forwarder,
}

impl Cluster {
    /// Join the cluster of every node on `store`: register this node and take a lease.
    pub async fn join(config: ClusterConfig, store: Store) -> Result<Arc<Cluster>, StoreError> {
        let lease_until = now_ms() + config.lease.as_millis() as u64;
        let me = store
            .register_node(&config.advertise_url, lease_until)
            .await?;
        tracing::info!(node = me, addr = %config.advertise_url, "joined the cluster");
        let cluster = Arc::new(Cluster {
            config,
            store,
            me: AtomicU16::new(me),
            lease_until: AtomicU64::new(lease_until),
            draining: AtomicBool::new(false),
            nodes: RwLock::new(HashMap::new()),
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

    /// The nodes alive as last read (this one included).
    pub fn members(&self) -> Vec<NodeRow> {
        let now = now_ms();
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

    /// Which node answers for session `id`.
    pub async fn owner_of(&self, id: SessionId) -> Result<Owner, StoreError> {
        let node = id.node();
        if node == 0 || node == self.node() {
            return Ok(Owner::Here);
        }
        let known = self.read_nodes().get(&node).cloned();
        let row = match known {
            Some(row) => Some(row),
            // A node that joined since the last read.
            None => self.store.node(node).await?,
        };
        let Some(row) = row else {
            return Ok(Owner::Gone);
        };
        let now = now_ms();
        if row.reaped {
            return Ok(Owner::Gone);
        }
        if row.lease_until_ms < now {
            // Its lease ran out: end its sessions now rather than at the next renewal, so
            // this answer already says why they ended.
            self.reap(now).await?;
            return Ok(Owner::Gone);
        }
        Ok(Owner::There {
            node,
            addr: row.addr,
        })
    }

    /// Read node `node` again after it failed to answer; whether it still holds a lease. A
    /// node that left or whose lease ran out (reaped now if need be) is gone from what this
    /// node knows.
    pub async fn recheck(&self, node: u16) -> Result<bool, StoreError> {
        let now = now_ms();
        let row = self.store.node(node).await?;
        let alive = row
            .as_ref()
            .is_some_and(|r| !r.reaped && r.lease_until_ms >= now);
        if !alive {
            if row.is_some_and(|r| !r.reaped) {
                self.reap(now).await?;
            }
            self.nodes
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&node);
        }
        Ok(alive)
    }

    /// Where a new session goes, this node having `room` for more. This node when it has
    /// room and is not draining: the load balancer in front already spreads requests, and
    /// starting here saves a hop and acts on exact figures rather than the others' last
    /// renewals. Otherwise the node with the most room.
    pub fn placement(&self, room: usize) -> Placement {
        if room > 0 && !self.draining() {
            return Placement::Here;
        }
        let me = self.node();
        let now = now_ms();
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
                format!(
                    "the node that ran this session (node {node}{at}) stopped answering: its \
                     lease ran out and the cluster ended its sessions"
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

    /// One renewal.
    async fn tick(&self, sandbox: &Sandbox) -> Result<(), StoreError> {
        let now = now_ms();
        let lease_until = now + self.config.lease.as_millis() as u64;
        let live = sandbox.live_sessions() as u64;
        let room = sandbox.room() as u64;
        let renewed = self
            .store
            .renew_lease(self.node(), lease_until, live, room, self.draining())
            .await?;
        if renewed {
            self.lease_until.store(lease_until, Ordering::Relaxed);
        } else {
            self.rejoin(sandbox).await?;
        }
        self.reap(now).await?;
        self.refresh().await
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
        for handle in sandbox.live_handles() {
            handle
                .end("this session's node lost its place in the cluster (it could not renew its lease in time)")
                .await
                .ok(/* ended meanwhile */);
        }
        let lease_until = now_ms() + self.config.lease.as_millis() as u64;
        let me = self
            .store
            .register_node(&self.config.advertise_url, lease_until)
            .await?;
        self.me.store(me, Ordering::Relaxed);
        self.lease_until.store(lease_until, Ordering::Relaxed);
        sandbox.set_node(me);
        tracing::info!(node = me, old, "joined the cluster again");
        Ok(())
    }

    /// Leave the cluster at a clean stop: the node's row is marked gone at once, so no one
    /// waits out its lease.
    pub async fn leave(&self) {
        if let Err(e) = self.store.deregister_node(self.node(), now_ms()).await {
            tracing::warn!(error = %e, "could not leave the cluster; the lease will run out");
        }
    }
}
