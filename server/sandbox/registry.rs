//! The registry of live sessions: [`Sandbox`] starts sessions (their network, log and task),
//! finds them by id, keeps ended ones readable until the store has them, and ends them all at
//! shutdown. [`SandboxShared`] is what every session task shares with it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;

use super::handle::SessionHandle;
use super::log::{LogState, SessionLog};
use super::session::SessionTask;
use super::{
    Capacity, DEFAULT_HOSTS, HostId, HostInfo, Isolation, IsolationMode, Limit, MIN_LOG_TAIL,
    NewSession, Record, SandboxConfig, SandboxLimits, SandboxObserver, SessionError, SessionId,
    SessionInfo, StoreProgress, host, isolation, now_ms, poller,
};

/// Commands a session's task may have queued before senders wait.
const COMMAND_QUEUE: usize = 64;
/// Ended sessions kept in memory until the store has written them, at most this many…
const RECENTLY_ENDED_KEPT: usize = 256;
/// …and for at most this long (should the store never confirm).
const RECENTLY_ENDED_FOR: Duration = Duration::from_secs(60);
/// How long a session task may take to end during shutdown before it is abandoned.
const END_TIMEOUT: Duration = Duration::from_secs(5);

/// The registry of live sessions and what they share.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<SandboxShared>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("isolation", &self.shared.isolation.mode())
            .finish_non_exhaustive()
    }
}

/// A [`Sandbox`] that may have gone away.
#[derive(Clone)]
pub struct WeakSandbox(std::sync::Weak<SandboxShared>);

impl fmt::Debug for WeakSandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSandbox")
    }
}

impl WeakSandbox {
    /// The sandbox, if it still exists.
    pub fn upgrade(&self) -> Option<Sandbox> {
        self.0.upgrade().map(|shared| Sandbox { shared })
    }
}

/// What every session task shares.
pub(crate) struct SandboxShared {
    /// Limits of every session.
    pub(crate) limits: SandboxLimits,
    /// How many sessions may be live at once, and why that many.
    capacity: Capacity,
    /// See [`SandboxConfig::ack_when_stored`].
    ack_when_stored: bool,
    /// See [`SandboxConfig::log_tail`].
    log_tail: usize,
    /// The isolation backend.
    pub(crate) isolation: Arc<dyn Isolation>,
    /// Where records go; none when nobody stores them.
    pub(crate) records: Option<mpsc::Sender<Record>>,
    /// Told of sessions, sockets, calls and events as they happen.
    pub(crate) observer: Arc<dyn SandboxObserver>,
    /// Live sessions by id.
    pub(crate) sessions: Mutex<HashMap<SessionId, SessionHandle>>,
    /// Sessions that ended and whose log the store may not have written yet, so that reading
    /// them never falls between memory and the database.
    pub(crate) recently_ended: Mutex<HashMap<SessionId, (std::time::Instant, SessionHandle)>>,
    /// The session tasks, to await them at shutdown.
    tasks: Mutex<JoinSet<()>>,
    /// A way to stop each session's task at once.
    pub(crate) aborts: Mutex<HashMap<SessionId, tokio::task::AbortHandle>>,
    /// Turns true when the server shuts down.
    pub(crate) shutdown: watch::Sender<bool>,
    /// The cluster node this server is (0 when it is in no cluster): new session ids name it.
    node: AtomicU16,
}

impl Sandbox {
    /// A sandbox with no sessions. Records go to `records` when given; `observer` hears of
    /// what its sessions do.
    pub fn new(
        config: SandboxConfig,
        isolation: Arc<dyn Isolation>,
        records: Option<mpsc::Sender<Record>>,
        observer: Arc<dyn SandboxObserver>,
    ) -> Sandbox {
        let capacity = Capacity::of_this_process(config.limits.max_sessions, isolation.mode());
        tracing::info!(
            capacity = capacity.sessions,
            max_sessions = capacity.max_sessions,
            by_descriptors = capacity.by_descriptors,
            descriptor_limit = capacity.descriptor_limit,
            reserved_descriptors = capacity.reserved_descriptors,
            descriptors_per_session = capacity.descriptors_per_session,
            "session capacity: the lesser of max_sessions and what the descriptors allow"
        );
        observer.session_capacity(capacity.sessions);
        Sandbox {
            shared: Arc::new(SandboxShared {
                limits: config.limits,
                capacity,
                ack_when_stored: config.ack_when_stored,
                log_tail: config.log_tail.max(MIN_LOG_TAIL),
                isolation,
                records,
                observer,
                sessions: Mutex::new(HashMap::new()),
                recently_ended: Mutex::new(HashMap::new()),
                tasks: Mutex::new(JoinSet::new()),
                aborts: Mutex::new(HashMap::new()),
                shutdown: watch::Sender::new(false),
                node: AtomicU16::new(0),
            }),
        }
    }

    /// A reference that does not keep the sandbox alive.
    pub fn downgrade(&self) -> WeakSandbox {
        WeakSandbox(Arc::downgrade(&self.shared))
    }

    /// The isolation mode in use.
    pub fn isolation_mode(&self) -> IsolationMode {
        self.shared.isolation.mode()
    }

    /// The limits of every session.
    pub fn limits(&self) -> &SandboxLimits {
        &self.shared.limits
    }

    /// Name cluster node `node` in the ids of sessions started from now on.
    pub fn set_node(&self, node: u16) {
        self.shared.node.store(node, Ordering::Relaxed);
    }

    /// The live sessions.
    pub fn live_handles(&self) -> Vec<SessionHandle> {
        let sessions = self.shared.sessions.lock();
        sessions
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Live sessions this sandbox takes at once: the configured `max_sessions`, or fewer when
    /// the process's descriptors allow fewer ([`Capacity`]).
    pub fn capacity(&self) -> usize {
        self.shared.capacity.sessions
    }

    /// How [`Sandbox::capacity`] was worked out.
    pub fn capacity_details(&self) -> Capacity {
        self.shared.capacity
    }

    /// Sessions that can still start now: capacity less live sessions.
    pub fn room(&self) -> usize {
        self.capacity().saturating_sub(self.live_sessions())
    }

    /// Live sessions now.
    pub fn live_sessions(&self) -> usize {
        self.shared
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Start a session.
    pub async fn create_session(&self, new: NewSession) -> Result<SessionHandle, SessionError> {
        if *self.shared.shutdown.borrow() {
            return Err(SessionError::Ended);
        }
        let limits = &self.shared.limits;
        let hosts = if new.hosts == 0 {
            DEFAULT_HOSTS
        } else {
            new.hosts
        };
        if hosts > limits.max_hosts {
            return Err(SessionError::Limit {
                limit: Limit::Hosts,
                max: limits.max_hosts as u64,
            });
        }
        let full = SessionError::Limit {
            limit: Limit::Sessions,
            max: self.capacity() as u64,
        };
        if self.room() == 0 {
            return Err(full);
        }
        let poller = poller::Poller::new().map_err(|e| SessionError::Isolation(e.to_string()))?;
        // Making namespaces blocks for a moment; keep it off the async workers.
        let isolation = self.shared.isolation.clone();
        let built = tokio::task::spawn_blocking(move || build_network(isolation.as_ref(), hosts))
            .await
            .map_err(|e| SessionError::Isolation(e.to_string()))?;
        let (network, host_infos) = built?;
        let created_ms = now_ms();
        let info = Arc::new(SessionInfo {
            id: SessionId::on_node(self.shared.node.load(Ordering::Relaxed)),
            created_ms,
            expires_ms: created_ms + limits.max_lifetime().as_millis() as u64,
            isolation: self.shared.isolation.mode(),
            exercise: new.exercise,
            limits: limits.clone(),
            credentials: new.credentials,
        });
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (live, _) = broadcast::channel(limits.subscriber_lag.max(1));
        let log = Arc::new(SessionLog {
            info: info.clone(),
            state: Mutex::new(LogState {
                events: VecDeque::new(),
                last_seq: 0,
                ended: None,
                hosts: host_infos.clone(),
            }),
            live,
            progress: self.shared.records.as_ref().map(|_| StoreProgress::new()),
            ack_when_stored: self.shared.ack_when_stored,
            tail: if self.shared.records.is_some() {
                self.shared.log_tail
            } else {
                usize::MAX
            },
        });
        let handle = SessionHandle {
            log: log.clone(),
            commands: commands_tx,
        };
        {
            let mut sessions = self
                .shared
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if sessions.len() >= self.capacity() {
                return Err(full);
            }
            sessions.insert(info.id, handle.clone());
        }
        let task = SessionTask::new(
            self.shared.clone(),
            log,
            commands_rx,
            network,
            host_infos,
            poller,
        );
        let abort = {
            let mut tasks = self.shared.tasks.lock().unwrap_or_else(|e| e.into_inner());
            // Reap finished tasks so the set holds only live ones.
            while tasks.try_join_next().is_some() {}
            tasks.spawn(task.run())
        };
        self.shared
            .aborts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(handle.id(), abort);
        // Acknowledged like a call: a session exists for its client once its start is stored.
        handle.wait_shown(handle.last_seq()).await?;
        Ok(handle)
    }

    /// A live session by id, or one that ended so recently that the store may not have its
    /// whole log yet (its handle says it ended).
    pub fn get(&self, id: SessionId) -> Option<SessionHandle> {
        let live = self
            .shared
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned();
        live.or_else(|| {
            let recent = self
                .shared
                .recently_ended
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            recent
                .get(&id)
                .filter(|(at, handle)| still_kept(*at, handle))
                .map(|(_, h)| h.clone())
        })
    }

    /// Ended sessions still held in memory because the store has not finished their logs.
    pub fn ended_in_memory(&self) -> usize {
        self.shared
            .recently_ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Stop a session's task at once, as if it had crashed: ownership still closes its
    /// sockets and namespaces, and its log gets an end event saying so. For operators and
    /// tests; [`SessionHandle::end`] is the clean way.
    pub fn kill(&self, id: SessionId) -> bool {
        let abort = self
            .shared
            .aborts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        abort.map(|a| a.abort()).is_some()
    }

    /// End every session (closing every socket, logging why) and wait for their tasks.
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        let mut tasks =
            std::mem::take(&mut *self.shared.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(END_TIMEOUT, all).await.is_err() {
            tracing::warn!("some sessions did not end in time; their tasks were dropped");
        }
    }
}

/// A session network with `hosts` hosts, A first.
fn build_network(
    isolation: &dyn Isolation,
    hosts: usize,
) -> Result<(Box<dyn isolation::SessionNetwork>, Vec<HostInfo>), SessionError> {
    let mut network = isolation
        .new_network()
        .map_err(|e| SessionError::Isolation(e.to_string()))?;
    let mut host_infos = Vec::with_capacity(hosts);
    for i in 0..hosts {
        let name = HostId::from_index(i).ok_or(SessionError::Limit {
            limit: Limit::Hosts,
            max: host::MAX_HOST_NAMES as u64,
        })?;
        let addrs = network
            .add_host(name)
            .map_err(|e| SessionError::Isolation(e.to_string()))?;
        let ephemeral_ports = network.ephemeral_ports(name).ok();
        host_infos.push(HostInfo {
            name,
            addrs,
            ephemeral_ports,
        });
    }
    Ok((network, host_infos))
}

impl SandboxShared {
    /// Keep an ended session readable from memory until the store confirms it, and forget it
    /// then: its log tail is not held once the store can serve it.
    pub(crate) fn remember_ended(self: &Arc<Self>, handle: SessionHandle) {
        if self.records.is_none() {
            return;
        }
        let mut recent = self
            .recently_ended
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        recent.retain(|_, (at, handle)| still_kept(*at, handle));
        if recent.len() >= RECENTLY_ENDED_KEPT {
            let oldest = recent
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                recent.remove(&id);
            }
        }
        let id = handle.id();
        let progress = handle.log.progress.clone();
        recent.insert(id, (std::time::Instant::now(), handle));
        drop(recent);
        if let (Ok(runtime), Some(progress)) = (tokio::runtime::Handle::try_current(), progress) {
            let shared = Arc::downgrade(self);
            runtime.spawn(async move {
                tokio::time::timeout(RECENTLY_ENDED_FOR, progress.wait_finished())
                    .await
                    .ok(/* kept no longer than that anyway */);
                if let Some(shared) = shared.upgrade() {
                    shared
                        .recently_ended
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                }
            });
        }
    }
}

/// Whether an ended session, remembered at `at`, is still read from memory: not for longer
/// than [`RECENTLY_ENDED_FOR`], nor once the store has finished writing it.
fn still_kept(at: std::time::Instant, handle: &SessionHandle) -> bool {
    at.elapsed() < RECENTLY_ENDED_FOR
        && !handle
            .log
            .progress
            .as_ref()
            .is_some_and(StoreProgress::finished)
}
