//! Watching the kernel: after activity, every socket is probed at growing delays and what
//! changed (TCP state, accept queue, FIN, RST, waiting bytes, an outsider's datagram) is
//! logged as a kernel event.

use crate::i18n::Message;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::SessionTask;
use super::boundary::same_endpoint;

use crate::sandbox::event::{Event, EventKind, Preview};
use crate::sandbox::host::HostId;
use crate::sandbox::net::Proto;
use crate::sandbox::packet::icmp::{self, ICMP_PEEK_MAX, IcmpSocket};
use crate::sandbox::probe::TcpState;
use crate::sandbox::socket::Sock;

/// After activity, the kernel is probed again at these delays, to catch state changes that
/// raise no readiness (an ACK moving FIN_WAIT1 to FIN_WAIT2, a handshake finishing).
pub(super) const PROBE_STEPS: [Duration; 5] = [
    Duration::from_millis(2),
    Duration::from_millis(10),
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_millis(1000),
];
/// While a TCP socket is mid-handshake or mid-teardown, probe this often.
pub(super) const TRANSIENT_PROBE: Duration = Duration::from_millis(100);

impl SessionTask {
    /// Probe now, and plan the follow-up probes.
    pub(super) fn after_activity(&mut self) {
        self.probe_all();
        self.plan_probe(0);
    }

    pub(super) fn plan_probe(&mut self, step: usize) {
        let now = Instant::now();
        self.probe_at = if let Some(delay) = PROBE_STEPS.get(step) {
            Some((now + *delay, step))
        } else if self.any_transient() {
            Some((now + TRANSIENT_PROBE, step))
        } else {
            None
        };
    }

    pub(super) fn any_transient(&self) -> bool {
        self.hosts.iter().any(|h| {
            h.fds
                .iter()
                .any(|(_, s)| s.seen.tcp_state.is_some_and(TcpState::is_transient))
        })
    }

    /// Compare what the kernel says of every socket now with what it said before; log what
    /// changed.
    pub(super) fn probe_all(&mut self) {
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
        self.probe_unix_listeners();
    }

    /// A Unix listener has no TCP_INFO: its accept queue is only known to unix_diag, asked for
    /// each listener whenever the kernel is probed.
    fn probe_unix_listeners(&mut self) {
        for hidx in 0..self.hosts.len() {
            let listeners: Vec<i32> = self.hosts[hidx]
                .fds
                .iter()
                .filter(|(_, s)| s.proto == Proto::Unix && s.backlog.is_some())
                .map(|(fd, _)| fd)
                .collect();
            for fd in listeners {
                let Some(diag) = self.unix_diag(hidx, fd) else {
                    continue;
                };
                let queue = diag.queue.unwrap_or(0);
                let Some(sock) = self.hosts[hidx].fds.get_mut(fd) else {
                    continue;
                };
                let before = std::mem::replace(&mut sock.seen_unix_queue, queue);
                if queue <= before {
                    continue;
                }
                let tuple = sock.tuple();
                let backlog = diag.backlog.unwrap_or_default();
                let host = self.hosts[hidx].id;
                let mut e = Event::observed(EventKind::Incoming, host, fd, Some(tuple));
                e.queue = Some(queue);
                e.backlog = Some(backlog);
                e.note = Some(Message::new(
                    format!(
                        "a client connected and waits for accept ({queue} of {backlog} in the \
                         accept queue)"
                    ),
                    format!("一个客户端发起了连接，等待 accept（监听队列中 {queue}/{backlog}）"),
                ));
                self.log_event(e);
            }
        }
    }
}

/// Compare a socket's figures with the last ones and push an event for each change.
pub(super) fn observe(
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
    if sock.is_connected_type() {
        let unix = sock.proto == Proto::Unix;
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
                e.note = Some(Message::new(
                    format!(
                        "a connection finished the handshake and waits for accept ({queue} of \
                         {backlog} in the accept queue)"
                    ),
                    format!("一个连接完成了三次握手，等待 accept（监听队列中 {queue}/{backlog}）"),
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
            e.note = Some(if unix {
                Message::new(
                    "the peer shut down its writing side or closed: once the waiting bytes are \
                     read, recv returns 0",
                    "对端关闭了写方向或关闭了套接字：读完已到达的字节后，recv 返回 0",
                )
            } else {
                Message::new(
                    "the peer sent FIN: once the waiting bytes are read, recv returns 0",
                    "对端发来了 FIN：读完已到达的字节后，recv 返回 0",
                )
            });
            push(e);
        }
        if now.error_pending && !before.error_pending {
            let mut e = Event::observed(EventKind::Reset, host, fd, None);
            e.note = Some(if unix {
                Message::new(
                    "the connection was reset: the peer closed with bytes it never read; the \
                     next call reports ECONNRESET",
                    "连接被重置：对端关闭时还有未读的数据；下一次调用会报告 ECONNRESET",
                )
            } else if before.tcp_state == Some(TcpState::SynSent) {
                Message::new(
                    "the connection was refused: the other side answered the SYN with RST",
                    "连接被拒绝：对端用 RST 回答了 SYN",
                )
            } else {
                Message::new(
                    "the connection was reset: the peer sent RST; the next call reports the error",
                    "连接被重置：对端发来了 RST；下一次调用会报告这个错误",
                )
            });
            push(e);
        }
        if let Some(waiting) = now.recv_queue {
            if waiting > before.recv_queue.unwrap_or(0) {
                let mut e = Event::observed(EventKind::Data, host, fd, None);
                e.bytes = Some(u64::from(waiting));
                e.data = Some(Preview::of(
                    &sock.peek_bytes(crate::sandbox::event::PREVIEW_BYTES + 1),
                ));
                push(e);
            }
        }
    } else if sock.proto == Proto::Unix {
        // A Unix datagram is charged to its sender's memory, not the reader's: what arrives
        // shows as the socket turning readable, or the next datagram changing size.
        if now.readable && (!before.readable || now.recv_queue != before.recv_queue) {
            let mut e = Event::observed(EventKind::Data, host, fd, None);
            e.bytes = now.recv_queue.map(u64::from);
            e.data = Some(Preview::of(
                &sock.peek_bytes(crate::sandbox::event::PREVIEW_BYTES + 1),
            ));
            e.note = Some(datagram_arrived());
            push(e);
        }
    } else {
        let rmem = sock.rmem_alloc();
        if rmem > sock.seen_rmem {
            let sender = sock.socket().peek_sender().ok();
            // Only IP datagrams can come from outside: a Unix one comes from the host's files.
            let from = sender
                .as_ref()
                .and_then(|a| a.as_socket())
                .filter(|_| !sock.proto.is_icmp());
            if from.is_some_and(|f| !inside(f)) {
                let mut e = Event::observed(EventKind::Isolation, host, fd, None);
                e.peer = from.map(crate::sandbox::net::Addr::Ip);
                e.sandbox = true;
                e.note = Some(Message::new(
                    "a datagram from outside the session arrived; the sandbox drops it unread",
                    "一个来自会话之外的数据报到达了；沙箱不读它，直接丢弃",
                ));
                push(e);
            } else if sock.proto.is_icmp() {
                // The whole message, to decode it and judge its checksum.
                // FIONREAD gives the next message's size: peek just that much.
                let size = now.recv_queue.map_or(ICMP_PEEK_MAX, |n| n as usize);
                let waiting = sock.peek_bytes(size.min(ICMP_PEEK_MAX));
                let kind = IcmpSocket::of(sock.family, sock.ty);
                let mut e = Event::observed(EventKind::Data, host, fd, None);
                e.bytes = Some(waiting.len() as u64);
                e.data = Some(Preview::of(&waiting));
                e.icmp = icmp::decode_read(kind, &waiting, false).map(Box::new);
                e.note = Some(match kind {
                    IcmpSocket::RawV4 => Message::new(
                        "an ICMP message arrived: a raw socket gets a copy of every ICMP message \
                         its host receives, after its IPv4 header",
                        "一条 ICMP 报文到达了：原始套接字会收到主机收到的每条 ICMP 报文的副本，\
                         前面带着 IPv4 首部",
                    ),
                    IcmpSocket::RawV6 => Message::new(
                        "an ICMPv6 message arrived: a raw socket gets a copy of every ICMPv6 \
                         message its host receives (neighbour discovery too)",
                        "一条 ICMPv6 报文到达了：原始套接字会收到主机收到的每条 ICMPv6 报文的\
                         副本（邻居发现报文也在内）",
                    ),
                    IcmpSocket::Ping(_) => Message::new(
                        "an echo reply arrived for this ping socket (its identifier is the \
                         socket's port)",
                        "这个 ping 套接字收到了一个回显应答（它的标识符就是套接字的端口）",
                    ),
                });
                push(e);
            } else {
                let mut e = Event::observed(EventKind::Data, host, fd, None);
                e.bytes = now.recv_queue.map(u64::from);
                e.data = Some(Preview::of(
                    &sock.peek_bytes(crate::sandbox::event::PREVIEW_BYTES + 1),
                ));
                e.note = Some(datagram_arrived());
                push(e);
            }
        }
        sock.seen_rmem = rmem;
    }
    sock.seen = now;
}

/// The note of a datagram's arrival.
fn datagram_arrived() -> Message {
    Message::new(
        "a datagram arrived; bytes is the size of the next one to read",
        "一个数据报到达了；bytes 是下一个要读的数据报的大小",
    )
}
