//! The session task: one event loop per session that owns its hosts, their sockets and its
//! pending calls, runs every call on the kernel, watches the kernel and logs events.
//!
//! The loop waits for one of: a command from a handle, readiness of any of its sockets, a
//! timer (a blocked call's reply is due, a planned probe, expiry, a retry of the record
//! channel), or the server's shutdown. Each wake-up is handled to the end before the next, so
//! no lock guards the session's state. A blocked call does not block the loop: it is kept as a
//! [`PendingCall`] and tried again whenever a socket becomes ready.
//!
//! This file holds the loop and the session's lifecycle (start, timers, hosts, end, and the
//! registration that outlives a crash). The rest of the task's work is in one file per job:
//! `exec` runs a call and builds its event, `blocking` tries a call that may block,
//! `boundary` keeps calls inside the session, `pending` keeps blocked calls, `observe` probes
//! the kernel, `kernel` follows sockets without a descriptor, `wire` turns captured packets
//! into events, `outbox` logs events and hands them to the store, `snapshot` pictures it all.

mod blocking;
mod boundary;
mod exec;
mod kernel;
mod observe;
mod outbox;
mod pending;
mod snapshot;
mod wire;

use crate::i18n::Message;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::bucket::TokenBucket;
use super::call::{Call, CallFailure, CallReply};
use super::capture::Capture;
use super::event::{Event, EventKind, Status};
use super::host::{FdTable, HostId, HostInfo};
use super::isolation::SessionNetwork;
use super::isolation::diag::{SockDiag, UnixDiag};
use super::isolation::unix_names::{HostNames, SessionNames};
use super::log::SessionLog;
use super::net::{Proto, Tuple};
use super::poller::Poller;
use super::registry::SandboxShared;
use super::socket::Sock;
use super::tracer::Tracer;
use super::{CallStatus, Limit, Record, SessionError, Snapshot, now_ms};
use outbox::{RECORD_FLUSH_TIMEOUT, RECORD_RETRY};
use pending::{PENDING_RECHECK, PendingCall};

/// Commands handled in a row before blocked calls and the kernel get a turn regardless.
const COMMANDS_BEFORE_FAIRNESS: u32 = 16;

/// A request to the session task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Make a call.
    Call {
        host: HostId,
        call: Call,
        wait: Duration,
        reply: oneshot::Sender<Result<CallReply, SessionError>>,
    },
    /// Where a call stands.
    CallStatus {
        call_id: u64,
        reply: oneshot::Sender<Result<CallStatus, SessionError>>,
    },
    /// Everything, now.
    Snapshot { reply: oneshot::Sender<Snapshot> },
    /// One more host.
    AddHost {
        reply: oneshot::Sender<Result<HostInfo, SessionError>>,
    },
    /// End the session.
    End {
        reason: Message,
        reply: oneshot::Sender<()>,
    },
}

/// A host's live state.
#[derive(Debug)]
struct HostState {
    /// Its name.
    id: HostId,
    /// Its descriptors.
    fds: FdTable<Sock>,
    /// What it sends, seen by the kernel (netns mode).
    capture: Option<Capture>,
    /// Its capture once the session's capture is full: it only counts what it misses.
    parked: Option<Capture>,
    /// Asks its namespace for sockets without a descriptor (netns mode), while it needs to
    /// (`kernel`).
    diag: Option<SockDiag>,
    /// Whether opening `diag` failed once (and was said).
    diag_failed: bool,
    /// Its sockets without a descriptor, as last seen.
    kernel_sockets: Vec<kernel::KernelSocket>,
    /// How it names Unix-domain sockets; none when the server could not make its files.
    names: Option<Arc<HostNames>>,
}

/// Why the loop woke up.
enum Wake {
    Command(Option<Command>),
    Ready(super::poller::Readiness),
    Timer,
    Shutdown,
}

/// Takes the session out of the registry when its task ends, however it ends.
/// If the task stops without ending the session (a panic, an abort), the log still gets its
/// end, so readers and the store know.
struct Registration {
    sandbox: Arc<SandboxShared>,
    log: Arc<SessionLog>,
}

/// Why a session ended when its task stopped without ending it.
const CRASH_REASON: (&str, &str) = (
    "the session's task stopped unexpectedly",
    "会话的任务意外停止了",
);

impl Drop for Registration {
    fn drop(&mut self) {
        let id = self.log.info.id;
        let handle = self
            .sandbox
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.sandbox
            .aborts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.sandbox.observer.session_ended();
        let crashed = self
            .log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ended
            .is_none();
        if crashed {
            tracing::error!(session = %id, "{}", CRASH_REASON.0);
            let mut event = Event::new(EventKind::SessionEnded, Status::Observed);
            event.reason = Some(Message::new(CRASH_REASON.0, CRASH_REASON.1));
            let event = self.log.append(event);
            self.log
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .ended = Some(Message::new(CRASH_REASON.0, CRASH_REASON.1));
            if let Some(records) = &self.sandbox.records {
                let sent = records.try_send(Record::Event(id, event)).and_then(|()| {
                    records.try_send(Record::SessionEnded {
                        id,
                        at_ms: now_ms(),
                        reason: Message::new(CRASH_REASON.0, CRASH_REASON.1),
                    })
                });
                if sent.is_err() {
                    self.log.give_up_storing();
                    tracing::error!(session = %id, "could not store the end of a crashed session; the next start marks it ended");
                }
            }
        }
        if let Some(handle) = handle {
            self.sandbox.remember_ended(handle);
        }
    }
}

impl Drop for SessionTask {
    fn drop(&mut self) {
        // After a crash, records still held back go out now if there is room, before the
        // registration logs the end.
        self.flush_unsent();
        if !self.unsent.is_empty() {
            self.log.give_up_storing();
            tracing::error!(session = %self.log.info.id, lost = self.unsent.len(), "records of a stopped session could not be handed to the store");
        }
        // On the clean path `finish` has emptied the tables; after a crash the sockets close
        // here, by ownership, and the gauge must follow.
        let left = self.socket_count();
        self.sandbox.observer.sockets_closed(left);
    }
}

/// The state of one session, owned by its task.
pub(crate) struct SessionTask {
    /// What all sessions share.
    sandbox: Arc<SandboxShared>,
    /// The log handles read.
    log: Arc<SessionLog>,
    /// Commands from handles.
    commands: mpsc::Receiver<Command>,
    /// The isolation backend's view of this session; dropping it releases its addresses.
    network: Box<dyn SessionNetwork>,
    /// The hosts' directories for Unix-domain socket paths; dropping it removes them.
    unix_names: Option<SessionNames>,
    /// Asks the server's own namespace of Unix-domain sockets (loopback isolation, where the
    /// hosts have no namespace of their own), once a host has one.
    shared_diag: Option<SockDiag>,
    /// Hosts in order A, B, …
    hosts: Vec<HostState>,
    /// Watches every socket of the session for readiness.
    poller: Poller,
    /// Blocked calls, oldest first.
    pending: Vec<PendingCall>,
    /// Replies of calls that went pending and ended, newest last.
    completed: VecDeque<CallReply>,
    /// Id of the next call.
    next_call_id: u64,
    /// When to probe next, and which step of [`PROBE_STEPS`](observe::PROBE_STEPS) that is.
    probe_at: Option<(Instant, usize)>,
    /// Last call or host change.
    last_activity: Instant,
    /// When the session reaches its maximum lifetime.
    ends_at: Instant,
    /// Call rate: [`SandboxLimits::max_calls_per_second`](super::SandboxLimits), as rate and
    /// burst.
    bucket: TokenBucket,
    /// Turns captured frames into packet events; none without a capture (loopback mode).
    tracer: Option<Tracer>,
    /// Packets changed what sockets without a descriptor there are: ask the namespaces.
    kernel_due: bool,
    /// When to ask the namespaces again while sockets without a descriptor are known.
    kernel_check_at: Option<Instant>,
    /// When they were last asked.
    kernel_checked: Option<Instant>,
    /// Whether the captures were read during this turn of the loop (a probe right after needs
    /// not read them again).
    traced: bool,
    /// Calls whose packets may still leave after they returned, and are theirs: non-blocking
    /// connects in their handshake, ICMP sends waiting for the neighbour's address.
    connecting: Vec<super::tracer::Cause>,
    /// Bytes sent so far.
    bytes_sent: u64,
    /// Records the channel had no room for, in order.
    unsent: VecDeque<Record>,
    /// Turns true when the server shuts down.
    shutdown: watch::Receiver<bool>,
    /// Set when the session must end after the current wake-up.
    must_end: Option<Message>,
    /// Whoever asked the session to end, answered once it has.
    end_reply: Option<oneshot::Sender<()>>,
    /// Takes the session out of the registry when the task is dropped, even before it ever
    /// ran. Last, so it drops after the sockets.
    _registration: Registration,
}

impl SessionTask {
    pub(crate) fn new(
        sandbox: Arc<SandboxShared>,
        log: Arc<SessionLog>,
        commands: mpsc::Receiver<Command>,
        network: Box<dyn SessionNetwork>,
        hosts: Vec<HostInfo>,
        poller: Poller,
    ) -> SessionTask {
        let limits = &log.info.limits;
        let now = Instant::now();
        let sandbox_for_registration = sandbox.clone();
        let mut unix_names = SessionNames::new(network.shares_kernel())
            .inspect_err(|e| {
                tracing::error!(session = %log.info.id, error = %e, "no directory for Unix-domain socket paths");
            })
            .ok();
        let mut task = SessionTask {
            shutdown: sandbox.shutdown.subscribe(),
            bucket: {
                let rate = f64::from(limits.max_calls_per_second);
                TokenBucket::full(rate, rate, now.into_std())
            },
            ends_at: now + limits.max_lifetime(),
            last_activity: now,
            sandbox,
            commands,
            network,
            hosts: hosts
                .iter()
                .map(|h| HostState {
                    id: h.name,
                    fds: FdTable::default(),
                    capture: None,
                    parked: None,
                    diag: None,
                    diag_failed: false,
                    kernel_sockets: Vec::new(),
                    names: host_names(&mut unix_names, h.name),
                })
                .collect(),
            unix_names,
            shared_diag: None,
            tracer: None,
            kernel_due: false,
            kernel_check_at: None,
            kernel_checked: None,
            connecting: Vec::new(),
            traced: false,
            poller,
            pending: Vec::new(),
            completed: VecDeque::new(),
            next_call_id: 1,
            probe_at: None,
            bytes_sent: 0,
            unsent: VecDeque::new(),
            must_end: None,
            end_reply: None,
            _registration: Registration {
                sandbox: sandbox_for_registration,
                log: log.clone(),
            },
            log,
        };
        for i in 0..task.hosts.len() {
            task.open_capture(i);
        }
        task.sandbox.observer.session_started();
        // The start is logged before the task first runs, so that even a task stopped before
        // that has a session the store knows.
        if let Some(progress) = task.log.progress.clone() {
            task.record(Record::SessionStarted(task.log.info.clone(), progress));
        }
        let mut started = Event::new(EventKind::SessionStarted, Status::Observed);
        started.hosts = Some(task.host_infos());
        let isolation = task.log.info.isolation;
        started.note = Some(Message::new(
            format!("isolation: {isolation}"),
            format!("隔离方式：{isolation}"),
        ));
        task.log_event(started);
        task
    }

    /// Run the session until it ends.
    pub(crate) async fn run(mut self) {
        tracing::info!(session = %self.log.info.id, hosts = self.hosts.len(), "session started");

        let mut commands_in_a_row = 0u32;
        let reason = loop {
            let wake = self.next_wake().await;
            self.traced = false;
            match wake {
                Wake::Command(None) => {
                    break Message::new("every handle was dropped", "所有句柄都已释放");
                }
                Wake::Command(Some(command)) => {
                    self.handle_command(command);
                    commands_in_a_row += 1;
                    // The call's packets were read with it; the readiness they raised would
                    // only wake the session again for nothing.
                    if self.tracer.is_some() && self.poller.absorb() {
                        self.trace(None);
                    }
                    // Under a stream of commands, due timers still run, and every so often
                    // blocked calls are tried and the kernel probed as if it had woken us.
                    if Instant::now() >= self.next_deadline() {
                        self.handle_timers();
                    }
                    if commands_in_a_row >= COMMANDS_BEFORE_FAIRNESS {
                        commands_in_a_row = 0;
                        self.retry_pending();
                        self.probe_all();
                    }
                }
                Wake::Ready(ready) if ready.sockets => {
                    commands_in_a_row = 0;
                    self.retry_pending();
                    self.after_activity();
                }
                Wake::Ready(_) => {
                    // Only frames were captured: log them; the sockets said nothing new.
                    commands_in_a_row = 0;
                    self.trace(None);
                    if std::mem::take(&mut self.kernel_due) {
                        self.kernel_sockets_changed();
                    }
                }
                Wake::Timer => {
                    commands_in_a_row = 0;
                    self.handle_timers();
                }
                Wake::Shutdown => break Message::new("the server shut down", "服务器关闭了"),
            }
            if let Some(reason) = self.must_end.take() {
                break reason;
            }
        };
        self.finish(reason).await;
    }

    async fn next_wake(&mut self) -> Wake {
        let deadline = self.next_deadline();
        let poller = &self.poller;
        let commands = &mut self.commands;
        let shutdown = &mut self.shutdown;
        // Commands first: the readiness a call itself causes is then taken in with the
        // probe that follows the call, not as a wake-up of its own. The run loop makes sure a
        // stream of commands cannot keep timers and readiness waiting.
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|down| *down) => Wake::Shutdown,
            command = commands.recv() => Wake::Command(command),
            () = tokio::time::sleep_until(deadline) => Wake::Timer,
            ready = poll_fn(|cx| poller.poll_ready(cx)) => Wake::Ready(ready),
        }
    }

    fn next_deadline(&self) -> Instant {
        let limits = &self.log.info.limits;
        let mut at = self.ends_at.min(self.last_activity + limits.idle_ttl());
        if let Some((probe, _)) = self.probe_at {
            at = at.min(probe);
        }
        if let Some(check) = self.kernel_check_at {
            at = at.min(check);
        }
        let now = Instant::now();
        for p in &self.pending {
            if p.reply.is_some() {
                at = at.min(p.reply_by);
            }
        }
        if !self.pending.is_empty() {
            at = at.min(now + PENDING_RECHECK);
        }
        if !self.unsent.is_empty() {
            at = at.min(now + RECORD_RETRY);
        }
        at
    }

    fn handle_timers(&mut self) {
        let now = Instant::now();
        if now >= self.ends_at {
            self.must_end = Some(Message::new(
                "the session reached its maximum lifetime",
                "会话达到了最长存活时间",
            ));
            return;
        }
        if now >= self.last_activity + self.log.info.limits.idle_ttl() {
            self.must_end = Some(Message::new(
                "the session was idle too long",
                "会话空闲太久了",
            ));
            return;
        }
        self.retry_pending();
        self.answer_overdue(now);
        if let Some((at, step)) = self.probe_at {
            if now >= at {
                self.probe_all();
                self.plan_probe(step + 1);
            }
        }
        if self.kernel_check_at.is_some_and(|at| now >= at) {
            self.trace(None);
            self.refresh_kernel_sockets();
        }
        self.flush_unsent();
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Call {
                host,
                call,
                wait,
                reply,
            } => self.handle_call(host, call, wait, reply),
            Command::CallStatus { call_id, reply } => {
                reply.send(self.call_status(call_id)).ok(/* caller gone */);
            }
            Command::Snapshot { reply } => {
                reply.send(self.snapshot()).ok(/* caller gone */);
            }
            Command::AddHost { reply } => {
                let result = self.add_host();
                reply.send(result).ok(/* caller gone */);
            }
            Command::End { reason, reply } => {
                self.end_reply = Some(reply);
                self.must_end = Some(reason);
            }
        }
    }

    fn host_index(&self, host: HostId) -> Option<usize> {
        self.hosts.iter().position(|h| h.id == host)
    }

    fn host_infos(&self) -> Vec<HostInfo> {
        self.log.hosts()
    }

    fn socket_count(&self) -> usize {
        self.hosts.iter().map(|h| h.fds.len()).sum()
    }

    fn sock(&self, hidx: usize, fd: i32) -> Option<&Sock> {
        self.hosts[hidx].fds.get(fd)
    }

    fn tuple_of(&self, host: HostId, fd: i32) -> Option<Tuple> {
        let hidx = self.host_index(host)?;
        self.sock(hidx, fd).map(Sock::tuple)
    }

    /// What unix_diag says of the Unix-domain socket `fd` of host `hidx`, asked in the
    /// namespace the socket lives in.
    fn unix_diag(&mut self, hidx: usize, fd: i32) -> Option<UnixDiag> {
        let inode = self
            .sock(hidx, fd)
            .filter(|s| s.proto == Proto::Unix)?
            .inode()?;
        // The host's own when its namespace is its own (opened now if need be), else the
        // server's.
        self.host_diag(hidx);
        let diag = match self.hosts[hidx].diag.as_mut() {
            Some(diag) => diag,
            None => {
                if self.shared_diag.is_none() {
                    self.shared_diag = SockDiag::open()
                        .inspect_err(|e| tracing::warn!(session = %self.log.info.id, error = %e, "unix_diag could not be opened"))
                        .ok();
                }
                self.shared_diag.as_mut()?
            }
        };
        diag.unix_socket(inode).ok().flatten()
    }

    /// The descriptor of host `hidx` at the other end of its Unix-domain socket `fd`.
    fn unix_peer_fd(&mut self, hidx: usize, fd: i32) -> Option<i32> {
        let peer = self.unix_diag(hidx, fd)?.peer?;
        self.fd_of_inode(hidx, peer)
    }

    /// The descriptor of host `hidx` holding the Unix-domain socket with inode `inode`.
    fn fd_of_inode(&self, hidx: usize, inode: u32) -> Option<i32> {
        self.hosts[hidx]
            .fds
            .iter()
            .find(|(_, s)| s.proto == Proto::Unix && s.inode() == Some(inode))
            .map(|(fd, _)| fd)
    }

    fn add_host(&mut self) -> Result<HostInfo, SessionError> {
        let limits = &self.log.info.limits;
        let too_many = SessionError::Limit {
            limit: Limit::Hosts,
            max: limits.max_hosts as u64,
        };
        if self.hosts.len() >= limits.max_hosts {
            return Err(too_many);
        }
        let name = HostId::from_index(self.hosts.len()).ok_or(too_many)?;
        let addrs = self
            .network
            .add_host(name)
            .map_err(|e| SessionError::Isolation(e.to_string()))?;
        let info = HostInfo {
            name,
            addrs,
            ephemeral_ports: self.network.ephemeral_ports(name).ok(),
        };
        self.hosts.push(HostState {
            id: name,
            fds: FdTable::default(),
            capture: None,
            parked: None,
            diag: None,
            diag_failed: false,
            kernel_sockets: Vec::new(),
            names: host_names(&mut self.unix_names, name),
        });
        self.open_capture(self.hosts.len() - 1);
        self.log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .hosts
            .push(info.clone());
        self.last_activity = Instant::now();
        let mut event = Event::new(EventKind::HostAdded, Status::Observed);
        event.host = Some(name);
        event.hosts = Some(vec![info.clone()]);
        self.log_event(event);
        Ok(info)
    }

    /// End the session: end blocked calls, close every socket, log why, flush the records.
    async fn finish(mut self, reason: Message) {
        for p in std::mem::take(&mut self.pending) {
            let failure = CallFailure {
                hint: Some(crate::i18n::Message::new(
                    "The session ended while this call was blocked.",
                    "这个调用还在阻塞时，会话就结束了。",
                )),
                sandbox: true,
                ..CallFailure::code(libc::ECANCELED)
            };
            self.complete_pending(p, Err(failure));
        }
        self.close_captures();
        let mut closed = 0;
        for host in &mut self.hosts {
            closed += host.fds.len();
            for (_, sock) in host.fds.drain() {
                self.poller.remove(sock.socket().as_raw_fd());
                close_socket(sock);
            }
        }
        self.sandbox.observer.sockets_closed(closed);
        let mut event = Event::new(EventKind::SessionEnded, Status::Observed);
        event.reason = Some(reason.clone());
        self.log_event(event);
        self.log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ended = Some(reason.clone());
        self.record(Record::SessionEnded {
            id: self.log.info.id,
            at_ms: now_ms(),
            reason: reason.clone(),
        });
        // Ending is the one place that may wait for the store, so that nothing is lost.
        if let Some(records) = self.sandbox.records.clone() {
            let flush = async {
                while let Some(record) = self.unsent.pop_front() {
                    if records.send(record).await.is_err() {
                        break;
                    }
                }
            };
            if tokio::time::timeout(RECORD_FLUSH_TIMEOUT, flush)
                .await
                .is_err()
            {
                self.log.give_up_storing();
                tracing::error!(session = %self.log.info.id, lost = self.unsent.len(), "store did not take the session's last records in time");
            }
        }
        tracing::info!(session = %self.log.info.id, reason = %reason, sockets_closed = closed, "session ended");
        if let Some(reply) = self.end_reply.take() {
            reply.send(()).ok(/* caller gone */);
        }
    }
}

/// Give `host` its directory for socket paths; none (and a log line) when it cannot be made.
fn host_names(names: &mut Option<SessionNames>, host: HostId) -> Option<Arc<HostNames>> {
    names
        .as_mut()?
        .add_host(host)
        .inspect_err(
            |e| tracing::error!(%host, error = %e, "no directory for the host's socket paths"),
        )
        .ok()
}

/// Close a socket; one set to linger blocks in close, so it is closed off the event loop.
fn close_socket(sock: Sock) {
    if sock.is_tcp() && sock.linger_blocks() {
        tokio::task::spawn_blocking(move || drop(sock));
    } else {
        drop(sock);
    }
}
