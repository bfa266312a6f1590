//! The session's view of the wire (netns mode): each host's capture, drained into packet
//! events tied to the calls that caused them, the TCP states only packets can show, and the
//! packets that results point at (the RST behind ECONNREFUSED, the SYN a pending connect keeps
//! sending).

use crate::i18n::Message;
use std::os::fd::AsRawFd;
use std::time::{SystemTime, UNIX_EPOCH};

use super::SessionTask;
use crate::sandbox::call::Call;
use crate::sandbox::event::{Event, EventKind, Seq};
use crate::sandbox::host::HostId;
use crate::sandbox::net::{Addr, Tuple};
use crate::sandbox::probe::TcpState;
use crate::sandbox::tracer::{Cause, SocketEnds, Tracer};

/// Non-blocking connects still in their handshake, and ICMP sends whose message has not left
/// yet, whose packets are still theirs.
const CONNECTING_KEPT: usize = 16;
/// How long an ICMP send's message may wait to leave: a first message to a neighbour waits
/// for its address (ARP, neighbour discovery), which the kernel gives up on after 3 s.
const ICMP_SEND_KEPT_NS: u64 = 3_000_000_000;
/// Events looked back through for a finished connect's last ACK.
const HANDSHAKE_LOOKBACK: usize = 32;
/// How often, and how long each time, a finished connect waits for its last ACK to be
/// captured: at most a fifth of a millisecond, only when the ACK was not seen at once.
const HANDSHAKE_ACK_TRIES: u32 = 10;
const HANDSHAKE_ACK_PAUSE: std::time::Duration = std::time::Duration::from_micros(20);

/// Now on the kernel's packet clock (real time), in ns. Read before a syscall, so that only
/// packets sent since can be that call's.
pub(super) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Whether a call of `kind` can make the kernel send something (the others only read or set
/// what stays in the host: socket, bind, listen, options, names).
fn sends_packets(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Connect
            | EventKind::Accept
            | EventKind::Send
            | EventKind::Sendto
            | EventKind::Recv
            | EventKind::Recvfrom
            | EventKind::Shutdown
            | EventKind::Close
    )
}

impl SessionTask {
    /// Start capturing what host `hidx` sends, where the backend can.
    pub(super) fn open_capture(&mut self, hidx: usize) {
        let host = self.hosts[hidx].id;
        let limits = &self.log.info.limits;
        if !limits.capture || self.tracer.as_ref().is_some_and(Tracer::is_full) {
            return;
        }
        match self.network.open_capture(host, limits.capture_snaplen) {
            Ok(Some(capture)) => {
                if let Err(e) = self.poller.add_capture(&capture) {
                    tracing::warn!(session = %self.log.info.id, host = %host, error = %e, "capture not watched; packets of this host are not shown");
                    return;
                }
                if self.tracer.is_none() {
                    self.tracer = Some(Tracer::new(
                        limits.max_packets,
                        limits.max_capture_bytes,
                        limits.capture_snaplen,
                    ));
                }
                self.hosts[hidx].capture = Some(capture);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(session = %self.log.info.id, host = %host, error = %e, "capture could not be opened; packets of this host are not shown");
            }
        }
    }

    /// Stop capturing on `host` (all hosts when `None`); the counters stay.
    fn stop_capture(&mut self, host: Option<HostId>) {
        for h in &mut self.hosts {
            if host.is_none_or(|id| id == h.id) {
                if let Some(capture) = h.capture.take() {
                    self.poller.remove(capture.as_raw_fd());
                }
            }
        }
    }

    /// The capture is full: each host's capture stops waking the session and keeping frames,
    /// and goes on counting them in the kernel.
    fn park_captures(&mut self) {
        for h in &mut self.hosts {
            let Some(capture) = h.capture.take() else {
                continue;
            };
            self.poller.remove(capture.as_raw_fd());
            match capture.park() {
                Ok(()) => h.parked = Some(capture),
                Err(e) => {
                    tracing::warn!(session = %self.log.info.id, host = %h.id, error = %e, "a full capture could not be parked; its later packets are not counted");
                }
            }
        }
    }

    /// Stop every capture and sock_diag socket: the session ends.
    pub(super) fn close_captures(&mut self) {
        self.stop_capture(None);
        for host in &mut self.hosts {
            host.parked = None;
            host.diag = None;
            host.kernel_sockets.clear();
        }
        self.shared_diag = None;
    }

    /// The call an event records, as packets are matched to it, made at `since_ns`; a send
    /// on an ICMP socket hands the kernel a message of type `icmp_type`.
    fn cause_of(&self, event: &Event, since_ns: u64, icmp_type: Option<u8>) -> Option<Cause> {
        let (host, fd, call_id) = (event.host?, event.fd?, event.call_id?);
        let sock = self
            .host_index(host)
            .and_then(|h| self.hosts[h].fds.get(fd));
        let ends = sock.map(|s| s.ends());
        let icmp_type = icmp_type.filter(|_| sock.is_some_and(|s| s.proto.is_icmp()));
        // A closed socket is gone from the table; its event kept its tuple.
        let (local, remote) = ends
            .or_else(|| event.tuple.map(|t| t.ip_ends()))
            .unwrap_or((None, None));
        Some(Cause {
            call_id,
            host,
            fd,
            local,
            remote: remote.or(match event.kind {
                EventKind::Connect | EventKind::Sendto => event.addr.and_then(Addr::inet),
                _ => None,
            }),
            since_ns,
            icmp_type,
        })
    }

    /// After a call ran: log what went over the wire since `since_ns`, tied to the call when
    /// it is one that sends. A call refused before the kernel saw it causes nothing.
    pub(super) fn trace_call(
        &mut self,
        call: &Call,
        event: &Event,
        since_ns: u64,
        refused: bool,
        in_progress: bool,
    ) {
        if refused || !sends_packets(event.kind) {
            self.trace(None);
            return;
        }
        // Sockets without a descriptor change with these calls even when nothing is captured
        // (capture off or full): ask the namespaces after them.
        if matches!(
            event.kind,
            EventKind::Connect | EventKind::Accept | EventKind::Close | EventKind::Shutdown
        ) {
            self.kernel_due = true;
        }
        let cause = self.cause_of(event, since_ns, call.sent_icmp_type());
        // An ICMP message may leave after its send returned, once the neighbour's address is
        // known: its send stays a cause until the message is seen.
        if let Some(cause) = cause.filter(|c| c.icmp_type.is_some()) {
            self.keep_cause(cause);
            self.trace(None);
            return;
        }
        self.trace(cause);
        // A non-blocking connect returns in its handshake; the rest of it is still its own.
        if in_progress {
            if let Some(cause) = cause {
                self.keep_cause(cause);
            }
        }
    }

    /// Keep `cause` for the packets it sends after its call returned.
    fn keep_cause(&mut self, cause: Cause) {
        if self.connecting.len() >= CONNECTING_KEPT {
            self.connecting.remove(0);
        }
        self.connecting.push(cause);
    }

    /// Log every packet the captures hold, in the kernel's order, tied to `current` (the call
    /// being made) or to a blocked call when one covers it.
    pub(super) fn trace(&mut self, current: Option<Cause>) {
        let Some(tracer) = self.tracer.as_mut() else {
            return;
        };
        self.traced = true;
        let log = &self.log;
        let mut failed = Vec::new();
        let packets = tracer.drain(
            self.hosts
                .iter()
                .filter_map(|h| Some((h.id, h.capture.as_ref()?))),
            || log.hosts(),
            &mut failed,
        );
        let full = tracer.is_full();
        for host in failed {
            self.stop_capture(Some(host));
        }
        if full {
            // Nothing more is kept: the captures stop waking the session and only count.
            self.park_captures();
            self.kernel_due = true;
        }
        if packets.is_empty() {
            return;
        }
        let sockets: Vec<SocketEnds> = self
            .hosts
            .iter()
            .flat_map(|h| {
                h.fds.iter().map(move |(fd, s)| {
                    let (local, remote) = s.known_ends();
                    SocketEnds {
                        host: h.id,
                        fd,
                        tuple: Tuple {
                            proto: s.proto,
                            family: s.family,
                            ty: Some(s.ty),
                            local: local.map(Addr::Ip),
                            remote: remote.map(Addr::Ip),
                        },
                        listening: s.backlog.is_some(),
                    }
                })
            })
            .collect();
        let mut causes: Vec<Cause> = current.into_iter().collect();
        for p in &self.pending {
            if let Some(s) = sockets.iter().find(|s| s.host == p.host && s.fd == p.fd) {
                causes.push(Cause {
                    call_id: p.call_id,
                    host: p.host,
                    fd: p.fd,
                    local: s.tuple.local.and_then(Addr::inet),
                    remote: s.tuple.remote.or(p.facts.addr).and_then(Addr::inet),
                    since_ns: 0,
                    icmp_type: p.call.sent_icmp_type().filter(|_| s.tuple.proto.is_icmp()),
                });
            }
        }
        // Connects that left their handshake (or their socket), and ICMP sends whose message
        // never left, are no longer causes.
        let hosts = &self.hosts;
        let now = now_ns();
        self.connecting.retain(|c| {
            let sock = hosts
                .iter()
                .find(|h| h.id == c.host)
                .and_then(|h| h.fds.get(c.fd));
            match c.icmp_type {
                Some(_) => sock.is_some() && now.saturating_sub(c.since_ns) < ICMP_SEND_KEPT_NS,
                None => sock.is_some_and(|s| s.seen.tcp_state == Some(TcpState::SynSent)),
            }
        });
        causes.extend(self.connecting.iter().copied());
        for packet in packets {
            if packet
                .tcp
                .as_ref()
                .is_some_and(|t| t.has("SYN") || t.has("FIN") || t.has("RST"))
            {
                self.kernel_due = true;
            }
            let Some(tracer) = self.tracer.as_mut() else {
                return;
            };
            let traced = tracer.event(packet, &causes, &sockets);
            let call_id = traced.event.call_id;
            // An ICMP send hands the kernel one message: once seen, its call is no cause.
            if let (Some(id), true) = (
                call_id,
                traced
                    .event
                    .packet
                    .as_ref()
                    .is_some_and(|p| p.icmp.is_some()),
            ) {
                let sent = |c: &Cause| c.icmp_type.is_some() && c.call_id == id;
                causes.retain(|c| !sent(c));
                self.connecting.retain(|c| !sent(c));
            }
            let tuple = traced.event.tuple;
            let logged = self.log_shared(traced.event);
            if let (Some(tracer), Some(packet)) = (self.tracer.as_mut(), &logged.packet) {
                tracer.logged(logged.seq, call_id, packet);
            }
            if let Some((host, fd)) = traced.syn_sent {
                self.infer_syn_sent(host, fd, logged.seq);
            }
            if let (Some((host, listener)), Some(tuple)) = (traced.syn_recv, tuple) {
                let mut e =
                    Event::new(EventKind::TcpState, crate::sandbox::event::Status::Observed);
                e.host = Some(host);
                e.tuple = Some(tuple);
                e.from = Some(TcpState::Listen);
                e.to = Some(TcpState::SynRecv);
                e.inferred = true;
                e.packet_seq = Some(logged.seq);
                e.note = Some(Message::new(
                    format!(
                        "read from packet #{}: the kernel answered a SYN{} with SYN+ACK, so the \
                         connection to come is in SYN_RECV until the ACK arrives (too brief \
                         for any probe to see)",
                        logged.seq,
                        listener.map_or(String::new(), |fd| format!(" for listener fd {fd}")),
                    ),
                    format!(
                        "由数据包 #{} 得知：内核用 SYN+ACK 回答了{} SYN，所以这个半连接（在 SYN \
                         队列中）在 ACK 到达之前处于 SYN_RECV（时间太短，任何探测都看不到）",
                        logged.seq,
                        listener.map_or(String::new(), |fd| format!("发给监听套接字 fd {fd} 的")),
                    ),
                ));
                self.log_event(e);
            }
        }
    }

    /// A connect finished: the kernel sends the handshake's last ACK right after it marks the
    /// socket connected, so on another CPU the ACK may still be on its way. Wait for it a
    /// moment, so that it comes before the connect's result as it did on the wire.
    pub(super) fn await_handshake_ack(&mut self, call_id: u64) {
        if self.hosts.iter().all(|h| h.capture.is_none()) {
            return;
        }
        let acked = |task: &SessionTask| {
            let state = task.log.state.lock().unwrap_or_else(|e| e.into_inner());
            state.events.iter().rev().take(HANDSHAKE_LOOKBACK).any(|e| {
                e.call_id == Some(call_id)
                    && e.packet
                        .as_ref()
                        .and_then(|p| p.tcp.as_ref())
                        .is_some_and(|t| t.flags.len() == 1 && t.has("ACK"))
            })
        };
        for _ in 0..HANDSHAKE_ACK_TRIES {
            if acked(self) {
                return;
            }
            std::thread::sleep(HANDSHAKE_ACK_PAUSE);
            self.trace(None);
        }
    }

    /// A SYN left descriptor `fd`: its socket went through SYN_SENT, too briefly for a probe.
    fn infer_syn_sent(&mut self, host: HostId, fd: i32, packet_seq: Seq) {
        let Some(hidx) = self.host_index(host) else {
            return;
        };
        let Some(sock) = self.hosts[hidx].fds.get_mut(fd) else {
            return;
        };
        let before = sock.seen.tcp_state;
        if before == Some(TcpState::SynSent) {
            return;
        }
        // The probe that follows compares with SYN_SENT now, so the ladder reads
        // CLOSE → SYN_SENT (from the packet) → ESTABLISHED (observed).
        sock.seen.tcp_state = Some(TcpState::SynSent);
        let tuple = Some(sock.tuple());
        let mut e = Event::observed(EventKind::TcpState, host, fd, tuple);
        e.from = before;
        e.to = Some(TcpState::SynSent);
        e.inferred = true;
        e.packet_seq = Some(packet_seq);
        e.note = Some(Message::new(
            format!(
                "read from packet #{packet_seq}: the SYN left, so the socket was in SYN_SENT \
                 (too brief for any probe to see)"
            ),
            format!(
                "由数据包 #{packet_seq} 得知：SYN 已经发出，所以套接字处于 SYN_SENT（时间太短，\
                 任何探测都看不到）"
            ),
        ));
        self.log_event(e);
    }

    /// The packet a call's result answers: the RST behind a refused or reset connection.
    pub(super) fn packet_behind(&self, event: &Event) -> Option<Seq> {
        let tracer = self.tracer.as_ref()?;
        let code = event.errno.as_ref()?.code;
        if !matches!(code, libc::ECONNREFUSED | libc::ECONNRESET | libc::EPIPE) {
            return None;
        }
        let by_call = event.call_id.and_then(|c| tracer.of_call(c).rst);
        by_call.or_else(|| {
            let host = event.host?;
            let local = event
                .fd
                .and_then(|fd| {
                    self.host_index(host)
                        .and_then(|i| self.hosts[i].fds.get(fd))
                })
                .and_then(|s| s.ends().0)
                .or(event.tuple.and_then(|t| t.ip_ends().0))?;
            tracer.rst_to(host, local)
        })
    }

    /// The SYN a blocked connect last sent.
    pub(super) fn syn_of(&self, call_id: u64) -> Option<Seq> {
        self.tracer.as_ref()?.of_call(call_id).syn
    }

    /// A call ended: its packets need no remembering.
    pub(super) fn forget_call_packets(&mut self, call_id: u64) {
        if let Some(t) = self.tracer.as_mut() {
            t.forget_call(call_id);
        }
    }

    /// A `reset` observed on a socket: the RST it came from.
    pub(super) fn reset_packet(&self, event: &Event) -> Option<Seq> {
        let tracer = self.tracer.as_ref()?;
        let (host, fd) = (event.host?, event.fd?);
        let local = self
            .host_index(host)
            .and_then(|i| self.hosts[i].fds.get(fd))
            .and_then(|s| s.ends().0)?;
        tracer.rst_to(host, local)
    }

    /// What the capture kept and lost, for snapshots; says why when there is none.
    pub(super) fn capture_stats(&mut self) -> crate::sandbox::tracer::CaptureStats {
        let missed: u64 = self
            .hosts
            .iter()
            .filter_map(|h| h.parked.as_ref())
            .map(|c| u64::from(c.take_parked_count()))
            .sum();
        match &mut self.tracer {
            Some(t) => {
                t.stats.dropped += missed;
                t.stats.clone()
            }
            None => crate::sandbox::tracer::CaptureStats {
                enabled: false,
                reason: Some(self.network.capture_unavailable().unwrap_or(
                    if self.log.info.limits.capture {
                        crate::sandbox::tracer::NO_HOST_CAPTURE
                    } else {
                        crate::sandbox::CAPTURE_TURNED_OFF
                    },
                )),
                ..Default::default()
            },
        }
    }
}
