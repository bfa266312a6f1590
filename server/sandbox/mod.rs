//! The sandbox: sessions that own real kernel sockets, the calls made on them and the events
//! they produce. It knows nothing of HTTP or SQL; it can be used as a library on its own.
//!
//! Tasks and what each owns:
//! - one **session task** per session ([`session`]): its hosts, their descriptor tables and
//!   kernel sockets, its pending calls; it runs every call, watches the kernel and logs events.
//!   Handles talk to it through a bounded command channel.
//! - the caller of [`Sandbox`] owns the registry of live sessions, and the receiving end of
//!   the [`Record`] channel (the store's writer, in the server).
//!
//! Events flow one way: session task → its in-memory log and broadcast (subscribers) →
//! the record channel (the store). Nothing in a session task waits on a subscriber or on the
//! store.

pub mod bucket;
pub mod call;
pub mod capture;
pub mod errno;
pub mod event;
pub mod hex;
pub mod host;
pub mod isolation;
pub mod limits;
pub mod net;
pub mod observer;
pub mod packet;
pub mod pcapng;
mod poller;
pub mod probe;
mod session;
mod socket;
mod tracer;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinSet;

pub use call::{Call, CallFailure, CallOutcome, CallReply, CallValue};
pub use errno::Errno;
pub use event::{Event, EventKind, Preview, Seq, Status};
pub use host::{HostId, HostInfo};
pub use isolation::{Isolation, IsolationMode};
pub use limits::{Limit, SandboxLimits};
pub use observer::{CallResultLabel, NoObserver, SandboxObserver};
pub use net::{Family, OptValue, Proto, ShutdownHow, SockOpt, Tuple};
pub use probe::TcpState;
pub use tracer::{CAPTURE_TURNED_OFF, CaptureStats};

use session::{Command, SessionTask};

/// Commands a session's task may have queued before senders wait.
const COMMAND_QUEUE: usize = 64;
/// Hosts a session starts with unless asked for more.
pub const DEFAULT_HOSTS: usize = 2;
/// Fewest events a live session keeps in memory: what it looks back over when it logs (a
/// handshake's packets, the packet behind an error) must still be there.
pub const MIN_LOG_TAIL: usize = 256;
/// Ended sessions kept in memory until the store has written them, at most this many…
const RECENTLY_ENDED_KEPT: usize = 256;
/// …and for at most this long (should the store never confirm).
const RECENTLY_ENDED_FOR: Duration = Duration::from_secs(60);
/// How long a session task may take to end during shutdown before it is abandoned.
const END_TIMEOUT: Duration = Duration::from_secs(5);

/// A session's id: 16 hex digits of randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    /// A fresh random id.
    pub fn random() -> SessionId {
        SessionId(random_u64())
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl std::str::FromStr for SessionId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if s.len() != 16 {
            return Err(());
        }
        u64::from_str_radix(s, 16).map(SessionId).map_err(|_| ())
    }
}

impl Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom("session id is 16 hex digits"))
    }
}

/// Random bits from the operating system.
pub fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    // The OS random source does not fail on Linux once booted; a zero id would still be unique
    // enough to keep running, so the error is not worth a panic.
    getrandom::fill(&mut buf).ok(/* see above */);
    u64::from_le_bytes(buf)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Why the sandbox did not run a request. A call that ran and failed in the kernel is not an
/// error here: it is a [`CallOutcome::Err`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The session has ended; its log stays readable.
    #[error("the session has ended")]
    Ended,
    /// No such host in the session.
    #[error("host {0} is not in this session")]
    NoSuchHost(HostId),
    /// No such call id in the session.
    #[error("call {0} is not known in this session")]
    NoSuchCall(u64),
    /// A limit was hit.
    #[error("limit reached: {} is {max}", .limit.name())]
    Limit { limit: Limit, max: u64 },
    /// An argument the kernel would never see, because it cannot be expressed.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The isolation backend failed; the server's fault, not the user's.
    #[error("isolation: {0}")]
    Isolation(String),
    /// It happened, but its event could not be stored.
    #[error(transparent)]
    NotStored(#[from] NotStored),
}

/// Hashes of a session's credentials, opaque to the sandbox, kept with the session so whoever
/// authenticates requests can find them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Hash of the token that may make calls and end the session.
    pub owner: Vec<u8>,
    /// Hash of the token that may only watch.
    pub viewer: Vec<u8>,
}

/// What a new session is made with.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    /// How many hosts to start with (A, B, …); at least 2 if zero.
    pub hosts: usize,
    /// The exercise this session is for, if any.
    pub exercise: Option<String>,
    /// Credential hashes to keep with it.
    pub credentials: Credentials,
}

/// The unchanging facts of a session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// Its id.
    #[schema(value_type = String, example = "3f1c9a7e5b2d4c60")]
    pub id: SessionId,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// When it ends at the latest, ms since the epoch.
    pub expires_ms: u64,
    /// The isolation mode it runs in.
    pub isolation: IsolationMode,
    /// The exercise it is for.
    pub exercise: Option<String>,
    /// Its limits.
    pub limits: SandboxLimits,
    /// Credential hashes (not serialized).
    #[serde(skip)]
    #[schema(ignore)]
    pub credentials: Credentials,
}

/// What sessions hand to the store, in order per session.
#[derive(Debug, Clone)]
pub enum Record {
    /// A session began; the store reports how far it has committed the session's log to
    /// the [`StoreProgress`].
    SessionStarted(Arc<SessionInfo>, StoreProgress),
    /// A session logged an event (host additions included).
    Event(SessionId, Arc<Event>),
    /// A session ended.
    SessionEnded {
        id: SessionId,
        at_ms: u64,
        reason: String,
    },
}

/// How far the store has committed one session's log: every event up to this seq is in the
/// database. The store's writer advances it after each commit; with a store, a call is
/// answered and an event shown only once it is stored, so a seq a client was given survives
/// a crash. When records are given up (the database failed them, or they never reached the
/// writer), it says so, and whoever waits for them hears it instead of waiting for ever.
#[derive(Debug, Clone)]
pub struct StoreProgress(Arc<watch::Sender<Stored>>);

/// What [`StoreProgress`] holds.
#[derive(Debug, Clone, Copy, Default)]
struct Stored {
    /// Every event up to this seq is committed.
    through: Seq,
    /// Some record after `through` will never be stored.
    lost: bool,
    /// The store is done with the session: its end is written (or given up on), so its log
    /// may be read from the store.
    finished: bool,
}

/// Events a session logged that will never be stored: the database failed them, or they
/// never reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session's events after seq {stored} could not be stored")]
pub struct NotStored {
    /// The newest seq that is stored.
    pub stored: Seq,
}

impl StoreProgress {
    /// Nothing stored yet.
    #[allow(clippy::new_without_default)]
    pub fn new() -> StoreProgress {
        StoreProgress(Arc::new(watch::Sender::new(Stored::default())))
    }

    /// Every event up to `seq` is committed (a smaller seq than already known changes
    /// nothing).
    pub fn stored_through(&self, seq: Seq) {
        self.0.send_if_modified(|stored| {
            let newer = seq > stored.through;
            if newer {
                stored.through = seq;
            }
            newer
        });
    }

    /// A record of the session will never be stored: waits past what is stored now fail.
    pub fn give_up(&self) {
        self.0
            .send_if_modified(|stored| !std::mem::replace(&mut stored.lost, true));
    }

    /// The store is done with the session, its end included: from now on its log is read
    /// from the store, and the sandbox stops keeping the ended session in memory.
    pub fn finish(&self) {
        self.0
            .send_if_modified(|stored| !std::mem::replace(&mut stored.finished, true));
    }

    /// Whether the store is done with the session (see [`Self::finish`]).
    pub fn finished(&self) -> bool {
        self.0.borrow().finished
    }

    /// Seq of the newest event committed.
    pub fn stored(&self) -> Seq {
        self.0.borrow().through
    }

    /// Wait until every event up to `seq` is committed, or some will never be.
    async fn wait(&self, seq: Seq) -> Result<(), NotStored> {
        let mut stored = self.0.subscribe();
        // The sender lives as long as `self`: it cannot close while waited on.
        let now = match stored.wait_for(|s| s.through >= seq || s.lost).await {
            Ok(now) => *now,
            Err(_) => *self.0.borrow(),
        };
        if now.through >= seq {
            Ok(())
        } else {
            Err(NotStored {
                stored: now.through,
            })
        }
    }
}

/// Configuration of a [`Sandbox`].
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// Limits of every session.
    pub limits: SandboxLimits,
    /// With a store: answer a call only once its event is committed (group commit), and show
    /// events only once stored. Off, calls are answered at once and a crash may lose the
    /// last batch the store had not committed.
    pub ack_when_stored: bool,
    /// Events of a live session kept in memory, newest last; older ones are read from the
    /// store. Without a store the whole log stays in memory.
    pub log_tail: usize,
}

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
        Sandbox {
            shared: Arc::new(SandboxShared {
                limits: config.limits,
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
        if self.live_sessions() >= limits.max_sessions {
            return Err(SessionError::Limit {
                limit: Limit::Sessions,
                max: limits.max_sessions as u64,
            });
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
            id: SessionId::random(),
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
            if sessions.len() >= limits.max_sessions {
                return Err(SessionError::Limit {
                    limit: Limit::Sessions,
                    max: limits.max_sessions as u64,
                });
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
        host_infos.push(HostInfo { name, addrs });
    }
    Ok((network, host_infos))
}

/// A session's log: its newest events (all of them without a store), the live broadcast,
/// how far the store has committed it, and what is known of its hosts. Kept by every handle,
/// so it stays readable after the session ends.
#[derive(Debug)]
pub(crate) struct SessionLog {
    /// The session's facts.
    pub(crate) info: Arc<SessionInfo>,
    /// Events and hosts; locked briefly to append or read.
    pub(crate) state: Mutex<LogState>,
    /// New events for subscribers; a slow one lags, nobody waits for it.
    pub(crate) live: broadcast::Sender<Arc<Event>>,
    /// How far the store has committed the log; none without a store.
    pub(crate) progress: Option<StoreProgress>,
    /// Whether calls are answered only once stored.
    ack_when_stored: bool,
    /// Events kept in memory at most (older ones are in the store).
    tail: usize,
}

impl SandboxShared {
    /// Keep an ended session readable from memory until the store confirms it.
    pub(crate) fn remember_ended(&self, handle: SessionHandle) {
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
        recent.insert(handle.id(), (std::time::Instant::now(), handle));
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

impl SessionLog {
    /// Hosts and their addresses.
    pub(crate) fn hosts(&self) -> Vec<HostInfo> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .hosts
            .clone()
    }

    /// Some of the log will never reach the store: whoever waits for it hears so.
    pub(crate) fn give_up_storing(&self) {
        if let Some(progress) = &self.progress {
            progress.give_up();
        }
    }

    /// Number the event, append it and publish it to subscribers.
    pub(crate) fn append(&self, mut event: Event) -> Arc<Event> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.last_seq += 1;
        event.seq = state.last_seq;
        event.time_ms = now_ms();
        let event = Arc::new(event);
        if state.events.len() >= self.tail {
            // Readers of older events go to the store, after waiting for it to have them.
            state.events.pop_front();
        }
        state.events.push_back(event.clone());
        // Sent under the lock so that subscribers see events in seq order.
        self.live.send(event.clone()).ok(/* no subscriber now */);
        event
    }
}

#[derive(Debug)]
pub(crate) struct LogState {
    /// The newest events, in seq order, ending with `last_seq`.
    pub(crate) events: VecDeque<Arc<Event>>,
    /// Seq of the newest event (0 before the first).
    pub(crate) last_seq: Seq,
    /// Why the session ended, once it has.
    pub(crate) ended: Option<String>,
    /// Hosts and their addresses.
    pub(crate) hosts: Vec<HostInfo>,
}

/// A way to reach a live session. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    /// The session's log, readable even after it ends.
    log: Arc<SessionLog>,
    /// The session task's command channel.
    commands: mpsc::Sender<Command>,
}

/// Seq of the oldest event memory holds (the next one's while it holds none).
fn first_in_memory(state: &LogState) -> Seq {
    state.last_seq + 1 - state.events.len() as Seq
}

/// Events after a given seq, and a live feed of what follows.
#[derive(Debug)]
pub struct Subscription {
    /// Seq the backlog starts at; events before it and after the asked seq are in the store.
    pub first: Seq,
    /// Events already in the log after the asked seq, in order.
    pub backlog: Vec<Arc<Event>>,
    /// Events logged after the backlog was read; may repeat the backlog's last ones, which
    /// the reader skips by seq.
    pub live: broadcast::Receiver<Arc<Event>>,
}

/// The status of one call, for whoever polls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStatus {
    /// Still blocked.
    Pending {
        host: HostId,
        kind: EventKind,
        fd: Option<i32>,
    },
    /// Done; the reply it would have had.
    Done(CallReply),
}

impl SessionHandle {
    /// The session's facts.
    pub fn info(&self) -> &Arc<SessionInfo> {
        &self.log.info
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.log.info.id
    }

    /// Hosts and their addresses.
    pub fn hosts(&self) -> Vec<HostInfo> {
        self.log.hosts()
    }

    /// Why the session ended, if it has.
    pub fn ended(&self) -> Option<String> {
        self.log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ended
            .clone()
    }

    /// Live subscribers now.
    pub fn subscribers(&self) -> usize {
        self.log.live.receiver_count()
    }

    /// Seq of the newest event.
    pub fn last_seq(&self) -> Seq {
        self.log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_seq
    }

    /// Seq of the newest event readers are shown: with a store that acknowledges only what
    /// it committed, the newest committed one; else the newest logged.
    pub fn shown_seq(&self) -> Seq {
        match &self.log.progress {
            Some(progress) if self.log.ack_when_stored => progress.stored(),
            _ => self.last_seq(),
        }
    }

    /// Wait until every event up to `seq` is in the store (at once without a store).
    pub async fn wait_stored(&self, seq: Seq) -> Result<(), NotStored> {
        match &self.log.progress {
            Some(progress) => progress.wait(seq).await,
            None => Ok(()),
        }
    }

    /// Wait until an event up to `seq` may be shown (see [`Self::shown_seq`]).
    pub async fn wait_shown(&self, seq: Seq) -> Result<(), NotStored> {
        if self.log.ack_when_stored {
            self.wait_stored(seq).await
        } else {
            Ok(())
        }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SessionError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| SessionError::Ended)?;
        rx.await.map_err(|_| SessionError::Ended)
    }

    /// Make a call on `host`. A blocking call waits up to `wait` (the session's default when
    /// none, capped by its limit), then answers [`CallOutcome::Pending`].
    pub async fn call(
        &self,
        host: HostId,
        call: Call,
        wait: Option<Duration>,
    ) -> Result<CallReply, SessionError> {
        let limits = &self.log.info.limits;
        let wait = match wait {
            None => Duration::from_millis(limits.wait_ms),
            Some(w) if w.as_millis() > u128::from(limits.max_wait_ms) => {
                return Err(SessionError::Limit {
                    limit: Limit::Wait,
                    max: limits.max_wait_ms,
                });
            }
            Some(w) => w,
        };
        let reply = self
            .ask(|reply| Command::Call {
                host,
                call,
                wait,
                reply,
            })
            .await??;
        // Group commit: the store's next transaction carries this event with every other
        // one logged meanwhile; the answer leaves once it is durable.
        self.wait_shown(reply.seq).await?;
        Ok(reply)
    }

    /// The status of call `call_id`.
    pub async fn call_status(&self, call_id: u64) -> Result<CallStatus, SessionError> {
        let status = self
            .ask(|reply| Command::CallStatus { call_id, reply })
            .await??;
        if let CallStatus::Done(reply) = &status {
            self.wait_shown(reply.seq).await?;
        }
        Ok(status)
    }

    /// A snapshot of every host and socket with live kernel figures.
    pub async fn snapshot(&self) -> Result<Snapshot, SessionError> {
        self.ask(|reply| Command::Snapshot { reply }).await
    }

    /// Add a host (the next letter).
    pub async fn add_host(&self) -> Result<HostInfo, SessionError> {
        self.ask(|reply| Command::AddHost { reply }).await?
    }

    /// End the session: close every socket and cancel every pending call.
    pub async fn end(&self, reason: &str) -> Result<(), SessionError> {
        let reason = reason.to_owned();
        self.ask(|reply| Command::End { reason, reply }).await?;
        // The end is acknowledged like a call: once the whole log is stored.
        self.wait_shown(self.last_seq()).await?;
        Ok(())
    }

    /// Up to `limit` shown events (see [`Self::shown_seq`]) with seq greater than `after`,
    /// from memory; or `Err(first)` when the first of them has left memory: the events before
    /// seq `first` are in the store ([`Self::wait_stored`] for `first - 1`, then read them).
    pub fn events_after(&self, after: Seq, limit: usize) -> Result<Vec<Arc<Event>>, Seq> {
        let shown = self.shown_seq();
        let state = self.log.state.lock().unwrap_or_else(|e| e.into_inner());
        let first = first_in_memory(&state);
        if after.saturating_add(1) < first {
            return Err(first);
        }
        let start = usize::try_from(after.saturating_add(1) - first).unwrap_or(usize::MAX);
        Ok(state
            .events
            .iter()
            .skip(start)
            .take_while(|e| e.seq <= shown)
            .take(limit)
            .cloned()
            .collect())
    }

    /// Subscribe to events after `after`: those in memory now, then live ones. Events between
    /// `after` and the backlog's first (`Subscription::first`) left memory: they are in the
    /// store once [`Self::wait_stored`] says so.
    pub fn subscribe(&self, after: Seq) -> Subscription {
        // Subscribing under the log's lock means no event can fall between backlog and live.
        let state = self.log.state.lock().unwrap_or_else(|e| e.into_inner());
        let live = self.log.live.subscribe();
        let first = first_in_memory(&state);
        let start = usize::try_from(after.saturating_sub(first - 1)).unwrap_or(usize::MAX);
        Subscription {
            first: first.max(after.saturating_add(1)),
            backlog: state.events.iter().skip(start).cloned().collect(),
            live,
        }
    }
}

/// Everything about a session at one moment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Snapshot {
    /// The session's facts.
    #[serde(flatten)]
    pub info: Arc<SessionInfo>,
    /// Seq of the newest event when the snapshot was taken.
    pub last_seq: Seq,
    /// When the session ends if nothing happens, ms since the epoch.
    pub idle_expires_ms: u64,
    /// Why it ended, if it has.
    pub ended: Option<String>,
    /// Hosts and their sockets.
    pub hosts: Vec<HostSnapshot>,
    /// Calls still blocked.
    pub pending: Vec<PendingSnapshot>,
    /// What the session's capture kept and lost (netns mode), or why there is none.
    pub capture: tracer::CaptureStats,
    /// What the session has used of its limits.
    pub usage: Usage,
}

/// One host in a snapshot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HostSnapshot {
    /// "A", "B", …
    #[schema(value_type = String)]
    pub name: HostId,
    /// Its addresses.
    #[schema(value_type = Vec<String>)]
    pub addrs: Vec<std::net::IpAddr>,
    /// Its open sockets by descriptor.
    pub sockets: Vec<SocketSnapshot>,
    /// Its TCP sockets that no descriptor holds (netns mode): connections in an accept
    /// queue, closes the kernel finishes on its own, TIME_WAIT.
    pub kernel_sockets: Vec<KernelSocketSnapshot>,
}

/// A socket without a descriptor in a snapshot, as sock_diag reports it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KernelSocketSnapshot {
    /// Protocol and both ends.
    pub tuple: Tuple,
    /// Its TCP state.
    pub state: TcpState,
    /// When its TIME_WAIT ends, ms since the epoch.
    pub expires_ms: Option<u64>,
}

/// One socket in a snapshot, with what the kernel says of it now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SocketSnapshot {
    /// Its descriptor.
    pub fd: i32,
    /// Protocol and both ends.
    pub tuple: Tuple,
    /// Whether the user set non-blocking mode.
    pub nonblocking: bool,
    /// Listen backlog as given, once listening.
    pub backlog: Option<i32>,
    /// TCP state.
    pub tcp_state: Option<TcpState>,
    /// Bytes waiting to be read.
    pub recv_queue: Option<u32>,
    /// Bytes not yet sent or acknowledged.
    pub send_queue: Option<u32>,
    /// Connections waiting to be accepted.
    pub accept_queue: Option<u32>,
    /// The accept queue's limit as the kernel holds it.
    pub accept_backlog: Option<u32>,
    /// Options as the kernel reports them now.
    pub options: Vec<OptionSetting>,
}

/// One socket option and its value as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OptionSetting {
    /// The option.
    pub option: SockOpt,
    /// Its value.
    pub value: OptValue,
}

/// A blocked call in a snapshot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PendingSnapshot {
    /// Its id.
    pub call_id: u64,
    /// Its host.
    #[schema(value_type = String)]
    pub host: HostId,
    /// Its descriptor.
    pub fd: i32,
    /// What call it is.
    pub kind: EventKind,
}

/// A session's use of its limits.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Usage {
    /// Sockets open.
    pub sockets: usize,
    /// Calls pending.
    pub pending_calls: usize,
    /// Bytes sent so far.
    pub bytes_sent: u64,
    /// Events logged.
    pub events: usize,
    /// Hosts.
    pub hosts: usize,
}
