//! Calls that may block (accept, connect, send, sendto, recv, recvfrom): what each waits to do
//! ([`BlockingOp`]) and one non-blocking try of it on the kernel, made when the call comes in
//! and again whenever its socket may be ready.

use std::io;

use socket2::SockAddr;

use super::SessionTask;
use super::exec::Exec;

use crate::sandbox::call::{CallFailure, CallValue};
use crate::sandbox::net::{Addr, Proto};
use crate::sandbox::packet::icmp::{self, IcmpHeader, IcmpSocket};
use crate::sandbox::socket::Sock;

/// A destination: the kernel's address, and the address as the host named it (after the
/// sandbox's mapping), for the reply.
#[derive(Debug, Clone)]
pub(super) struct Destination {
    pub(super) kernel: SockAddr,
    pub(super) shown: Addr,
    /// An abstract name kept as a file (loopback isolation): a missing file is an abstract
    /// name nobody holds, which the kernel answers with ECONNREFUSED, not ENOENT.
    pub(super) abstract_file: bool,
}

impl Destination {
    /// The failure of a connect or send to this destination, as the kernel words it for the
    /// name the host gave.
    fn failure(&self, e: &io::Error) -> CallFailure {
        if self.abstract_file && e.raw_os_error() == Some(libc::ENOENT) {
            CallFailure::code(libc::ECONNREFUSED)
        } else {
            CallFailure::kernel(e)
        }
    }
}

/// What a blocked call is waiting to do.
#[derive(Debug)]
pub(super) enum BlockingOp {
    Accept,
    /// `note` is what the sandbox did on the way (mapping, implicit bind), for the reply.
    Connect {
        addr: Destination,
        first: bool,
        note: Option<crate::i18n::Message>,
    },
    Recv {
        max: usize,
        peek: bool,
    },
    Recvfrom {
        max: usize,
        peek: bool,
    },
    /// `icmp` is the header the message in `data` was built from, if the call gave one.
    Send {
        data: Vec<u8>,
        sent: usize,
        icmp: Option<IcmpHeader>,
    },
    Sendto {
        data: Vec<u8>,
        addr: Destination,
        icmp: Option<IcmpHeader>,
    },
}

impl SessionTask {
    /// Try a call that may block; a non-blocking socket answers at once as the kernel would.
    pub(super) fn run_blocking(&mut self, hidx: usize, fd: i32, mut op: BlockingOp) -> Exec {
        let Some(nonblocking) = self.sock(hidx, fd).map(|s| s.nonblocking) else {
            return Exec::Done(Err(CallFailure::code(libc::EBADF)));
        };
        match self.attempt(hidx, fd, &mut op) {
            Some(result) => Exec::Done(result),
            None if nonblocking => {
                let code = match op {
                    BlockingOp::Connect { .. } => libc::EINPROGRESS,
                    BlockingOp::Send { sent, .. } if sent > 0 => {
                        // A non-blocking send that moved some bytes reports how many.
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
    pub(super) fn attempt(
        &mut self,
        hidx: usize,
        fd: i32,
        op: &mut BlockingOp,
    ) -> Option<Result<CallValue, CallFailure>> {
        let host = self.hosts[hidx].id;
        let Some(sock) = self.hosts[hidx].fds.get(fd) else {
            return Some(Err(CallFailure::code(libc::EBADF)));
        };
        let would_block = |e: &io::Error| e.kind() == io::ErrorKind::WouldBlock;
        let with_source = matches!(op, BlockingOp::Recvfrom { .. });
        match op {
            BlockingOp::Connect { addr, first, note } => {
                match sock.socket().connect(&addr.kernel) {
                    Ok(()) => Some(Ok(CallValue {
                        addr: Some(addr.shown),
                        note: note.clone(),
                        ..CallValue::default()
                    })),
                    // A repeated connect reports completion as EISCONN.
                    Err(e) if !*first && e.raw_os_error() == Some(libc::EISCONN) => {
                        Some(Ok(CallValue {
                            addr: Some(addr.shown),
                            note: note.clone(),
                            ..CallValue::default()
                        }))
                    }
                    Err(e)
                        if e.raw_os_error() == Some(libc::EINPROGRESS)
                            || (!*first && e.raw_os_error() == Some(libc::EALREADY)) =>
                    {
                        None
                    }
                    Err(e) => Some(Err(addr.failure(&e))),
                }
            }
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
                        // A Unix-domain peer is a socket of the same host's files, or, on a
                        // shared kernel, a process that found the host's abstract name: only
                        // the server's own sockets are the session's.
                        Ok((conn, peer)) if sock.proto == Proto::Unix => {
                            let ours = !self.network.shares_kernel()
                                || Sock::peer_pid(&conn)
                                    .is_some_and(|pid| pid == std::process::id() as i32);
                            if !ours {
                                refused.push(None);
                                drop(conn);
                                continue;
                            }
                            break Ok((conn, peer));
                        }
                        Ok((conn, peer)) => {
                            let ip = peer.as_socket();
                            if !ip.is_some_and(|p| self.peer_inside(Proto::Tcp, p)) {
                                refused.push(ip.map(Addr::Ip));
                                drop(conn);
                                continue;
                            }
                            break Ok((conn, peer));
                        }
                        Err(e) => break Err(e),
                    }
                };
                let (family, ty, names) = (sock.family, sock.ty, sock.names.clone());
                for peer in refused {
                    self.log_isolation(
                        host,
                        fd,
                        peer,
                        crate::i18n::Message::new(
                            "a connection from outside the session reached this listener; the \
                             sandbox closed it",
                            "一个来自会话之外的连接到达了这个监听套接字；沙箱把它关闭了",
                        ),
                    );
                }
                match accepted {
                    Ok((conn, peer)) => {
                        let opened = conn
                            .set_nonblocking(true)
                            .and_then(|()| self.poller.add(&conn))
                            .map(|()| Sock::new(conn, family, ty, names));
                        match opened {
                            Ok(mut new) => {
                                let peer = new.shown(&peer);
                                // Bytes that arrived before accept are news to the reader.
                                new.seen.recv_queue = Some(0);
                                let new_fd = self.hosts[hidx].fds.insert(new);
                                self.sandbox.observer.sockets_opened(1);
                                let peer_fd = self.unix_peer_fd(hidx, new_fd);
                                Some(Ok(CallValue {
                                    fd: Some(new_fd),
                                    peer,
                                    peer_fd,
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
            BlockingOp::Send { data, sent, icmp } => {
                loop {
                    match sock.send(&data[*sent..]) {
                        Ok(n) => {
                            *sent += n;
                            self.bytes_sent += n as u64;
                            if *sent == data.len() {
                                let mut value = CallValue {
                                    bytes: Some(*sent),
                                    ..CallValue::default()
                                };
                                let to = sock.remote_name();
                                icmp_sent(sock, data, icmp.as_ref(), to, &mut value);
                                break Some(Ok(value));
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
                }
            }
            BlockingOp::Sendto { data, addr, icmp } => match sock.send_to(data, &addr.kernel) {
                Ok(n) => {
                    self.bytes_sent += n as u64;
                    let mut value = CallValue {
                        bytes: Some(n),
                        addr: Some(addr.shown),
                        ..CallValue::default()
                    };
                    icmp_sent(sock, data, icmp.as_ref(), Some(addr.shown), &mut value);
                    Some(Ok(value))
                }
                Err(e) if would_block(&e) => None,
                Err(e) => Some(Err(addr.failure(&e))),
            },
            BlockingOp::Recv { max, peek } | BlockingOp::Recvfrom { max, peek } => {
                let udp = sock.proto == Proto::Udp;
                let mut refused = Vec::new();
                let received = loop {
                    // A datagram socket can be reached by anyone; look at the source to keep
                    // the boundary even for plain recv.
                    let r = if udp || with_source {
                        sock.recv_from(*max, *peek).map(|(d, from)| (d, Some(from)))
                    } else {
                        sock.recv(*max, *peek).map(|d| (d, None))
                    };
                    let outsider = match &r {
                        Ok((_, Some(from))) if udp => from
                            .as_socket()
                            .filter(|f| !self.peer_inside(Proto::Udp, *f)),
                        _ => None,
                    };
                    match r {
                        Ok(_) if outsider.is_some() => {
                            refused.push(outsider.map(Addr::Ip));
                            if *peek {
                                // A peeked datagram stays queued; drop it for real.
                                sock.recv_from(*max, false).ok(/* dropping an outsider's datagram */);
                            }
                        }
                        other => break other,
                    }
                };
                let result = match received {
                    Ok((data, from)) => {
                        let peer = if with_source {
                            from.and_then(|f| sock.shown(&f))
                        } else {
                            None
                        };
                        // What an ICMP socket reads is a message to decode (a raw IPv4
                        // socket's after its IPv4 header); a full buffer may have cut it.
                        let icmp = sock
                            .proto
                            .is_icmp()
                            .then(|| {
                                let kind = IcmpSocket::of(sock.family, sock.ty);
                                icmp::decode_read(kind, &data, data.len() == *max)
                            })
                            .flatten()
                            .map(Box::new);
                        Some(Ok(CallValue {
                            bytes: Some(data.len()),
                            data: Some(data),
                            peer,
                            icmp,
                            ..CallValue::default()
                        }))
                    }
                    Err(e) if would_block(&e) => None,
                    Err(e) => Some(Err(CallFailure::kernel(&e))),
                };
                for peer in refused {
                    self.log_isolation(
                        host,
                        fd,
                        peer,
                        crate::i18n::Message::new(
                            "a datagram from outside the session arrived; the sandbox dropped it",
                            "一个来自会话之外的数据报到达了；沙箱把它丢弃了",
                        ),
                    );
                }
                result
            }
        }
    }
}

/// What the sandbox says of a message an ICMP socket just sent to `to` (built from `asked`
/// when the call gave a header): who wrote its checksum and identifier, whether the checksum
/// is right and what comes of it if not. Nothing for other sockets.
fn icmp_sent(
    sock: &Sock,
    message: &[u8],
    asked: Option<&IcmpHeader>,
    to: Option<Addr>,
    value: &mut CallValue,
) {
    if !sock.proto.is_icmp() {
        return;
    }
    // A ping socket's port is its identifier, chosen by the kernel on the first send.
    let port = sock
        .socket()
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map(|a| a.port());
    let kind = IcmpSocket::of(sock.family, sock.ty);
    let said = icmp::judge_sent(kind, message, asked, to, port);
    value.icmp = said.decoded.map(Box::new);
    value.note = said.note;
    value.hint = said.hint;
}
