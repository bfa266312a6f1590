//! Running a call on the kernel: admitting it against the session's limits, running it as
//! far as it goes without blocking, and the event that records it with its arguments.

use std::os::fd::AsRawFd;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::sandbox::call::{Call, CallFailure, CallReply, CallValue};

use super::*;
use crate::sandbox::event::{Event, Preview, Status};
use crate::sandbox::host::HostId;
use crate::sandbox::net::Proto;
use crate::sandbox::net::SockOpt;
use crate::sandbox::socket::Sock;
use crate::sandbox::{Limit, SessionError};

/// Added to a refused privileged port to suggest an unprivileged one (80 → 8080, 443 → 8443).
pub(super) const UNPRIVILEGED_PORT_OFFSET: u16 = 8000;
/// Longest SO_LINGER a socket may have: closing a lingering socket holds a thread that long.
pub(super) const MAX_LINGER_SECS: u32 = 5;

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
    pub(super) fn execute(&mut self, hidx: usize, call: Call, event: &mut Event) -> Exec {
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
pub(super) fn call_event(host: HostId, call_id: u64, call: &Call) -> Event {
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
