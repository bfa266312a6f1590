//! Running a call on the kernel: admitting it against the session's limits, running it as
//! far as it goes without blocking, and the event that records it with its arguments.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::blocking::BlockingOp;
use super::boundary::{implicit_bind, join_notes, no_files};
use super::pending::PendingCall;
use super::{SessionTask, close_socket, wire};
use crate::i18n::Message;

use crate::sandbox::call::{Call, CallFailure, CallReply, CallValue};
use crate::sandbox::event::{Event, EventKind, Preview, Status};
use crate::sandbox::host::HostId;
use crate::sandbox::isolation::SocketSpec;
use crate::sandbox::isolation::unix_names::HostNames;
use crate::sandbox::net::{Addr, Family, Proto, SockOpt, SockType, Tuple, UnixName};
use crate::sandbox::packet::icmp::IcmpHeader;
use crate::sandbox::socket::Sock;
use crate::sandbox::{Limit, SessionError};

/// Added to a refused privileged port to suggest an unprivileged one (80 → 8080, 443 → 8443).
pub(super) const UNPRIVILEGED_PORT_OFFSET: u16 = 8000;
/// Longest SO_LINGER a socket may have: closing a lingering socket holds a thread that long.
pub(super) const MAX_LINGER_SECS: u32 = 5;

/// What the sandbox learned running a call that its reply does not carry, for its event:
/// where an address it named really went, and the socket a close released.
#[derive(Debug, Clone, Default)]
pub(super) struct Facts {
    /// The address the call used after the backend's mapping (bind, connect, sendto).
    pub(super) addr: Option<Addr>,
    /// The address asked for, when the backend mapped it to another.
    pub(super) requested_addr: Option<Addr>,
    /// What the sandbox did on the way: the mapping, an implicit bind.
    pub(super) note: Option<Message>,
    /// The tuple of the socket a close released.
    pub(super) closed: Option<Tuple>,
    /// A port the kernel chose for the socket during the call.
    pub(super) ephemeral_port: Option<u16>,
}

impl Facts {
    /// `requested` went to `addr`, the backend's mapping, which `note` explains when it
    /// differs.
    pub(super) fn mapped(requested: Addr, addr: Addr, note: Option<Message>) -> Facts {
        Facts {
            addr: Some(addr),
            requested_addr: note.is_some().then_some(requested),
            note,
            closed: None,
            ephemeral_port: None,
        }
    }
}

/// What running a call came to.
pub(super) enum Exec {
    Done(Result<CallValue, CallFailure>),
    Blocked(i32, BlockingOp),
    Refused(SessionError),
}

impl SessionTask {
    /// Check a call against the session's limits before it touches the kernel.
    pub(super) fn admit(&mut self, hidx: usize, call: &Call) -> Result<(), SessionError> {
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
            Call::Socketpair { .. } if self.socket_count() + 2 > limits.max_sockets => {
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

    pub(super) fn handle_call(
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
        let since = wire::now_ns();
        let unbound = self.unbound_ip_socket(hidx, &call);
        let (exec, mut facts) = self.execute(hidx, &call);
        if unbound {
            self.note_chosen_port(hidx, &call, &mut facts);
        }
        let result = match &exec {
            Exec::Done(result) => Some(result),
            Exec::Blocked(..) | Exec::Refused(_) => None,
        };
        let event = call_event(host, call_id, &call, &facts, result);
        let in_progress = matches!(&exec, Exec::Done(Err(f)) if f.errno.code == libc::EINPROGRESS);
        let refused = matches!(exec, Exec::Refused(_));
        self.trace_call(&call, &event, since, refused, in_progress);
        match exec {
            Exec::Done(result) => {
                let (seq, outcome) = self.log_call(event, result);
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
                call,
                facts,
                reply: Some(reply),
                reply_by: Instant::now() + wait,
            }),
            Exec::Refused(e) => {
                reply.send(Err(e)).ok(/* caller gone */);
            }
        }
        self.after_activity();
    }

    /// Run a call on the kernel as far as it goes without blocking. Hands back what it came
    /// to and what the sandbox learned on the way, which the call's event shows.
    pub(super) fn execute(&mut self, hidx: usize, call: &Call) -> (Exec, Facts) {
        let host = self.hosts[hidx].id;
        let done = |result| (Exec::Done(result), Facts::default());
        let kernel =
            |result: std::io::Result<CallValue>| done(result.map_err(|e| CallFailure::kernel(&e)));
        let ebadf = || done(Err(CallFailure::code(libc::EBADF)));
        match *call {
            Call::Socket {
                family,
                ty,
                protocol,
            } => {
                let spec = SocketSpec {
                    family,
                    ty,
                    protocol,
                };
                if let Err(f) = self.kind_allowed(spec) {
                    return done(Err(f));
                }
                let names = match self.names_for(hidx, family) {
                    Ok(names) => names,
                    Err(f) => return done(Err(f)),
                };
                let opened = self.network.open_socket(host, spec).and_then(|s| {
                    self.poller
                        .add(&s)
                        .map(|()| Sock::new(s, family, ty, names))
                });
                match opened {
                    Ok(sock) => {
                        let fd = self.hosts[hidx].fds.insert(sock);
                        self.sandbox.observer.sockets_opened(1);
                        done(Ok(CallValue {
                            fd: Some(fd),
                            ..CallValue::default()
                        }))
                    }
                    Err(e) => done(Err(CallFailure::kernel(&e))),
                }
            }
            Call::Socketpair { family, ty } => {
                let spec = SocketSpec {
                    family,
                    ty,
                    protocol: None,
                };
                let names = match self.names_for(hidx, family) {
                    Ok(names) => names,
                    Err(f) => return done(Err(f)),
                };
                let opened = self.network.open_pair(host, spec).and_then(|(a, b)| {
                    self.poller.add(&a)?;
                    if let Err(e) = self.poller.add(&b) {
                        self.poller.remove(a.as_raw_fd());
                        return Err(e);
                    }
                    Ok((a, b))
                });
                match opened {
                    Ok((a, b)) => {
                        let fds = &mut self.hosts[hidx].fds;
                        let first = fds.insert(Sock::new(a, family, ty, names.clone()));
                        let second = fds.insert(Sock::new(b, family, ty, names));
                        self.sandbox.observer.sockets_opened(2);
                        done(Ok(CallValue {
                            fd: Some(first),
                            fds: Some([first, second]),
                            ..CallValue::default()
                        }))
                    }
                    Err(e) => done(Err(CallFailure::kernel(&e))),
                }
            }
            Call::Unlink { path } => {
                let facts = Facts {
                    addr: Some(Addr::Unix(path)),
                    ..Facts::default()
                };
                let result = match &self.hosts[hidx].names {
                    Some(names) => names.unlink(&path).map(|()| CallValue::default()),
                    None => Err(no_files(host)),
                };
                (Exec::Done(result), facts)
            }
            Call::Bind { fd, addr } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                let ip = match addr {
                    Addr::Unix(name) => return self.bind_unix(hidx, fd, name),
                    Addr::Ip(a) => a,
                    Addr::Host(ip) => SocketAddr::new(ip, 0),
                };
                if sock.family == Family::Unix {
                    // The kernel refuses an IP address on a Unix socket itself.
                    return kernel(
                        sock.socket()
                            .bind(&ip.into())
                            .map(|()| CallValue::default()),
                    );
                }
                let limits = &self.log.info.limits;
                if ip.port() != 0
                    && ip.port() < 1024
                    && !limits.allow_privileged_ports
                    && matches!(sock.proto, Proto::Tcp | Proto::Udp)
                {
                    return done(Err(CallFailure::sandbox(
                        libc::EACCES,
                        Message::new(
                            format!(
                                "Ports below 1024 are well-known ports, reserved for privileged \
                                 programs (root, or CAP_NET_BIND_SERVICE), and sessions run as \
                                 an unprivileged one: bind port {} instead, or any port above \
                                 1023.",
                                UNPRIVILEGED_PORT_OFFSET + ip.port()
                            ),
                            format!(
                                "1024 以下的端口是知名端口，保留给有特权的程序（root，或具有 \
                                 CAP_NET_BIND_SERVICE 能力），而会话以无特权程序的身份运行：请改为\
                                 绑定端口 {}，或任何大于 1023 的端口。",
                                UNPRIVILEGED_PORT_OFFSET + ip.port()
                            ),
                        ),
                    )));
                }
                let mapped = match self.network.bind_target(host, ip) {
                    Ok(m) => m,
                    Err(f) => return done(Err(f)),
                };
                let shown = sock.shown_ip(mapped.addr);
                let facts = Facts::mapped(addr, shown, mapped.note.clone());
                let result = sock
                    .socket()
                    .bind(&mapped.addr.into())
                    .map(|()| CallValue {
                        // Port 0 asks the kernel for one: the reply says which it chose.
                        addr: match shown {
                            Addr::Ip(a) if a.port() == 0 => sock.local_name().or(Some(shown)),
                            _ => Some(shown),
                        },
                        note: mapped.note,
                        ..CallValue::default()
                    })
                    .map_err(|e| CallFailure::kernel(&e));
                (Exec::Done(result), facts)
            }
            Call::Listen { fd, backlog } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                let mut note = None;
                if sock.is_tcp() {
                    match implicit_bind(self.network.as_ref(), host, sock) {
                        Ok(n) => note = n,
                        Err(f) => return done(Err(f)),
                    }
                }
                let facts = Facts {
                    note: note.clone(),
                    ..Facts::default()
                };
                let result = match sock.socket().listen(backlog) {
                    Ok(()) => {
                        if let Some(sock) = self.hosts[hidx].fds.get_mut(fd) {
                            sock.backlog = Some(backlog);
                        }
                        Ok(CallValue {
                            note,
                            ..CallValue::default()
                        })
                    }
                    Err(e) => Err(CallFailure::kernel(&e)),
                };
                (Exec::Done(result), facts)
            }
            Call::Connect { fd, addr } => {
                let (facts, to) = self.prepare_destination(hidx, fd, addr, EventKind::Connect);
                let exec = match to {
                    Ok(to) => self.run_blocking(
                        hidx,
                        fd,
                        BlockingOp::Connect {
                            addr: to,
                            first: true,
                            note: facts.note.clone(),
                        },
                    ),
                    Err(failure) => Exec::Done(Err(failure)),
                };
                (exec, facts)
            }
            Call::Accept { fd } => (
                self.run_blocking(hidx, fd, BlockingOp::Accept),
                Facts::default(),
            ),
            Call::Send { fd, ref data, icmp } => {
                let data = match self.outgoing(hidx, fd, data, icmp) {
                    Ok(data) => data,
                    Err(e) => return (Exec::Refused(e), Facts::default()),
                };
                // A connected UDP socket sends to the destination its connect set: checked
                // here, as sendto's is, since the connect let it through.
                let peer = self
                    .sock(hidx, fd)
                    .filter(|s| s.proto == Proto::Udp)
                    .and_then(|s| s.socket().peer_addr().ok())
                    .and_then(|a| a.as_socket());
                if let Some(Err(failure)) = peer.map(|to| self.reachable(Proto::Udp, to, false)) {
                    return done(Err(failure));
                }
                let op = BlockingOp::Send {
                    data,
                    sent: 0,
                    icmp,
                };
                (self.run_blocking(hidx, fd, op), Facts::default())
            }
            Call::Recv { fd, max, peek } => (
                self.run_blocking(hidx, fd, BlockingOp::Recv { max, peek }),
                Facts::default(),
            ),
            Call::Recvfrom { fd, max, peek } => (
                self.run_blocking(hidx, fd, BlockingOp::Recvfrom { max, peek }),
                Facts::default(),
            ),
            Call::Sendto {
                fd,
                ref data,
                addr,
                icmp,
            } => {
                let data = match self.outgoing(hidx, fd, data, icmp) {
                    Ok(data) => data,
                    Err(e) => return (Exec::Refused(e), Facts::default()),
                };
                let (facts, to) = self.prepare_destination(hidx, fd, addr, EventKind::Sendto);
                let exec = match to {
                    Ok(to) => {
                        let op = BlockingOp::Sendto {
                            data,
                            addr: to,
                            icmp,
                        };
                        self.run_blocking(hidx, fd, op)
                    }
                    Err(failure) => Exec::Done(Err(failure)),
                };
                (exec, facts)
            }
            Call::Shutdown { fd, how } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                kernel(
                    sock.socket()
                        .shutdown(how.into())
                        .map(|()| CallValue::default()),
                )
            }
            Call::Close { fd } => {
                let Some(sock) = self.hosts[hidx].fds.remove(fd) else {
                    return ebadf();
                };
                let facts = Facts {
                    closed: Some(sock.tuple()),
                    ..Facts::default()
                };
                self.sandbox.observer.sockets_closed(1);
                self.poller.remove(sock.socket().as_raw_fd());
                close_socket(sock);
                self.cancel_pending_on(host, fd);
                (Exec::Done(Ok(CallValue::default())), facts)
            }
            Call::Setsockopt { fd, option, value } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                if let Err(e) = check_value_shape(option, value) {
                    return (Exec::Refused(e), Facts::default());
                }
                kernel(
                    sock.set_option(option, value)
                        .map(|()| CallValue::default()),
                )
            }
            Call::Getsockopt { fd, option } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                kernel(sock.get_option(option).map(|value| CallValue {
                    value: Some(value),
                    ..CallValue::default()
                }))
            }
            Call::Getsockname { fd } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                kernel(sock.socket().local_addr().map(|a| CallValue {
                    addr: sock.shown(&a),
                    ..CallValue::default()
                }))
            }
            Call::Getpeername { fd } => {
                let Some(sock) = self.sock(hidx, fd) else {
                    return ebadf();
                };
                kernel(sock.socket().peer_addr().map(|a| CallValue {
                    peer: sock.shown(&a),
                    ..CallValue::default()
                }))
            }
            Call::Nonblocking { fd, on } => {
                let Some(sock) = self.hosts[hidx].fds.get_mut(fd) else {
                    return ebadf();
                };
                sock.nonblocking = on;
                done(Ok(CallValue::default()))
            }
        }
    }
}

impl SessionTask {
    /// Whether the sandbox lets a host open a socket of this kind: raw and ICMP sockets only
    /// where the kernel keeps the boundary itself (netns mode).
    fn kind_allowed(&self, spec: SocketSpec) -> Result<(), CallFailure> {
        // A Unix-domain "raw" socket is a datagram socket to the kernel; IP raw sockets are for
        // ICMP only: raw TCP or UDP would let a host forge the session's own connections.
        let ip_raw = spec.ty == SockType::Raw && spec.family != Family::Unix;
        if ip_raw && spec.protocol.is_some_and(|p| !p.is_icmp()) {
            return Err(CallFailure::sandbox(
                libc::EPROTONOSUPPORT,
                Message::new(
                    "Raw sockets here carry ICMP only: use protocol icmp (inet) or icmpv6 (inet6).",
                    "这里的原始套接字只承载 ICMP：请使用 protocol icmp（inet）或 icmpv6（inet6）。",
                ),
            ));
        }
        if !self.network.shares_kernel() {
            return Ok(());
        }
        if ip_raw {
            return Err(CallFailure::sandbox(
                libc::EPERM,
                Message::new(
                    "Raw sockets need privilege (CAP_NET_RAW), which a program of this session \
                     does not have in loopback isolation: the hosts share the server's network. \
                     A server in netns mode gives each host its own network, where raw sockets \
                     are allowed.",
                    "原始套接字需要特权（CAP_NET_RAW），而在 loopback 隔离下本会话的程序没有这个\
                     特权：各主机共用服务器的网络。netns 模式的服务器给每台主机独立的网络，\
                     在那里可以使用原始套接字。",
                ),
            ));
        }
        if spec.protocol.is_some_and(Proto::is_icmp) {
            return Err(CallFailure::sandbox(
                libc::EACCES,
                Message::new(
                    "ICMP sockets would reach every address of the server's network in loopback \
                     isolation, so the sandbox refuses them as a kernel refuses a group outside \
                     ping_group_range. A server in netns mode allows them.",
                    "在 loopback 隔离下，ICMP 套接字能到达服务器网络中的每个地址，所以沙箱像内核\
                     拒绝 ping_group_range 之外的用户组那样拒绝它们。netns 模式的服务器允许使用。",
                ),
            ));
        }
        Ok(())
    }

    /// bind(fd, name) with a Unix-domain name: in the host's files, or its abstract names.
    fn bind_unix(&mut self, hidx: usize, fd: i32, name: UnixName) -> (Exec, Facts) {
        let addr = Addr::Unix(name);
        let facts = Facts {
            addr: Some(addr),
            ..Facts::default()
        };
        let Some(sock) = self.sock(hidx, fd) else {
            return (Exec::Done(Err(CallFailure::code(libc::EBADF))), facts);
        };
        let names = self.hosts[hidx].names.clone();
        let room = match &names {
            Some(names) if sock.family == Family::Unix && !name.is_abstract => {
                names.room_for_a_file()
            }
            // The kernel checks a socket is unbound before an abstract name is looked at; a
            // name kept as a file would be looked at first.
            Some(names)
                if name.is_abstract && names.abstract_as_files() && sock.local_name().is_some() =>
            {
                Err(CallFailure::code(libc::EINVAL))
            }
            _ => Ok(()),
        };
        let bound = room
            .and_then(|()| self.unix_address(hidx, sock.family, sock.ty, &name))
            .and_then(|kernel| {
                sock.socket()
                    .bind(&kernel)
                    .map(|()| kernel)
                    .map_err(|e| CallFailure::kernel(&e))
            });
        let result = bound.map(|kernel| {
            // An abstract name kept as a file goes when its socket does.
            let file = names
                .filter(|n| n.is_abstract_file(&kernel))
                .and_then(|_| kernel.as_pathname().map(Path::to_path_buf));
            if let Some(sock) = self.hosts[hidx].fds.get_mut(fd) {
                sock.abstract_file = file;
            }
            CallValue {
                addr: Some(addr),
                ..CallValue::default()
            }
        });
        (Exec::Done(result), facts)
    }

    /// Whether the call may give a TCP or UDP socket that has no port yet one the kernel
    /// chooses (bind to port 0, or the implicit bind of connect, listen and send).
    fn unbound_ip_socket(&self, hidx: usize, call: &Call) -> bool {
        let may_choose = match call {
            Call::Bind { addr, .. } => addr.port().is_none_or(|p| p == 0),
            Call::Connect { .. }
            | Call::Listen { .. }
            | Call::Send { .. }
            | Call::Sendto { .. } => true,
            _ => false,
        };
        may_choose
            && call
                .fd()
                .and_then(|fd| self.sock(hidx, fd))
                .is_some_and(|s| matches!(s.proto, Proto::Tcp | Proto::Udp) && s.local().is_none())
    }

    /// The socket of `call` got a port during the call: say which, and that the kernel chose
    /// it from the host's ephemeral range.
    fn note_chosen_port(&self, hidx: usize, call: &Call, facts: &mut Facts) {
        let Some(port) = call
            .fd()
            .and_then(|fd| self.sock(hidx, fd))
            .and_then(Sock::local)
            .map(|a| a.port())
        else {
            return;
        };
        let host = self.hosts[hidx].id;
        let range = self
            .log
            .hosts()
            .into_iter()
            .find(|h| h.name == host)
            .and_then(|h| h.ephemeral_ports);
        let range = range.map_or(String::new(), |(lo, hi)| format!(" {lo}–{hi}"));
        let note = Message::new(
            format!(
                "the kernel chose port {port} from host {host}'s ephemeral range{range} \
                 (ip_local_port_range)"
            ),
            format!(
                "内核从主机 {host} 的临时端口范围{range}（ip_local_port_range）中选了端口 {port}"
            ),
        );
        facts.ephemeral_port = Some(port);
        facts.note = join_notes(facts.note.take(), Some(note));
    }

    /// The bytes a send hands the kernel: `data` as given, or with an `icmp` header the
    /// message built from it with `data` as payload, which only an ICMP socket takes. A
    /// descriptor that is not open gets `data`, for the kernel to answer EBADF.
    fn outgoing(
        &self,
        hidx: usize,
        fd: i32,
        data: &[u8],
        icmp: Option<IcmpHeader>,
    ) -> Result<Vec<u8>, SessionError> {
        let (Some(header), Some(sock)) = (icmp, self.sock(hidx, fd)) else {
            return Ok(data.to_vec());
        };
        let (what, zh) = match sock.proto {
            Proto::Icmp | Proto::Icmpv6 => return Ok(header.message(sock.family, data)),
            Proto::Tcp => ("a TCP", "TCP"),
            Proto::Udp => ("a UDP", "UDP"),
            Proto::Unix => ("a Unix-domain", "Unix 域"),
        };
        Err(SessionError::Invalid {
            field: "icmp",
            message: Message::new(
                format!(
                    "`icmp` builds an ICMP message, which only an ICMP socket sends, and fd {fd} is \
                     {what} socket: open one with type raw (or dgram, a ping socket) and protocol \
                     icmp or icmpv6, or leave `icmp` out to send `data` as it is"
                ),
                format!(
                    "`icmp` 构造的是 ICMP 报文，只有 ICMP 套接字才能发送，而 fd {fd} 是 {zh} 套接字：\
                     请用 type raw（或 dgram，即 ping 套接字）和 protocol icmp 或 icmpv6 打开一个，\
                     或者去掉 `icmp`，把 `data` 原样发送"
                ),
            ),
        })
    }

    /// The host's Unix-domain names, for a Unix socket; none for other families.
    fn names_for(
        &self,
        hidx: usize,
        family: Family,
    ) -> Result<Option<Arc<HostNames>>, CallFailure> {
        match family {
            Family::Unix => self.hosts[hidx]
                .names
                .clone()
                .map(Some)
                .ok_or_else(|| no_files(self.hosts[hidx].id)),
            Family::Inet | Family::Inet6 => Ok(None),
        }
    }
}

pub(super) fn check_value_shape(
    option: SockOpt,
    value: crate::sandbox::net::OptValue,
) -> Result<(), SessionError> {
    use crate::sandbox::net::{OptShape, OptValue};
    if let OptValue::Linger {
        onoff: true,
        seconds,
    } = value
    {
        if seconds > MAX_LINGER_SECS {
            return Err(SessionError::Invalid {
                field: "value",
                message: Message::new(
                    format!(
                        "SO_LINGER longer than {MAX_LINGER_SECS} s is not allowed here: a close \
                         would hold the server that long"
                    ),
                    format!(
                        "这里不允许 SO_LINGER 超过 {MAX_LINGER_SECS} 秒：close 会让服务器等待那么久"
                    ),
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
                OptShape::Linger => Message::new(
                    format!(
                        "{} takes {{\"onoff\": bool, \"seconds\": n}}",
                        option.name()
                    ),
                    format!(
                        "{} 的值是 {{\"onoff\": bool, \"seconds\": n}}",
                        option.name()
                    ),
                ),
                _ => Message::new(
                    format!("{} takes a boolean or an integer", option.name()),
                    format!("{} 的值是布尔值或整数", option.name()),
                ),
            },
        })
    }
}

/// The event of a call, built once from the call (its arguments), what the sandbox learned
/// running it and its result; a call still blocked has no result yet and shows as pending.
pub(super) fn call_event(
    host: HostId,
    call_id: u64,
    call: &Call,
    facts: &Facts,
    result: Option<&Result<CallValue, CallFailure>>,
) -> Event {
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
        | Call::Socketpair { .. }
        | Call::Unlink { .. }
        | Call::Accept { .. }
        | Call::Close { .. }
        | Call::Getsockname { .. }
        | Call::Getpeername { .. } => {}
    }
    if facts.addr.is_some() {
        e.addr = facts.addr;
    }
    e.requested_addr = facts.requested_addr;
    e.ephemeral_port = facts.ephemeral_port;
    e.note.clone_from(&facts.note);
    e.tuple = facts.closed;
    match result {
        None => {}
        Some(Ok(value)) => {
            e.status = Status::Ok;
            match call {
                Call::Socket { .. } => {
                    e.fd = value.fd;
                    e.new_fd = value.fd;
                }
                Call::Socketpair { .. } => {
                    e.fd = value.fd;
                    e.new_fd = value.fd;
                    e.fds = value.fds;
                }
                Call::Accept { .. } => {
                    e.new_fd = value.fd;
                    e.peer = value.peer;
                    e.peer_fd = value.peer_fd;
                }
                // A send shows what went out: a partial one cuts the payload short.
                Call::Send { data, .. } => {
                    let sent = value.bytes.unwrap_or(data.len()).min(data.len());
                    e.data = Some(Preview::of(&data[..sent]));
                }
                Call::Recv { .. } | Call::Recvfrom { .. } => {
                    e.data = value.data.as_deref().map(Preview::of);
                    e.peer = value.peer;
                }
                Call::Getsockopt { .. } => e.value = value.value,
                Call::Getsockname { .. } => e.addr = value.addr,
                Call::Getpeername { .. } => e.peer = value.peer,
                _ => {}
            }
            e.bytes = value.bytes.map(|b| b as u64);
            if e.note.is_none() {
                e.note.clone_from(&value.note);
            }
            e.hint.clone_from(&value.hint);
            e.icmp.clone_from(&value.icmp);
        }
        Some(Err(failure)) => {
            e.status = Status::Error;
            e.errno = Some(failure.errno);
            e.sandbox = failure.sandbox;
            e.hint.clone_from(&failure.hint);
        }
    }
    e
}
