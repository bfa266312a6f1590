//! The session task: one event loop per session that owns its hosts, their sockets and its
//! pending calls, runs every call on the kernel, watches the kernel and logs events.
//!
//! The loop waits for one of: a command from a handle, readiness of any of its sockets, a
//! timer (a blocked call's reply is due, a planned probe, expiry, a retry of the record
//! channel), or the server's shutdown. Each wake-up is handled to the end before the next, so
//! no lock guards the session's state. A blocked call does not block the loop: it is kept as a
//! [`PendingCall`] and tried again whenever a socket becomes ready.

mod kernel;
mod wire;

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::bucket::TokenBucket;
use super::call::{Call, CallFailure, CallOutcome, CallReply, CallValue};

use super::capture::Capture;
use super::event::{Event, EventKind, Preview, Seq, Status};
use super::host::{FdTable, HostId, HostInfo};
use super::isolation::SessionNetwork;
use super::isolation::diag::SockDiag;
use super::net::SockOpt;
use super::observer::CallResultLabel;
use super::net::{Family, Proto, Tuple};
use super::poller::Poller;
use super::probe::TcpState;
use super::socket::Sock;
use super::tracer::Tracer;
use super::log::SessionLog;
use super::registry::SandboxShared;
use super::{
    CallStatus, HostSnapshot, Limit, PendingSnapshot, Record, SessionError, Snapshot,
    SocketSnapshot, Usage, now_ms,
};

/// After activity, the kernel is probed again at these delays, to catch state changes that
/// raise no readiness (an ACK moving FIN_WAIT1 to FIN_WAIT2, a handshake finishing).
const PROBE_STEPS: [Duration; 5] = [
    Duration::from_millis(2),
    Duration::from_millis(10),
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_millis(1000),
];
/// While a TCP socket is mid-handshake or mid-teardown, probe this often.
const TRANSIENT_PROBE: Duration = Duration::from_millis(100);
/// Blocked calls are tried again at least this often, should a readiness edge be missed.
const PENDING_RECHECK: Duration = Duration::from_millis(200);
/// Commands handled in a row before blocked calls and the kernel get a turn regardless.
const COMMANDS_BEFORE_FAIRNESS: u32 = 16;
/// When the record channel is full, try again after this long.
const RECORD_RETRY: Duration = Duration::from_millis(50);
/// How long an ending session waits for room in the record channel.
const RECORD_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);
/// Replies of calls that went pending, kept for those who poll them.
const COMPLETED_CALLS_KEPT: usize = 256;
/// Added to a refused privileged port to suggest an unprivileged one (80 → 8080, 443 → 8443).
const UNPRIVILEGED_PORT_OFFSET: u16 = 8000;
/// Kernel events a session may log beyond its event limit before it is ended: calls stop at
/// the limit, but the kernel does not.
const KERNEL_EVENT_SLACK: usize = 1000;

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
        reason: String,
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
    /// Asks its namespace for sockets without a descriptor (netns mode).
    diag: Option<SockDiag>,
    /// Its sockets without a descriptor, as last seen.
    kernel_sockets: Vec<kernel::KernelSocket>,
}

/// What a blocked call is waiting to do.
#[derive(Debug)]
enum BlockingOp {
    Accept,
    Connect { addr: SocketAddr, first: bool },
    Recv { max: usize, peek: bool },
    Recvfrom { max: usize, peek: bool },
    Send { data: Vec<u8>, sent: usize },
    Sendto { data: Vec<u8>, addr: SocketAddr },
}

/// A call that blocked.
#[derive(Debug)]
struct PendingCall {
    call_id: u64,
    host: HostId,
    fd: i32,
    op: BlockingOp,
    /// The event that will record it, arguments filled in.
    event: Event,
    /// The caller still waiting for an answer, until `reply_by`.
    reply: Option<oneshot::Sender<Result<CallReply, SessionError>>>,
    reply_by: Instant,
}

/// What running a call came to.
enum Exec {
    Done(Result<CallValue, CallFailure>),
    Blocked(i32, BlockingOp),
    Refused(SessionError),
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
const CRASH_REASON: &str = "the session's task stopped unexpectedly";

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
            tracing::error!(session = %id, "{CRASH_REASON}");
            let mut event = Event::new(EventKind::SessionEnded, Status::Observed);
            event.reason = Some(CRASH_REASON.to_owned());
            let event = self.log.append(event);
            self.log
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .ended = Some(CRASH_REASON.to_owned());
            if let Some(records) = &self.sandbox.records {
                let sent = records.try_send(Record::Event(id, event)).and_then(|()| {
                    records.try_send(Record::SessionEnded {
                        id,
                        at_ms: now_ms(),
                        reason: CRASH_REASON.to_owned(),
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
    /// When to probe next, and which step of [`PROBE_STEPS`] that is.
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
    /// Non-blocking connects still in their handshake, whose packets are theirs.
    connecting: Vec<super::tracer::Cause>,
    /// Bytes sent so far.
    bytes_sent: u64,
    /// Records the channel had no room for, in order.
    unsent: VecDeque<Record>,
    /// Turns true when the server shuts down.
    shutdown: watch::Receiver<bool>,
    /// Set when the session must end after the current wake-up.
    must_end: Option<String>,
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
                    kernel_sockets: Vec::new(),
                })
                .collect(),
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
        started.note = Some(format!("isolation: {}", task.log.info.isolation));
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
                Wake::Command(None) => break "every handle was dropped".to_owned(),
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
                Wake::Shutdown => break "the server shut down".to_owned(),
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
            self.must_end = Some("the session reached its maximum lifetime".to_owned());
            return;
        }
        if now >= self.last_activity + self.log.info.limits.idle_ttl() {
            self.must_end = Some("the session was idle too long".to_owned());
            return;
        }
        self.retry_pending();
        // Answer callers whose wait is over: their call stays blocked.
        let mut due = Vec::new();
        for (i, p) in self.pending.iter().enumerate() {
            if p.reply.is_some() && now >= p.reply_by {
                due.push(i);
            }
        }
        for i in due {
            let tuple = self.tuple_of(self.pending[i].host, self.pending[i].fd);
            let mut event = self.pending[i].event.clone();
            event.status = Status::Pending;
            event.tuple = tuple;
            event.note = Some(
                "the call blocks; its completion will be logged with the same call_id".to_owned(),
            );
            event.packet_seq = self.syn_of(self.pending[i].call_id);
            let kind = event.kind;
            let seq = self.log_event(event);
            self.sandbox.observer.call_counted(kind, CallResultLabel::Pending);
            let p = &mut self.pending[i];
            if let Some(reply) = p.reply.take() {
                reply
                    .send(Ok(CallReply {
                        call_id: p.call_id,
                        host: p.host,
                        seq,
                        outcome: CallOutcome::Pending,
                    }))
                    .ok(/* the caller gave up; the call stays pending all the same */);
            }
        }
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

    /// Check a call against the session's limits before it touches the kernel.
    fn admit(&mut self, hidx: usize, call: &Call) -> Result<(), SessionError> {
        let limits = &self.log.info.limits;
        let limit = |limit: Limit, max: u64| Err(SessionError::Limit { limit, max });
        // Packets have their own limit; calls stop when the rest of the log is full.
        let packets = self.tracer.as_ref().map_or(0, |t| t.stats.packets as usize);
        if self.log_len().saturating_sub(packets) >= limits.max_events {
            return limit(Limit::Events, limits.max_events as u64);
        }
        match call {
            Call::Send { data, .. } | Call::Sendto { data, .. } => {
                if data.len() > limits.max_payload_bytes {
                    return limit(Limit::Payload, limits.max_payload_bytes as u64);
                }
                if self.bytes_sent + data.len() as u64 > limits.max_session_bytes {
                    return limit(Limit::SessionBytes, limits.max_session_bytes);
                }
            }
            Call::Recv { max, .. } | Call::Recvfrom { max, .. }
                if *max > limits.max_payload_bytes =>
            {
                return limit(Limit::Payload, limits.max_payload_bytes as u64);
            }
            Call::Socket { .. } | Call::Accept { .. }
                if self.socket_count() >= limits.max_sockets =>
            {
                return limit(Limit::Sockets, limits.max_sockets as u64);
            }
            _ => {}
        }
        let may_block = matches!(
            call,
            Call::Accept { .. }
                | Call::Connect { .. }
                | Call::Recv { .. }
                | Call::Recvfrom { .. }
                | Call::Send { .. }
                | Call::Sendto { .. }
        );
        if may_block
            && self.pending.len() >= limits.max_pending_calls
            && call
                .fd()
                .and_then(|fd| self.sock(hidx, fd))
                .is_some_and(|s| !s.nonblocking)
        {
            return limit(Limit::PendingCalls, limits.max_pending_calls as u64);
        }
        // The rate is checked last so that a refused call does not spend a token.
        if self.bucket.take(Instant::now().into_std()).is_err() {
            return limit(Limit::CallRate, u64::from(limits.max_calls_per_second));
        }
        Ok(())
    }

    fn handle_call(
        &mut self,
        host: HostId,
        call: Call,
        wait: Duration,
        reply: oneshot::Sender<Result<CallReply, SessionError>>,
    ) {
        let Some(hidx) = self.host_index(host) else {
            reply.send(Err(SessionError::NoSuchHost(host))).ok(/* caller gone */);
            return;
        };
        if let Err(e) = self.admit(hidx, &call) {
            reply.send(Err(e)).ok(/* caller gone */);
            return;
        }
        self.last_activity = Instant::now();
        let call_id = self.next_call_id;
        self.next_call_id += 1;
        let mut event = call_event(host, call_id, &call);
        let since = wire::now_ns();
        let exec = self.execute(hidx, call, &mut event);
        let in_progress = matches!(&exec, Exec::Done(Err(f)) if f.errno.code == libc::EINPROGRESS);
        self.trace_call(&event, since, matches!(exec, Exec::Refused(_)), in_progress);
        match exec {
            Exec::Done(result) => {
                let (seq, outcome) = self.log_call(event, result, None);
                reply
                    .send(Ok(CallReply {
                        call_id,
                        host,
                        seq,
                        outcome,
                    }))
                    .ok(/* the caller gave up; the event is logged */);
            }
            Exec::Blocked(fd, op) => self.pending.push(PendingCall {
                call_id,
                host,
                fd,
                op,
                event,
                reply: Some(reply),
                reply_by: Instant::now() + wait,
            }),
            Exec::Refused(e) => {
                reply.send(Err(e)).ok(/* caller gone */);
            }
        }
        self.after_activity();
    }

    /// Run a call on the kernel as far as it goes without blocking.
    fn execute(&mut self, hidx: usize, call: Call, event: &mut Event) -> Exec {
        let host = self.hosts[hidx].id;
        let ebadf = || Exec::Done(Err(CallFailure::code(libc::EBADF)));
        match call {
            Call::Socket { family, proto } => {
                let opened = self
                    .network
                    .open_socket(host, family, proto)
                    .and_then(|s| self.poller.add(&s).map(|()| Sock::new(s, family, proto)));
                match opened {
                    Ok(sock) => {
                        event.tuple = Some(sock.tuple());
                        let fd = self.hosts[hidx].fds.insert(sock);
                        self.sandbox.observer.sockets_opened(1);
                        event.fd = Some(fd);
                        event.new_fd = Some(fd);
                        Exec::Done(Ok(CallValue {
                            fd: Some(fd),
                            ..CallValue::default()
                        }))
                    }
                    Err(e) => Exec::Done(Err(CallFailure::kernel(&e))),
                }
            }
            Call::Bind { fd, addr } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                let limits = &self.log.info.limits;
                if addr.port() != 0 && addr.port() < 1024 && !limits.allow_privileged_ports {
                    return Exec::Done(Err(CallFailure::sandbox(
                        libc::EACCES,
                        format!(
                            "Ports below 1024 are for privileged programs, and sessions run as \
                             an unprivileged one: bind port {} instead, or any port above 1023.",
                            UNPRIVILEGED_PORT_OFFSET + addr.port()
                        ),
                    )));
                }
                let mapped = match self.network.bind_target(host, addr) {
                    Ok(m) => m,
                    Err(f) => return Exec::Done(Err(f)),
                };
                event.addr = Some(mapped.addr);
                if mapped.note.is_some() {
                    event.requested_addr = Some(addr);
                }
                event.note.clone_from(&mapped.note);
                Exec::Done(
                    sock.socket()
                        .bind(&mapped.addr.into())
                        .map(|()| CallValue {
                            addr: Some(mapped.addr),
                            note: mapped.note,
                            ..CallValue::default()
                        })
                        .map_err(|e| CallFailure::kernel(&e)),
                )
            }
            Call::Listen { fd, backlog } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                let mut note = None;
                if sock.is_tcp() {
                    match implicit_bind(self.network.as_ref(), host, sock) {
                        Ok(n) => note = n,
                        Err(f) => return Exec::Done(Err(f)),
                    }
                }
                event.note.clone_from(&note);
                let result = sock.socket().listen(backlog);
                match result {
                    Ok(()) => {
                        if let Some(sock) = self.hosts[hidx].fds.get_mut(fd) {
                            sock.backlog = Some(backlog);
                        }
                        Exec::Done(Ok(CallValue {
                            note,
                            ..CallValue::default()
                        }))
                    }
                    Err(e) => Exec::Done(Err(CallFailure::kernel(&e))),
                }
            }
            Call::Connect { fd, addr } => match self.prepare_destination(hidx, fd, addr, event) {
                Ok(to) => self.run_blocking(
                    hidx,
                    fd,
                    BlockingOp::Connect {
                        addr: to,
                        first: true,
                    },
                    event,
                ),
                Err(failure) => Exec::Done(Err(failure)),
            },
            Call::Accept { fd } => self.run_blocking(hidx, fd, BlockingOp::Accept, event),
            Call::Send { fd, data } => {
                // A connected UDP socket sends to the destination its connect set: checked
                // here, as sendto's is, since the connect let it through.
                let peer = self
                    .sock(hidx, fd)
                    .filter(|s| s.proto == Proto::Udp)
                    .and_then(|s| s.socket().peer_addr().ok())
                    .and_then(|a| a.as_socket());
                if let Some(Err(failure)) = peer.map(|to| self.reachable(Proto::Udp, to, false)) {
                    return Exec::Done(Err(failure));
                }
                self.run_blocking(hidx, fd, BlockingOp::Send { data, sent: 0 }, event)
            }
            Call::Recv { fd, max, peek } => {
                self.run_blocking(hidx, fd, BlockingOp::Recv { max, peek }, event)
            }
            Call::Recvfrom { fd, max, peek } => {
                self.run_blocking(hidx, fd, BlockingOp::Recvfrom { max, peek }, event)
            }
            Call::Sendto { fd, data, addr } => {
                match self.prepare_destination(hidx, fd, addr, event) {
                    Ok(to) => {
                        self.run_blocking(hidx, fd, BlockingOp::Sendto { data, addr: to }, event)
                    }
                    Err(failure) => Exec::Done(Err(failure)),
                }
            }
            Call::Shutdown { fd, how } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                Exec::Done(
                    sock.socket()
                        .shutdown(how.into())
                        .map(|()| CallValue::default())
                        .map_err(|e| CallFailure::kernel(&e)),
                )
            }
            Call::Close { fd } => {
                let Some(sock) = self.hosts[hidx].fds.remove(fd) else {
                    return ebadf();
                };
                event.tuple = Some(sock.tuple());
                self.sandbox.observer.sockets_closed(1);
                self.poller.remove(sock.socket().as_raw_fd());
                close_socket(sock);
                self.cancel_pending_on(host, fd);
                Exec::Done(Ok(CallValue::default()))
            }
            Call::Setsockopt { fd, option, value } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                if let Err(e) = check_value_shape(option, value) {
                    return Exec::Refused(e);
                }
                Exec::Done(
                    sock.set_option(option, value)
                        .map(|()| CallValue::default())
                        .map_err(|e| CallFailure::kernel(&e)),
                )
            }
            Call::Getsockopt { fd, option } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                match sock.get_option(option) {
                    Ok(value) => {
                        event.value = Some(value);
                        Exec::Done(Ok(CallValue {
                            value: Some(value),
                            ..CallValue::default()
                        }))
                    }
                    Err(e) => Exec::Done(Err(CallFailure::kernel(&e))),
                }
            }
            Call::Getsockname { fd } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                match sock.socket().local_addr() {
                    Ok(a) => {
                        let addr = a.as_socket();
                        event.addr = addr;
                        Exec::Done(Ok(CallValue {
                            addr,
                            ..CallValue::default()
                        }))
                    }
                    Err(e) => Exec::Done(Err(CallFailure::kernel(&e))),
                }
            }
            Call::Getpeername { fd } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                match sock.socket().peer_addr() {
                    Ok(a) => {
                        let peer = a.as_socket();
                        event.peer = peer;
                        Exec::Done(Ok(CallValue {
                            peer,
                            ..CallValue::default()
                        }))
                    }
                    Err(e) => Exec::Done(Err(CallFailure::kernel(&e))),
                }
            }
            Call::Nonblocking { fd, on } => {
                let Some(sock) = self.hosts[hidx].fds.get_mut(fd) else {
                    return ebadf();
                };
                sock.nonblocking = on;
                Exec::Done(Ok(CallValue::default()))
            }
        }
    }

    /// Where a connect or sendto goes: the backend's mapping of `addr`, after binding an
    /// unbound socket where the backend wants it. Fills the event's addresses and note.
    fn prepare_destination(
        &self,
        hidx: usize,
        fd: i32,
        addr: SocketAddr,
        event: &mut Event,
    ) -> Result<SocketAddr, CallFailure> {
        let host = self.hosts[hidx].id;
        let Some(sock) = self.sock(hidx, fd) else {
            return Err(CallFailure::code(libc::EBADF));
        };
        let mapped = self.network.destination(host, addr)?;
        event.addr = Some(mapped.addr);
        if mapped.note.is_some() {
            event.requested_addr = Some(addr);
        }
        event.note.clone_from(&mapped.note);
        // On a shared kernel only the session's own sockets may be reached: a machine's
        // service bound to the wildcard also answers on the session's addresses.
        let connecting = event.kind == EventKind::Connect;
        let checked = match sock.proto {
            Proto::Tcp => connecting.then_some(true),
            // A UDP connect only sets the default destination, as in the kernel: the
            // datagrams are checked when they are sent.
            Proto::Udp => (!connecting).then_some(false),
        };
        if let Some(listening) = checked {
            self.reachable(sock.proto, mapped.addr, listening)?;
        }
        let bind_note = implicit_bind(self.network.as_ref(), host, sock)?;
        event.note = join_notes(mapped.note, bind_note);
        Ok(mapped.addr)
    }

    /// On a shared kernel, refuse a destination where no socket of this session is bound (or,
    /// with `listening`, listens): a machine's service bound to the wildcard also answers on
    /// the session's addresses.
    fn reachable(&self, proto: Proto, to: SocketAddr, listening: bool) -> Result<(), CallFailure> {
        if !self.network.shares_kernel() || self.owned_endpoint(proto, to, listening) {
            return Ok(());
        }
        let what = if listening { "listens" } else { "is bound" };
        Err(CallFailure::sandbox(
            libc::ECONNREFUSED,
            format!(
                "No socket of this session {what} on {to}. Loopback isolation only lets a \
                 session reach its own sockets; start the server side first."
            ),
        ))
    }

    /// Whether a socket of this session has `addr` as its local address (and, with
    /// `listening`, is a TCP listener).
    fn owned_endpoint(&self, proto: Proto, addr: SocketAddr, listening: bool) -> bool {
        self.hosts.iter().any(|h| {
            h.fds.iter().any(|(_, s)| {
                s.proto == proto
                    && s.local().is_some_and(|local| same_endpoint(local, addr))
                    && (!listening || super::probe::tcp_state(s.socket()) == Some(TcpState::Listen))
            })
        })
    }

    /// Whether a peer may reach this session: an address of the session and, on a shared
    /// kernel, one of its own sockets.
    fn peer_inside(&self, proto: Proto, peer: SocketAddr) -> bool {
        self.network.peer_allowed(peer)
            && (!self.network.shares_kernel() || self.owned_endpoint(proto, peer, false))
    }

    /// Try a call that may block; a non-blocking socket answers at once as the kernel would.
    fn run_blocking(
        &mut self,
        hidx: usize,
        fd: i32,
        mut op: BlockingOp,
        event: &mut Event,
    ) -> Exec {
        let Some(nonblocking) = self.sock(hidx, fd).map(|s| s.nonblocking) else {
            return Exec::Done(Err(CallFailure::code(libc::EBADF)));
        };
        match self.attempt(hidx, fd, &mut op, event) {
            Some(result) => Exec::Done(result),
            None if nonblocking => {
                let code = match op {
                    BlockingOp::Connect { .. } => libc::EINPROGRESS,
                    BlockingOp::Send { sent, ref data } if sent > 0 => {
                        // A non-blocking send that moved some bytes reports how many.
                        event.data = Some(Preview::of(&data[..sent]));
                        return Exec::Done(Ok(CallValue {
                            bytes: Some(sent),
                            ..CallValue::default()
                        }));
                    }
                    _ => libc::EAGAIN,
                };
                Exec::Done(Err(CallFailure::code(code)))
            }
            None => {
                if let BlockingOp::Connect { first, .. } = &mut op {
                    *first = false;
                }
                Exec::Blocked(fd, op)
            }
        }
    }

    /// One non-blocking try of a blocking call: `None` if it would still block.
    fn attempt(
        &mut self,
        hidx: usize,
        fd: i32,
        op: &mut BlockingOp,
        event: &mut Event,
    ) -> Option<Result<CallValue, CallFailure>> {
        let host = self.hosts[hidx].id;
        let Some(sock) = self.hosts[hidx].fds.get(fd) else {
            return Some(Err(CallFailure::code(libc::EBADF)));
        };
        let would_block = |e: &io::Error| e.kind() == io::ErrorKind::WouldBlock;
        let with_source = matches!(op, BlockingOp::Recvfrom { .. });
        match op {
            BlockingOp::Connect { addr, first } => match sock.socket().connect(&(*addr).into()) {
                Ok(()) => Some(Ok(CallValue {
                    addr: Some(*addr),
                    note: event.note.clone(),
                    ..CallValue::default()
                })),
                // A repeated connect reports completion as EISCONN.
                Err(e) if !*first && e.raw_os_error() == Some(libc::EISCONN) => {
                    Some(Ok(CallValue {
                        addr: Some(*addr),
                        note: event.note.clone(),
                        ..CallValue::default()
                    }))
                }
                Err(e)
                    if e.raw_os_error() == Some(libc::EINPROGRESS)
                        || (!*first && e.raw_os_error() == Some(libc::EALREADY)) =>
                {
                    None
                }
                Err(e) => Some(Err(CallFailure::kernel(&e))),
            },
            BlockingOp::Accept => {
                // A pending accept may finish after other sockets were opened.
                let max = self.log.info.limits.max_sockets;
                if self.socket_count() >= max {
                    return Some(Err(CallFailure::sandbox(
                        libc::EMFILE,
                        format!("The session already has its {max} sockets: close one first."),
                    )));
                }
                let mut refused = Vec::new();
                let accepted = loop {
                    match sock.socket().accept() {
                        Ok((conn, peer)) => {
                            let peer = peer.as_socket();
                            if !peer.is_some_and(|p| self.peer_inside(Proto::Tcp, p)) {
                                refused.push(peer);
                                drop(conn);
                                continue;
                            }
                            break Ok((conn, peer));
                        }
                        Err(e) => break Err(e),
                    }
                };
                let family = sock.family;
                for peer in refused {
                    self.log_isolation(host, fd, peer, "a connection from outside the session reached this listener; the sandbox closed it");
                }
                match accepted {
                    Ok((conn, peer)) => {
                        let opened = conn
                            .set_nonblocking(true)
                            .and_then(|()| self.poller.add(&conn))
                            .map(|()| Sock::new(conn, family, Proto::Tcp));
                        match opened {
                            Ok(mut new) => {
                                // Bytes that arrived before accept are news to the reader.
                                new.seen.recv_queue = Some(0);
                                let new_fd = self.hosts[hidx].fds.insert(new);
                                self.sandbox.observer.sockets_opened(1);
                                event.new_fd = Some(new_fd);
                                event.peer = peer;
                                Some(Ok(CallValue {
                                    fd: Some(new_fd),
                                    peer,
                                    ..CallValue::default()
                                }))
                            }
                            Err(e) => Some(Err(CallFailure::kernel(&e))),
                        }
                    }
                    Err(e) if would_block(&e) => None,
                    Err(e) => Some(Err(CallFailure::kernel(&e))),
                }
            }
            BlockingOp::Send { data, sent } => {
                let outcome = loop {
                    match sock.send(&data[*sent..]) {
                        Ok(n) => {
                            *sent += n;
                            self.bytes_sent += n as u64;
                            if *sent == data.len() {
                                break Some(Ok(CallValue {
                                    bytes: Some(*sent),
                                    ..CallValue::default()
                                }));
                            }
                        }
                        Err(e) if would_block(&e) => break None,
                        // A blocking send that moved bytes before failing reports them.
                        Err(_) if *sent > 0 => {
                            break Some(Ok(CallValue {
                                bytes: Some(*sent),
                                ..CallValue::default()
                            }));
                        }
                        Err(e) => break Some(Err(CallFailure::kernel(&e))),
                    }
                };
                // A finished send shows what went out (a partial send cuts it short); a
                // blocked or failed one what it was given.
                let shown = if matches!(outcome, Some(Ok(_))) {
                    &data[..*sent]
                } else {
                    &data[..]
                };
                event.data = Some(Preview::of(shown));
                outcome
            }
            BlockingOp::Sendto { data, addr } => {
                event.data = Some(Preview::of(data));
                match sock.send_to(data, *addr) {
                    Ok(n) => {
                        self.bytes_sent += n as u64;
                        Some(Ok(CallValue {
                            bytes: Some(n),
                            addr: Some(*addr),
                            ..CallValue::default()
                        }))
                    }
                    Err(e) if would_block(&e) => None,
                    Err(e) => Some(Err(CallFailure::kernel(&e))),
                }
            }
            BlockingOp::Recv { max, peek } | BlockingOp::Recvfrom { max, peek } => {
                let udp = sock.proto == Proto::Udp;
                let mut refused = Vec::new();
                let received = loop {
                    // A datagram socket can be reached by anyone; look at the source to keep
                    // the boundary even for plain recv.
                    let r = if udp || with_source {
                        sock.recv_from(*max, *peek)
                    } else {
                        sock.recv(*max, *peek).map(|d| (d, None))
                    };
                    match r {
                        Ok((_, Some(from))) if udp && !self.peer_inside(Proto::Udp, from) => {
                            refused.push(Some(from));
                            if *peek {
                                // A peeked datagram stays queued; drop it for real.
                                sock.recv_from(*max, false).ok(/* dropping an outsider's datagram */);
                            }
                        }
                        other => break other,
                    }
                };
                for peer in refused {
                    self.log_isolation(
                        host,
                        fd,
                        peer,
                        "a datagram from outside the session arrived; the sandbox dropped it",
                    );
                }
                match received {
                    Ok((data, from)) => {
                        event.bytes = Some(data.len() as u64);
                        event.data = Some(Preview::of(&data));
                        let peer = if with_source { from } else { None };
                        event.peer = peer;
                        Some(Ok(CallValue {
                            bytes: Some(data.len()),
                            data: Some(data),
                            peer,
                            ..CallValue::default()
                        }))
                    }
                    Err(e) if would_block(&e) => None,
                    Err(e) => Some(Err(CallFailure::kernel(&e))),
                }
            }
        }
    }

    /// Try every blocked call again; log and answer those that finished.
    fn retry_pending(&mut self) {
        // What went over the wire comes first: the packets that let a call finish are
        // logged before its result.
        self.trace(None);
        let mut i = 0;
        while i < self.pending.len() {
            let hidx = self.host_index(self.pending[i].host);
            let fd = self.pending[i].fd;
            let mut op = std::mem::replace(&mut self.pending[i].op, BlockingOp::Accept);
            let mut event = std::mem::replace(
                &mut self.pending[i].event,
                Event::new(EventKind::Accept, Status::Pending),
            );
            let outcome = match hidx {
                Some(hidx) => self.attempt(hidx, fd, &mut op, &mut event),
                None => Some(Err(CallFailure::code(libc::EBADF))),
            };
            match outcome {
                None => {
                    self.pending[i].op = op;
                    self.pending[i].event = event;
                    i += 1;
                }
                Some(result) => {
                    // Packets that went out while the call finished come before its result,
                    // matched to it while it is still among the blocked calls.
                    self.pending[i].op = op;
                    self.pending[i].event = event;
                    self.trace(None);
                    if matches!(self.pending[i].op, BlockingOp::Connect { .. }) && result.is_ok() {
                        let call_id = self.pending[i].call_id;
                        self.await_handshake_ack(call_id);
                    }
                    let mut p = self.pending.remove(i);
                    let event =
                        std::mem::replace(&mut p.event, Event::new(EventKind::Accept, Status::Ok));
                    self.complete_pending(p, event, result);
                }
            }
        }
    }

    /// Log and answer a blocked call that ended.
    fn complete_pending(
        &mut self,
        p: PendingCall,
        event: Event,
        result: Result<CallValue, CallFailure>,
    ) {
        let (seq, outcome) = self.log_call(event, result, None);
        let reply = CallReply {
            call_id: p.call_id,
            host: p.host,
            seq,
            outcome,
        };
        match p.reply {
            Some(tx) => {
                tx.send(Ok(reply)).ok(/* the caller gave up; the event is logged */);
            }
            None => {
                if self.completed.len() == COMPLETED_CALLS_KEPT {
                    self.completed.pop_front();
                }
                self.completed.push_back(reply);
            }
        }
    }

    /// End the blocked calls on a descriptor that was closed.
    fn cancel_pending_on(&mut self, host: HostId, fd: i32) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].host == host && self.pending[i].fd == fd {
                let mut p = self.pending.remove(i);
                let event =
                    std::mem::replace(&mut p.event, Event::new(EventKind::Close, Status::Ok));
                let failure = CallFailure {
                    hint: Some("The descriptor was closed while this call was blocked on it, so the call ended.".to_owned()),
                    ..CallFailure::code(libc::EBADF)
                };
                self.complete_pending(p, event, Err(failure));
            } else {
                i += 1;
            }
        }
    }

    /// Fill a call's event with its outcome, log it and count it.
    fn log_call(
        &mut self,
        mut event: Event,
        result: Result<CallValue, CallFailure>,
        tuple: Option<Tuple>,
    ) -> (Seq, CallOutcome) {
        if event.tuple.is_none() || event.kind != EventKind::Close {
            let fresh = match (event.host, event.fd) {
                (Some(h), Some(fd)) => self.tuple_of(h, fd),
                _ => None,
            };
            event.tuple = tuple.or(fresh).or(event.tuple);
        }
        let (label, outcome) = match result {
            Ok(value) => {
                event.status = Status::Ok;
                if event.bytes.is_none() {
                    event.bytes = value.bytes.map(|b| b as u64);
                }
                if event.note.is_none() {
                    event.note.clone_from(&value.note);
                }
                (CallResultLabel::Ok, CallOutcome::Ok(value))
            }
            Err(failure) => {
                event.status = Status::Error;
                event.errno = Some(failure.errno);
                event.sandbox = failure.sandbox;
                event.hint.clone_from(&failure.hint);
                event.packet_seq = self.packet_behind(&event);
                (CallResultLabel::Error, CallOutcome::Err(failure))
            }
        };
        self.sandbox.observer.call_counted(event.kind, label);
        if let Some(call_id) = event.call_id {
            self.forget_call_packets(call_id);
        }
        let seq = self.log_event(event);
        (seq, outcome)
    }

    fn log_isolation(&mut self, host: HostId, fd: i32, peer: Option<SocketAddr>, note: &str) {
        let tuple = self.tuple_of(host, fd);
        let mut event = Event::observed(EventKind::Isolation, host, fd, tuple);
        event.peer = peer;
        event.sandbox = true;
        event.note = Some(note.to_owned());
        self.log_event(event);
    }

    fn log_len(&self) -> usize {
        self.log
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_seq as usize
    }

    /// Append an event to the log, publish it and hand it to the store.
    fn log_event(&mut self, event: Event) -> Seq {
        self.log_shared(event).seq
    }

    /// As [`Self::log_event`], handing back the logged event.
    fn log_shared(&mut self, event: Event) -> Arc<Event> {
        let limits = &self.log.info.limits;
        let limit = limits.max_events + limits.max_packets + KERNEL_EVENT_SLACK;
        let event = self.log.append(event);
        if event.seq as usize >= limit {
            self.must_end = Some("the session's event log is full".to_owned());
        }
        self.sandbox.observer.event_logged();
        self.record(Record::Event(self.log.info.id, event.clone()));
        event
    }

    /// Hand a record to the store without waiting; keep it if the channel is full.
    fn record(&mut self, record: Record) {
        let Some(records) = &self.sandbox.records else {
            return;
        };
        if !self.unsent.is_empty() {
            self.unsent.push_back(record);
            return;
        }
        match records.try_send(record) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(record)) => self.unsent.push_back(record),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.log.give_up_storing();
                tracing::warn!(session = %self.log.info.id, "record channel closed; event not stored");
            }
        }
    }

    fn flush_unsent(&mut self) {
        let Some(records) = &self.sandbox.records else {
            self.unsent.clear();
            return;
        };
        while let Some(record) = self.unsent.pop_front() {
            match records.try_send(record) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(record)) => {
                    self.unsent.push_front(record);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.unsent.clear();
                    break;
                }
            }
        }
    }

    /// Probe now, and plan the follow-up probes.
    fn after_activity(&mut self) {
        self.probe_all();
        self.plan_probe(0);
    }

    fn plan_probe(&mut self, step: usize) {
        let now = Instant::now();
        self.probe_at = if let Some(delay) = PROBE_STEPS.get(step) {
            Some((now + *delay, step))
        } else if self.any_transient() {
            Some((now + TRANSIENT_PROBE, step))
        } else {
            None
        };
    }

    fn any_transient(&self) -> bool {
        self.hosts.iter().any(|h| {
            h.fds
                .iter()
                .any(|(_, s)| s.seen.tcp_state.is_some_and(TcpState::is_transient))
        })
    }

    /// Compare what the kernel says of every socket now with what it said before; log what
    /// changed.
    fn probe_all(&mut self) {
        if !self.traced {
            self.trace(None);
        }
        if std::mem::take(&mut self.kernel_due) {
            self.kernel_sockets_changed();
        }
        let mut events = Vec::new();
        // Whether a datagram's source is inside the session, decided as for recvfrom, so
        // that an outsider's bytes are not shown even as a preview.
        let shares_kernel = self.network.shares_kernel();
        let udp = |s: &&Sock| s.proto == Proto::Udp;
        let any_udp = self
            .hosts
            .iter()
            .flat_map(|h| h.fds.iter())
            .any(|(_, s)| udp(&s));
        // Only sessions with datagram sockets pay for the list (and its syscalls) per probe.
        let udp_sockets: Vec<SocketAddr> = if shares_kernel && any_udp {
            self.hosts
                .iter()
                .flat_map(|h| h.fds.iter())
                .filter(|(_, s)| udp(s))
                .filter_map(|(_, s)| s.local())
                .collect()
        } else {
            Vec::new()
        };
        let network = self.network.as_ref();
        let inside = |from: SocketAddr| {
            network.peer_allowed(from)
                && (!shares_kernel || udp_sockets.iter().any(|a| same_endpoint(*a, from)))
        };
        for host in &mut self.hosts {
            for (fd, sock) in host.fds.iter_mut() {
                observe(host.id, fd, sock, &inside, &mut events);
            }
        }
        for mut event in events {
            if event.kind == EventKind::Reset {
                event.packet_seq = self.reset_packet(&event);
            }
            self.log_event(event);
        }
    }

    fn call_status(&self, call_id: u64) -> Result<CallStatus, SessionError> {
        if let Some(p) = self.pending.iter().find(|p| p.call_id == call_id) {
            return Ok(CallStatus::Pending {
                host: p.host,
                kind: p.event.kind,
                fd: Some(p.fd),
            });
        }
        self.completed
            .iter()
            .find(|r| r.call_id == call_id)
            .map(|r| CallStatus::Done(r.clone()))
            .ok_or(SessionError::NoSuchCall(call_id))
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
        let info = HostInfo { name, addrs };
        self.hosts.push(HostState {
            id: name,
            fds: FdTable::default(),
            capture: None,
            parked: None,
            diag: None,
            kernel_sockets: Vec::new(),
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

    fn snapshot(&mut self) -> Snapshot {
        let hosts_info = self.host_infos();
        let hosts = self
            .hosts
            .iter()
            .enumerate()
            .map(|(hidx, h)| HostSnapshot {
                name: h.id,
                addrs: hosts_info
                    .iter()
                    .find(|i| i.name == h.id)
                    .map(|i| i.addrs.clone())
                    .unwrap_or_default(),
                sockets: h.fds.iter().map(|(fd, s)| socket_snapshot(fd, s)).collect(),
                kernel_sockets: self.kernel_socket_snapshots(hidx),
            })
            .collect();
        let idle_left = (self.last_activity + self.log.info.limits.idle_ttl())
            .saturating_duration_since(Instant::now());
        Snapshot {
            info: self.log.info.clone(),
            last_seq: self.log_len() as Seq,
            idle_expires_ms: now_ms() + idle_left.as_millis() as u64,
            ended: None,
            hosts,
            pending: self
                .pending
                .iter()
                .map(|p| PendingSnapshot {
                    call_id: p.call_id,
                    host: p.host,
                    fd: p.fd,
                    kind: p.event.kind,
                })
                .collect(),
            capture: self.capture_stats(),
            usage: Usage {
                sockets: self.socket_count(),
                pending_calls: self.pending.len(),
                bytes_sent: self.bytes_sent,
                events: self.log_len(),
                hosts: self.hosts.len(),
            },
        }
    }

    /// End the session: end blocked calls, close every socket, log why, flush the records.
    async fn finish(mut self, reason: String) {
        for p in std::mem::take(&mut self.pending) {
            let mut p = p;
            let event = std::mem::replace(&mut p.event, Event::new(EventKind::Close, Status::Ok));
            let failure = CallFailure {
                hint: Some("The session ended while this call was blocked.".to_owned()),
                ..CallFailure::code(libc::ECANCELED)
            };
            self.complete_pending(p, event, Err(failure));
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

/// Close a socket; one set to linger blocks in close, so it is closed off the event loop.
fn close_socket(sock: Sock) {
    if sock.is_tcp() && sock.linger_blocks() {
        tokio::task::spawn_blocking(move || drop(sock));
    } else {
        drop(sock);
    }
}

/// Bind an unbound socket to its host's address when the backend asks for it.
fn implicit_bind(
    network: &dyn SessionNetwork,
    host: HostId,
    sock: &Sock,
) -> Result<Option<String>, CallFailure> {
    if sock.local().is_some() {
        return Ok(None);
    }
    let Some(addr) = network.implicit_bind(host, sock.family) else {
        return Ok(None);
    };
    sock.socket()
        .bind(&addr.into())
        .map_err(|e| CallFailure::kernel(&e))?;
    let bound = sock.local().unwrap_or(addr);
    Ok(Some(format!(
        "the socket was unbound: bound implicitly to {bound} (host {host}'s address, port chosen by the kernel)"
    )))
}

/// The same address and port, an IPv4 address and its IPv4-mapped IPv6 form being the same.
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    let canon = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && canon(a.ip()) == canon(b.ip())
}

fn join_notes(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// Longest SO_LINGER a socket may have: closing a lingering socket holds a thread that long.
const MAX_LINGER_SECS: u32 = 5;

fn check_value_shape(option: SockOpt, value: super::net::OptValue) -> Result<(), SessionError> {
    use super::net::{OptShape, OptValue};
    if let OptValue::Linger {
        onoff: true,
        seconds,
    } = value
    {
        if seconds > MAX_LINGER_SECS {
            return Err(SessionError::Invalid {
                field: "value",
                message: format!(
                    "SO_LINGER longer than {MAX_LINGER_SECS} s is not allowed here: a close \
                     would hold the server that long"
                ),
            });
        }
    }
    let (_, _, shape) = option.raw();
    let fits = matches!(
        (shape, value),
        (OptShape::Linger, OptValue::Linger { .. })
            | (
                OptShape::Bool | OptShape::Int,
                OptValue::Bool(_) | OptValue::Int(_)
            )
    );
    if fits {
        Ok(())
    } else {
        Err(SessionError::Invalid {
            field: "value",
            message: match shape {
                OptShape::Linger => format!(
                    "{} takes {{\"onoff\": bool, \"seconds\": n}}",
                    option.name()
                ),
                _ => format!("{} takes a boolean or an integer", option.name()),
            },
        })
    }
}

/// The event of a call, with its arguments; the outcome is filled in later.
fn call_event(host: HostId, call_id: u64, call: &Call) -> Event {
    let mut e = Event::new(call.kind(), Status::Pending);
    e.host = Some(host);
    e.fd = call.fd();
    e.call_id = Some(call_id);
    match call {
        Call::Bind { addr, .. } | Call::Connect { addr, .. } => e.addr = Some(*addr),
        Call::Listen { backlog, .. } => e.backlog = u32::try_from(*backlog).ok(),
        Call::Send { data, .. } => e.data = Some(Preview::of(data)),
        Call::Sendto { data, addr, .. } => {
            e.data = Some(Preview::of(data));
            e.addr = Some(*addr);
        }
        Call::Recv { max, peek, .. } | Call::Recvfrom { max, peek, .. } => {
            e.max = Some(*max as u64);
            e.peek = *peek;
        }
        Call::Shutdown { how, .. } => e.how = Some(*how),
        Call::Setsockopt { option, value, .. } => {
            e.option = Some(*option);
            e.value = Some(*value);
        }
        Call::Getsockopt { option, .. } => e.option = Some(*option),
        Call::Nonblocking { on, .. } => e.nonblocking = Some(*on),
        Call::Socket { .. }
        | Call::Accept { .. }
        | Call::Close { .. }
        | Call::Getsockname { .. }
        | Call::Getpeername { .. } => {}
    }
    e
}

/// Compare a socket's figures with the last ones and push an event for each change.
fn observe(
    host: HostId,
    fd: i32,
    sock: &mut Sock,
    inside: &dyn Fn(SocketAddr) -> bool,
    out: &mut Vec<Event>,
) {
    let now = sock.probe();
    let before = sock.seen;
    let tuple = sock.tuple();
    let mut push = |mut e: Event| {
        e.tuple = Some(tuple);
        out.push(e);
    };
    if sock.is_tcp() {
        if let (Some(from), Some(to)) = (before.tcp_state, now.tcp_state) {
            if from != to {
                let mut e = Event::observed(EventKind::TcpState, host, fd, None);
                e.from = Some(from);
                e.to = Some(to);
                push(e);
            }
        }
        if let (Some(queue), Some(backlog)) = (now.accept_queue, now.backlog) {
            if queue > before.accept_queue.unwrap_or(0) {
                let mut e = Event::observed(EventKind::Incoming, host, fd, None);
                e.queue = Some(queue);
                e.backlog = Some(backlog);
                e.note = Some(format!(
                    "a connection finished the handshake and waits for accept ({queue} of {backlog} in the accept queue)"
                ));
                push(e);
            }
        }
        // A refused or reset connection also reads as hung up; that is a reset, not a FIN.
        let reset = now.error_pending || before.tcp_state == Some(TcpState::SynSent);
        if now.peer_closed
            && !before.peer_closed
            && !reset
            && now.tcp_state != Some(TcpState::Listen)
        {
            let mut e = Event::observed(EventKind::Eof, host, fd, None);
            e.note = Some(
                "the peer sent FIN: once the waiting bytes are read, recv returns 0".to_owned(),
            );
            push(e);
        }
        if now.error_pending && !before.error_pending {
            let mut e = Event::observed(EventKind::Reset, host, fd, None);
            e.note = Some(if before.tcp_state == Some(TcpState::SynSent) {
                "the connection was refused: the other side answered the SYN with RST".to_owned()
            } else {
                "the connection was reset: the peer sent RST; the next call reports the error"
                    .to_owned()
            });
            push(e);
        }
        if let Some(waiting) = now.recv_queue {
            if waiting > before.recv_queue.unwrap_or(0) {
                let mut e = Event::observed(EventKind::Data, host, fd, None);
                e.bytes = Some(u64::from(waiting));
                e.data = Some(Preview::of(
                    &sock.peek_bytes(super::event::PREVIEW_BYTES + 1),
                ));
                push(e);
            }
        }
    } else {
        let rmem = sock.rmem_alloc();
        if rmem > sock.seen_rmem {
            let from = sock.socket().peek_sender().ok().and_then(|a| a.as_socket());
            if from.is_some_and(|f| !inside(f)) {
                let mut e = Event::observed(EventKind::Isolation, host, fd, None);
                e.peer = from;
                e.sandbox = true;
                e.note = Some(
                    "a datagram from outside the session arrived; the sandbox drops it unread"
                        .to_owned(),
                );
                push(e);
            } else {
                let mut e = Event::observed(EventKind::Data, host, fd, None);
                e.bytes = now.recv_queue.map(u64::from);
                e.data = Some(Preview::of(
                    &sock.peek_bytes(super::event::PREVIEW_BYTES + 1),
                ));
                e.note = Some(
                    "a datagram arrived; bytes is the size of the next one to read".to_owned(),
                );
                push(e);
            }
        }
        sock.seen_rmem = rmem;
    }
    sock.seen = now;
}

fn socket_snapshot(fd: i32, sock: &Sock) -> SocketSnapshot {
    let f = sock.probe();
    let mut options: Vec<SockOpt> = vec![
        SockOpt::SoReuseaddr,
        SockOpt::SoReuseport,
        SockOpt::SoLinger,
        SockOpt::SoRcvbuf,
        SockOpt::SoSndbuf,
    ];
    match sock.proto {
        Proto::Tcp => options.extend([SockOpt::TcpNodelay, SockOpt::SoKeepalive]),
        Proto::Udp => options.push(SockOpt::SoBroadcast),
    }
    if sock.family == Family::Inet6 {
        options.push(SockOpt::Ipv6V6only);
    }
    SocketSnapshot {
        fd,
        tuple: sock.tuple(),
        nonblocking: sock.nonblocking,
        backlog: sock.backlog,
        tcp_state: f.tcp_state,
        recv_queue: f.recv_queue,
        send_queue: f.send_queue,
        accept_queue: f.accept_queue,
        accept_backlog: f.backlog,
        options: options
            .into_iter()
            .filter_map(|option| {
                sock.get_option(option)
                    .ok()
                    .map(|value| super::OptionSetting { option, value })
            })
            .collect(),
    }
}
